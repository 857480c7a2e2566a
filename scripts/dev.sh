#!/usr/bin/env bash
# Runs Écluse locally in front of a real private registry:
#
#   bash scripts/dev.sh
#
# It builds ./cmd/ecluse into ./bin, installs the tools (scripts/install-tools.sh), starts
# Verdaccio on 127.0.0.1:4874 with its storage in a fresh temporary directory as the private
# upstream, and runs Écluse on 127.0.0.1:${PROXY_PORT:-4873} with the public upstream taken
# from `npm config get registry` and the in-memory mirror queue. Ctrl-C stops both and removes
# the temporary directory. Any other Écluse variable set in the environment is passed through.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

port="${PROXY_PORT:-4873}"
verdaccio_port=4874

for tool in go node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "dev.sh: $tool is not on PATH; this needs Go and Node.js (with npm)" >&2
		exit 1
	fi
done

echo "dev.sh: building bin/ecluse" >&2
go build -o bin/ecluse ./cmd/ecluse

tools="$(bash scripts/install-tools.sh | tail -n 1)"
public="$(npm config get registry 2>/dev/null)"

work="$(mktemp -d "${TMPDIR:-/tmp}/ecluse-dev.XXXXXX")"
verdaccio_pid=""
cleanup() {
	if [ -n "$verdaccio_pid" ]; then
		kill "$verdaccio_pid" 2>/dev/null || true
		wait "$verdaccio_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$work/storage"
sed -e "s#__ECLUSE_STORAGE__#$work/storage#g" -e "s#__ECLUSE_LISTEN__#127.0.0.1:$verdaccio_port#g" \
	scripts/verdaccio/config.yaml >"$work/config.yaml"

echo "dev.sh: starting Verdaccio on http://127.0.0.1:$verdaccio_port/ (log: $work/verdaccio.log)" >&2
"$tools/verdaccio" --config "$work/config.yaml" >"$work/verdaccio.log" 2>&1 &
verdaccio_pid=$!

# Poll /-/ping until Verdaccio answers, for at most 60 seconds.
ping_verdaccio() {
	node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
		"http://127.0.0.1:$verdaccio_port/-/ping"
}
deadline=$((SECONDS + 60))
until ping_verdaccio; do
	if ! kill -0 "$verdaccio_pid" 2>/dev/null; then
		echo "dev.sh: Verdaccio exited (is port $verdaccio_port in use?):" >&2
		cat "$work/verdaccio.log" >&2
		exit 1
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "dev.sh: Verdaccio did not answer on port $verdaccio_port within 60s:" >&2
		cat "$work/verdaccio.log" >&2
		exit 1
	fi
	sleep 0.2
done

cat <<EOF

dev.sh: Écluse will listen on http://127.0.0.1:$port/
        private upstream: Verdaccio at http://127.0.0.1:$verdaccio_port/ (empty, storage in $work)
        public upstream:  $public
        Put this line in your project's .npmrc:

registry=http://127.0.0.1:$port/

EOF

# Écluse runs in the background so that this script stays in charge: Ctrl-C or a TERM sent to
# the script is passed on as SIGTERM (Écluse then drains in-flight requests), and the EXIT
# trap stops Verdaccio once Écluse has gone.
PRIVATE_UPSTREAM_URL="http://127.0.0.1:$verdaccio_port/" \
	PUBLIC_UPSTREAM_URL="$public" \
	MIRROR_QUEUE_PROVIDER="${MIRROR_QUEUE_PROVIDER:-memory}" \
	PROXY_LOG_FORMAT="${PROXY_LOG_FORMAT:-console}" \
	PROXY_PORT="$port" \
	PROXY_PUBLIC_URL="${PROXY_PUBLIC_URL:-http://127.0.0.1:$port/}" \
	./bin/ecluse serve &
ecluse_pid=$!
trap 'kill -TERM "$ecluse_pid" 2>/dev/null || true' INT TERM

status=0
wait "$ecluse_pid" || status=$?
# A trapped signal interrupts wait; wait again for Écluse's own exit status.
while kill -0 "$ecluse_pid" 2>/dev/null; do
	status=0
	wait "$ecluse_pid" || status=$?
done
exit "$status"

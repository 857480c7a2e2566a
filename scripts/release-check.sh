#!/usr/bin/env bash
# Proves the release is reproducible and usable (make release-check; part of make test):
#  1. builds the release twice from clean clones of HEAD, the second with an empty
#     build cache and from another directory, and requires byte-identical binaries,
#     image archives, image digests and SBOMs;
#  2. pushes the image to a throwaway in-memory registry (crane registry serve, on
#     loopback) and reads back its digest and config: ecluse serve, as uid 65532, port
#     4873; exports its filesystem and runs the binary it holds;
#  3. checks that the SBOM lists every module the binary is built from.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
registry_pid=
cleanup() {
	[ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null
	chmod -R u+w "$work" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
VERSION=$(git describe --tags --always)
export VERSION

build() { # build NAME [env...]: a clean clone of HEAD released into $work/NAME/dist
	git clone -q --no-local "$repo" "$work/$1/src"
	git -C "$work/$1/src" checkout -q "$(git rev-parse HEAD)"
	(cd "$work/$1/src" && env "${@:2}" DIST="$work/$1/dist" bash scripts/release.sh >"$work/$1.log" 2>&1) ||
		{ cat "$work/$1.log" >&2; echo "release-check: the $1 build failed" >&2; exit 1; }
}
echo "release-check: first build"
build one
echo "release-check: second build, empty build cache, another directory"
build two/deeper GOCACHE="$work/gocache"
a=$work/one/dist b=$work/two/deeper/dist
for f in ecluse-linux-amd64 ecluse-image.oci.tar image.digest ecluse.cdx.json SHA256SUMS; do
	cmp -s "$a/$f" "$b/$f" || { echo "release-check: $f differs between two builds of the same commit" >&2; exit 1; }
done
echo "release-check: reproducible: $(cat "$a/image.digest")"
cat "$a/SHA256SUMS"

# The image, read back through a registry by crane.
(cd tools/release && go build -o "$work/crane" github.com/google/go-containerregistry/cmd/crane)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$work/crane" registry serve --address "127.0.0.1:$port" >"$work/registry.log" 2>&1 &
registry_pid=$!
ref=127.0.0.1:$port/ecluse:check
for _ in $(seq 1 100); do
	"$work/crane" catalog "127.0.0.1:$port" --insecure >/dev/null 2>&1 && break
	sleep 0.1
done
"$work/crane" push --insecure "$a/oci" "$ref" >/dev/null
pushed=$("$work/crane" digest --insecure "$ref")
[ "$pushed" = "$(cat "$a/image.digest")" ] || { echo "release-check: pushed digest $pushed, built $(cat "$a/image.digest")" >&2; exit 1; }
"$work/crane" config --insecure "$ref" >"$work/config.json"
python3 - "$work/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["config"]
want = {"User": "65532:65532", "Entrypoint": ["/ecluse"], "Cmd": ["serve"]}
bad = {k: c.get(k) for k, v in want.items() if c.get(k) != v}
if bad or "4873/tcp" not in c.get("ExposedPorts", {}) or c.get("Healthcheck"):
    sys.exit(f"release-check: image config {c}")
print("release-check: image runs", c["Entrypoint"] + c["Cmd"], "as", c["User"], "exposing", list(c["ExposedPorts"]))
PY
mkdir "$work/rootfs"
"$work/crane" export --insecure "$ref" - | tar -x -C "$work/rootfs"
out=$("$work/rootfs/ecluse" version)
case "$out" in
"ecluse $VERSION ($(git rev-parse HEAD | cut -c1-12))"*) echo "release-check: the image's binary says: $out" ;;
*) echo "release-check: the image's binary says $out" >&2; exit 1 ;;
esac
[ -s "$work/rootfs/etc/ssl/certs/ca-certificates.crt" ] && grep -q '^nonroot:x:65532:65532:' "$work/rootfs/etc/passwd" ||
	{ echo "release-check: the image lacks its CA bundle or passwd entry" >&2; exit 1; }

# The SBOM against the module graph the binary is built from.
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}' ./cmd/ecluse |
	sort -u >"$work/modules.txt"
python3 - "$a/ecluse.cdx.json" "$work/modules.txt" <<'PY'
import json, sys
bom = json.load(open(sys.argv[1]))
have = {(c["name"], c["version"]) for c in bom.get("components", [])}
want = {tuple(l.split()) for l in open(sys.argv[2]) if l.strip()}
missing = sorted(want - have)
if bom.get("bomFormat") != "CycloneDX" or missing:
    sys.exit(f"release-check: the SBOM lacks {len(missing)} modules of the binary: {missing[:10]}")
print(f"release-check: the SBOM lists all {len(want)} modules the binary is built from ({len(have)} components)")
PY
echo "release-check: ok"

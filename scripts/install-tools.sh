#!/usr/bin/env bash
# Installs the Node tools that development and the end-to-end tests need (Verdaccio, pnpm,
# yarn berry), as pinned by scripts/verdaccio/package.json and its lockfile, into a cache
# directory, then prints the directory of their executables as the last line on stdout.
#
#   bash scripts/install-tools.sh        # prints e.g. ~/.cache/ecluse-tools/<hash>/node_modules/.bin
#
# The cache directory is $ECLUSE_TOOLS_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/ecluse-tools.
# Each distinct package.json + lockfile is installed once, into a sub-directory named after
# their hash, so a second run costs only the hash. Installs go to a scratch directory first and
# are renamed into place, so concurrent runs (two test processes, or tests and dev.sh) are safe.
# Packages come from the registry npm is configured with on this machine.
#
# After changing package.json, refresh the lockfile without recording any registry address:
#   (cd scripts/verdaccio && npm install --package-lock-only --omit-lockfile-registry-resolved)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/verdaccio"
cache="${ECLUSE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ecluse-tools}"

for tool in node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "install-tools: $tool is not on PATH; install Node.js (with npm) first" >&2
		exit 1
	fi
done

# Hash with node rather than sha256sum/shasum, which differ between Linux and macOS.
hash="$(node -e '
const fs = require("fs"), crypto = require("crypto");
const h = crypto.createHash("sha256");
for (const f of process.argv.slice(1)) h.update(fs.readFileSync(f));
h.update(process.version.split(".")[0]); // a new Node major gets a fresh install
console.log(h.digest("hex").slice(0, 16));
' "$src/package.json" "$src/package-lock.json")"

dest="$cache/$hash"
bin="$dest/node_modules/.bin"

if [ -x "$bin/verdaccio" ] && [ -f "$dest/.complete" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$cache"
scratch="$(mktemp -d "$cache/.install.XXXXXX")"
chmod 755 "$scratch"
trap 'rm -rf "$scratch"' EXIT

echo "install-tools: installing Verdaccio, pnpm and yarn into $dest (once)" >&2
cp "$src/package.json" "$src/package-lock.json" "$scratch/"
(
	cd "$scratch"
	# npm ci installs exactly the lockfile; progress and warnings go to stderr so the last
	# stdout line stays the bin directory.
	npm ci --no-audit --no-fund --loglevel=error 1>&2
)
touch "$scratch/.complete"

# Rename into place; rename(2) refuses a non-empty target, so if another run got there first
# we keep its copy and drop ours (the trap removes the scratch directory).
node -e '
const fs = require("fs");
const [from, to] = process.argv.slice(1);
try {
  fs.renameSync(from, to);
} catch (e) {
  if (!fs.existsSync(to + "/.complete")) throw e;
}
' "$scratch" "$dest"

# Drop installs made for earlier versions of package.json.
for old in "$cache"/????????????????; do
	if [ -d "$old" ] && [ "$old" != "$dest" ]; then
		rm -rf "$old"
	fi
done

echo "$bin"

#!/usr/bin/env bash
# Runs every native Go fuzz target of the module for a short while, one at a time:
#
#   bash scripts/fuzz.sh                 # each target for FUZZTIME (default 2s)
#   FUZZTIME=1m bash scripts/fuzz.sh     # longer, by hand
#   bash scripts/fuzz.sh ./internal/npm  # only the packages given
#
# The targets are found, not listed here: every package whose test files declare a
# `func Fuzz...` is asked with `go test -list` which fuzz targets it really has, and each
# one then runs with `go test -run '^$' -fuzz '^Name$' -fuzztime $FUZZTIME`. Their seed
# corpora (f.Add and testdata/fuzz/) run in the plain `go test` as well; this adds the
# mutation. The first failure stops the run and names the target; Go writes the failing
# input under that package's testdata/fuzz/<Target>/, and the command to re-run it is
# printed. Do not commit such an input while the bug stands: the seed corpus must pass.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

fuzztime="${FUZZTIME:-2s}"
patterns=("$@")
if [ ${#patterns[@]} -eq 0 ]; then
	patterns=(./...)
fi

# Packages with a fuzz target in their test files. (Asking every package with
# `go test -list` would build and start every test binary, the end-to-end suite's too.)
pkgs=()
while IFS='|' read -r pkg dir files; do
	# A package without test files has only the separating space: skip it. (grep with
	# no file names would read the rest of this list from standard input.)
	[ -n "${files// /}" ] || continue
	# shellcheck disable=SC2086 # the file names are space-separated on purpose
	if (cd "$dir" && grep -qs '^func Fuzz' $files </dev/null); then
		pkgs+=("$pkg")
	fi
done < <(go list -f '{{.ImportPath}}|{{.Dir}}|{{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' "${patterns[@]}")

if [ ${#pkgs[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets found in ${patterns[*]}" >&2
	exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

start=$SECONDS
count=0
for pkg in "${pkgs[@]}"; do
	if ! go test -run '^$' -list '^Fuzz' "$pkg" >"$log" 2>&1; then
		cat "$log" >&2
		echo "fuzz: FAIL: cannot list the fuzz targets of $pkg" >&2
		exit 1
	fi
	mapfile -t targets < <(grep -E '^Fuzz[A-Za-z0-9_]*$' "$log" || true)
	for target in "${targets[@]}"; do
		t0=$SECONDS
		ok=0
		for attempt in 1 2; do
			if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
				ok=1
				break
			fi
			# Go's fuzzing engine sometimes reports "context deadline exceeded" when a
			# worker is still busy as -fuzztime runs out, without any failing input.
			# That is the engine, not the target: run it once more. A real failure
			# names the input it wrote, and is never retried.
			if grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
				break
			fi
			echo "fuzz: $target stopped on the engine's deadline without a failing input; running it again" >&2
		done
		if [ "$ok" != 1 ]; then
			cat "$log" >&2
			echo "fuzz: FAIL: $target in $pkg" >&2
			if grep -q 'Failing input written to' "$log"; then
				echo "fuzz: the failing input is under $(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$target/" >&2
			fi
			exit 1
		fi
		count=$((count + 1))
		printf 'fuzz: ok   %-28s %-45s %3ds\n' "$target" "$pkg" $((SECONDS - t0))
	done
done
echo "fuzz: $count targets, ${fuzztime} each, passed in $((SECONDS - start))s"

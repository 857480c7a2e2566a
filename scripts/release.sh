#!/usr/bin/env bash
# Builds Écluse's release artifacts into $DIST (default dist/):
#   ecluse-linux-amd64      the static binary (CGO off, -trimpath, version and commit stamped)
#   oci/                    the container image as an OCI image layout
#   ecluse-image.oci.tar    the same layout as one tar (an OCI archive)
#   image.digest            the image's manifest digest
#   ecluse.cdx.json         the CycloneDX SBOM of the binary, from the Go module graph
#   SHA256SUMS              the checksums of the files above
# Everything is reproducible: the same commit gives the same bytes (scripts/release-check.sh
# proves it). Nothing is fetched but Go modules, through the Go module proxy.
#
# VERSION defaults to `git describe --tags --always --dirty`; SOURCE_DATE_EPOCH (every
# timestamp in the image) to the commit's time.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${DIST:-dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty)}
COMMIT=$(git rev-parse HEAD)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export SOURCE_DATE_EPOCH

rm -rf "$DIST"
mkdir -p "$DIST"
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT

# The tools come from tools/release's go.mod, where their versions are pinned.
(cd tools/release && go build -o "$tools/ociimage" ./ociimage &&
	go build -o "$tools/cyclonedx-gomod" github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod)

echo "release: building ecluse $VERSION ($COMMIT)"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -mod=readonly -trimpath -buildvcs=false \
	-ldflags "-s -w -buildid= -X main.version=$VERSION -X main.commit=$COMMIT" \
	-o "$DIST/ecluse-linux-amd64" ./cmd/ecluse

echo "release: SBOM"
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$tools/cyclonedx-gomod" app -json -licenses -noserial -notimestamp \
	-main cmd/ecluse -output "$DIST/ecluse.cdx.json" . 2>"$tools/sbom.log" ||
	{ cat "$tools/sbom.log" >&2; exit 1; }

echo "release: image"
"$tools/ociimage" -binary "$DIST/ecluse-linux-amd64" -version "$VERSION" -revision "$COMMIT" \
	-created "$SOURCE_DATE_EPOCH" -layout "$DIST/oci" -archive "$DIST/ecluse-image.oci.tar" \
	-digest-file "$DIST/image.digest" >/dev/null

(cd "$DIST" && sha256sum ecluse-linux-amd64 ecluse-image.oci.tar ecluse.cdx.json >SHA256SUMS)
echo "release: $DIST/ holds ecluse $VERSION, image $(cat "$DIST/image.digest")"
cat "$DIST/SHA256SUMS"

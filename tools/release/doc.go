// Package release holds what builds and checks Écluse's release artifacts and is not
// part of the binary: the image builder (ociimage), the pinned SBOM generator and
// crane (as go tool directives in this module's go.mod), and the tests of the
// deployment examples under deploy/. It is a module of its own so that none of its
// dependencies enter the main module's graph, nor the SBOM of the binary.
package release

module github.com/ecluse/ecluse

go 1.26.8

require (
	github.com/Masterminds/semver/v3 v3.5.0
	github.com/go-json-experiment/json v1.27.2
	github.com/klauspost/compress v1.20.4
	go.uber.org/goleak v1.3.0
	golang.org/x/crypto v0.58.0
	golang.org/x/mod v0.43.0
	golang.org/x/sync v0.24.0
)

require golang.org/x/sys v0.49.0 // indirect

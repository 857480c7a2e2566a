// Package server is Écluse's HTTP front door: routing, edge authentication, request
// logging, health probes, and the one place where errors become HTTP responses.
//
// It serves several mounts, each an ecosystem under a path prefix, dispatching on the
// longest prefix. An npm mount's error bodies are JSON {"error": "..."}, because that
// field is what the npm CLI prints to its user; a Go modules mount answers errors in
// one line of plain text, which the go command prints as the server's response. Handlers return errors; writeError turns them into responses,
// keeping the public message apart from the logged cause. The package decides nothing
// about packages: that is the gate's job.
package server

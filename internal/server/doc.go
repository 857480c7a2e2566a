// Package server is Écluse's HTTP front door: routing, edge authentication, request
// logging, health probes, and the one place where errors become HTTP responses.
//
// Every error body is JSON {"error": "..."}, because that field is what the npm CLI
// prints to its user. Handlers return errors; writeError turns them into responses,
// keeping the public message apart from the logged cause. The package decides nothing
// about packages: that is the gate's job.
package server

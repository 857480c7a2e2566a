// Package config turns the environment and the optional JSON configuration document
// into a typed, validated Config. Defaults live in one function (Defaults), decoding is
// strict, and Validate reports every problem at once, each with the variable or
// document path it concerns.
//
// It imports only the standard library and internal/redact. It must not open
// sockets, start goroutines or read anything but the environment and the named file.
package config

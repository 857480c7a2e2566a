// Package app is the composition root: it builds every part of Écluse from a validated
// configuration, picks backends with plain switches, and owns Run and shutdown. Only
// cmd/ecluse imports it, and only it imports concrete backends.
package app

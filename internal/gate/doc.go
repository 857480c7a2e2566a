// Package gate is Écluse's use case: for one npm read it asks the private upstream first,
// classifies what it got (internal package, mirror of public packages, or nothing),
// reads the public upstream when allowed, decides every public version with the policy,
// rewrites what it serves, caches, and schedules mirror jobs.
//
// It declares the small interfaces it consumes (registry sources, the policy decider,
// the mirror enqueuer) and knows nothing of HTTP requests or responses: the server
// package turns its results and typed errors into HTTP.
package gate

// Package mirror copies the public versions Écluse approved into the registry the
// operator owns (the mirror target), asynchronously.
//
// The front door hands each verified public tarball serve to an Enqueuer, which
// collapses duplicates in a bounded recently-queued set and puts a small versioned Job
// on a queue.Queue without ever holding the request for long. A Worker receives jobs
// with bounded concurrency and, for each: asks the target (a Publisher) whether it
// already holds the version with the same integrity, and if not reads the version
// manifest and the tarball from the job's public upstream through the untrusted-origin
// client (a TarballFetcher), verifies the tarball against the job's integrity while
// spooling it, and publishes it with the document `npm publish` sends (NPMPublisher),
// streamed so a large tarball is never held in memory. A heartbeat extends the
// message's hold while a job runs. Success, or a target that already holds the same
// artifact, acknowledges the message; a transient failure gives it back with an
// exponential, fully jittered backoff; a permanent one gives it back with a long delay
// so the queue's dead-letter policy ends it. A message that does not decode is
// acknowledged and logged: a poison message never comes back.
//
// Delivery is at least once, so every step is idempotent: a job run twice publishes
// once. The dist-tag latest is moved only forwards.
//
// The package must not: import the gate or the server (the composition root adapts the
// gate's job type); fetch anything from an untrusted origin except through the
// TarballFetcher it is given (the egress guard's client behind it); publish bytes that
// did not match the job's integrity; acknowledge a failed job; or log a credential
// (tokens come from package credential as redact.Secret and leave the process only in
// the Authorization header of requests to the target).
package mirror

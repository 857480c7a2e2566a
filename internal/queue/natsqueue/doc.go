// Package natsqueue is the mirror queue on NATS JetStream: for operators who run a
// NATS server, or who want a durable queue on one machine without one (the embedded
// server).
//
// Jobs are published on one subject (Options.Subject) held by a file-backed stream
// with work-queue retention (Options.Stream), and pulled through one durable consumer
// (Options.Consumer) that every Écluse process shares: explicit acknowledgement,
// AckWait = Options.Hold, MaxDeliver = Options.MaxDeliver. Extend is JetStream's
// "in progress" (it restarts the hold for AckWait, whatever duration is asked), Nack
// is a negative acknowledgement with a delay, and Attempt is JetStream's delivery
// count. A job delivered MaxDeliver times without being acknowledged is left in the
// stream undelivered, JetStream's dead-letter behaviour, and the give-up is logged
// from JetStream's advisory.
//
// Durability: a job is acknowledged to Enqueue once JetStream has stored it in the
// stream's files, so it survives a restart of Écluse and of the server (JetStream
// syncs its files to disk periodically: a machine crash may lose the last moments).
// With Options.URL empty, New starts an embedded JetStream server in this process that
// stores under Options.Dir; it listens on no port (clients connect in process), and
// the handle that started it stops it on Close. With Dir empty too it stores in a
// temporary directory removed on Close: nothing survives.
//
// Options' zero values: URL "" means the embedded server; Dir "" means a temporary
// directory; Stream "" means DefaultStream ("ECLUSE_MIRROR"); Subject "" means
// DefaultSubject ("ecluse.mirror.jobs"); Consumer "" means DefaultConsumer
// ("ecluse-mirror-worker"); Hold 0 means DefaultHold (30 s); MaxDeliver 0 means
// DefaultMaxDeliver (10), and less than 0 means no limit; a nil Logger discards.
//
// No NATS type appears in its exported API, and it knows nothing of what a job is
// (internal/mirror does). The URL may carry credentials: it never goes into an error
// or a log line.
package natsqueue

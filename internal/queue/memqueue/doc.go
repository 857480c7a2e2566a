// Package memqueue is the in-process mirror queue: the default provider when Écluse
// runs as one process, and the reference the compliance suite (queuetest) is checked
// against.
//
// Durability: none. Jobs live in this process's memory only; a restart or a crash
// loses every waiting and held job. That is acceptable because a lost mirror job is
// scheduled again the next time the package is requested; an operator who wants jobs
// to survive restarts, or several processes to share them, picks a durable provider
// (natsqueue, sqsqueue, pubsubqueue).
//
// The queue is bounded: MaxDepth (MIRROR_QUEUE_MEMORY_MAX_DEPTH) counts the jobs
// waiting, delayed by a Nack and held by a consumer. Past it Enqueue drops the newest
// job and returns queue.ErrFull, and the queue logs the drops, at most one line per
// DropLogInterval, with the number dropped since the last line; a count still unlogged
// is written on Close.
//
// Delivery follows queue.Queue: a received job is held for Hold (or the d of its last
// Extend) and delivered again when the hold lapses, when it is given back with Nack
// (after the Nack's delay), or at once when the handle holding it is closed. Attempt
// counts deliveries. New returns one handle; Open returns more handles onto the same
// jobs, each closed on its own, as separate consumers would be.
//
// Options' zero values: MaxDepth 0 means DefaultMaxDepth (50000); Hold 0 means
// DefaultHold (30 s); DropLogInterval 0 means DefaultDropLogInterval (1 min); a nil
// Logger discards; a nil Now means time.Now.
//
// It must not do I/O, and it knows nothing of what a job is (internal/mirror does).
package memqueue

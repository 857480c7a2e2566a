// Package budget bounds the memory that concurrent work holds at once. A Budget is a
// byte count shared by every upstream document fetch: each fetch takes a Lease, charges
// it for what it is about to hold (a body being read, the index being built over it),
// and releases it when the result is handed to a cache (which has its own bound) or
// dropped. A charge that does not fit waits for room for a bounded time and then fails
// with an *ExhaustedError, which the front door turns into a 503 with Retry-After.
//
// It knows nothing of HTTP, registries or documents, and must not: it is a counting
// semaphore with a wait bound.
package budget

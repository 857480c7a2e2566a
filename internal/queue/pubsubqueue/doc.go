// Package pubsubqueue is the Google Cloud Pub/Sub provider of the mirror queue
// (queue.Queue): jobs are published to a topic (MIRROR_QUEUE_URL,
// projects/<p>/topics/<t>) and pulled from one subscription of it
// (MIRROR_QUEUE_SUBSCRIPTION) that every Écluse process shares.
//
// Durability: a payload is stored by Pub/Sub before Enqueue returns, and kept until
// acknowledged or past the subscription's retention (7 days by default). Delivery is
// at least once and in no guaranteed order. A message published before the
// subscription existed is never delivered: create the subscription first (or let
// CreateIfAbsent do it at boot).
//
// How the contract maps onto Pub/Sub. Receive uses the unary Pull call, not the
// client library's streaming Receive: the streaming callback API leases messages
// ahead of the consumer, extends their deadlines on its own (so a stuck consumer
// would hold a message for the library's MaxExtension, not for Hold), and gives no
// access to a message's ack deadline, so neither Extend(d) nor Nack(delay) could be
// honoured. With Pull:
//   - Receive pulls at most Options.Batch messages (1 by default) only while a
//     caller waits, and sets each one's ack deadline to Options.Hold at once. A
//     message nobody acknowledges or extends, because its consumer is stuck or its
//     process died, is redelivered Hold after its receipt or last Extend.
//   - Ack is Acknowledge. Nack(delay) sets the ack deadline to delay, so the message
//     is redelivered once delay lapses (to whole seconds, at most 10 minutes; a retry
//     policy on the subscription adds its backoff). Extend(d) sets the ack deadline to
//     d from the call (at most 10 minutes), so the worker's heartbeat is one
//     ModifyAckDeadline call each.
//   - Attempt is the delivery attempt Pub/Sub counts only for a subscription with a
//     dead-letter policy; 0 otherwise.
//   - Close stops receiving, returns buffered messages and closes the client.
//     Messages already handed out come back when their hold lapses; calls on them
//     through the closed handle return queue.ErrClosed.
//
// The payload is the message data as it is (an empty payload carries one marker
// attribute, since Pub/Sub refuses a message with neither data nor attributes).
//
// Configuration: Topic and Subscription are required; Project defaults to the
// topic's. The client uses Application Default Credentials, or the emulator named by
// PUBSUB_EMULATOR_HOST. The package creates the topic and subscription only when
// Options.CreateIfAbsent says so, and never deletes or reconfigures them: retention,
// retry and dead-letter policies belong to the operator's infrastructure.
package pubsubqueue

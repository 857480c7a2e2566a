// Package sqsqueue is the Amazon SQS provider of the mirror queue (queue.Queue),
// selected with MIRROR_QUEUE_PROVIDER=sqs and pointed at a queue by MIRROR_QUEUE_URL.
//
// Durability: a payload is stored by SQS before Enqueue returns, so jobs survive the
// restart or loss of any Écluse process. Delivery is at least once, and on a standard
// queue in no guaranteed order.
//
// How the contract maps onto SQS:
//   - Receive long-polls ReceiveMessage (Options.WaitTime, at most 20 s a call) with
//     the visibility timeout set to Options.Hold. A received message is invisible to
//     every other consumer until it is deleted, returned or its hold lapses.
//   - Ack is DeleteMessage; Nack(delay) is ChangeMessageVisibility(delay); Extend(d)
//     is ChangeMessageVisibility(d), counted from the call. Times are rounded up to
//     whole seconds and capped at 12 hours.
//   - Attempt is the ApproximateReceiveCount attribute.
//   - Close stops receiving. Messages already handed out come back when their hold
//     lapses; calls on them through the closed handle return queue.ErrClosed.
//
// Payloads travel as the message body text. SQS accepts only text in the XML
// character set, so a payload that is not valid UTF-8 made of those characters is
// sent base64-encoded and marked with the message attribute "ecluse-body-encoding"
// (an empty payload is marked too, since SQS refuses an empty body). Jobs are JSON,
// so they normally travel as they are, readable in the console.
//
// Configuration: Options.QueueURL is required. The SDK configuration (credentials,
// region, and the endpoint override AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL for an
// emulator or a VPC endpoint) comes from the caller or, when nil, from LoadAWSConfig.
// The package must not create, purge or reconfigure queues: the queue, its retention
// and any dead-letter redrive belong to the operator's infrastructure.
package sqsqueue

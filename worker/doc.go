// Package worker consumes dingq jobs from NATS JetStream and decides, for each, whether to ack,
// retry or dead-letter it.
//
// [Provision] creates or updates the job stream, the dead-letter stream and the shared durable
// pull consumer from the contract's names. A [Worker] pulls jobs with bounded concurrency, validates
// each, hands it to a [dispatcher.Sender], and takes the decision the sender's error carries:
//
//   - sent: Ack.
//   - retry: NakWithDelay, the delay computed from the attempt number JetStream keeps
//     (NumDelivered), so a retry schedule survives a worker crash.
//   - rejected, invalid, or the last attempt used: publish a dead letter, wait for its publish ack,
//     then TermWithReason. If the dead-letter publish fails, the job is retried later: never lost.
//
// JetStream owns every piece of retry state; nothing about a job lives only in a worker's memory.
package worker

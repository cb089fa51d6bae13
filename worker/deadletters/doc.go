// Package deadletters reads and acts on dingq's dead letters, the jobs the workers gave up on,
// kept in the dead-letter stream (DINGQ_DEAD, limits retention) with the Dingq-* headers that
// say why.
//
// A [Store] browses the stream with ordered consumers (ephemeral, deleted when a browse ends;
// never a durable that would need cleaning up), fetches single dead letters by sequence, and
// replays or deletes them.
//
// The decisions of dingq dlq are here for any front end to share. [ParseFilter] reads a [Filter]
// from text ([FilterSpec]), as flags or a form's fields give it, each mistake a [FieldError] that
// names its field. [Store.Select] chooses the dead letters to act on, by [Ref] or by filter, and
// [Store.ReplaySelection] and [Store.PurgeSelection] act on them, reporting each as an [Item] to a
// callback as it goes, and return an [Outcome] that counts them by [Result].
//
// A front end that lists them reads them a page at a time, newest first: [Store.Page] reads
// single dead letters backwards by sequence from a cursor ([PageQuery.Before], [Page.Next]),
// never the whole stream, finds where a time condition starts and ends by a binary search on the
// stored times, and stops at a bound on the sequences it reads ([PageQuery.MaxScan]), with a
// partial page, when a filter matches few. [Store.Tally] counts every dead letter by kind, reason
// and error code, reading their headers only.
//
// A replay is safe to interrupt at any point. [Store.Replay] publishes the dead letter's body to
// its original job subject, waits for JetStream's publish ack, and only then deletes the dead
// letter: an interruption leaves the dead letter in place, never loses it. The replay's
// Nats-Msg-Id is derived from the dead letter itself ([ReplayID]), so replaying it again within
// the job stream's duplicate window is dropped by JetStream as a duplicate: nothing is sent twice.
// A duplicate is not taken on trust, though: anyone can publish that id. The dead letter is
// deleted only when the message the job stream holds under the id is this dead letter's replay
// (same subject, body and Dingq-Replay-Of). The job stream is a work queue, and deletes a job
// once it ran; a duplicate whose message is gone cannot be checked, and its dead letter is kept
// and reported ([ErrReplayUnverified]) rather than deleted on a guess.
//
// A dead letter a worker had to trim to store it says so: Dingq-Dropped-Headers names job
// headers it left out ([Letter.DroppedHeaders]), Dingq-Truncated marks a body cut to fit the
// server's max payload ([Letter.Truncated]). A truncated dead letter is never replayed
// ([ErrTruncated]): its body is only the start of the job's.
package deadletters

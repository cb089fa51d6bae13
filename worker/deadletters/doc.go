// Package deadletters reads and acts on dingq's dead letters, the jobs the workers gave up on,
// kept in the dead-letter stream (DINGQ_DEAD, limits retention) with the Dingq-* headers that
// say why.
//
// A [Store] browses the stream with ordered consumers (ephemeral, deleted when a browse ends;
// never a durable that would need cleaning up), fetches single dead letters by sequence, and
// replays or deletes them.
//
// A replay is safe to interrupt at any point. [Store.Replay] publishes the dead letter's body to
// its original job subject, waits for JetStream's publish ack, and only then deletes the dead
// letter: an interruption leaves the dead letter in place, never loses it. The replay's
// Nats-Msg-Id is derived from the dead letter itself ([ReplayID]), so replaying it again within
// the job stream's duplicate window is dropped by JetStream as a duplicate and the dead letter is
// simply removed: nothing is sent twice.
package deadletters

// Package metrics is the Prometheus metrics of a dingq worker: what became of its jobs, how long
// its sends took, and the state of the JetStream queue it consumes.
//
// [New] returns a [Metrics] on a registry of its own, beside Go's and the process's metrics (or on
// the caller's, with [WithRegistry]). Wire it into a [worker.Worker] through [worker.Deps]: pass
// [Metrics.Outcome] as OnOutcome, [Metrics.Repair] as OnRepair, and wrap the sender with
// [Metrics.WrapSender]; then serve [Metrics.Handler] at /metrics.
//
// The families, which deploy/observability's dashboard and alert rules read:
//
//   - dingq_jobs_total{kind,outcome}: deliveries by outcome (the worker.Result* values).
//   - dingq_send_duration_seconds{kind}: histogram of send durations, rate-limit waits included;
//     sends deferred without sending are left out.
//   - dingq_dingtalk_codes_total{kind,code}: codes of failed deliveries, DingTalk's or dingq's; at
//     most 100 per kind, later ones as "other".
//   - dingq_deferrals_total{code}: deliveries deferred without a send, by why.
//   - dingq_reprovisioned_total{resource}: streams, buckets and consumers provisioned again.
//   - dingq_sends_in_flight: sends running now.
//   - dingq_token_fetches_total: access-token cache refreshes of the senders that count them
//     ([TokenCounter]).
//   - dingq_consumer_pending_jobs{app,kind}, dingq_consumer_ack_pending_jobs{app,kind},
//     dingq_oldest_pending_job_age_seconds{app}, dingq_dead_letters: the queue's state, read
//     from JetStream at each scrape.
//   - dingq_scrape_errors_total: reads of JetStream's state that failed during a scrape; their
//     gauges are left out of that scrape, which never waits more than 2 s for NATS.
//
// Labels hold apps, kinds, outcomes, codes and resource names only: never a job id, token, secret
// or URL. Counting a delivery or timing a send takes an index and an atomic add, without
// allocating.
package metrics

// Package dispatcher turns a dingq job into a DingTalk HTTP call and classifies the answer.
//
// Each kind has its own [Sender]: [CardSender] (interactive card template send),
// [CrossDomainSender] (cross-domain message through the TOP API) and [RobotSender] (group robot
// through the kdocs relay). [Mux] routes a [Job] to the sender of its kind.
//
// A sender returns nil when DingTalk accepted the job, or an error that carries the decision
// the worker must take: a [*Error] whose [Decision] is [Retry] (with an optional minimum delay) or
// [Reject]. Errors that are not a [*Error] (a network failure, a timeout, a panic) mean retry.
// Token errors are handled inside the senders: the cached token is dropped, a new one fetched, and
// the send tried once more before the error reaches the caller.
//
// No error, log or message produced here contains an access token, an app secret, a robot's
// signing secret or a URL's query string.
package dispatcher

package dispatcher

import "time"

// Codes that dingq puts in [Error.Code] where DingTalk gave none. Beside these, a failed answer
// that names no code of its own gets "http_" and its status, e.g. "http_502", and a token fetch's
// failure is "token:" and the token API's code, e.g. "token:invalidClientIdOrSecret".
const (
	// CodeNonJSONBody: the answer was not a JSON object, such as the HTML page of DingTalk's
	// five-minute per-IP ban or a proxy's error page. Retry.
	CodeNonJSONBody = "non_json_body"
	// CodeUnexpectedAnswer: a JSON answer without the field that says whether the send succeeded
	// (a card answer with neither processQueryKey nor error, a TOP answer without errcode, a relay
	// answer without code). Retry: nothing says the job was sent, and the API may have changed.
	CodeUnexpectedAnswer = "unexpected_answer"
	// CodeUnknownKind: a [Mux] holds no sender for the job's kind. Reject.
	CodeUnknownKind = "unknown_kind"
)

// Least delays the classifiers put in [Error.MinDelay].
const (
	// throttleDelay follows a QPS refusal: DingTalk counts per second and sends no Retry-After.
	throttleDelay = time.Second
	// banDelay follows a sign that DingTalk has banned the caller for a while: the HTML page of
	// the five-minute IP ban, or a TOP errcode 90001-90019. Waiting a minute between sends lets a
	// job outlive a five-minute ban within the default eight attempts, where the worker's own
	// backoff (1 s, 2 s, 4 s, ...) would spend them all inside it.
	banDelay = time.Minute
)

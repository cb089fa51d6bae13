package producer

import "errors"

// Errors of a header a producer sets, returned by [Producer.Publish] (and by [New] for a default
// app) before anything reaches NATS. Check them with [errors.Is].
var (
	// ErrInvalidID: a job id given with [WithID] is longer than 256 bytes, holds a control
	// character, or starts or ends with a space. The id travels in the Nats-Msg-Id header, where a
	// CR or LF would break the message and surrounding spaces are dropped.
	ErrInvalidID = errors.New("producer: invalid job id")
	// ErrInvalidApp: an app profile name holds something other than ASCII letters, digits and
	// '_', so no worker profile (DINGQ_APP_<NAME>_...) can match it.
	ErrInvalidApp = errors.New("producer: invalid app profile name")
)

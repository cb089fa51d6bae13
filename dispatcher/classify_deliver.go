package dispatcher

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dingq/dingq/dispatcher/internal/wire"
)

// deliverAnswer is createAndDeliver's answer: on success
// {"success":true,"result":{"outTrackId":"...","deliverResults":[...]}}, on failure the same
// error body as the template send, read through cardAnswer.
type deliverAnswer struct {
	cardAnswer
	Success bool `json:"success"`
	Result  struct {
		DeliverResults []deliverResult `json:"deliverResults"`
	} `json:"result"`
}

// deliverResult is the outcome in one space. SpaceID and CarrierID are not read: the error's
// message names spaces by type only, so that it stays short and quotes no receiver.
type deliverResult struct {
	SpaceType string `json:"spaceType"`
	Success   bool   `json:"success"`
	ErrorMsg  string `json:"errorMsg"`
}

// classifyDeliver reads createAndDeliver's answer: nil when the card reached every space,
// otherwise a [*Error]. Table: docs/dingtalk.md#card-deliver-answers. Failed answers (non-2xx, or
// not JSON) are the template send's, and take its table (classifyCard,
// docs/dingtalk.md#card-errors), the ban page's banDelay included (docs/dingtalk.md#ip-ban); the
// 2xx JSON rows are this API's own.
func classifyDeliver(status int, body []byte) error {
	if !isSuccess(status) || !wire.IsJSONObject(body) {
		return classifyCard(status, body)
	}
	var a deliverAnswer
	_ = json.Unmarshal(body, &a) // a valid object: an error is a type mismatch, leaving a field empty
	if !a.Success {
		msg := cmp.Or(a.message(), "the answer does not say success")
		return failure(Retry, CodeNoSuccess, status, msg, 0)
	}
	if msg := failedSpaces(a.Result.DeliverResults); msg != "" {
		return failure(Reject, CodeDeliverFailed, status, msg, 0)
	}
	// Success with every space delivered, or with no per-space result at all: DingTalk lists
	// one per space, and an empty list leaves success as the only word on it.
	return nil
}

// failedSpaces words the spaces that did not get the card, "" when there is none:
// "not delivered to 1 of 2 spaces: IM_GROUP: robot not in group".
func failedSpaces(results []deliverResult) string {
	var failed []string
	for _, r := range results {
		if !r.Success {
			space, msg := cmp.Or(r.SpaceType, "unknown space type"), cmp.Or(r.ErrorMsg, "no errorMsg")
			failed = append(failed, space+": "+msg)
		}
	}
	if len(failed) == 0 {
		return ""
	}
	list := strings.Join(failed, "; ")
	return fmt.Sprintf("not delivered to %d of %d spaces: %s", len(failed), len(results), list)
}

package main

import (
	"bytes"
	"strconv"

	"github.com/dingq/dingq/schema"
)

// jobMarker starts each job's number inside its body (a card's outTrackId, a cross-domain
// message's message_id, a robot message's text), so the sandbox side can tell which job a
// request carries without decoding it.
const jobMarker = "qb-"

// rejectMark is in the id of the jobs the sandbox is told to reject.
const rejectMark = "reject-me"

// workload is the jobs of one run: numbered 0..n-1, of kinds taken in turn from kinds.
type workload struct {
	n     int
	kinds []schema.Kind
	// rejectEvery makes every rejectEvery-th job one that the sandbox rejects; 0 for none.
	rejectEvery int
	// kindAt, when set, names job n's kind instead of kinds.
	kindAt func(n int) schema.Kind
}

func (w workload) kind(n int) schema.Kind {
	if w.kindAt != nil {
		return w.kindAt(n)
	}
	return w.kinds[n%len(w.kinds)]
}

func (w workload) rejected(n int) bool {
	return w.rejectEvery > 0 && n%w.rejectEvery == w.rejectEvery/2
}

func (w workload) rejects() int {
	r := 0
	for n := range w.n {
		if w.rejected(n) {
			r++
		}
	}
	return r
}

// body returns job n's body: a small valid job of its kind.
func (w workload) body(n int) []byte {
	id := strconv.AppendInt([]byte(jobMarker), int64(n), 10)
	if w.rejected(n) {
		id = append(append(id, '-'), rejectMark...)
	}
	b := make([]byte, 0, 256)
	switch w.kind(n) {
	case schema.KindCard:
		b = append(b, `{"cardTemplateId":"StandardCard","openConversationId":"cidBenchGroup==","robotCode":"dingbench","outTrackId":"`...)
		b = append(b, id...)
		b = append(b, `","cardData":"{\"cardParamMap\":{\"title\":\"Deploy finished\"}}"}`...)
	case schema.KindCrossDomain:
		b = append(b, `{"sender":"1001@bench","message_id":"`...)
		b = append(b, id...)
		b = append(b, `","send_message_model":{"conversation_type":1,"uuid":"bench-uuid","content_type":1,`+
			`"content":"{\"content\":\"hello across domains\"}","cid":"1011@bench:@bench$1@G"}}`...)
	case schema.KindRobot:
		b = append(b, `{"link":"https://oapi.dingtalk.com/robot/send?access_token=bench-robot","data":[{"msgtype":"text","text":{"content":"`...)
		b = append(b, id...)
		b = append(b, `"}}]}`...)
	}
	return b
}

// jobNumber returns the number of the job a request body carries, or -1.
func jobNumber(body []byte) int {
	i := bytes.Index(body, []byte(jobMarker))
	if i < 0 {
		return -1
	}
	n, digits := 0, 0
	for _, c := range body[i+len(jobMarker):] {
		if c < '0' || c > '9' || digits == 9 {
			break
		}
		n = n*10 + int(c-'0')
		digits++
	}
	if digits == 0 {
		return -1
	}
	return n
}

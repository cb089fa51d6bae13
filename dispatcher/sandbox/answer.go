package sandbox

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// maxBodyBytes bounds a request body; a larger send is answered 413 with an HTML page, as a
// gateway in front of DingTalk would. DingTalk's own limits are far lower (20,000 bytes for a
// robot message).
const maxBodyBytes = 1 << 20

// answer is one HTTP answer, ready to write.
type answer struct {
	status int
	body   []byte
	html   bool   // the body is an HTML page, not JSON
	code   string // the failure code, for logs and tests; empty on success
}

// jsonAnswer marshals v (one of this package's answer structs, which always marshal).
func jsonAnswer(status int, v any) answer {
	body, _ := json.Marshal(v)
	return answer{status: status, body: body}
}

// htmlAnswer is an HTML page where JSON was expected, as a gateway in front of DingTalk serves
// (to an IP DingTalk has banned, to a body too large); extra is markup after the text.
func htmlAnswer(status int, title, text, extra string) answer {
	page := "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head>\n<body><h1>" + title +
		"</h1>\n<p>" + text + "</p>" + extra + "</body></html>\n"
	return answer{status: status, body: []byte(page), html: true, code: "html"}
}

// tooLargePage answers a body above maxBodyBytes.
func tooLargePage() answer {
	return htmlAnswer(http.StatusRequestEntityTooLarge, "413 Request Entity Too Large",
		"The request body is larger than the sandbox's 1 MiB limit.", "")
}

// banPage is the gateway's answer to an IP that DingTalk has banned (more than 10,000 calls in
// 20 s, banned for 5 minutes): an HTML page, not JSON, with no error code of DingTalk's; the page
// carries the gateway's punish record ({"status":1111,"wait":5,"source":"x5","punish":"deny"}),
// as DingTalk documents it.
func banPage(status int) answer {
	return htmlAnswer(status, "Access Denied", "Too many requests from your IP; access is denied for a while. (dingq sandbox)",
		"\n"+banPunish+"\n")
}

// banPunish is the punish record on the ban page.
const banPunish = `<script>var punish = {"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"dingq-sandbox"};</script>`

func writeAnswer(w http.ResponseWriter, a answer) {
	if a.html {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // the client has gone; nothing to do
}

// requestID returns a new id for an answer's requestid / request_id field.
func (s *Sandbox) requestID() string {
	return "sandbox-" + strconv.FormatUint(s.ids.Add(1), 16)
}

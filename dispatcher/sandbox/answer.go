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
// (to an IP DingTalk has banned, to a body too large).
func htmlAnswer(status int, title, text string) answer {
	page := "<!DOCTYPE html>\n<html><head><title>" + title + "</title></head>\n<body><h1>" + title +
		"</h1>\n<p>" + text + "</p></body></html>\n"
	return answer{status: status, body: []byte(page), html: true, code: "html"}
}

// tooLargePage answers a body above maxBodyBytes.
func tooLargePage() answer {
	return htmlAnswer(http.StatusRequestEntityTooLarge, "413 Request Entity Too Large",
		"The request body is larger than the sandbox's 1 MiB limit.")
}

// banPage is DingTalk's answer to an IP that sent too many requests.
func banPage(status int) answer {
	return htmlAnswer(status, "Access Denied", "Too many requests from your IP; access is denied for a while. (dingq sandbox)")
}

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

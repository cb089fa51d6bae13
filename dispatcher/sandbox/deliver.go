package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
)

// deliverPath is the successor card API, served beside the template send.
const deliverPath = "/v1.0/card/instances/createAndDeliver"

// openSpacePrefix starts every openSpaceId.
const openSpacePrefix = "dtv1.card//"

// FailSpacePrefix starts the id of a space that the sandbox's createAndDeliver fails to deliver
// to, e.g. "dtv1.card//IM_GROUP.sandbox-fail-1": its deliverResult says success false with an
// errorMsg, inside an answer that says success, as DingTalk does for a space it cannot reach.
const FailSpacePrefix = "sandbox-fail"

// routesDeliver registers the successor card API, POST /v1.0/card/instances/createAndDeliver.
// Each request gets its own deliverAPI, which carries the spaces that accept found to success.
func (s *Sandbox) routesDeliver() {
	s.mux.HandleFunc("POST "+deliverPath, func(w http.ResponseWriter, r *http.Request) {
		s.send(&deliverAPI{cardAPI: cardAPI{s}}, w, r)
	})
}

// deliverAPI plays createAndDeliver. It is a card API: the same token header, error form and
// presets as the template send (cardAPI, which it embeds), so faults, rates, stats and records
// of kind card apply to it; its body and success answer are its own. One serves one request:
// decide calls accept before success, and success reads the spaces accept kept.
type deliverAPI struct {
	cardAPI
	outTrackID string
	spaces     []space
}

// space is one spaceType.spaceId of an openSpaceId.
type space struct{ typ, id string }

func (d *deliverAPI) accept(body []byte) ([]byte, answer, bool) {
	var req struct {
		CardTemplateID string          `json:"cardTemplateId"`
		OutTrackID     string          `json:"outTrackId"`
		OpenSpaceID    string          `json:"openSpaceId"`
		CardData       json.RawMessage `json:"cardData"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, d.invalid("invalidParameter", "request body is not a valid JSON object: "+err.Error()), false
	}
	switch {
	case req.CardTemplateID == "":
		return nil, d.invalid("param.cardTemplateIdEmpty", "cardTemplateId is empty"), false
	case req.OutTrackID == "":
		return nil, d.invalid("param.outTrackIdEmpty", "outTrackId is empty"), false
	case len(req.OutTrackID) > maxOutTrackID:
		return nil, d.invalid("outTrackIdLengthLimited", "outTrackId is longer than 64 characters"), false
	case !cardParamMap(req.CardData):
		const msg = `cardData must be an object {"cardParamMap":{...}} of strings`
		return nil, d.invalid("param.cardPublicDataEmpty", msg), false
	}
	spaces, ok := parseOpenSpaceID(req.OpenSpaceID)
	if !ok {
		const msg = "openSpaceId must be dtv1.card// and spaceType.spaceId, separated by ';'"
		return nil, d.invalid("invalidParameter.openSpaceId", msg), false
	}
	d.outTrackID, d.spaces = req.OutTrackID, spaces
	if d.delivered() == 0 {
		// Nothing was delivered: answered as DingTalk does, but counted rejected, not recorded.
		a := d.success()
		a.code = "deliver_failed"
		return nil, a, false
	}
	return body, answer{}, true
}

// cardParamMap reports whether raw is {"cardParamMap": {string: string}}.
func cardParamMap(raw json.RawMessage) bool {
	var data struct {
		CardParamMap map[string]string `json:"cardParamMap"`
	}
	return json.Unmarshal(raw, &data) == nil && data.CardParamMap != nil
}

// parseOpenSpaceID splits "dtv1.card//IM_GROUP.cid;IM_ROBOT.uid" into its spaces, type in upper
// case, as DingTalk answers it.
func parseOpenSpaceID(id string) ([]space, bool) {
	rest, ok := strings.CutPrefix(id, openSpacePrefix)
	if !ok {
		return nil, false
	}
	var spaces []space
	for s := range strings.SplitSeq(rest, ";") {
		typ, sid, ok := strings.Cut(s, ".")
		if !ok || typ == "" || sid == "" {
			return nil, false
		}
		spaces = append(spaces, space{typ: strings.ToUpper(typ), id: sid})
	}
	return spaces, true
}

// delivered counts the spaces the card reaches.
func (d *deliverAPI) delivered() int {
	n := 0
	for _, sp := range d.spaces {
		if !strings.HasPrefix(sp.id, FailSpacePrefix) {
			n++
		}
	}
	return n
}

type deliverResult struct {
	SpaceType string `json:"spaceType"`
	SpaceID   string `json:"spaceId"`
	Success   bool   `json:"success"`
	ErrorMsg  string `json:"errorMsg"`
	CarrierID string `json:"carrierId,omitempty"`
}

// success answers {"success":true,"result":{"outTrackId","deliverResults":[...]}}, one result
// per space of the accepted body.
func (d *deliverAPI) success() answer {
	results := make([]deliverResult, len(d.spaces))
	for i, sp := range d.spaces {
		results[i] = deliverResult{SpaceType: sp.typ, SpaceID: sp.id}
		if strings.HasPrefix(sp.id, FailSpacePrefix) {
			results[i].ErrorMsg = "sandbox: the space cannot be reached"
		} else {
			results[i].Success, results[i].CarrierID = true, d.s.requestID()
		}
	}
	type result struct {
		OutTrackID     string          `json:"outTrackId"`
		DeliverResults []deliverResult `json:"deliverResults"`
	}
	return jsonAnswer(http.StatusOK, struct {
		Success bool   `json:"success"`
		Result  result `json:"result"`
	}{true, result{d.outTrackID, results}})
}

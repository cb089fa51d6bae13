package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
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

// createAndDeliver's error codes, from DingTalk's table for the API. DingTalk answers each on
// HTTP 400 with the code as its message too: {"code":"param.openDeliverModelEmpty",
// "message":"param.openDeliverModelEmpty","requestid":"..."}.
const (
	codeDeliverEmpty           = "param.empty"                 // no body, or an empty object
	codeDeliverInvalid         = "param.invalid"               // a field of the wrong type or value
	codeDeliverTemplateEmpty   = "param.cardTemplateIdEmpty"   // no cardTemplateId
	codeDeliverOutTrackEmpty   = "param.outTrackIdEmpty"       // no outTrackId
	codeDeliverSpaceIDEmpty    = "param.openSpaceIdEmpty"      // no openSpaceId
	codeDeliverSpaceIDInvalid  = "param.openSpaceIdInvalid"    // not dtv1.card//TYPE.id[;TYPE.id...]
	codeDeliverCardDataEmpty   = "param.cardPublicDataEmpty"   // no cardData {"cardParamMap":{...}}
	codeDeliverModelEmpty      = "param.openDeliverModelEmpty" // a space without its deliver model
	codeDeliverModelError      = "param.openDeliverModelError" // a deliver model without what it needs
	codeDeliverSpaceModelError = "param.openSpaceModelInvalid" // a space model that is wrong
	codeOutTrackTooLong        = "outTrackIdLengthLimited"     // outTrackId above 64 characters
)

// spaceRule is what createAndDeliver requires of the body for one space type: the deliver model
// (required, checked by deliver) and the open space model (checked by space, which gets nil when
// the body has none).
type spaceRule struct {
	deliverModel, spaceModel string
	deliver                  func(raw json.RawMessage) string // "" or the refusal's code
	space                    func(raw json.RawMessage) string
}

// spaceRules are the space types DingTalk delivers cards to, by spaceType in upper case.
var spaceRules = map[string]spaceRule{
	// A group: imGroupOpenDeliverModel with the robotCode that sends the card.
	"IM_GROUP": {"imGroupOpenDeliverModel", "imGroupOpenSpaceModel", groupDeliverModel, imSpaceModel},
	// A chat with the robot: imRobotOpenDeliverModel, which must say something (at least
	// spaceType IM_ROBOT when nothing else).
	"IM_ROBOT": {"imRobotOpenDeliverModel", "imRobotOpenSpaceModel", robotDeliverModel, imSpaceModel},
	// A one-to-one chat of a cool app: imSingleOpenDeliverModel, every field optional.
	"IM_SINGLE": {"imSingleOpenDeliverModel", "imSingleOpenSpaceModel", singleDeliverModel, imSpaceModel},
	// A group's top bar: topOpenDeliverModel with expiredTimeMillis, and topOpenSpaceModel
	// with spaceType ONE_BOX.
	"ONE_BOX": {"topOpenDeliverModel", "topOpenSpaceModel", topDeliverModel, topSpaceModel},
}

// accept checks the body as DingTalk does, in this order: a JSON object with members;
// cardTemplateId, outTrackId (at most 64 characters), openSpaceId (well formed, of the space
// types of spaceRules), cardData {"cardParamMap":{string:string}}; privateData, callbackType
// (STREAM or HTTP) and userIdType (1 or 2) when given; then, for each space type openSpaceId
// names, its deliver model and open space model (see spaceRules). A card that reaches no space
// ([FailSpacePrefix]) is answered success, as DingTalk does, but counted rejected.
func (d *deliverAPI) accept(body []byte) ([]byte, answer, bool) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, d.refuse(codeDeliverEmpty), false
		}
		return nil, d.refuse(codeDeliverInvalid), false
	}
	if len(members) == 0 {
		return nil, d.refuse(codeDeliverEmpty), false
	}
	var req struct {
		CardTemplateID string `json:"cardTemplateId"`
		OutTrackID     string `json:"outTrackId"`
		OpenSpaceID    string `json:"openSpaceId"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil, d.refuse(codeDeliverInvalid), false // one of them is not a string
	}
	switch {
	case req.CardTemplateID == "":
		return nil, d.refuse(codeDeliverTemplateEmpty), false
	case req.OutTrackID == "":
		return nil, d.refuse(codeDeliverOutTrackEmpty), false
	case len(req.OutTrackID) > maxOutTrackID:
		return nil, d.invalid(codeOutTrackTooLong, "outTrackId is longer than 64 characters"), false
	case req.OpenSpaceID == "":
		return nil, d.refuse(codeDeliverSpaceIDEmpty), false
	}
	spaces, ok := parseOpenSpaceID(req.OpenSpaceID)
	if !ok {
		return nil, d.refuse(codeDeliverSpaceIDInvalid), false
	}
	if !cardParamMap(members["cardData"]) {
		return nil, d.refuse(codeDeliverCardDataEmpty), false
	}
	if code := checkDeliverOptions(members); code != "" {
		return nil, d.refuse(code), false
	}
	for _, typ := range spaceTypes(spaces) {
		rule := spaceRules[typ]
		if code := rule.deliver(present(members[rule.deliverModel])); code != "" {
			return nil, d.refuse(code), false
		}
		if code := rule.space(present(members[rule.spaceModel])); code != "" {
			return nil, d.refuse(code), false
		}
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

// refuse is createAndDeliver's refusal: HTTP 400 with DingTalk's code, which is its message too.
func (d *deliverAPI) refuse(code string) answer { return d.invalid(code, code) }

// present returns raw, or nil for a member that is absent or null.
func present(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// checkDeliverOptions checks the optional members that DingTalk reads: privateData (userId to
// {"cardParamMap":{...}}), callbackType (STREAM or HTTP, in upper case) and userIdType (1, userId;
// 2, unionId). It returns the refusal's code, or "".
func checkDeliverOptions(members map[string]json.RawMessage) string {
	if raw := present(members["privateData"]); raw != nil {
		var private map[string]struct {
			CardParamMap map[string]string `json:"cardParamMap"`
		}
		if json.Unmarshal(raw, &private) != nil {
			return codeDeliverInvalid
		}
	}
	if raw := present(members["callbackType"]); raw != nil {
		var typ string
		if json.Unmarshal(raw, &typ) != nil || typ != "STREAM" && typ != "HTTP" {
			return codeDeliverInvalid
		}
	}
	if raw := present(members["userIdType"]); raw != nil {
		var n int
		if json.Unmarshal(raw, &n) != nil || n != 1 && n != 2 {
			return codeDeliverInvalid
		}
	}
	return ""
}

// spaceTypes returns the distinct space types of spaces, in order.
func spaceTypes(spaces []space) []string {
	var types []string
	for _, sp := range spaces {
		if !slices.Contains(types, sp.typ) {
			types = append(types, sp.typ)
		}
	}
	return types
}

// decodeModel decodes a model that is present into v, and reports whether it is an object of
// the right types.
func decodeModel(raw json.RawMessage, v any) bool {
	return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) && json.Unmarshal(raw, v) == nil
}

// groupDeliverModel is IM_GROUP's: robotCode required; atUserIds, recipients, extension optional.
func groupDeliverModel(raw json.RawMessage) string {
	if raw == nil {
		return codeDeliverModelEmpty
	}
	var m struct {
		RobotCode  string            `json:"robotCode"`
		AtUserIDs  map[string]string `json:"atUserIds"`
		Recipients []string          `json:"recipients"`
		Extension  map[string]string `json:"extension"`
	}
	if !decodeModel(raw, &m) || m.RobotCode == "" {
		return codeDeliverModelError
	}
	return ""
}

// robotDeliverModel is IM_ROBOT's: not empty (spaceType IM_ROBOT when nothing else is set);
// spaceType, when set, IM_ROBOT.
func robotDeliverModel(raw json.RawMessage) string {
	if raw == nil {
		return codeDeliverModelEmpty
	}
	var m struct {
		SpaceType string            `json:"spaceType"`
		RobotCode string            `json:"robotCode"`
		Extension map[string]string `json:"extension"`
	}
	switch {
	case !decodeModel(raw, &m):
		return codeDeliverModelError
	case m.SpaceType == "" && m.RobotCode == "" && len(m.Extension) == 0:
		return codeDeliverModelEmpty
	case m.SpaceType != "" && m.SpaceType != "IM_ROBOT":
		return codeDeliverModelError
	}
	return ""
}

// singleDeliverModel is IM_SINGLE's: present; atUserIds and extension optional.
func singleDeliverModel(raw json.RawMessage) string {
	if raw == nil {
		return codeDeliverModelEmpty
	}
	var m struct {
		AtUserIDs map[string]string `json:"atUserIds"`
		Extension map[string]string `json:"extension"`
	}
	if !decodeModel(raw, &m) {
		return codeDeliverModelError
	}
	return ""
}

// topDeliverModel is ONE_BOX's: expiredTimeMillis required; userIds and platforms optional.
func topDeliverModel(raw json.RawMessage) string {
	if raw == nil {
		return codeDeliverModelEmpty
	}
	var m struct {
		ExpiredTimeMillis int64    `json:"expiredTimeMillis"`
		UserIDs           []string `json:"userIds"`
		Platforms         []string `json:"platforms"`
	}
	if !decodeModel(raw, &m) || m.ExpiredTimeMillis <= 0 {
		return codeDeliverModelError
	}
	return ""
}

// imSpaceModel is the optional open space model of the IM spaces.
func imSpaceModel(raw json.RawMessage) string {
	if raw == nil {
		return ""
	}
	var m struct {
		SupportForward  *bool             `json:"supportForward"`
		LastMessageI18n map[string]string `json:"lastMessageI18n"`
		SearchSupport   *struct {
			SearchIcon     string `json:"searchIcon"`
			SearchTypeName string `json:"searchTypeName"`
			SearchDesc     string `json:"searchDesc"`
		} `json:"searchSupport"`
		Notification *struct {
			AlertContent    string `json:"alertContent"`
			NotificationOff bool   `json:"notificationOff"`
		} `json:"notification"`
	}
	if !decodeModel(raw, &m) {
		return codeDeliverSpaceModelError
	}
	return ""
}

// topSpaceModel is ONE_BOX's open space model, required: {"spaceType":"ONE_BOX"}.
func topSpaceModel(raw json.RawMessage) string {
	var m struct {
		SpaceType string `json:"spaceType"`
	}
	if raw == nil || !decodeModel(raw, &m) || m.SpaceType != "ONE_BOX" {
		return codeDeliverSpaceModelError
	}
	return ""
}

// cardParamMap reports whether raw is {"cardParamMap": {string: string}}.
func cardParamMap(raw json.RawMessage) bool {
	var data struct {
		CardParamMap map[string]string `json:"cardParamMap"`
	}
	return json.Unmarshal(raw, &data) == nil && data.CardParamMap != nil
}

// parseOpenSpaceID splits "dtv1.card//IM_GROUP.cid;IM_ROBOT.uid" into its spaces, type in upper
// case, as DingTalk answers it. It refuses a space type that spaceRules lacks.
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
		typ = strings.ToUpper(typ)
		if _, known := spaceRules[typ]; !known {
			return nil, false
		}
		spaces = append(spaces, space{typ: typ, id: sid})
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

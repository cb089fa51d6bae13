package producer

import "github.com/dingq/dingq/schema"

// Helpers for the fields that DingTalk takes as JSON in a string, and for common robot messages.
// None can fail: they encode only strings.

// CardData returns a template card's CardData for the template's variables: the JSON string
// {"cardParamMap":{...}}. Structured values are themselves JSON in their string. A nil map gives
// {"cardParamMap":{}}.
func CardData(params map[string]string) string {
	if params == nil {
		params = map[string]string{} // the schema refuses null
	}
	return jsonString(struct {
		CardParamMap map[string]string `json:"cardParamMap"`
	}{params})
}

// UserReceiver returns a template card's SingleChatReceiver for the user with this userId: the
// JSON string {"userId":"..."}.
func UserReceiver(userID string) string {
	return jsonString(struct {
		UserID string `json:"userId"`
	}{userID})
}

// UnionIDReceiver returns a template card's SingleChatReceiver for the user with this unionId:
// the JSON string {"unionId":"..."}.
func UnionIDReceiver(unionID string) string {
	return jsonString(struct {
		UnionID string `json:"unionId"`
	}{unionID})
}

// CrossDomainText returns the Content of a text cross-domain message
// ([schema.CrossDomainContentText]): the JSON string {"content":"..."}.
func CrossDomainText(text string) string {
	return jsonString(struct {
		Content string `json:"content"`
	}{text})
}

// RobotText returns a robot text message.
func RobotText(content string) schema.RobotMessage {
	return schema.RobotMessage{MsgType: schema.RobotMsgText, Text: &schema.RobotText{Content: content}}
}

// RobotMarkdown returns a robot markdown message; title shows in the conversation list.
func RobotMarkdown(title, text string) schema.RobotMessage {
	return schema.RobotMessage{MsgType: schema.RobotMsgMarkdown, Markdown: &schema.RobotMarkdown{Title: title, Text: text}}
}

// jsonString encodes v, whose fields are all strings, so it cannot fail.
func jsonString(v any) string {
	b, err := marshal(v)
	if err != nil {
		panic("producer: encode a JSON string field: " + err.Error()) // unreachable: strings only
	}
	return string(b)
}

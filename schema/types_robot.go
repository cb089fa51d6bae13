package schema

// The values of [RobotMessage.MsgType]; each names the member that holds the message's content.
const (
	RobotMsgText       = "text"
	RobotMsgMarkdown   = "markdown"
	RobotMsgLink       = "link"
	RobotMsgActionCard = "actionCard"
	RobotMsgFeedCard   = "feedCard"
)

// Robot is the body of a robot job: a DingTalk group robot and the messages to post to it. The
// robot is either its webhook, Link (with SK when it signs), which is the kdocs relay's body, or
// RobotName, a robot that the worker's configuration holds, so that producers need no secrets.
// Exactly one of Link and RobotName is set.
type Robot struct {
	// Link is the robot's webhook URL, https://oapi.dingtalk.com/robot/send?access_token=...
	// It holds a secret: never log it.
	Link string `json:"link,omitempty"`
	// SK is the robot's signing secret, when the robot signs. Optional, and only with Link. Never
	// log it.
	SK string `json:"sk,omitempty"`
	// RobotName names a robot in the worker's configuration: 1 to 64 letters, digits, '-' and
	// '_'. Safe to log.
	RobotName string `json:"robot,omitempty"`
	// Data are the messages to post, at least one, each at most [MaxRobotMessageBytes].
	Data []RobotMessage `json:"data"`
}

// RobotMessage is one DingTalk robot message: MsgType and the member it names.
type RobotMessage struct {
	// MsgType is one of the RobotMsg constants. Required.
	MsgType string `json:"msgtype"`
	// Text is the content when MsgType is "text".
	Text *RobotText `json:"text,omitempty"`
	// Markdown is the content when MsgType is "markdown".
	Markdown *RobotMarkdown `json:"markdown,omitempty"`
	// Link is the content when MsgType is "link".
	Link *RobotLink `json:"link,omitempty"`
	// ActionCard is the content when MsgType is "actionCard".
	ActionCard *RobotActionCard `json:"actionCard,omitempty"`
	// FeedCard is the content when MsgType is "feedCard".
	FeedCard *RobotFeedCard `json:"feedCard,omitempty"`
	// At mentions users, for text and markdown. Optional.
	At *RobotAt `json:"at,omitempty"`
	// MsgUUID is an idempotency key: DingTalk does not post a retry with the same one twice.
	// Optional.
	MsgUUID string `json:"msgUuid,omitempty"`
}

// RobotText is a text message. A mentioned user's @mobile or @userId must also appear in Content.
type RobotText struct {
	Content string `json:"content"` // required
}

// RobotMarkdown is a markdown message. DingTalk rejects one without a Title.
type RobotMarkdown struct {
	Title string `json:"title"` // required: shown in the conversation list
	Text  string `json:"text"`  // required: the markdown
}

// RobotLink is a link message.
type RobotLink struct {
	Title      string `json:"title"`            // required
	Text       string `json:"text"`             // required
	MessageURL string `json:"messageUrl"`       // required: where a click leads
	PicURL     string `json:"picUrl,omitempty"` // optional
}

// RobotActionCard is an action card: set SingleTitle and SingleURL for one button, or Btns.
type RobotActionCard struct {
	Title       string        `json:"title"` // required
	Text        string        `json:"text"`  // required: markdown
	SingleTitle string        `json:"singleTitle,omitempty"`
	SingleURL   string        `json:"singleURL,omitempty"`
	Btns        []RobotButton `json:"btns,omitempty"`
	// BtnOrientation is "0" to stack the buttons, "1" to put them side by side. Optional.
	BtnOrientation string `json:"btnOrientation,omitempty"`
}

// RobotButton is one of an action card's buttons.
type RobotButton struct {
	Title     string `json:"title"`     // required
	ActionURL string `json:"actionURL"` // required
}

// RobotFeedCard is a feed card: a list of links.
type RobotFeedCard struct {
	Links []RobotFeedLink `json:"links"` // at least one
}

// RobotFeedLink is one link of a feed card; every field is required.
type RobotFeedLink struct {
	Title      string `json:"title"`
	MessageURL string `json:"messageURL"`
	PicURL     string `json:"picURL"`
}

// RobotAt mentions users in a text or markdown message; each mentioned @mobile or @userId must
// also appear in the text.
type RobotAt struct {
	AtMobiles []string `json:"atMobiles,omitempty"` // at most 50
	AtUserIDs []string `json:"atUserIds,omitempty"` // at most 50
	IsAtAll   bool     `json:"isAtAll,omitempty"`
}

package schema

// Card is the body of a card job: DingTalk's request body for
// POST /v1.0/im/interactiveCards/templates/send. Set exactly one of OpenConversationID and
// SingleChatReceiver. The JSON-in-a-string fields (CardData, SingleChatReceiver and the *JSON
// send options) hold marshalled JSON, e.g. CardData `{"cardParamMap":{"title":"hi"}}`.
type Card struct {
	// CardTemplateID is the card template, e.g. "StandardCard". Required.
	CardTemplateID string `json:"cardTemplateId"`
	// OpenConversationID is the group to send to. Exactly one of this and SingleChatReceiver.
	OpenConversationID string `json:"openConversationId,omitempty"`
	// SingleChatReceiver is the one person to send to, as JSON: {"userId":"..."} or
	// {"unionId":"..."}. Exactly one of this and OpenConversationID.
	SingleChatReceiver string `json:"singleChatReceiver,omitempty"`
	// OutTrackID is the card's idempotency id, at most 64 characters, and the job id when the
	// producer sets no Nats-Msg-Id. Required.
	OutTrackID string `json:"outTrackId"`
	// RobotCode is the robot that sends the card. Required.
	RobotCode string `json:"robotCode"`
	// CallbackURL is where DingTalk calls back when the card is used. Optional.
	CallbackURL string `json:"callbackUrl,omitempty"`
	// CardData is the card's data, as JSON holding an object. Required.
	CardData string `json:"cardData"`
	// SendOptions are optional.
	SendOptions *CardSendOptions `json:"sendOptions,omitempty"`
}

// CardSendOptions are a card's optional send options. The *JSON fields hold marshalled JSON.
type CardSendOptions struct {
	// AtUserListJSON is the users to mention, as JSON.
	AtUserListJSON string `json:"atUserListJson,omitempty"`
	// AtAll mentions everyone in the group.
	AtAll bool `json:"atAll,omitempty"`
	// ReceiverListJSON limits who sees the card, as JSON.
	ReceiverListJSON string `json:"receiverListJson,omitempty"`
	// CardPropertyJSON holds special card properties, as JSON.
	CardPropertyJSON string `json:"cardPropertyJson,omitempty"`
}

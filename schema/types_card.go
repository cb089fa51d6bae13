package schema

import "encoding/json"

// Card is the body of a card job in the template mode ([CardTemplate]): DingTalk's request body
// for POST /v1.0/im/interactiveCards/templates/send. Set exactly one of OpenConversationID and
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

// CardDelivery is the body of a card job in the deliver mode ([CardDeliver]): DingTalk's request
// body for POST /v1.0/card/instances/createAndDeliver, which creates the card and delivers it to
// every space that OpenSpaceID names. Unlike [Card], CardData is an object, not JSON in a string.
// Set the open space and deliver models of the space types that OpenSpaceID names, e.g.
// IMGroupOpenDeliverModel for IM_GROUP.
type CardDelivery struct {
	// CardTemplateID is the card template, e.g. "589420e2-c1e2-46ef-a5ed-b8728e654da9.schema".
	// Required.
	CardTemplateID string `json:"cardTemplateId"`
	// OutTrackID is the card's idempotency id, at most 64 characters, and the job id when the
	// producer sets no Nats-Msg-Id. Required.
	OutTrackID string `json:"outTrackId"`
	// OpenSpaceID names the spaces to deliver to: "dtv1.card//" and one or more
	// "spaceType.spaceId" separated by ';', e.g. "dtv1.card//IM_GROUP.cidXXXX" or
	// "dtv1.card//IM_ROBOT.userId". Required; its presence is what makes a card body this one.
	OpenSpaceID string `json:"openSpaceId"`
	// CardData is the card's public data. Required.
	CardData CardParams `json:"cardData"`
	// PrivateData replaces CardData for the users it names, keyed by userId. Optional.
	PrivateData map[string]CardParams `json:"privateData,omitempty"`
	// CallbackType is how DingTalk calls back when the card is used: "STREAM" or "HTTP".
	// Optional.
	CallbackType string `json:"callbackType,omitempty"`
	// CallbackRouteKey names the registered HTTP callback. Optional.
	CallbackRouteKey string `json:"callbackRouteKey,omitempty"`
	// UserID is the card's creator. Optional.
	UserID string `json:"userId,omitempty"`
	// UserIDType says what the user ids in the body are: 1 userId, 2 unionId. Default 0: left
	// out, and DingTalk takes userId.
	UserIDType int `json:"userIdType,omitempty"`
	// IMGroupOpenSpaceModel is how the card shows in a group (IM_GROUP).
	IMGroupOpenSpaceModel *CardOpenSpaceModel `json:"imGroupOpenSpaceModel,omitempty"`
	// IMRobotOpenSpaceModel is how the card shows in a chat with the robot (IM_ROBOT).
	IMRobotOpenSpaceModel *CardOpenSpaceModel `json:"imRobotOpenSpaceModel,omitempty"`
	// IMSingleOpenSpaceModel is how the card shows in a one-to-one chat (IM_SINGLE).
	IMSingleOpenSpaceModel *CardOpenSpaceModel `json:"imSingleOpenSpaceModel,omitempty"`
	// IMGroupOpenDeliverModel is how the card is delivered to a group (IM_GROUP).
	IMGroupOpenDeliverModel *CardGroupDeliverModel `json:"imGroupOpenDeliverModel,omitempty"`
	// IMRobotOpenDeliverModel is how the card is delivered to a chat with the robot (IM_ROBOT).
	IMRobotOpenDeliverModel *CardRobotDeliverModel `json:"imRobotOpenDeliverModel,omitempty"`
	// IMSingleOpenDeliverModel is how the card is delivered to a one-to-one chat (IM_SINGLE).
	IMSingleOpenDeliverModel *CardSingleDeliverModel `json:"imSingleOpenDeliverModel,omitempty"`
	// TopOpenSpaceModel is the group top bar's space (ONE_BOX): {"spaceType": "ONE_BOX"}.
	TopOpenSpaceModel *CardTopSpaceModel `json:"topOpenSpaceModel,omitempty"`
	// TopOpenDeliverModel is how the card is delivered to a group's top bar (ONE_BOX).
	TopOpenDeliverModel *CardTopDeliverModel `json:"topOpenDeliverModel,omitempty"`
	// OpenDynamicDataConfig is where the card pulls dynamic data from, as JSON passed through.
	// Optional.
	OpenDynamicDataConfig json.RawMessage `json:"openDynamicDataConfig,omitempty"`
}

// CardTopSpaceModel is the space of a card in a group's top bar (ONE_BOX).
type CardTopSpaceModel struct {
	// SpaceType is "ONE_BOX".
	SpaceType string `json:"spaceType"`
}

// CardTopDeliverModel is how a card is delivered to a group's top bar (ONE_BOX).
type CardTopDeliverModel struct {
	// ExpiredTimeMillis is when the card leaves the top bar, in Unix milliseconds. Required.
	ExpiredTimeMillis int64 `json:"expiredTimeMillis"`
	// UserIDs are the only users who see it; everyone in the group when empty.
	UserIDs []string `json:"userIds,omitempty"`
	// Platforms are the clients that show it ("ios", "android", "win", "mac"); all when empty.
	Platforms []string `json:"platforms,omitempty"`
}

// CardParams holds values of a card template's variables.
type CardParams struct {
	// CardParamMap maps each variable to its value; structured values are JSON in the string.
	// A nil map is sent as {}, which the schema requires of CardData.
	CardParamMap map[string]string `json:"cardParamMap"`
}

// MarshalJSON writes a nil CardParamMap as {} rather than null, which the schema refuses.
func (p CardParams) MarshalJSON() ([]byte, error) {
	type plain CardParams // without this method
	if p.CardParamMap == nil {
		p.CardParamMap = map[string]string{}
	}
	return json.Marshal(plain(p))
}

// CardOpenSpaceModel is how a delivered card shows in its space. Every field is optional.
type CardOpenSpaceModel struct {
	// SupportForward lets the card be forwarded. Default false.
	SupportForward bool `json:"supportForward,omitempty"`
	// LastMessageI18n is the conversation list's preview of the card by locale, e.g. "ZH_CN".
	LastMessageI18n map[string]string `json:"lastMessageI18n,omitempty"`
	// Notification is the notification the card raises.
	Notification *CardNotification `json:"notification,omitempty"`
	// SearchSupport is how the card shows in search.
	SearchSupport *CardSearchSupport `json:"searchSupport,omitempty"`
}

// CardNotification is the notification a delivered card raises.
type CardNotification struct {
	// AlertContent is the notification's text.
	AlertContent string `json:"alertContent,omitempty"`
	// NotificationOff raises no notification.
	NotificationOff bool `json:"notificationOff,omitempty"`
}

// CardSearchSupport is how a delivered card shows in search.
type CardSearchSupport struct {
	// SearchIcon is the icon's media id.
	SearchIcon string `json:"searchIcon,omitempty"`
	// SearchTypeName is the type shown, as JSON by locale.
	SearchTypeName string `json:"searchTypeName,omitempty"`
	// SearchDesc is the description shown.
	SearchDesc string `json:"searchDesc,omitempty"`
}

// CardGroupDeliverModel is how a card is delivered to a group (IM_GROUP).
type CardGroupDeliverModel struct {
	// RobotCode is the robot that sends the card.
	RobotCode string `json:"robotCode,omitempty"`
	// AtUserIDs are the users to mention, userId to display name; "@ALL": "@ALL" mentions
	// everyone.
	AtUserIDs map[string]string `json:"atUserIds,omitempty"`
	// Recipients are the only users who see the card. Default: everyone in the group.
	Recipients []string `json:"recipients,omitempty"`
	// Extension holds extra delivery options.
	Extension map[string]string `json:"extension,omitempty"`
}

// CardRobotDeliverModel is how a card is delivered to a chat with the robot (IM_ROBOT).
type CardRobotDeliverModel struct {
	// SpaceType is the space type, "IM_ROBOT".
	SpaceType string `json:"spaceType,omitempty"`
	// RobotCode is the robot that sends the card.
	RobotCode string `json:"robotCode,omitempty"`
	// Extension holds extra delivery options.
	Extension map[string]string `json:"extension,omitempty"`
}

// CardSingleDeliverModel is how a card is delivered to a one-to-one chat (IM_SINGLE).
type CardSingleDeliverModel struct {
	// AtUserIDs are the users to mention, userId to display name.
	AtUserIDs map[string]string `json:"atUserIds,omitempty"`
	// Extension holds extra delivery options.
	Extension map[string]string `json:"extension,omitempty"`
}

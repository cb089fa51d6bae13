package schema

// The values of [CrossDomainMessage.ContentType].
const (
	CrossDomainContentText = 1 // content holds a text message
	CrossDomainContentCard = 2 // content holds a card
)

// CrossDomain is the body of a crossdomain job: the crossdomain_message_send_model of DingTalk's
// TOP API dingtalk.oapi.dingtalk.impaas.message.crossdomain.send. dingq wraps it in a
// [CrossDomainRequest] when it sends.
type CrossDomain struct {
	// Sender is the sender, e.g. "1001@domain". Required.
	Sender string `json:"sender"`
	// MessageID is the message's id, and the job id when the producer sets no Nats-Msg-Id.
	// Required.
	MessageID string `json:"message_id"`
	// Message is the message itself. Required.
	Message CrossDomainMessage `json:"send_message_model"`
	// Receivers limits who receives the message. Optional.
	Receivers *CrossDomainReceivers `json:"message_receiver_scope_model,omitempty"`
	// NewConversationNotificationOff turns off the notification of a new conversation.
	// Optional, default false.
	NewConversationNotificationOff bool `json:"new_conversation_notification_off,omitempty"`
}

// CrossDomainMessage is a cross-domain message's send_message_model. Every field is required.
type CrossDomainMessage struct {
	// ConversationType is the conversation's type.
	ConversationType int `json:"conversation_type"`
	// UUID is the message's uuid.
	UUID string `json:"uuid"`
	// ContentType says what Content holds: [CrossDomainContentText] or [CrossDomainContentCard].
	ContentType int `json:"content_type"`
	// Content is the content as JSON holding an object, e.g. `{"content":"hello"}` for text.
	Content string `json:"content"`
	// CID is the conversation's id, e.g. "1011@domain:@domain$1@G".
	CID string `json:"cid"`
}

// CrossDomainReceivers is a cross-domain message's message_receiver_scope_model.
type CrossDomainReceivers struct {
	// ActualReceivers are the receivers' ids.
	ActualReceivers []string `json:"actual_receivers,omitempty"`
}

// CrossDomainRequest is the JSON body dingq posts to the TOP API: the job's model under its
// parameter name.
type CrossDomainRequest struct {
	// Model is the job's body.
	Model CrossDomain `json:"crossdomain_message_send_model"`
}

package main

import "github.com/dingq/dingq/cmd/internal/natsconn"

// connectClient connects a short-lived client command (send, dlq, status) to NATS and JetStream.
var connectClient = natsconn.Client

// Package ratelimit keeps a fleet of workers inside DingTalk's send limits together: per app and
// API (20 a second by default) and per group robot (20 a minute), with the state shared in a NATS
// key-value bucket.
package ratelimit

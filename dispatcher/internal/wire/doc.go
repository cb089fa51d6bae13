// Package wire is how dingq talks HTTP to DingTalk: answers read to a bound and their bodies always
// drained and closed, base URLs checked once, and every text that may reach an error, a log or a
// dead letter stripped of query strings and secrets.
//
// It is shared by the dispatcher's senders and the token fetchers, and is internal so that neither
// exports it.
package wire

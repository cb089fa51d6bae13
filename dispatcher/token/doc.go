// Package token gets DingTalk access tokens for the dispatcher's senders.
//
// A [Fetcher] asks a token API for a new token: [NewAPIFetcher] the new-style API (for the card
// API), [NewOAPIFetcher] the old-style gettoken (for /topapi/ calls such as the cross-domain
// send). A [Cache] keeps the token until shortly before it expires, fetches with one request in
// flight at a time, and is the [dispatcher.TokenSource] the senders use. [Static] is the token
// source of the kdocs relay, whose token is configured, not fetched.
//
// Every failure is a retry, never a reject: a credential problem is not the job's fault. No error
// or printed value holds an app secret or a token; URLs in errors lose their query string.
package token

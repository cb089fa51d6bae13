// Package console is dingq's operations console: a web UI, served by `dingq console`, for the
// people who run a dingq fleet. It shows the queue and the workers, the dead letters (browse,
// show, replay, purge, with worker/deadletters' semantics), a job's delivery status, the
// fleet's rate-limit turns and token fetches, and outcome events as they happen.
//
// Pages are rendered on the server with html/template; the stylesheet and the little script
// of the live page are embedded, so the console works with no internet. Every response carries
// a strict Content-Security-Policy; every action is a POST checked against cross-site requests
// (net/http's CrossOriginProtection, and a per-console form token). Secrets never reach a page:
// dead letters are masked ([deadletters.Mask]) unless the operator reveals one on its page, and
// tokens are shown by age and expiry only.
//
// A console with a [Config.Token] asks for it, as a bearer token or through a login form that
// sets a cookie; [CheckListen] refuses an address other than loopback without one.
package console

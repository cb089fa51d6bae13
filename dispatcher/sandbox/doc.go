// Package sandbox is a local stand-in for the DingTalk APIs dingq calls, so that dingq can be run,
// tested and benchmarked, and producers can try their jobs, with no DingTalk account.
//
// One [Sandbox] (an [http.Handler]) serves every endpoint, so the same base URL works as the api,
// oapi and kdocs base:
//
//	POST /v1.0/oauth2/accessToken                              new-style app token
//	GET  /gettoken?appkey=&appsecret=                          old-style app token
//	POST /v1.0/im/interactiveCards/templates/send              card (token in x-acs-dingtalk-access-token)
//	POST /v1.0/card/instances/createAndDeliver                 card, deliver mode (the same)
//	POST /topapi/dingtalk/impaas/message/crossdomain/send      crossdomain (?access_token=)
//	POST /api/v1/openapi/notification/dingtalk                 robot, the kdocs relay (?access_token=)
//	POST /robot/send?access_token=[&timestamp=&sign=]          robot, the direct webhook: one message
//
// Each answers in its API's own wire form, errors included. The sandbox issues random tokens with
// a TTL and refuses a send that carries no live one; [Sandbox.ExpireTokens] invalidates them all
// to exercise token refresh. It checks only what a send needs at a minimum (required fields,
// receivers), and records every accepted send as a [Delivery] keyed by the job id that dingq
// derives from the body (schema.JobID), so tests can assert on what was delivered and how often.
//
// The direct webhook plays a group robot per access_token: one listed in [Config.RobotSecrets]
// must sign; a message whose msgUuid the robot has posted is answered as sent but not recorded
// again ([OutcomeDuplicate]); [Config.RobotLimit] messages per [Config.RobotWindow] and the robot
// is blocked for [Config.RobotBlock]. Its deliveries name their robot in [Delivery.Robot]. It is
// of kind robot, as the relay is: faults, rates and counts of kind robot cover both.
//
// Both card endpoints are of kind card: faults, rates, stats and deliveries of that kind cover
// them both, and a fault's Contains tells them apart where needed (`"openSpaceId"`); the QPS
// limit, being per API, counts each on its own. The
// createAndDeliver endpoint wants cardTemplateId, outTrackId, cardData {"cardParamMap": {...}}
// and an openSpaceId of the form dtv1.card//spaceType.spaceId[;spaceType.spaceId...], and answers
// {"success":true,"result":{"outTrackId","deliverResults":[...]}} with one result per space. A
// space whose id starts with [FailSpacePrefix] gets a failed result, as a space DingTalk cannot
// reach does; when every space fails, the send is counted rejected and not recorded.
//
// # Injecting failures
//
// Four knobs, applied to send requests only (never to token fetches), in this order:
//
//   - [Config.Latency] delays every send answer, as a slow network would.
//   - Targeted faults ([Sandbox.AddFault]) answer the matching requests (by kind and a substring
//     of the body) with a preset failure in the kind's own form: busy, throttle, reject, token,
//     html; or with a chosen HTTP status and code. A fault may fire a fixed number of times and
//     may delay its answer.
//   - [Config.BusyRate] and [Config.ThrottleRate] answer a random fraction of sends with the
//     kind's busy or throttling answer, reproducibly for a given [Config.Seed].
//   - [Config.APIRate] plays DingTalk's per-app QPS limit: each app API (card, createAndDeliver,
//     cross-domain) answers the request that would make more than APIRate in any second with its
//     throttling answer. Robots have their own limit, on the direct webhook ([Config.RobotLimit]).
//
// Only then are the token and the body checked, so a fault answers a matching request whatever
// token it carries. A send that gets a failure is not recorded as delivered. Users of the
// standalone server (the `dingq sandbox` command) reach the same controls over HTTP under
// /_sandbox/: see [Sandbox.ServeHTTP].
//
// For example, to answer the next two card sends to one conversation busy, and the third with a
// refusal that must be dead-lettered:
//
//	sb.AddFault(sandbox.Fault{Kind: schema.KindCard, Contains: `"cid-42"`, Preset: sandbox.PresetBusy, Times: 2})
//	sb.AddFault(sandbox.Fault{Kind: schema.KindCard, Contains: `"cid-42"`, Code: "userNotExist", Times: 1})
//
// or, against a running `dingq sandbox`:
//
//	curl -d '{"kind":"card","preset":"throttle","times":3}' localhost:PORT/_sandbox/faults
//
// The sandbox never logs a request body, a token, an app secret, a robot's signing secret (sk) or
// a query string.
package sandbox

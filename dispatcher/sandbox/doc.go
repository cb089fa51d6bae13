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
// Each answers in its API's own wire form, errors included, worded as DingTalk words them. The
// sandbox issues random tokens with a TTL and refuses a send that carries no live one;
// [Sandbox.ExpireTokens] invalidates them all to exercise token refresh. It records every
// accepted send as a [Delivery] keyed by the job id that dingq derives from the body
// (schema.JobID), so tests can assert on what was delivered and how often.
//
// The direct webhook plays a group robot per access_token: one listed in [Config.RobotSecrets]
// must sign; a message whose msgUuid the robot has posted is answered as sent but not recorded
// again ([OutcomeDuplicate]); [Config.RobotLimit] messages per [Config.RobotWindow] and the robot
// is blocked for [Config.RobotBlock] (errcode 410100). Its deliveries name their robot in
// [Delivery.Robot]. It is of kind robot, as the relay is: faults, rates and counts of kind robot
// cover both.
//
// Both card endpoints are of kind card: faults, rates, stats and deliveries of that kind cover
// them both, and a fault's Contains tells them apart where needed (`"openSpaceId"`); the QPS
// limit, being per API, counts each on its own. The createAndDeliver endpoint answers an accepted
// card {"success":true,"result":{"outTrackId","deliverResults":[...]}} with one result per space.
// A space whose id starts with [FailSpacePrefix] gets a failed result, as a space DingTalk cannot
// reach does; when every space fails, the send is counted rejected and not recorded.
//
// # As strict as DingTalk
//
// A producer's integration test against the sandbox is meant to fail wherever DingTalk would:
// the sandbox refuses what DingTalk refuses, with DingTalk's codes and messages.
//
//   - Tokens. The card APIs want the app token in the x-acs-dingtalk-access-token header:
//     without it, HTTP 400 AuthenticationFailed.MissingParameter
//     "缺少参数：x-acs-dingtalk-access-token"; with one not live (never issued, replaced or
//     expired), HTTP 400 InvalidAuthentication "不合法的access_token". The cross-domain send
//     wants it as ?access_token=: without it, errcode 88 sub_code "40000" (access_token is
//     blank); not live, 88/"40014"; expired, 88/"42001". POST /v1.0/oauth2/accessToken refuses
//     bad credentials with HTTP 400 invalidClientIdOrSecret "无效的clientId或者clientSecret";
//     GET /gettoken with errcode 40096 "不合法的appKey或appSecret", and a missing appkey with
//     40035 "缺少参数 corpid or appkey".
//   - Cross-domain wording. A gateway refusal is errcode 88 with a string sub_code, its sub_msg,
//     and errmsg "ding talk error[subcode=<sub_code>,submsg=<sub_msg>]", as DingTalk answers it
//     (88/40014 "不合法的access_token", 88/90018 for the QPS limit,
//     88/60011 "没有调用该接口的权限", ...). Busy is -1 "系统繁忙". A missing parameter (the model,
//     send_message_model and its five fields, sender, message_id) is 40035 "缺少参数 <name>", a
//     malformed one 40035 "不合法的参数 <name>".
//   - Robot signatures. A robot of [Config.RobotSecrets] (given to `dingq sandbox` with
//     --sandbox-robot-secrets; under `dingq serve --sandbox`, the worker's own named robots,
//     DINGQ_ROBOT_<NAME>_WEBHOOK's access_token and DINGQ_ROBOT_<NAME>_SECRET) signs: a message
//     to it on the direct webhook must carry timestamp (ms) and sign =
//     base64(HMAC-SHA256(key=secret, timestamp+"\n"+secret)), URL-encoded once, or it is answered
//     errcode 310000 on HTTP 200. A sign that is missing or wrong, or a timestamp that is missing
//     or not a number, is "description:机器人发送签名不匹配;solution:...;link:...;"; a timestamp
//     more than an hour from the sandbox's clock, either way, is
//     "description:机器人发送签名过期;solution:签名生成时间和发送时间请保持在 timestampms 以内;". A '+'
//     left unescaped reads as a space, and a sign escaped twice does not decode to the signature:
//     both mismatch, as on DingTalk. Through the kdocs relay, a job whose link names such a robot
//     must carry its secret as sk, or it gets code 310000 with the same msg (the relay's form of
//     DingTalk's refusals is not published: passing them on is the sandbox's choice). A webhook
//     request without access_token is errcode 40035 "缺少参数 access_token".
//   - msgUuid per robot. A message whose msgUuid the same robot (access_token) has posted is
//     answered errcode 0 and not posted again ([OutcomeDuplicate]), whatever its text; the same
//     msgUuid to another robot, or a message without msgUuid, is a new message. A repeat is
//     checked like any message first (a signing robot refuses an unsigned repeat), and a blocked
//     robot refuses repeats too.
//   - createAndDeliver. HTTP 400 with DingTalk's code as code and message, checked in this
//     order: param.empty (no body, or {}); param.invalid (not a JSON object, a field of the wrong
//     type); param.cardTemplateIdEmpty; param.outTrackIdEmpty (and outTrackIdLengthLimited above
//     64 characters); param.openSpaceIdEmpty; param.openSpaceIdInvalid (not
//     dtv1.card//spaceType.spaceId[;spaceType.spaceId...], or a space type other than IM_GROUP,
//     IM_ROBOT, IM_SINGLE and ONE_BOX, in any case); param.cardPublicDataEmpty (cardData is not
//     {"cardParamMap":{string: string}}); param.invalid (privateData not userId to
//     {"cardParamMap":{...}}, callbackType other than STREAM or HTTP, userIdType other than 1 or
//     2); then, for each space type openSpaceId names, its models: IM_GROUP
//     imGroupOpenDeliverModel with robotCode; IM_ROBOT imRobotOpenDeliverModel, not empty
//     (spaceType IM_ROBOT when nothing else), its spaceType, when set, IM_ROBOT; IM_SINGLE
//     imSingleOpenDeliverModel; ONE_BOX topOpenDeliverModel with expiredTimeMillis and
//     topOpenSpaceModel {"spaceType":"ONE_BOX"}. A missing deliver model is
//     param.openDeliverModelEmpty, one without what it needs (or of the wrong types)
//     param.openDeliverModelError, a wrong open space model param.openSpaceModelInvalid (the IM
//     spaces' imGroupOpenSpaceModel and its kin are optional, but objects of the documented
//     types).
//   - The template send (/v1.0/im/interactiveCards/templates/send) wants cardTemplateId,
//     outTrackId (at most 64 characters), robotCode, cardData (JSON in a string) and one
//     receiver, openConversationId or singleChatReceiver ({"userId"} or {"unionId"} in a string).
//   - The IP ban. [PresetIPBan] plays DingTalk's per-IP ban on every API: the gateway's HTML
//     page on HTTP 403 (no JSON, no code) on the card template send, createAndDeliver, the
//     cross-domain send, the kdocs relay, the direct webhook and both token endpoints.
//
// # Injecting failures
//
// Four knobs, applied to send requests only (token fetches see only an IP ban), in this order:
//
//   - [Config.Latency] delays every send answer, as a slow network would.
//   - Targeted faults ([Sandbox.AddFault]) answer the matching requests (by kind and a substring
//     of the body) with a preset failure in the kind's own form: busy, throttle, reject, token,
//     html, ipban; or with a chosen HTTP status and code. A fault may fire a fixed number of
//     times and may delay its answer. An ipban fault of any kind answers the token endpoints too.
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
// or, against a running `dingq sandbox`, to throttle the next three card sends, and then to ban
// the IP for the next 20 requests, token fetches included:
//
//	curl -d '{"kind":"card","preset":"throttle","times":3}' localhost:PORT/_sandbox/faults
//	curl -d '{"preset":"ipban","times":20}' localhost:PORT/_sandbox/faults
//
// The sandbox never logs a request body, a token, an app secret, a robot's signing secret (sk) or
// a query string.
package sandbox

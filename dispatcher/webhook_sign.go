package dispatcher

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strconv"
	"time"
)

// webhookSign is DingTalk's robot signature (docs/dingtalk.md#webhook-signing):
// base64(hmac_sha256(key=secret, msg=timestamp + "\n" + secret)), timestamp in milliseconds. The
// result is not URL-encoded: [webhookQuery] encodes it once, with the rest of the query.
func webhookSign(secret string, timestampMS int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMS, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhookQuery is the query of one send to r: access_token and, when r signs, timestamp and sign.
// It also returns the sign (empty when r does not sign), to be scrubbed from the answer.
func webhookQuery(r Robot, now time.Time) (query url.Values, sign string) {
	query = url.Values{"access_token": {r.AccessToken}}
	if r.Secret == "" {
		return query, ""
	}
	ts := now.UnixMilli()
	sign = webhookSign(r.Secret, ts)
	query.Set("timestamp", strconv.FormatInt(ts, 10))
	query.Set("sign", sign)
	return query, sign
}

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
//
// # One fetch for the fleet
//
// DingTalk asks callers not to fetch tokens often, and a fetch within a token's two hours returns
// the same token, extended. A [Cache] alone fetches once per process; with [Shared] between the
// cache and its fetcher, the workers fetch once for all of them:
//
//	shared := token.NewShared(kv, token.SharedKey("api", appKey), fetcher, token.SharedConfig{})
//	tokens := token.NewCache(shared, token.CacheConfig{})
//
// The workers share a JetStream key-value bucket (schema's Names.TokenBucket names it;
// worker.Provision creates it, with a TTL past a token's 2 hours). Each app and token API has a key, "api." or "oapi." and a hash of
// the app key ([SharedKey]), that holds the token with when it was fetched and when it expires.
// When a cache needs a token, Shared reads that key and hands out the token if it has more than
// RefreshBefore of its life left, by the cache's own rule. Otherwise one worker fetches: the one
// that creates the key's fetch lock, "<key>.lock". Creating a key is revision-checked, so only one
// worker succeeds; the others look at the token and the lock again, with growing pauses of 10 to
// 250 ms, until the token is there. The worker with the lock fetches, stores the token, and
// deletes the lock. If its fetch fails, it leaves the failure's code in the lock instead: the
// workers that waited return that failure rather than each ask the token API in turn, and the
// next fetch takes the lock over. A lock older than LockTimeout (5 s) is taken over too, by a
// revision-checked update that only one worker wins, so that a worker that died while fetching
// holds up the others for that long only.
//
// A send refused for its token makes the cache's Invalidate reach [Shared.Invalidate] before the
// cache drops the token, so that the fetch that follows does not read the refused token back.
// Shared deletes the key only if it still holds the refused token, by a revision-checked delete:
// when every worker finds the same token refused, it is dropped once, and fetched again once.
// Workers with a newer token keep it.
//
// The bucket helps but is not needed: when it cannot be read or written within OpTimeout (NATS
// unreachable, the bucket missing), Shared fetches directly, as a lone cache would, and tells
// OnBucketError. A working send beats a strict fetch count. The lock is an economy, not a
// guarantee either: a clock that is off, or a fetch slower than LockTimeout, costs one more
// fetch, which DingTalk answers with the same token.
//
// The bucket holds live access tokens, at rest on the NATS servers' disks: restrict it as the app
// secret is, and let no role but the workers reach it. Keys name no app (the app key is hashed);
// no value holds an app key or secret. A worker publishes to $KV.<bucket>.> (every write) and
// $JS.API.DIRECT.GET.KV_<bucket>.> (every read), and subscribes to its inbox for the answers; to
// bind the bucket it asks $JS.API.STREAM.INFO.KV_<bucket>, and to create or update it at start,
// $JS.API.INFO and $JS.API.STREAM.CREATE.KV_<bucket> and $JS.API.STREAM.UPDATE.KV_<bucket>.
package token

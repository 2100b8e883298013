package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// DefaultSlackAPIURL is used when a target does not set apiURL.
const DefaultSlackAPIURL = "https://slack.com/api/"

// slackMessage is the one Slack message of a rollout, posted when the
// rollout starts and updated in place as it moves.
type slackMessage struct {
	rollout string // Report.TemplateHash
	// channel is the channel ID Slack answered with: chat.update refuses a
	// channel name.
	channel string
	ts      string
	// rendered is the last layout sent, to skip updates that change nothing.
	rendered string
}

// retryableSlackErrors are the "ok": false answers that a later attempt may
// turn into success; any other one (invalid_auth, channel_not_found,
// not_in_channel...) needs a human, so retrying would only add noise.
var retryableSlackErrors = map[string]bool{
	"ratelimited":         true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
}

// sendSlack makes the one Slack call that moves the head item forward:
// post the rollout's message if it has none, else update it to the item's
// state, else reply in its thread with the item's event.
func (d *Dispatcher) sendSlack(ctx context.Context, j job) outcome {
	target := j.target.Slack
	token, err := d.secrets(ctx, j.key.Rollout.Namespace, target.TokenSecretRef)
	if err != nil {
		return outcome{err: fmt.Errorf("reading Slack token: %w", err)}
	}
	apiURL := targetURL(j.target)
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/" // slack-go appends the method name
	}
	client := slack.New(token, slack.OptionAPIURL(apiURL), slack.OptionHTTPClient(d.opts.HTTPClient))
	// chat.postMessage is limited per channel, chat.update per workspace,
	// which the token stands for (hashed: keys show up in no log, but a
	// secret does not belong in a map key either).
	postKey := "post " + apiURL + " " + target.Channel
	tokenSum := sha256.Sum256([]byte(token))
	updateKey := "update " + apiURL + " " + hex.EncodeToString(tokenSum[:8])

	msg, s := j.msg, j.item.report
	now := time.Now()
	switch {
	case msg.rollout != s.TemplateHash || msg.ts == "":
		if !j.item.isEvent() && !s.forward() {
			return outcome{done: true} // nothing rolls out: no message to start
		}
		if wait := d.limiter.reserve(postKey, d.opts.PostInterval, now); wait > 0 {
			return outcome{wait: wait}
		}
		text, blocks := renderMessage(s, d.opts.Cluster)
		channel, ts, err := client.PostMessageContext(ctx, target.Channel,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		if err != nil {
			return d.slackFailure(err, postKey)
		}
		posted := slackMessage{rollout: s.TemplateHash, channel: channel, ts: ts, rendered: blocksJSON(blocks)}
		// An event item stays: its reply goes into the new thread next.
		return outcome{sent: true, msg: &posted, done: !j.item.isEvent()}

	case !j.item.isEvent():
		text, blocks := renderMessage(s, d.opts.Cluster)
		rendered := blocksJSON(blocks)
		if rendered == msg.rendered {
			return outcome{done: true}
		}
		if wait := d.limiter.reserve(updateKey, d.opts.UpdateInterval, now); wait > 0 {
			return outcome{wait: wait}
		}
		_, _, _, err := client.UpdateMessageContext(ctx, msg.channel, msg.ts,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok && se.Err == "message_not_found" {
			// Deleted by someone, or a stale record: start a new message.
			d.log.Info("Slack message was not found, posting a new one", "rollout", j.key.Rollout, "target", j.key.Target, "ts", msg.ts)
			return outcome{msg: &slackMessage{}}
		}
		if err != nil {
			return d.slackFailure(err, updateKey)
		}
		msg.rendered = rendered
		return outcome{sent: true, msg: &msg, done: true}

	default:
		if wait := d.limiter.reserve(postKey, d.opts.PostInterval, now); wait > 0 {
			return outcome{wait: wait}
		}
		_, _, err := client.PostMessageContext(ctx, msg.channel, slack.MsgOptionTS(msg.ts),
			slack.MsgOptionText(renderReply(s, j.item.event), false))
		if err != nil {
			return d.slackFailure(err, postKey)
		}
		out := outcome{sent: true, done: true}
		if terminal(j.item.event.Type) {
			out.delivered = j.item.event.Type
		}
		return out
	}
}

// slackFailure classifies a failed call. A 429 closes the limiter key for
// Retry-After, counted from the answer, so no other rollout's call to that
// channel or workspace goes out before Slack allows it. A target that needs
// a human (bad token, bot not in the channel) is tried again only after
// MaxBackoff, not on every reconcile.
func (d *Dispatcher) slackFailure(err error, limiterKey string) outcome {
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		d.limiter.holdUntil(limiterKey, time.Now().Add(rl.RetryAfter))
		return outcome{err: err, wait: rl.RetryAfter}
	}
	permanent := false
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		permanent = !retryableStatus(sc.Code)
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		permanent = !retryableSlackErrors[se.Err]
	}
	if permanent {
		return outcome{err: err, permanent: true, wait: d.opts.MaxBackoff}
	}
	return outcome{err: err} // a passing outage, network trouble: back off and retry
}

// retryableStatus tells a server's passing trouble from a request it will
// never accept.
func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

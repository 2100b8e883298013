package notify

import (
	"cmp"
	"context"
	"errors"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
)

// job is a copy of what a worker needs to send a stream's head item, taken
// under the lock so that the call itself runs without it.
type job struct {
	stream *stream
	key    streamKey
	target v1alpha1.NotificationTarget
	item   item
	msg    slackMessage
}

// outcome is what one send attempt did; commit applies it to the stream.
type outcome struct {
	// done: the head item needs nothing more; pop it.
	done bool
	// sent: a call succeeded.
	sent bool
	// wait: nothing was sent; try again after this long (a limiter slot or
	// a Retry-After).
	wait time.Duration
	// err: the call failed. permanent: retrying cannot help; the item is
	// dropped and the stream still waits for wait.
	err       error
	permanent bool
	// msg is the stream's Slack message after the call, when it changed.
	msg *slackMessage
	// delivered is a terminal event the target acknowledged.
	delivered v1alpha1.NotificationEvent
}

// processNext sends one item of one stream and reports whether the worker
// should go on.
func (d *Dispatcher) processNext(ctx context.Context) bool {
	key, shutdown := d.queue.Get()
	if shutdown {
		return false
	}
	defer d.queue.Done(key)
	j, wait, ok := d.next(key)
	if !ok {
		if wait > 0 {
			d.queue.AddAfter(key, wait)
		}
		return true
	}
	out := d.send(ctx, j)
	if ctx.Err() != nil {
		return false // shutting down: the failure says nothing about the target
	}
	if delay, more := d.commit(j, out); more {
		// Add, not a loop: other streams get their turn between two calls.
		d.queue.AddAfter(key, delay)
	}
	return true
}

// send makes the call for the head item, to an allowed host only: checked
// before any Secret is read, so nothing goes to a host the admin did not
// allow, not even a request without credentials.
func (d *Dispatcher) send(ctx context.Context, j job) outcome {
	if err := d.opts.AllowedHosts.Check(targetURL(j.target)); err != nil {
		return outcome{err: err}
	}
	if j.target.Slack != nil {
		return d.sendSlack(ctx, j)
	}
	return d.sendWebhook(ctx, j)
}

// next returns the stream's head item, or how long the stream is held back.
func (d *Dispatcher) next(key streamKey) (j job, wait time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.stream(key)
	if st == nil || len(st.items) == 0 {
		return job{}, 0, false
	}
	if wait := time.Until(st.notBefore); wait > 0 {
		return job{}, wait, false
	}
	return job{stream: st, key: key, target: st.target, item: st.items[0], msg: st.msg}, 0, true
}

func (d *Dispatcher) stream(key streamKey) *stream {
	if r := d.rollouts[key.Rollout]; r != nil {
		return r.streams[key.Target]
	}
	return nil
}

// commit applies an outcome and returns when to look at the stream again.
func (d *Dispatcher) commit(j job, out outcome) (delay time.Duration, more bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.stream(j.key)
	if st != j.stream {
		return 0, false // forgotten or replaced while the call ran
	}
	kind := st.kind
	what := string(j.item.event.Type)
	if !j.item.isEvent() {
		what = "message state"
	}
	log := d.log.WithValues("rollout", j.key.Rollout, "target", j.key.Target, "notification", what, "templateHash", j.item.report.TemplateHash)
	if out.msg != nil {
		st.msg = *out.msg
	}
	if out.sent {
		d.metrics.sent.WithLabelValues(kind).Inc()
		d.recordSent(st, j.item, out.delivered)
	}
	if out.sent || out.err != nil {
		d.recordRefusal(st, out.err)
	}
	switch {
	case out.err != nil && out.permanent:
		d.metrics.failed.WithLabelValues(kind).Inc()
		if st.pop(j.item.id) {
			d.metrics.dropped.WithLabelValues(kind).Inc()
		}
		delay = out.wait
		log.Error(out.err, "Dropped notification: permanent error", "pausedFor", delay)
	case out.err != nil:
		d.metrics.failed.WithLabelValues(kind).Inc()
		st.attempts++
		if !j.item.persistent() && st.attempts >= d.opts.MaxAttempts {
			if st.pop(j.item.id) {
				d.metrics.dropped.WithLabelValues(kind).Inc()
			}
			log.Error(out.err, "Dropped notification: attempts exhausted", "attempts", d.opts.MaxAttempts)
			break
		}
		delay = out.wait
		if delay == 0 {
			delay = d.backoff(st.attempts)
		}
		if st.status.Refused != "" {
			log.Info("Refused notification target", "reason", st.status.Refused, "message", st.status.Message, "attempt", st.attempts, "retryIn", delay)
			break
		}
		log.Info("Notification attempt failed", "error", out.err.Error(), "attempt", st.attempts, "retryIn", delay)
	case out.done:
		st.pop(j.item.id)
	default:
		delay = out.wait
	}
	st.notBefore = time.Now().Add(delay)
	return delay, len(st.items) > 0
}

// recordSent updates what the target was told, for Record: the Slack
// message and the terminal event it acknowledged. The attempt it is told
// about (status.templateHash, recorded as the entry's Revision: the
// StatefulSet revisions change during a rollback; status.startedAt and the
// retry request) was recorded when the attempt was announced (see add); an
// item of an earlier rollout sent after that changes nothing in the record,
// which is the later one's, and a terminal event of an earlier attempt at
// the same template (the Slack message is the template's) is not the
// later attempt's end.
func (d *Dispatcher) recordSent(st *stream, it item, delivered v1alpha1.NotificationEvent) {
	if st.status.Revision != it.report.TemplateHash {
		return
	}
	before := st.status
	if st.msg.rollout == st.status.Revision {
		st.status.SlackTS, st.status.SlackChannel = st.msg.ts, st.msg.channel
	}
	if delivered != "" && it.report.recordsAttempt(st.status) {
		// Second precision, as the API server keeps it: a status read back
		// must compare equal, or the controller would write it forever.
		at := metav1.NewTime(time.Now()).Rfc3339Copy()
		st.status.Delivered, st.status.DeliveredAt = delivered, &at
	}
	if st.status.SlackTS != before.SlackTS || st.status.SlackChannel != before.SlackChannel || st.status.Delivered != before.Delivered {
		d.signal(st.key.Rollout)
	}
}

// recordRefusal records in the target's status whether the attempt was
// refused (see refusal) or got past every check, sent or not.
func (d *Dispatcher) recordRefusal(st *stream, err error) {
	refused, message := refusal(err)
	if st.status.Refused == refused && st.status.Message == message {
		return
	}
	st.status.Refused, st.status.Message = refused, message
	d.signal(st.key.Rollout)
}

// refusal tells an attempt the operator refused to make from one that
// failed: a host outside --allowed-hosts (the target's, or a redirect's),
// a Secret its owner did not opt in. A refused attempt is retried like a
// failed one, so fixing the cause takes effect at the next attempt.
func refusal(err error) (v1alpha1.NotificationRefusal, string) {
	if e, ok := errors.AsType[*egress.NotAllowedError](err); ok {
		return v1alpha1.RefusedHostNotAllowed, e.Error()
	}
	if e, ok := errors.AsType[*SecretNotOptedInError](err); ok {
		return v1alpha1.RefusedSecretNotOptedIn, e.Error()
	}
	return "", ""
}

// targetURL is where a target's calls go.
func targetURL(t v1alpha1.NotificationTarget) string {
	if t.Slack != nil {
		return cmp.Or(t.Slack.APIURL, DefaultSlackAPIURL)
	}
	return t.Webhook.URL
}

func (d *Dispatcher) backoff(attempts int) time.Duration {
	delay := d.opts.InitialBackoff
	for range attempts - 1 {
		if delay >= d.opts.MaxBackoff {
			break
		}
		delay *= 2
	}
	return min(delay, d.opts.MaxBackoff)
}

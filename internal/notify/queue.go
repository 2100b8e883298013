package notify

import (
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// streamKey names the notifications of one rollout to one target. The work
// queue holds keys, never payloads, so a key waits in it at most once however
// many reports arrive: that is what keeps the queue bounded.
type streamKey struct {
	Rollout types.NamespacedName
	Target  string
}

// item is one thing a target must be told. A state item (no event) brings
// the Slack message up to date; an event item is a Slack thread reply or a
// webhook delivery.
type item struct {
	id     uint64 // changes when a state item is coalesced
	report Report
	event  Event
	// body is the webhook JSON, rendered once so that every retry sends the
	// same bytes under the same signature.
	body []byte
}

func (it item) isEvent() bool { return it.event.Type != "" }

// persistent items are retried until delivered: the latest Slack state (the
// message must end up right) and terminal events (a release system waits
// for them). Other events are given up after Options.MaxAttempts.
func (it item) persistent() bool { return !it.isEvent() || terminal(it.event.Type) }

// stream is the notification state of one rollout for one target. Notify
// appends items; one worker at a time (the work queue guarantees it) sends
// the head item and commits the outcome. All fields are guarded by
// Dispatcher.mu.
type stream struct {
	key    streamKey
	kind   string
	target v1alpha1.NotificationTarget
	items  []item
	// attempts counts failed attempts of the head item.
	attempts int
	// notBefore holds the stream back (backoff, Retry-After, a limiter
	// slot) even when Notify adds it to the queue again.
	notBefore time.Time
	// msg is the Slack message of the rollout being shown.
	msg slackMessage
	// status is what this target was told, for Record.
	status v1alpha1.NotificationStatus
}

// rolloutState is everything the dispatcher remembers about one rollout.
type rolloutState struct {
	uid     types.UID
	streams map[string]*stream // by target name
	moved   movement
}

// movement is what a rollout was last seen moving between.
type movement struct {
	templateHash, stableRevision, updateRevision string
	oldImages                                    []string
}

// show fills in the revisions a rollout moves between once its status no
// longer says (rolling back, completed: both revisions are the same), so
// that messages and payloads keep naming the revision being rolled out. A
// dispatcher that has not seen the rollout move (the operator restarted
// since) shows the revision the attempt was recorded to start from, and its
// images: a completed rollout then still reads R1 → R2, not R2 → R2.
func (r *rolloutState) show(s Report) Report {
	switch {
	case s.forward():
		r.moved = movement{s.TemplateHash, s.StableRevision, s.UpdateRevision, s.OldImages}
	case r.moved.templateHash == s.TemplateHash && r.moved.updateRevision != "":
		s.StableRevision, s.UpdateRevision, s.OldImages = r.moved.stableRevision, r.moved.updateRevision, r.moved.oldImages
	case s.FromRevision != "" && s.UpdateRevision != "" && s.FromRevision != s.UpdateRevision:
		s.StableRevision, s.OldImages = s.FromRevision, s.FromImages
	}
	return s
}

func kindOf(t v1alpha1.NotificationTarget) string {
	if t.Slack != nil {
		return kindSlack
	}
	return kindWebhook
}

// wants reports whether the target is told about an event at all: Slack
// threads get the events a human should see, webhooks the API's events that
// pass the target's filter.
func wants(t v1alpha1.NotificationTarget, e v1alpha1.NotificationEvent) bool {
	if t.Slack != nil {
		return replyTitles[e] != ""
	}
	if len(t.Webhook.Events) == 0 {
		return true
	}
	for _, want := range t.Webhook.Events {
		if want == e {
			return true
		}
	}
	return false
}

// appendState adds the latest state for the Slack message. If the last
// pending item is a state of the same rollout it is replaced: latest state
// wins, and the replaced one counts as coalesced. It returns whether a state
// was replaced.
func (st *stream) appendState(it item) (coalesced bool) {
	if n := len(st.items); n > 0 {
		last := &st.items[n-1]
		if !last.isEvent() && last.report.TemplateHash == it.report.TemplateHash {
			*last = it
			return true
		}
	}
	st.items = append(st.items, it)
	return false
}

// trim drops items beyond max, the oldest event that may be given up first,
// else the oldest item. It returns how many were dropped.
func (st *stream) trim(max int) (dropped int) {
	for len(st.items) > max {
		victim := 0
		for i, it := range st.items {
			if !it.persistent() {
				victim = i
				break
			}
		}
		st.items = append(st.items[:victim], st.items[victim+1:]...)
		dropped++
	}
	return dropped
}

// pop removes the item a worker finished, unless Notify replaced it in the
// meantime (then the newer item is still to be sent).
func (st *stream) pop(id uint64) bool {
	for i, it := range st.items {
		if it.id == id {
			st.items = append(st.items[:i], st.items[i+1:]...)
			st.attempts = 0
			return true
		}
	}
	return false
}

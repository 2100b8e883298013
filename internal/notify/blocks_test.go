package notify

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestProgress(t *testing.T) {
	got := progress(Report{Replicas: 200, Updated: 50, UpdatedReady: 40, Ready: 190})
	want := "`█████░░░░░░░░░░░░░░░` 25%\n50/200 updated, 40 updated ready, 190 ready"
	if got != want {
		t.Errorf("progress = %q, want %q", got, want)
	}
	if got := progress(Report{}); !strings.HasPrefix(got, "`░░░░░░░░░░░░░░░░░░░░` 0%") {
		t.Errorf("progress of no replicas = %q, want an empty bar", got)
	}
}

func reportForRender() Report {
	return Report{
		Key: types.NamespacedName{Namespace: "db", Name: "kv"}, Phase: v1alpha1.PhaseProgressing,
		Step: 2, Steps: 4, StableRevision: "kv-r1", UpdateRevision: "kv-r2",
		OldImages: []string{"kv:1.0", "sidecar:1"}, NewImages: []string{"kv:2.0", "sidecar:1"},
		Replicas: 200, Ready: 150, Updated: 100, UpdatedReady: 50,
		InFlight:  []string{"kv-99", "kv-98", "kv-97", "kv-96", "kv-95", "kv-94", "kv-93"},
		StartedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		Now:       time.Date(2026, 3, 1, 10, 12, 30, 0, time.UTC),
	}
}

func TestRenderMessage(t *testing.T) {
	text, blocks := renderMessage(reportForRender(), "prod-eu-1")
	layout := blocksJSON(blocks)
	for _, want := range []string{
		"`db/kv`", "prod-eu-1", "Progressing", "3/4",
		"`kv:1.0` → `kv:2.0`", "`sidecar:1`", "50%", "100/200 updated",
		"*Batch in flight* (7): kv-99, kv-98, kv-97, kv-96, kv-95 and 2 more",
		"Revision `kv-r1` → `kv-r2`", "!date^1772359200^{date_short_pretty}",
	} {
		if !strings.Contains(layout, want) {
			t.Errorf("message blocks lack %q:\n%s", want, layout)
		}
	}
	if want := "db/kv on prod-eu-1: Progressing, step 3/4, 100/200 pods updated"; text != want {
		t.Errorf("fallback text = %q, want %q", text, want)
	}
	s := reportForRender()
	s.Now = s.Now.Add(time.Minute)
	if _, again := renderMessage(s, "prod-eu-1"); blocksJSON(again) != layout {
		t.Error("the layout changed with the clock alone: every reconcile would cost a chat.update")
	}
}

func TestRenderReply(t *testing.T) {
	s := reportForRender()
	tests := []struct {
		event Event
		want  string
	}{
		{Event{Type: v1alpha1.EventPaused, Step: 1, Reason: "waiting for promote"},
			":double_vertical_bar: *Paused* at step 2/4: waiting for promote"},
		{Event{Type: v1alpha1.EventCompleted, Step: 4},
			":white_check_mark: *Completed*: 50/200 pods on `kv-r2` in 12m30s"},
		{Event{Type: EventRollbackStarted, Step: 2, Reason: "aborted by request"},
			":rewind: *Rollback started* to `kv-r1`: aborted by request"},
		{Event{Type: v1alpha1.EventRolledBack, Step: 2},
			":x: *Aborted*: rolled back to `kv-r1`"},
		{Event{Type: v1alpha1.EventFailed, Step: 2, Reason: "no progress for 10m0s"},
			":warning: *Failed*, rollout degraded at step 3/4: no progress for 10m0s\nNot ready: kv-99, kv-98, kv-97, kv-96, kv-95 and 2 more"},
	}
	for _, tt := range tests {
		if got := renderReply(s, tt.event); got != tt.want {
			t.Errorf("renderReply(%s) =\n%q\nwant\n%q", tt.event.Type, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	if got := clip("ééééé", 3); got != "éé…" {
		t.Errorf("clip = %q, want runes kept whole", got)
	}
	if got := clip("short", 10); got != "short" {
		t.Errorf("clip = %q, want it unchanged", got)
	}
}

package controller

import (
	"context"
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/notify"
)

// newNotifier is a dispatcher that is never started: Notify only queues.
func newNotifier() *notify.Dispatcher {
	noSecrets := func(context.Context, string, v1alpha1.SecretKeyRef) (string, error) {
		return "", errors.New("no secrets in this test")
	}
	return notify.NewDispatcher(noSecrets, notify.Options{})
}

func slackTarget() v1alpha1.NotificationTarget {
	return v1alpha1.NotificationTarget{Name: "releases", Slack: &v1alpha1.SlackTarget{
		Channel: "#releases", TokenSecretRef: v1alpha1.SecretKeyRef{Name: "slack", Key: "token"},
	}}
}

// A rollout without notifications is none of the dispatcher's business, and
// one with notifications still makes no write when nothing changes.
func TestReconcileWithNotifierWritesNothingMore(t *testing.T) {
	for _, configured := range []bool{false, true} {
		rollout := newRollout("kv", 3, "kv:v1")
		if configured {
			rollout.Spec.Notifications = []v1alpha1.NotificationTarget{slackTarget()}
		}
		f := newFixture(t, rollout)
		f.r.Notifier = newNotifier()

		reconcileOnce(t, f, "kv")
		if got := f.writes.Take(); len(got) != 3 {
			t.Errorf("configured=%v: first reconcile wrote %v, want the status, the governing Service and the StatefulSet", configured, got)
		}
		reconcileOnce(t, f, "kv")
		f.writes.Take()
		for range 3 {
			reconcileOnce(t, f, "kv")
			if got := f.writes.Take(); len(got) != 0 {
				t.Fatalf("configured=%v: a reconcile with nothing to do wrote %v", configured, got)
			}
		}
		// Record hands back what it is given for a rollout it never saw.
		key := types.NamespacedName{Namespace: "default", Name: "kv"}
		marker := []v1alpha1.NotificationStatus{{Target: "marker"}}
		got := f.r.Notifier.Record(key, marker)
		if known := len(got) != 1 || got[0].Target != "marker"; known != configured {
			t.Errorf("configured=%v: the dispatcher knows the rollout: %v", configured, known)
		}
	}
}

// Removing every target removes their entries from status.notifications.
func TestRecordNotificationsDropsRemovedTargets(t *testing.T) {
	rollout := newRollout("kv", 3, "kv:v1")
	rollout.Status.Notifications = []v1alpha1.NotificationStatus{{Target: "releases", Revision: "abc", SlackTS: "1.2"}}
	r := &Reconciler{Notifier: newNotifier()}
	planned := rollout.Status.DeepCopy()
	planned.Notifications = r.notificationRecords(rollout, planned.Notifications)
	if planned.Notifications != nil {
		t.Errorf("status.notifications = %v, want none without targets", planned.Notifications)
	}

	rollout.Spec.Notifications = []v1alpha1.NotificationTarget{slackTarget()}
	planned = rollout.Status.DeepCopy()
	planned.Notifications = r.notificationRecords(rollout, planned.Notifications)
	if len(planned.Notifications) != 1 || planned.Notifications[0].SlackTS != "1.2" {
		t.Errorf("status.notifications = %v, want the record kept until the dispatcher saw the rollout", planned.Notifications)
	}
}

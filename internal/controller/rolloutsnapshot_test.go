package controller

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/notify"
	"github.com/sroll-dev/sroll/internal/notify/webhooktest"
	"github.com/sroll-dev/sroll/internal/snapshot"
)

// A set that ended while the operator stopped before handing the end to
// the notifier (Ready, no status.notifiedAt) is handed over by the next
// operator, which records it; a third operator hands it over no more.
// The receiver gets each set's end once: a second delivery of kv-a would
// reach it before kv-b's, on the target's one queue.
func TestSetEndIsNotifiedOnceAcrossRestarts(t *testing.T) {
	receiver := webhooktest.NewReceiver("", "")
	t.Cleanup(receiver.Close)
	rollout := newRollout("kv", 3, "kv:v1")
	rollout.Spec.Notifications = []v1alpha1.NotificationTarget{{Name: "release-system", Webhook: &v1alpha1.WebhookTarget{
		WebhookEndpoint: v1alpha1.WebhookEndpoint{URL: receiver.URL()},
	}}}
	ended := func(name string) *v1alpha1.RolloutSnapshot {
		set := snapshot.NewSet(rollout, name, v1alpha1.SnapshotOnDemand)
		set.Status = v1alpha1.RolloutSnapshotStatus{Phase: v1alpha1.SnapshotReady, Message: "3 volume snapshots of 3 members ready", Revision: "kv-v1"}
		return set
	}
	c := fake.NewClientBuilder().WithScheme(NewScheme()).
		WithStatusSubresource(&v1alpha1.StatefulSetRollout{}, &v1alpha1.RolloutSnapshot{}).
		WithObjects(rollout, ended("kv-a"), ended("kv-b")).Build()
	// operator is one run of the operator: a dispatcher of its own.
	operator := func() *SnapshotReconciler {
		ctx, cancel := context.WithCancel(context.Background())
		d := notify.NewDispatcher(nil, notify.Options{AllowedHosts: egress.MustParseHosts("127.0.0.1")})
		done := make(chan struct{})
		go func() { _ = d.Start(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return &SnapshotReconciler{Client: c, Recorder: events.NewFakeRecorder(10), Metrics: NewMetrics(prometheus.NewRegistry()),
			Clock: clocktesting.NewFakeClock(time.Now()), Notifier: d}
	}
	reconcileSet := func(r *SnapshotReconciler, name string) *v1alpha1.RolloutSnapshot {
		t.Helper()
		key := client.ObjectKey{Namespace: rollout.Namespace, Name: name}
		if _, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: key}); err != nil {
			t.Fatal(err)
		}
		var set v1alpha1.RolloutSnapshot
		if err := c.Get(context.Background(), key, &set); err != nil {
			t.Fatal(err)
		}
		return &set
	}
	// delivered waits until the receiver has as many deliveries as want.
	delivered := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for len(receiver.Deliveries()) < len(want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		var got []string
		for _, d := range receiver.Deliveries() {
			if d.Payload.Snapshot == nil || d.Payload.Event != v1alpha1.EventSnapshotReady {
				t.Fatalf("delivered %s without its set", d.Payload.Event)
			}
			got = append(got, d.Payload.Snapshot.Name)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("delivered the ends of %v, want %v", got, want)
		}
	}

	after := operator()
	set := reconcileSet(after, "kv-a")
	if set.Status.NotifiedAt == nil {
		t.Fatal("the hand-over of kv-a's end is not recorded")
	}
	notified := *set.Status.NotifiedAt
	delivered("kv-a")

	again := operator()
	if set := reconcileSet(again, "kv-a"); !set.Status.NotifiedAt.Equal(&notified) {
		t.Errorf("kv-a's notifiedAt went from %s to %s", notified, set.Status.NotifiedAt)
	}
	if set := reconcileSet(again, "kv-b"); set.Status.NotifiedAt == nil {
		t.Fatal("the hand-over of kv-b's end is not recorded")
	}
	delivered("kv-a", "kv-b")
}

package consul_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/consul"
)

// The drain is read back from the maintenance reason sroll wrote, rounded
// up to the second it keeps, and holds for this pod's UID alone.
func TestDrainReadFromTheReason(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 10, 300_000_000, time.UTC)
	reason := consul.MaintenanceReason("kv-2", "uid-1", since)
	d := consul.ParseReason(reason)
	if d == nil || d.UID != "uid-1" || !d.Since.Equal(since.Truncate(time.Second).Add(time.Second)) {
		t.Fatalf("ParseReason(%q) = %+v; want uid-1 since 00:00:11", reason, d)
	}
	if consul.ParseReason("down for repairs") != nil {
		t.Errorf("someone else's maintenance read as sroll's drain")
	}

	rollout := &v1alpha1.StatefulSetRollout{}
	rollout.Spec.Rollout.Consul = &v1alpha1.Consul{Service: "kv", DrainSeconds: 5, RequireHealthy: true}
	pods := []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "kv-2", UID: "uid-2"}, Status: corev1.PodStatus{PodIP: "10.0.0.2"}}}
	obs := &consul.Observation{Instances: []consul.Instance{{ID: "kv-2-instance", Address: "10.0.0.2", Drain: d}}}
	at := func(s int) time.Time { return time.Date(2026, 1, 1, 0, 0, s, 0, time.UTC) }

	// A drain for another UID (an earlier pod of the name) is not this pod's.
	gate := consul.NewGate(rollout, obs, pods, at(20))
	if drained, _ := gate.Drained("kv-2", "uid-2"); drained {
		t.Errorf("kv-2 (uid-2) taken for drained by the drain of uid-1")
	}
	if lift := gate.Undrained(pods); len(lift) != 1 || lift[0] != "kv-2-instance" {
		t.Errorf("Undrained = %v; want the instance matched by address, kv-2-instance", lift)
	}
	if gate.Healthy("kv-2") {
		t.Errorf("an instance in maintenance taken for healthy")
	}

	pods[0].UID = "uid-1"
	for _, tc := range []struct {
		now     time.Time
		drained bool
		left    time.Duration
	}{{at(14), false, 2 * time.Second}, {at(16), true, 0}} {
		drained, left := consul.NewGate(rollout, obs, pods, tc.now).Drained("kv-2", "uid-1")
		if drained != tc.drained || left != tc.left {
			t.Errorf("at %s: drained %v, %s left; want %v, %s", tc.now.Format("15:04:05"), drained, left, tc.drained, tc.left)
		}
	}
	unread := consul.NewGate(rollout, &consul.Observation{Err: "connection refused"}, pods, at(30))
	if drained, _ := unread.Drained("kv-2", "uid-1"); drained || unread.Healthy("kv-2") {
		t.Errorf("with Consul unread, a pod was taken for drained or healthy")
	}
}

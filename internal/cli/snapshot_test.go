package cli

import (
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// `snapshot --wait` takes an on-demand set of every member's claim and
// returns once it is Ready; `snapshots` lists it.
func TestSnapshotOnDemand(t *testing.T) {
	ns, c := clusterTest(t, true)
	r := newRollout(ns, "db")
	r.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}}
	create(t, c, r)
	waitFor(t, c, ns, "db", "Completed", settled(v1alpha1.PhaseCompleted))

	out := mustSroll(t, ns, "snapshot", "db", "--wait", "--timeout", "2m")
	created := regexp.MustCompile(`^rolloutsnapshot\.sroll\.dev/(db-\d{8}-\d{6}) created\n`).FindStringSubmatch(out)
	if created == nil {
		t.Fatalf("snapshot printed %q, want the set created", out)
	}
	if !strings.Contains(out, created[1]+" Ready: 4 volume snapshots of 4 members ready") {
		t.Errorf("snapshot --wait printed %q, want it Ready", out)
	}
	list := mustSroll(t, ns, "snapshots", "db")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("snapshots printed %q, want a header and one set", list)
	}
	// The local cluster's driver has a default VolumeGroupSnapshotClass:
	// group Auto makes the set one VolumeGroupSnapshot, named like it.
	if fields := strings.Fields(lines[1]); fields[0] != created[1] || fields[1] != "OnDemand" || fields[2] != "Ready" ||
		fields[4] != "registry.example/kv:1.0" || fields[5] != "4/4" || fields[6] != created[1] {
		t.Errorf("snapshots row %q, want %s OnDemand Ready <revision> registry.example/kv:1.0 4/4 %[2]s", lines[1], created[1])
	}

	if status := mustSroll(t, ns, "status", "db"); !strings.Contains(status, created[1]+" Ready (OnDemand, 4/4 volumes in VolumeGroupSnapshot "+created[1]) {
		t.Errorf("status does not show the last set %s:\n%s", created[1], status)
	}

	plain := newRollout(ns, "plain")
	create(t, c, plain)
	sroll(t, ns, "snapshot", "plain").wantFailure(t, exitFailed, "plain has no volumeClaimTemplates: there is nothing to snapshot")
}

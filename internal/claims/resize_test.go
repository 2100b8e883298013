package claims

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func template(name, storage string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
		Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(storage)}},
	}}
}

func claim(name, class, storage string) corev1.PersistentVolumeClaim {
	c := template(name, storage)
	c.Spec.StorageClassName = &class
	return c
}

// A storage increase from 1Gi to 2Gi of template data on a 3-pod set, one
// claim on a class that can't expand, walked step by step as the
// controller would carry it out, an operator restart included.
func TestResizeWalk(t *testing.T) {
	in := Input{
		StatefulSetName: "db",
		Wanted:          []corev1.PersistentVolumeClaim{template("data", "2Gi"), template("logs", "1Gi")},
		Current:         []corev1.PersistentVolumeClaim{template("data", "1Gi"), template("logs", "1Gi")},
		Exists:          true,
		Claims: []corev1.PersistentVolumeClaim{
			claim("data-db-0", "sroll-local", "1Gi"), claim("data-db-1", "sroll-local", "1Gi"), claim("data-db-2", "fixed", "1Gi"),
			claim("logs-db-0", "sroll-local", "1Gi"), claim("data-dbx-0", "sroll-local", "1Gi"), claim("data-db-x", "sroll-local", "1Gi"),
		},
		Expandable: map[string]bool{"sroll-local": true},
		Settled:    false,
	}
	want := map[string]resource.Quantity{"data": resource.MustParse("2Gi")}

	// 1. Recorded and the expandable claims of the set's data template raised.
	d := Decide(in)
	if d.Record == nil || d.Record.Step != v1alpha1.ClaimResizeExpanding || !reflect.DeepEqual(d.Record.Storage, want) {
		t.Fatalf("first decision records %+v, want Expanding to %v", d.Record, want)
	}
	if got := names(d.Expand); !reflect.DeepEqual(got, []string{"data-db-0", "data-db-1"}) || d.Replace {
		t.Fatalf("expands %v (replace %v), want data-db-0 and data-db-1 only", got, d.Replace)
	}
	if !reflect.DeepEqual(d.Fixed, []string{"data-db-2"}) {
		t.Errorf("fixed %v, want data-db-2 (class fixed)", d.Fixed)
	}

	// 2. A restarted operator resumes from the record: one claim patched so far.
	in.Recorded = d.Record
	in.Claims[0] = claim("data-db-0", "sroll-local", "2Gi")
	if d = Decide(in); !reflect.DeepEqual(names(d.Expand), []string{"data-db-1"}) {
		t.Fatalf("after a restart expands %v, want data-db-1", names(d.Expand))
	}

	// 3. Every claim that can expand asks for 2Gi: replacing waits for the rollout.
	in.Claims[1] = claim("data-db-1", "sroll-local", "2Gi")
	d = Decide(in)
	if d.Record.Step != v1alpha1.ClaimResizeReplacing || d.Replace || len(d.Expand) != 0 {
		t.Fatalf("with every claim raised: %+v, want step Replacing, waiting for the rollout to settle", d)
	}
	in.Recorded = d.Record

	// 4. Settled: the StatefulSet is deleted (orphan), then recreated.
	in.Settled = true
	if d = Decide(in); !d.Replace || d.Record.Step != v1alpha1.ClaimResizeReplacing {
		t.Fatalf("settled: %+v, want the StatefulSet replaced", d)
	}
	in.Exists, in.Current = false, nil
	if d = Decide(in); d.Replace || d.Record == nil {
		t.Fatalf("while the StatefulSet is gone: %+v, want the record kept and nothing to do", d)
	}

	// 5. The new StatefulSet carries 2Gi: done.
	in.Exists, in.Current = true, in.Wanted
	if d = Decide(in); d.Record != nil || d.Replace || d.Message != "" {
		t.Fatalf("with the new StatefulSet: %+v, want the record cleared", d)
	}
}

// No growth, no StatefulSet yet: nothing to do.
func TestNothingToResize(t *testing.T) {
	same := []corev1.PersistentVolumeClaim{template("data", "1Gi")}
	for name, in := range map[string]Input{
		"same size":      {StatefulSetName: "db", Wanted: same, Current: same, Exists: true},
		"no StatefulSet": {StatefulSetName: "db", Wanted: []corev1.PersistentVolumeClaim{template("data", "2Gi")}},
	} {
		if d := Decide(in); !reflect.DeepEqual(d, Decision{}) {
			t.Errorf("%s: %+v, want nothing", name, d)
		}
	}
}

func names(expand []Expansion) []string {
	var out []string
	for _, e := range expand {
		out = append(out, e.Claim)
	}
	return out
}

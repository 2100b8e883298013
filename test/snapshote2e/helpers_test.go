package snapshote2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// newRollout is a rollout of replicas members, one at a time, each with a
// 1Gi claim "data" of the local cluster's default class, and snapshots.
func newRollout(ns string, replicas int32, snapshots v1alpha1.SnapshotSpec) *v1alpha1.StatefulSetRollout {
	r := e2eutil.NewRollout(ns, "db", replicas, intstr.FromInt32(1))
	r.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}}
	r.Spec.Snapshots = &snapshots
	return r
}

func createCompleted(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout) {
	t.Helper()
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
}

// writeMarkers has each member write "<value>-<pod>" to its marker file.
func writeMarkers(t *testing.T, r *v1alpha1.StatefulSetRollout, value string) {
	t.Helper()
	for i := range *r.Spec.Replicas {
		pod := fmt.Sprintf("%s-%d", r.Name, i)
		e2eutil.PodShell(t, r.Namespace, pod, fmt.Sprintf("echo %s-%s > marker", value, pod))
	}
}

// setWatcher records when this process first saw each snapshot set of a
// namespace in each phase.
type setWatcher struct {
	mu   sync.Mutex
	seen map[string]map[v1alpha1.SnapshotPhase]time.Time
}

func watchSets(t *testing.T, ns string) *setWatcher {
	t.Helper()
	c, err := client.NewWithWatch(clustertest.RestConfig(), client.Options{Scheme: controller.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := c.Watch(ctx, &v1alpha1.RolloutSnapshotList{}, client.InNamespace(ns))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	sw := &setWatcher{seen: map[string]map[v1alpha1.SnapshotPhase]time.Time{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			set, ok := ev.Object.(*v1alpha1.RolloutSnapshot)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			sw.mu.Lock()
			if sw.seen[set.Name] == nil {
				sw.seen[set.Name] = map[v1alpha1.SnapshotPhase]time.Time{}
			}
			if _, ok := sw.seen[set.Name][set.Status.Phase]; !ok {
				sw.seen[set.Name][set.Status.Phase] = time.Now()
			}
			sw.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); w.Stop(); <-done })
	return sw
}

// at is when the set was first seen in phase; false when never.
func (w *setWatcher) at(set string, phase v1alpha1.SnapshotPhase) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.seen[set][phase]
	return at, ok
}

// waitSet waits until the set is in phase and returns it.
func waitSet(t *testing.T, c client.Client, ns, name string, phase v1alpha1.SnapshotPhase) *v1alpha1.RolloutSnapshot {
	t.Helper()
	set := &v1alpha1.RolloutSnapshot{}
	e2eutil.Eventually(t, 2*time.Minute, "snapshot set "+name+" "+string(phase), func() (bool, string) {
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, set); err != nil {
			return false, err.Error()
		}
		return set.Status.Phase == phase, fmt.Sprintf("phase %q: %s", set.Status.Phase, set.Status.Message)
	})
	return set
}

// beforeRolloutSet waits until the rollout names the set its template
// waits for, and returns its name.
func beforeRolloutSet(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout) string {
	t.Helper()
	got := e2eutil.WaitRollout(t, c, r, time.Minute, "a before-rollout set named", func(got *v1alpha1.StatefulSetRollout) bool {
		s := got.Status.Snapshots
		return got.Status.ObservedGeneration == got.Generation && s != nil && s.BeforeRollout != nil &&
			s.BeforeRollout.TemplateHash == got.Status.TemplateHash
	})
	return got.Status.Snapshots.BeforeRollout.Name
}

// sets lists the namespace's snapshot sets by name.
func sets(t *testing.T, c client.Client, ns string) map[string]v1alpha1.RolloutSnapshot {
	t.Helper()
	var list v1alpha1.RolloutSnapshotList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]v1alpha1.RolloutSnapshot{}
	for _, s := range list.Items {
		out[s.Name] = s
	}
	return out
}

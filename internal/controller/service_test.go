package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// The governing Service is created headless, selecting the rollout's pods
// alone, owned by the rollout; created again when deleted.
func TestReconcileCreatesTheGoverningService(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, newRollout("kv", 3, "kv:v1"))
	key := types.NamespacedName{Namespace: "default", Name: "kv"}
	for range 2 {
		reconcileOnce(t, f, "kv")
		var svc corev1.Service
		if err := f.r.Get(ctx, key, &svc); err != nil {
			t.Fatalf("no governing Service: %v", err)
		}
		if svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
			t.Errorf("Service %+v is not headless with not-ready addresses published", svc.Spec)
		}
		if want := map[string]string{v1alpha1.LabelRollout: "kv"}; !equality.Semantic.DeepEqual(svc.Spec.Selector, want) {
			t.Errorf("selector %v, want %v", svc.Spec.Selector, want)
		}
		if owner := metav1.GetControllerOf(&svc); owner == nil || owner.UID != "kv-uid" {
			t.Errorf("Service controlled by %+v, want the rollout", owner)
		}
		if err := f.r.Delete(ctx, &svc); err != nil {
			t.Fatal(err)
		}
	}
}

// A Service of that name sroll did not create is never written.
func TestReconcileLeavesAnotherServiceAlone(t *testing.T) {
	ctx := context.Background()
	theirs := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kv", Labels: map[string]string{"team": "db"}},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "kv"}, Ports: []corev1.ServicePort{{Port: 5432}}},
	}
	f := newFixture(t, newRollout("kv", 3, "kv:v1"), theirs.DeepCopy())
	reconcileOnce(t, f, "kv")
	for _, w := range f.writes.Take() {
		if w == "create Service default/kv" || w == "patch Service default/kv" || w == "update Service default/kv" {
			t.Errorf("wrote the user's Service: %s", w)
		}
	}
	var got corev1.Service
	if err := f.r.Get(ctx, types.NamespacedName{Namespace: "default", Name: "kv"}, &got); err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(got.Spec, theirs.Spec) || len(got.OwnerReferences) > 0 {
		t.Errorf("the user's Service changed: %+v", got)
	}
}

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// A storage increase in volumeClaimTemplates reaches every claim, and the
// StatefulSet is replaced with the new templates while its pods keep
// running. The volumes are the local cluster's CSI volumes of its default,
// expandable class, so the claims' capacity grows too.
func TestStorageIncreaseReachesTheClaims(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	ctx := context.Background()
	const replicas = 3
	class := localcluster.StorageClassName
	e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "db", replicas, intstr.FromInt32(1))
	data := claim("data", "1Gi")
	data.Spec.StorageClassName = &class
	r.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{data}
	create(t, c, r)
	e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
	before := statefulSet(t, c, ns, "db")
	pods := podUIDs(t, c, ns)

	e2eutil.Patch(t, c, r, `{"spec":{"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"`+
		class+`","resources":{"requests":{"storage":"2Gi"}}}}]}}`)
	e2eutil.WaitRollout(t, c, r, 2*time.Minute, "the resize done", func(got *v1alpha1.StatefulSetRollout) bool {
		return got.Status.ClaimResize == nil && e2eutil.Completed(got) && got.Status.ObservedGeneration == got.Generation
	})
	e2eutil.Eventually(t, time.Minute, "the StatefulSet replaced with 2Gi", func() (bool, string) {
		var sts appsv1.StatefulSet
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "db"}, &sts); err != nil {
			return false, err.Error()
		}
		size := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
		return sts.UID != before.UID && size.String() == "2Gi" && sts.Status.ReadyReplicas == replicas, fmt.Sprintf("uid %s size %s ready %d", sts.UID, size.String(), sts.Status.ReadyReplicas)
	})
	for i := range replicas {
		var pvc corev1.PersistentVolumeClaim
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: fmt.Sprintf("data-db-%d", i)}, &pvc); err != nil {
			t.Fatal(err)
		}
		if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != "2Gi" {
			t.Errorf("claim %s requests %s, want 2Gi", pvc.Name, got.String())
		}
		e2eutil.Eventually(t, time.Minute, "claim "+pvc.Name+" grown to 2Gi", func() (bool, string) {
			if err := c.Get(ctx, client.ObjectKeyFromObject(&pvc), &pvc); err != nil {
				return false, err.Error()
			}
			got := pvc.Status.Capacity[corev1.ResourceStorage]
			return got.String() == "2Gi", "capacity " + got.String()
		})
	}
	if after := podUIDs(t, c, ns); fmt.Sprint(after) != fmt.Sprint(pods) {
		t.Errorf("pods changed: %v, then %v; want them untouched", pods, after)
	}
}

func create(t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	if obj.GetNamespace() == "" {
		t.Cleanup(func() { _ = c.Delete(context.Background(), obj) })
	}
}

func statefulSet(t *testing.T, c client.Client, ns, name string) *appsv1.StatefulSet {
	t.Helper()
	var sts appsv1.StatefulSet
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &sts); err != nil {
		t.Fatal(err)
	}
	return &sts
}

// podUIDs maps each pod of the namespace to its UID.
func podUIDs(t *testing.T, c client.Client, ns string) map[string]types.UID {
	t.Helper()
	var pods corev1.PodList
	if err := c.List(context.Background(), &pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, p := range pods.Items {
		out[p.Name] = p.UID
	}
	return out
}

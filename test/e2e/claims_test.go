package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// A storage increase in volumeClaimTemplates reaches every claim, and the
// StatefulSet is replaced with the new templates while its pods keep
// running. The volumes are static PersistentVolumes of an expandable class
// bound by the test itself (the local cluster runs no volume controllers
// yet), so what is checked is what sroll does (the claims' requests, the
// StatefulSet, the pods); the resize of the volumes themselves is the CSI
// driver's.
func TestStorageIncreaseReachesTheClaims(t *testing.T) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	ctx := context.Background()
	const replicas = 3
	class := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: "expandable-" + ns},
		Provisioner:          "kubernetes.io/no-provisioner",
		AllowVolumeExpansion: ptr(true),
		VolumeBindingMode:    ptr(storagev1.VolumeBindingImmediate),
	}
	create(t, c, class)
	for i := range replicas {
		bindVolume(t, c, ns, fmt.Sprintf("data-db-%d", i), class.Name)
	}
	e2eutil.StartOperator(t, ns)
	r := e2eutil.NewRollout(ns, "db", replicas, intstr.FromInt32(1))
	data := claim("data", "1Gi")
	data.Spec.StorageClassName = &class.Name
	r.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{data}
	create(t, c, r)
	e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
	before := statefulSet(t, c, ns, "db")
	pods := podUIDs(t, c, ns)

	e2eutil.Patch(t, c, r, `{"spec":{"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"`+
		class.Name+`","resources":{"requests":{"storage":"2Gi"}}}}]}}`)
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

// bindVolume creates a claim of 1Gi and a PersistentVolume for it, bound
// both ways as the PersistentVolume controller would bind them.
func bindVolume(t *testing.T, c client.Client, ns, name, class string) {
	t.Helper()
	ctx := context.Background()
	size := corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	rwo := []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-" + name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity: size, AccessModes: rwo, StorageClassName: class,
			ClaimRef:               &corev1.ObjectReference{Namespace: ns, Name: name},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/" + ns}},
		},
	}
	create(t, c, pv)
	pv.Status.Phase = corev1.VolumeBound
	if err := c.Status().Update(ctx, pv); err != nil {
		t.Fatal(err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: map[string]string{
			"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: rwo, StorageClassName: &class, VolumeName: pv.Name,
			Resources: corev1.VolumeResourceRequirements{Requests: size},
		},
	}
	create(t, c, pvc)
	pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: rwo, Capacity: size}
	if err := c.Status().Update(ctx, pvc); err != nil {
		t.Fatal(err)
	}
}

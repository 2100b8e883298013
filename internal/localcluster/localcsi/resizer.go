package localcsi

import (
	"context"
	"fmt"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// resizer grows the volumes of PVCs whose storage request exceeds their
// capacity, as the upstream external-resizer sidecar does for a driver that
// needs no node step: ControllerExpandVolume, then the PV's capacity, then
// the PVC's status.
type resizer struct {
	csi    csi.ControllerClient
	client kubernetes.Interface
	claims corelisters.PersistentVolumeClaimLister
	pvs    corelisters.PersistentVolumeLister
	queue  workqueue.TypedRateLimitingInterface[string]
	log    logr.Logger
}

func newResizer(factory informers.SharedInformerFactory, client kubernetes.Interface, c csi.ControllerClient, log logr.Logger) (*resizer, error) {
	claims := factory.Core().V1().PersistentVolumeClaims()
	r := &resizer{
		csi:    c,
		client: client,
		claims: claims.Lister(),
		pvs:    factory.Core().V1().PersistentVolumes().Lister(),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "resizer"}),
		log: log,
	}
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			r.queue.Add(key)
		}
	}
	_, err := claims.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	})
	return r, err
}

func (r *resizer) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		r.queue.ShutDown()
	}()
	for {
		key, shutdown := r.queue.Get()
		if shutdown {
			return
		}
		if err := r.sync(ctx, key); err != nil {
			r.log.Error(err, "Resize failed; retrying", "pvc", key)
			r.queue.AddRateLimited(key)
		} else {
			r.queue.Forget(key)
		}
		r.queue.Done(key)
	}
}

func (r *resizer) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	claim, err := r.claims.PersistentVolumeClaims(namespace).Get(name)
	if err != nil || claim.Spec.VolumeName == "" || claim.Status.Phase != corev1.ClaimBound {
		return nil // gone, or not bound yet: a later event brings it back
	}
	requested := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	capacity := claim.Status.Capacity[corev1.ResourceStorage]
	if requested.Cmp(capacity) <= 0 {
		return nil
	}
	pv, err := r.pvs.Get(claim.Spec.VolumeName)
	if err != nil {
		return err
	}
	if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != DriverName {
		return nil
	}
	if claim, err = r.markResizing(ctx, claim, requested); err != nil {
		return err
	}
	resp, err := r.csi.ControllerExpandVolume(ctx, &csi.ControllerExpandVolumeRequest{
		VolumeId:      pv.Spec.CSI.VolumeHandle,
		CapacityRange: &csi.CapacityRange{RequiredBytes: requested.Value()},
	})
	if err != nil {
		return fmt.Errorf("ControllerExpandVolume %s: %w", pv.Spec.CSI.VolumeHandle, err)
	}
	grown := *resource.NewQuantity(resp.GetCapacityBytes(), resource.BinarySI)
	if pvCapacity := pv.Spec.Capacity[corev1.ResourceStorage]; pvCapacity.Cmp(grown) < 0 {
		pv = pv.DeepCopy()
		pv.Spec.Capacity[corev1.ResourceStorage] = grown
		if _, err := r.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	if err := r.markResized(ctx, claim, grown); err != nil {
		return err
	}
	r.log.Info("Resized volume", "pvc", key, "pv", pv.Name, "capacity", grown.String())
	return nil
}

// markResizing records the resize in flight, as the external-resizer does:
// the Resizing condition and the size being allocated.
func (r *resizer) markResizing(ctx context.Context, claim *corev1.PersistentVolumeClaim, requested resource.Quantity) (*corev1.PersistentVolumeClaim, error) {
	claim = claim.DeepCopy()
	claim.Status.AllocatedResources = corev1.ResourceList{corev1.ResourceStorage: requested}
	claim.Status.AllocatedResourceStatuses = map[corev1.ResourceName]corev1.ClaimResourceStatus{
		corev1.ResourceStorage: corev1.PersistentVolumeClaimControllerResizeInProgress,
	}
	setClaimCondition(claim, corev1.PersistentVolumeClaimCondition{
		Type:               corev1.PersistentVolumeClaimResizing,
		Status:             corev1.ConditionTrue,
		LastTransitionTime: metav1.Now(),
	})
	return r.client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, claim, metav1.UpdateOptions{})
}

// markResized records the new capacity and clears the resize in flight.
func (r *resizer) markResized(ctx context.Context, claim *corev1.PersistentVolumeClaim, capacity resource.Quantity) error {
	claim = claim.DeepCopy()
	claim.Status.Capacity[corev1.ResourceStorage] = capacity
	claim.Status.AllocatedResourceStatuses = nil
	var kept []corev1.PersistentVolumeClaimCondition
	for _, c := range claim.Status.Conditions {
		if c.Type != corev1.PersistentVolumeClaimResizing && c.Type != corev1.PersistentVolumeClaimFileSystemResizePending {
			kept = append(kept, c)
		}
	}
	claim.Status.Conditions = kept
	_, err := r.client.CoreV1().PersistentVolumeClaims(claim.Namespace).UpdateStatus(ctx, claim, metav1.UpdateOptions{})
	return err
}

func setClaimCondition(claim *corev1.PersistentVolumeClaim, cond corev1.PersistentVolumeClaimCondition) {
	for i, c := range claim.Status.Conditions {
		if c.Type == cond.Type {
			claim.Status.Conditions[i] = cond
			return
		}
	}
	claim.Status.Conditions = append(claim.Status.Conditions, cond)
}

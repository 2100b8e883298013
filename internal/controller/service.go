package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// ensureService creates the StatefulSet's governing Service, serviceName,
// when no Service of that name exists: without it the pods' names
// ({pod}.{serviceName}.{namespace}.svc, the addresses the replication hooks
// are given) do not resolve. The Service is owned by the rollout, so it goes
// with it. A Service of that name that exists is left as it is, whoever
// made it: sroll changes only what it created, and never what another
// owner manages.
func (r *Reconciler) ensureService(ctx context.Context, rollout *v1alpha1.StatefulSetRollout) error {
	name := rollout.Spec.ServiceName
	if name == "" {
		return nil
	}
	// Metadata, as the cache holds Services (SetupWithManager): whether
	// the name is taken is all this asks.
	existing := &metav1.PartialObjectMetadata{}
	existing.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Service"))
	err := r.Get(ctx, client.ObjectKey{Namespace: rollout.Namespace, Name: name}, existing)
	if err == nil || !apierrors.IsNotFound(err) {
		return err
	}
	svc := governingService(rollout)
	if err := r.Create(ctx, svc); err != nil {
		// AlreadyExists: created since the cache was read; the next
		// reconcile sees it.
		return staleOr(fmt.Errorf("create the governing Service %s: %w", name, err))
	}
	ctrl.LoggerFrom(ctx).Info("Created governing Service", "service", name)
	return nil
}

// governingService is the headless Service sroll creates for a rollout: one
// DNS record per pod, selected by the label sroll puts on every pod of the
// rollout (so no other workload's pods), published before the pods are
// Ready, because the members of a replicated set must reach each other to
// become Ready at all. No ports: a headless Service routes nothing, and
// the records need none.
func governingService(rollout *v1alpha1.StatefulSetRollout) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:            rollout.Spec.ServiceName,
			Namespace:       rollout.Namespace,
			Labels:          map[string]string{v1alpha1.LabelRollout: rollout.Name},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rollout, v1alpha1.GroupVersion.WithKind("StatefulSetRollout"))},
		},
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 map[string]string{v1alpha1.LabelRollout: rollout.Name},
			PublishNotReadyAddresses: true,
		},
	}
}

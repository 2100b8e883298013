package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/history"
	"github.com/sroll-dev/sroll/internal/plan"
)

// writeStatefulSet creates the rollout's StatefulSet, or updates the fields
// sroll owns when one of them differs, adopting a StatefulSet that has no
// controller. It writes nothing when everything already matches. The template
// and the partition always travel in the same write, so the StatefulSet
// controller never sees a new template without its pin. When it gave an
// existing StatefulSet a new template, it returns the API server's answer.
func (r *Reconciler) writeStatefulSet(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, existing *appsv1.StatefulSet, revisions []appsv1.ControllerRevision, p plan.Plan) (*appsv1.StatefulSet, error) {
	log := ctrl.LoggerFrom(ctx)
	desired, err := desiredStatefulSet(rollout, revisions, p)
	if err != nil {
		return nil, err
	}
	if existing == nil {
		if err := r.Create(ctx, desired); err != nil {
			return nil, staleOr(fmt.Errorf("create StatefulSet: %w", err))
		}
		log.Info("Created StatefulSet", "statefulSet", desired.Name, "templateHash", p.TemplateHash, "partition", p.Partition)
		return nil, nil
	}
	updated, changed := mergeStatefulSet(existing, desired)
	if !changed {
		return nil, nil
	}
	// A merge patch of the changed fields, without a resourceVersion: the
	// StatefulSet controller updates the status all the time, so an update
	// of the whole object would mostly conflict, and no one else writes the
	// fields sroll owns.
	if err := r.Patch(ctx, updated, client.MergeFrom(existing)); err != nil {
		return nil, fmt.Errorf("patch StatefulSet: %w", err)
	}
	r.ownStatefulSetWrites.wrote(client.ObjectKeyFromObject(rollout), existing.ResourceVersion)
	log.Info("Patched StatefulSet", "statefulSet", updated.Name, "templateHash", p.TemplateHash,
		"partition", p.Partition, "adopted", metav1.GetControllerOf(existing) == nil)
	if existing.Annotations[v1alpha1.AnnotationTemplateHash] == p.TemplateHash {
		return nil, nil
	}
	return updated, nil
}

// StatefulSetFor is the StatefulSet the operator writes when the rollout's
// spec.template is new: every field of its StatefulSet spec, the template,
// every pod pinned. existing is the rollout's StatefulSet, nil before it
// exists; the result is what the operator would create, or existing with
// the fields it owns set. The admission webhook has the API server dry-run
// it, so that a spec the StatefulSet API refuses is refused at apply.
func StatefulSetFor(rollout *v1alpha1.StatefulSetRollout, existing *appsv1.StatefulSet) (*appsv1.StatefulSet, error) {
	replicas := int32(1)
	if rollout.Spec.Replicas != nil {
		replicas = *rollout.Spec.Replicas
	}
	desired, err := desiredStatefulSet(rollout, nil, plan.Plan{
		TemplateHash: plan.TemplateHash(&rollout.Spec.Template), Partition: replicas,
	})
	if err != nil || existing == nil {
		return desired, err
	}
	merged, _ := mergeStatefulSet(existing, desired)
	return merged, nil
}

// desiredStatefulSet is the StatefulSet the plan asks for: every field of the
// rollout's StatefulSet spec, the partition pin, and the template the plan
// names. Mutable fields the API server would default are filled in, so that
// comparing with the stored object finds no difference where there is none.
func desiredStatefulSet(rollout *v1alpha1.StatefulSetRollout, revisions []appsv1.ControllerRevision, p plan.Plan) (*appsv1.StatefulSet, error) {
	template, err := podTemplate(rollout, revisions, p.TemplateRevision)
	if err != nil {
		return nil, err
	}
	spec := rollout.Spec.StatefulSetSpec.DeepCopy()
	spec.Template = *template
	spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
		Type: appsv1.RollingUpdateStatefulSetStrategyType,
		// maxUnavailable 1 (the StatefulSet controller's default) makes that
		// controller's gated rolling update as strict as the planner's
		// lookahead needs; the API server drops it while the gate is off,
		// which is how the planner tells (plan kcmFollows).
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To(p.Partition), MaxUnavailable: ptr.To(intstr.FromInt32(1))},
	}
	if spec.PodManagementPolicy == "" {
		// OrderedReady would recreate a batch one pod at a time.
		spec.PodManagementPolicy = appsv1.ParallelPodManagement
	}
	spec.Replicas = ptr.To(p.Replicas)
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptr.To[int32](10)
	}
	retention := spec.PersistentVolumeClaimRetentionPolicy
	if retention == nil {
		retention = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
		spec.PersistentVolumeClaimRetentionPolicy = retention
	}
	if retention.WhenDeleted == "" {
		retention.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if retention.WhenScaled == "" {
		retention.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            rollout.Name,
			Namespace:       rollout.Namespace,
			Labels:          map[string]string{v1alpha1.LabelRollout: rollout.Name},
			Annotations:     map[string]string{v1alpha1.AnnotationTemplateHash: p.TemplateHash},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rollout, v1alpha1.GroupVersion.WithKind("StatefulSetRollout"))},
		},
		Spec: *spec,
	}, nil
}

// podTemplate is the template the StatefulSet should carry: the rollout's
// spec.template, or for a rollback the template of that revision exactly as
// stored, so the StatefulSet controller recognises the revision and reuses it.
func podTemplate(rollout *v1alpha1.StatefulSetRollout, revisions []appsv1.ControllerRevision, revision string) (*corev1.PodTemplateSpec, error) {
	if revision != "" {
		rev := history.Find(revisions, revision)
		if rev == nil {
			return nil, fmt.Errorf("revision %s is not in the StatefulSet's history", revision)
		}
		return history.Template(rev)
	}
	template := rollout.Spec.Template.DeepCopy()
	// The label lets the manager cache only the pods sroll manages. It is not
	// part of spec.template, so it changes the StatefulSet's template (and
	// restarts the pods) once, when a StatefulSet is adopted.
	metav1.SetMetaDataLabel(&template.ObjectMeta, v1alpha1.LabelRollout, rollout.Name)
	return template, nil
}

// mergeStatefulSet returns a copy of existing with every field sroll owns set
// as in desired, and whether anything changed. The template is compared by
// its hash annotation, because the stored template carries server defaults.
// Immutable fields (selector, serviceName, volumeClaimTemplates,
// podManagementPolicy) are left as they are.
func mergeStatefulSet(existing, desired *appsv1.StatefulSet) (*appsv1.StatefulSet, bool) {
	merged := existing.DeepCopy()
	if metav1.GetControllerOf(merged) == nil {
		merged.OwnerReferences = append(merged.OwnerReferences, desired.OwnerReferences...)
	}
	metav1.SetMetaDataLabel(&merged.ObjectMeta, v1alpha1.LabelRollout, desired.Labels[v1alpha1.LabelRollout])
	hash := desired.Annotations[v1alpha1.AnnotationTemplateHash]
	if merged.Annotations[v1alpha1.AnnotationTemplateHash] != hash {
		metav1.SetMetaDataAnnotation(&merged.ObjectMeta, v1alpha1.AnnotationTemplateHash, hash)
		merged.Spec.Template = desired.Spec.Template
	}
	spec, want := &merged.Spec, &desired.Spec
	spec.Replicas = want.Replicas
	spec.MinReadySeconds = want.MinReadySeconds
	spec.RevisionHistoryLimit = want.RevisionHistoryLimit
	spec.Ordinals = want.Ordinals
	spec.PersistentVolumeClaimRetentionPolicy = want.PersistentVolumeClaimRetentionPolicy
	spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
	if spec.UpdateStrategy.RollingUpdate == nil {
		spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
	}
	spec.UpdateStrategy.RollingUpdate.Partition = want.UpdateStrategy.RollingUpdate.Partition
	if spec.UpdateStrategy.RollingUpdate.MaxUnavailable != nil {
		// Only where the API server keeps the field (its feature gate is
		// on): where it drops it, writing it would be a write on every
		// reconcile, each dropped again.
		spec.UpdateStrategy.RollingUpdate.MaxUnavailable = want.UpdateStrategy.RollingUpdate.MaxUnavailable
	}
	return merged, !equality.Semantic.DeepEqual(existing, merged)
}

// Adoptable says whether sroll may manage sts for rollout: it has no
// controller yet, or the rollout is its controller.
func Adoptable(sts *appsv1.StatefulSet, rollout *v1alpha1.StatefulSetRollout) bool {
	owner := metav1.GetControllerOf(sts)
	return owner == nil || owner.UID == rollout.UID
}

// refuseAdoption reports a StatefulSet of the rollout's name that another
// controller owns; sroll never touches it or its pods.
func (r *Reconciler) refuseAdoption(ctx context.Context, rollout *v1alpha1.StatefulSetRollout, sts *appsv1.StatefulSet) {
	owner := metav1.GetControllerOf(sts)
	ctrl.LoggerFrom(ctx).Info("Refused to adopt StatefulSet owned by another controller",
		"statefulSet", sts.Name, "ownerKind", owner.Kind, "ownerName", owner.Name)
	r.warn(rollout, ReasonAdoptionRefused, actionAdopt,
		"StatefulSet %s is controlled by %s %s; sroll leaves it alone until that owner reference is removed",
		sts.Name, owner.Kind, owner.Name)
}

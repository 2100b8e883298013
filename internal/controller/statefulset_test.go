package controller

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
)

func TestDesiredStatefulSetFromSpec(t *testing.T) {
	rollout := newRollout("kv", 5, "kv:v2")
	p := plan.Plan{TemplateHash: plan.TemplateHash(&rollout.Spec.Template), Partition: 5}

	sts, err := desiredStatefulSet(rollout, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := sts.Annotations[v1alpha1.AnnotationTemplateHash]; got != p.TemplateHash {
		t.Errorf("template hash annotation = %q, want %q", got, p.TemplateHash)
	}
	if got := *sts.Spec.UpdateStrategy.RollingUpdate.Partition; got != 5 || sts.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		t.Errorf("update strategy = %+v, want RollingUpdate with partition 5", sts.Spec.UpdateStrategy)
	}
	if got := sts.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable; got == nil || got.IntValue() != 1 {
		t.Errorf("maxUnavailable = %v, want 1 written", got)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy = %q, want Parallel by default", sts.Spec.PodManagementPolicy)
	}
	if sts.Spec.Template.Labels[v1alpha1.LabelRollout] != "kv" || sts.Labels[v1alpha1.LabelRollout] != "kv" {
		t.Errorf("rollout label missing: template %v, StatefulSet %v", sts.Spec.Template.Labels, sts.Labels)
	}
	if _, ok := rollout.Spec.Template.Labels[v1alpha1.LabelRollout]; ok {
		t.Error("the rollout label leaked into the rollout's own spec.template")
	}
	if sts.Spec.Template.Spec.Containers[0].Image != "kv:v2" {
		t.Errorf("template image = %q, want kv:v2", sts.Spec.Template.Spec.Containers[0].Image)
	}
	if owner := metav1.GetControllerOf(sts); owner == nil || owner.UID != rollout.UID || owner.Kind != "StatefulSetRollout" {
		t.Errorf("controller reference = %+v, want the rollout", owner)
	}
}

func TestDesiredStatefulSetFromRevision(t *testing.T) {
	rollout := newRollout("kv", 5, "kv:v2")
	stable := newRollout("kv", 5, "kv:v1").Spec.Template
	stable.Labels[v1alpha1.LabelRollout] = "kv"
	stable.Spec.Containers[0].TerminationMessagePath = corev1.TerminationMessagePathDefault // a server default
	owner := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "kv", Namespace: "default", UID: "sts-uid"}}
	revisions := []appsv1.ControllerRevision{
		revisionOf(t, owner, "kv-v1", 1, &stable),
		revisionOf(t, owner, "kv-v2", 2, &rollout.Spec.Template),
	}
	p := plan.Plan{TemplateHash: "revision/kv-v1", TemplateRevision: "kv-v1", Partition: 5}

	sts, err := desiredStatefulSet(rollout, revisions, p)
	if err != nil {
		t.Fatal(err)
	}
	if !equality.Semantic.DeepEqual(sts.Spec.Template, stable) {
		t.Errorf("template = %+v, want the stored revision's %+v", sts.Spec.Template, stable)
	}
	if got := sts.Annotations[v1alpha1.AnnotationTemplateHash]; got != "revision/kv-v1" {
		t.Errorf("template hash annotation = %q, want revision/kv-v1", got)
	}

	p.TemplateRevision, p.TemplateHash = "kv-gone", "revision/kv-gone"
	if _, err := desiredStatefulSet(rollout, revisions, p); err == nil {
		t.Error("a revision missing from the history gave no error")
	}
}

// stored is sts as the API server returns it: defaulted, with identity.
func stored(sts *appsv1.StatefulSet) *appsv1.StatefulSet {
	out := sts.DeepCopy()
	out.UID, out.ResourceVersion, out.Generation = "sts-uid", "7", 3
	out.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(1))
	out.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
	out.Spec.Template.Spec.DNSPolicy = corev1.DNSClusterFirst
	return out
}

func TestMergeStatefulSet(t *testing.T) {
	rollout := newRollout("kv", 5, "kv:v1")
	p := plan.Plan{TemplateHash: plan.TemplateHash(&rollout.Spec.Template), Partition: 5}
	desired, err := desiredStatefulSet(rollout, nil, p)
	if err != nil {
		t.Fatal(err)
	}
	existing := stored(desired)

	if _, changed := mergeStatefulSet(existing, desired); changed {
		t.Error("an unchanged StatefulSet would be written")
	}

	t.Run("partition", func(t *testing.T) {
		pinned := desired.DeepCopy()
		pinned.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](3)
		merged, changed := mergeStatefulSet(existing, pinned)
		if !changed || *merged.Spec.UpdateStrategy.RollingUpdate.Partition != 3 {
			t.Fatalf("partition not lowered: changed=%v strategy=%+v", changed, merged.Spec.UpdateStrategy)
		}
		if !equality.Semantic.DeepEqual(merged.Spec.Template, existing.Spec.Template) {
			t.Error("a partition change rewrote the template")
		}
	})

	t.Run("new template", func(t *testing.T) {
		next := newRollout("kv", 5, "kv:v2")
		want, err := desiredStatefulSet(next, nil, plan.Plan{TemplateHash: plan.TemplateHash(&next.Spec.Template), Partition: 5})
		if err != nil {
			t.Fatal(err)
		}
		merged, changed := mergeStatefulSet(existing, want)
		if !changed || merged.Spec.Template.Spec.Containers[0].Image != "kv:v2" ||
			merged.Annotations[v1alpha1.AnnotationTemplateHash] != want.Annotations[v1alpha1.AnnotationTemplateHash] {
			t.Errorf("template not replaced: changed=%v template=%+v", changed, merged.Spec.Template)
		}
	})

	t.Run("gate off", func(t *testing.T) {
		// The API server dropped maxUnavailable: writing it again would be
		// dropped again, a write on every reconcile.
		dropped := existing.DeepCopy()
		dropped.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = nil
		if merged, changed := mergeStatefulSet(dropped, desired); changed {
			t.Errorf("a StatefulSet whose maxUnavailable the API server dropped would be written: %+v", merged.Spec.UpdateStrategy)
		}
	})

	t.Run("maxUnavailable not 1", func(t *testing.T) {
		// Left by whoever managed the StatefulSet before: the planner's
		// lookahead needs the StatefulSet controller at 1.
		wide := existing.DeepCopy()
		wide.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(5))
		merged, changed := mergeStatefulSet(wide, desired)
		if got := merged.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable; !changed || got == nil || got.IntValue() != 1 {
			t.Errorf("maxUnavailable = %v (changed=%v), want 1 written", got, changed)
		}
	})

	t.Run("replicas", func(t *testing.T) {
		scaled := desired.DeepCopy()
		scaled.Spec.Replicas = ptr.To[int32](8)
		if merged, changed := mergeStatefulSet(existing, scaled); !changed || *merged.Spec.Replicas != 8 {
			t.Errorf("replicas not written: changed=%v", changed)
		}
	})
}

func TestMergeStatefulSetAdopts(t *testing.T) {
	rollout := newRollout("kv", 3, "kv:v1")
	// A StatefulSet created by hand: no owner, no sroll label or annotation,
	// OnDelete, labels and annotations of its own.
	existing := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: "kv", Namespace: "default", UID: "sts-uid", ResourceVersion: "9",
			Labels:      map[string]string{"team": "storage"},
			Annotations: map[string]string{"note": "kept"},
		},
		Spec: *rollout.Spec.StatefulSetSpec.DeepCopy(),
	}
	existing.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	existing.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	existing.Spec.RevisionHistoryLimit = ptr.To[int32](10)
	existing.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	desired, err := desiredStatefulSet(rollout, nil, plan.Plan{TemplateHash: plan.TemplateHash(&rollout.Spec.Template), Partition: 3})
	if err != nil {
		t.Fatal(err)
	}

	merged, changed := mergeStatefulSet(existing, desired)
	if !changed {
		t.Fatal("adoption wrote nothing")
	}
	if owner := metav1.GetControllerOf(merged); owner == nil || owner.UID != rollout.UID {
		t.Errorf("controller reference = %+v, want the rollout", owner)
	}
	if merged.Labels["team"] != "storage" || merged.Annotations["note"] != "kept" || merged.Labels[v1alpha1.LabelRollout] != "kv" {
		t.Errorf("metadata = %v %v, want own labels and annotations kept and the rollout label added", merged.Labels, merged.Annotations)
	}
	if merged.Spec.Template.Labels[v1alpha1.LabelRollout] != "kv" {
		t.Error("the adopted template lacks the rollout label")
	}
	if s := merged.Spec.UpdateStrategy; s.Type != appsv1.RollingUpdateStatefulSetStrategyType || *s.RollingUpdate.Partition != 3 {
		t.Errorf("update strategy = %+v, want RollingUpdate pinned at 3", s)
	}
	if merged.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement {
		t.Error("adoption changed the immutable podManagementPolicy")
	}
}

func TestAdoptable(t *testing.T) {
	rollout := newRollout("kv", 3, "kv:v1")
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "kv"}}
	if !Adoptable(sts, rollout) {
		t.Error("a StatefulSet without controller is not adoptable")
	}
	sts.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(rollout, v1alpha1.GroupVersion.WithKind("StatefulSetRollout"))}
	if !Adoptable(sts, rollout) {
		t.Error("the rollout's own StatefulSet is not adoptable")
	}
	other := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "x", UID: "other"}}
	sts.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(other, appsv1.SchemeGroupVersion.WithKind("Deployment"))}
	if Adoptable(sts, rollout) {
		t.Error("a StatefulSet another controller owns is adoptable")
	}
}

func TestWriteStatefulSetCreatesThenLeavesAlone(t *testing.T) {
	ctx := context.Background()
	rollout := newRollout("kv", 3, "kv:v1")
	f := newFixture(t, rollout)
	p := plan.Plan{TemplateHash: plan.TemplateHash(&rollout.Spec.Template), Partition: 0}

	if _, err := f.r.writeStatefulSet(ctx, rollout, nil, nil, p); err != nil {
		t.Fatal(err)
	}
	var sts appsv1.StatefulSet
	if err := f.r.Get(ctx, client.ObjectKeyFromObject(rollout), &sts); err != nil {
		t.Fatal(err)
	}
	version := sts.ResourceVersion
	if _, err := f.r.writeStatefulSet(ctx, rollout, &sts, nil, p); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Get(ctx, client.ObjectKeyFromObject(rollout), &sts); err != nil {
		t.Fatal(err)
	}
	if sts.ResourceVersion != version {
		t.Errorf("an unchanged plan rewrote the StatefulSet (resourceVersion %s -> %s)", version, sts.ResourceVersion)
	}
}

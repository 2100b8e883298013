package plan_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/internal/plan/plantest"
)

// bytesource turns fuzz input into choices; it answers 0 once exhausted.
type bytesource struct{ data []byte }

func (b *bytesource) next(n int) int {
	if len(b.data) == 0 || n <= 0 {
		return 0
	}
	v := int(b.data[0]) % n
	b.data = b.data[1:]
	return v
}

// randomWorld builds an arbitrary but well-formed observed world: any mix of
// revisions, readiness, terminating and missing pods, partition and phase.
func randomWorld(data []byte) plan.Input {
	src := &bytesource{data: data}
	replicas := int32(1 + src.next(30))
	r := plantest.NewRollout(replicas, "v2")
	mu := intstr.FromInt32(int32(1 + src.next(int(replicas))))
	r.Spec.Rollout.MaxUnavailable = &mu
	if src.next(2) == 1 {
		rb := intstr.FromInt32(int32(1 + src.next(int(replicas))))
		r.Spec.Rollout.RollbackMaxUnavailable = &rb
	}
	r.Spec.Rollout.Steps = nil
	percent := int32(0)
	for range src.next(4) {
		if src.next(3) == 0 {
			r.Spec.Rollout.Steps = append(r.Spec.Rollout.Steps, v1alpha1.RolloutStep{Pause: &v1alpha1.PauseStep{}})
			continue
		}
		percent = min(100, percent+int32(1+src.next(60)))
		p := percent
		r.Spec.Rollout.Steps = append(r.Spec.Rollout.Steps, v1alpha1.RolloutStep{Percent: &p})
	}
	now := time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	started := metav1.NewTime(now.Add(-time.Duration(src.next(900)) * time.Second))
	stable, target := plantest.RevisionOf("v1"), plantest.RevisionOf("v2")
	phases := []v1alpha1.Phase{v1alpha1.PhaseProgressing, v1alpha1.PhasePaused, v1alpha1.PhaseDegraded, v1alpha1.PhaseRollingBack, v1alpha1.PhaseAborted, v1alpha1.PhaseCompleted}
	r.Status = v1alpha1.StatefulSetRolloutStatus{
		Phase:            phases[src.next(len(phases))],
		CurrentStepIndex: int32(src.next(len(r.Spec.Rollout.Steps) + 1)),
		StableRevision:   stable,
		UpdateRevision:   target,
		TemplateHash:     plan.TemplateHash(&r.Spec.Template),
		StepStartedAt:    &started,
		ProgressedAt:     &started,
		StartedAt:        &started,
	}
	wantHash := r.Status.TemplateHash
	if src.next(3) == 0 {
		r.Status.RollbackReason = plan.RollbackAborted
		target = stable
		wantHash = plan.RollbackHash(stable)
	}
	r.Spec.Paused = src.next(8) == 0
	if src.next(4) == 0 {
		r.Annotations = map[string]string{v1alpha1.Actions[src.next(len(v1alpha1.Actions))]: "x"}
	}

	current := stable
	if src.next(4) == 0 {
		current = target
	}
	partition := int32(src.next(int(replicas) + 1))
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: plantest.Name, Namespace: "ns", UID: "sts-uid", Generation: 3,
			Annotations: map[string]string{v1alpha1.AnnotationTemplateHash: wantHash}},
		Spec: appsv1.StatefulSetSpec{Replicas: &replicas, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
			Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &partition}}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, CurrentRevision: current, UpdateRevision: target},
	}
	s := plantest.NewSim(nil)
	var pods []*corev1.Pod
	revisions := []string{stable, plantest.RevisionOf("v2"), plantest.RevisionOf("v0")}
	var history []appsv1.ControllerRevision
	if src.next(3) == 0 {
		// A template the StatefulSet controller has not observed yet: one
		// of the history's, or a new one; now and then a pod on a revision
		// the history does not show.
		sts.Status.ObservedGeneration = 2
		sts.Spec.Template = templateOf(r, []string{"v1", "v2", "v0", "v3"}[src.next(4)])
		for _, image := range []string{"v1", "v2", "v0"} {
			history = append(history, revisionOf(r, image))
		}
		if src.next(3) == 0 {
			revisions = append(revisions, plantest.RevisionOf("v9"))
		}
	}
	for o := range replicas + int32(src.next(3)) {
		if src.next(6) == 0 {
			continue // missing
		}
		pod := s.NewPod(o, revisions[src.next(len(revisions))])
		switch src.next(4) {
		case 0:
		case 1:
			pod.DeletionTimestamp = &started
			fallthrough
		default:
			pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}
		}
		pods = append(pods, pod)
	}
	if src.next(2) == 1 {
		// The MaxUnavailableStatefulSet gate: the API server kept the
		// maxUnavailable the operator writes.
		one := intstr.FromInt32(1)
		sts.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &one
	}
	return plan.Input{Rollout: r, StatefulSet: sts, Pods: plan.FactsOfEach(pods), History: history, Now: now}
}

// templateOf is the rollout's template at image.
func templateOf(r *v1alpha1.StatefulSetRollout, image string) corev1.PodTemplateSpec {
	t := *r.Spec.Template.DeepCopy()
	t.Spec.Containers[0].Image = image
	return t
}

// revisionOf is the ControllerRevision of the rollout's template at image,
// stored as the StatefulSet controller stores it.
func revisionOf(r *v1alpha1.StatefulSetRollout, image string) appsv1.ControllerRevision {
	data, err := json.Marshal(map[string]any{"spec": map[string]any{"template": templateOf(r, image)}})
	if err != nil {
		panic(err)
	}
	return appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: plantest.RevisionOf(image), Namespace: "ns"}, Data: runtime.RawExtension{Raw: data}}
}

// targetOf is the revision pods move to as the StatefulSet controller will
// have it: its update revision once it observed the template, else the
// history's revision of that template, else a new one ("").
func targetOf(in plan.Input) string {
	sts := in.StatefulSet
	if sts.Status.ObservedGeneration >= sts.Generation {
		return sts.Status.UpdateRevision
	}
	for _, rev := range in.History {
		var data struct {
			Spec struct {
				Template corev1.PodTemplateSpec `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(rev.Data.Raw, &data); err == nil && equality.Semantic.DeepEqual(data.Spec.Template, sts.Spec.Template) {
			return rev.Name
		}
	}
	return ""
}

// checkInvariants holds for every plan, whatever the world. It works the
// budget out from the pods itself rather than asking the planner.
func checkInvariants(in plan.Input, p plan.Plan) error {
	if p.Undo != nil {
		return nil
	}
	if err := checkPartition(in, p); err != nil {
		return err
	}
	return checkDeletions(in, p)
}

// checkPartition: what a plan's partition authorises and it does not
// delete. Without the StatefulSet controller's gated rolling update
// (maxUnavailable kept on the StatefulSet), nothing: the partition comes
// down to the batch and no further. With it, at most a budget's worth of
// outdated pods, all inside the current step (the lookahead); and a plan
// that holds the rollout pins every pod it has not acted on, counted from
// the highest ordinal down.
func checkPartition(in plan.Input, p plan.Plan) error {
	sts := in.StatefulSet
	if p.TemplateHash != sts.Annotations[v1alpha1.AnnotationTemplateHash] {
		return checkTemplatePartition(in, p)
	}
	target := targetOf(in)
	if target == "" ||
		sts.Status.CurrentRevision == target || p.Status.Phase == v1alpha1.PhaseCompleted {
		return nil
	}
	replicas := *in.Rollout.Spec.Replicas
	gate := sts.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable != nil
	byOrdinal := map[int32]plan.PodFacts{}
	for _, pod := range in.Pods {
		var o int32
		if _, err := fmt.Sscanf(pod.Ref.Name, plantest.Name+"-%d", &o); err == nil {
			byOrdinal[o] = pod
		}
	}
	deleted := map[string]bool{}
	for _, ref := range p.Delete {
		deleted[ref.Name] = true
	}
	live := func(o int32) bool {
		pod, ok := byOrdinal[o]
		return ok && !pod.Terminating && pod.Revision != target && !deleted[pod.Ref.Name]
	}
	was := *sts.Spec.UpdateStrategy.RollingUpdate.Partition
	var left int32
	for o := p.Partition; o < min(was, replicas); o++ {
		if live(o) {
			left++
		}
	}
	budget := resolved(in.Rollout.Spec.Rollout.MaxUnavailableOrDefault(), replicas)
	switch {
	case !gate && left > 0:
		return fmt.Errorf("partition %d (was %d) authorises %d outdated pods it does not delete", p.Partition, was, left)
	case left > budget:
		return fmt.Errorf("partition %d (was %d) authorises %d outdated pods it does not delete, more than the budget %d", p.Partition, was, left, budget)
	case left > 0 && p.Partition < goalOf(in.Rollout, p.Status.CurrentStepIndex):
		return fmt.Errorf("partition %d authorises pods below the goal %d of step %d", p.Partition, goalOf(in.Rollout, p.Status.CurrentStepIndex), p.Status.CurrentStepIndex)
	}
	if !gate || p.View.Hold == nil || sts.Status.ObservedGeneration < sts.Generation {
		return nil
	}
	for o := replicas - 1; o >= p.Partition; o-- {
		if live(o) {
			return fmt.Errorf("held (%s) with partition %d: %s-%d, not acted on, is authorised", p.View.Hold.Kind, p.Partition, plantest.Name, o)
		}
	}
	return nil
}

// checkTemplatePartition: a new template goes out with every pod pinned;
// with the StatefulSet controller's gated rolling update, moving forward,
// at most a budget's worth of pods from the top, none below the step's goal.
func checkTemplatePartition(in plan.Input, p plan.Plan) error {
	replicas := *in.Rollout.Spec.Replicas
	gate := in.StatefulSet.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable != nil
	if !gate || p.Status.RollbackReason != "" || in.Rollout.Spec.Replication != nil {
		if p.Partition < replicas {
			return fmt.Errorf("new template with partition %d, want every pod pinned (%d)", p.Partition, replicas)
		}
		return nil
	}
	budget := resolved(in.Rollout.Spec.Rollout.MaxUnavailableOrDefault(), replicas)
	if goal := goalOf(in.Rollout, p.Status.CurrentStepIndex); p.Partition < max(goal, replicas-budget) {
		return fmt.Errorf("new template with partition %d, below the goal %d or a budget (%d) from the top", p.Partition, goal, budget)
	}
	return nil
}

// resolved is a budget against the replicas, as the planner resolves it:
// rounded down, never below one pod.
func resolved(value intstr.IntOrString, replicas int32) int32 {
	n, err := intstr.GetScaledValueFromIntOrPercent(&value, int(replicas), false)
	if err != nil || n < 1 {
		return 1
	}
	return int32(n)
}

// goalOf is the lowest ordinal a step updates: its share of the replicas,
// rounded up, from the top; a pause or analysis step holds the share of
// the percent step before it, the final step every pod.
func goalOf(r *v1alpha1.StatefulSetRollout, index int32) int32 {
	replicas := *r.Spec.Replicas
	steps := r.Spec.Rollout.Steps
	if len(steps) == 0 {
		steps = []v1alpha1.RolloutStep{{Percent: ptrTo(int32(100))}}
	}
	percent := int32(100)
	if int(index) < len(steps) {
		percent = 0
		for i := index; i >= 0; i-- {
			if steps[i].Percent != nil {
				percent = *steps[i].Percent
				break
			}
		}
	}
	return replicas - int32((int64(replicas)*int64(percent)+99)/100)
}

func ptrTo[T any](v T) *T { return &v }

// checkDeletions: what a plan deletes.
func checkDeletions(in plan.Input, p plan.Plan) error {
	sts := in.StatefulSet
	if len(p.Delete) == 0 {
		return nil
	}
	if p.TemplateHash != sts.Annotations[v1alpha1.AnnotationTemplateHash] {
		return fmt.Errorf("deletes pods while the template changes")
	}
	replicas := *in.Rollout.Spec.Replicas
	byName := map[string]plan.PodFacts{}
	for _, pod := range in.Pods {
		byName[pod.Ref.Name] = pod
	}
	available := func(pod plan.PodFacts) bool { return !pod.Terminating && !pod.ReadySince.IsZero() }
	budgetValue := in.Rollout.Spec.Rollout.MaxUnavailableOrDefault()
	if p.Status.RollbackReason != "" {
		budgetValue = in.Rollout.Spec.Rollout.RollbackMaxUnavailableOrDefault()
	}
	budget := resolved(budgetValue, replicas)
	for ordinal := range replicas {
		if pod, ok := byName[fmt.Sprintf("%s-%d", plantest.Name, ordinal)]; !ok || !available(pod) {
			budget--
		}
	}
	target := targetOf(in)
	known := map[string]bool{}
	for _, rev := range in.History {
		known[rev.Name] = true
	}
	var spent int
	for _, ref := range p.Delete {
		var o int32
		if _, err := fmt.Sscanf(ref.Name, plantest.Name+"-%d", &o); err != nil {
			return fmt.Errorf("deletes %s, which is no pod of the StatefulSet", ref.Name)
		}
		pod, ok := byName[ref.Name]
		switch {
		case !ok || pod.Ref.UID != ref.UID || pod.Ref.ResourceVersion != ref.ResourceVersion:
			return fmt.Errorf("deletes %s, which was not observed at that version", ref.Name)
		case pod.Terminating:
			return fmt.Errorf("deletes %s, which is already terminating", ref.Name)
		case pod.Revision == target:
			return fmt.Errorf("deletes %s, which already runs the target revision", ref.Name)
		case target != sts.Status.UpdateRevision && !known[pod.Revision]:
			return fmt.Errorf("deletes %s, on a revision the history does not show, before the template is observed", ref.Name)
		case o < p.Partition && sts.Status.CurrentRevision != target:
			return fmt.Errorf("deletes %s below the partition %d: it would come back outdated", ref.Name, p.Partition)
		case o >= replicas:
			return fmt.Errorf("deletes %s, beyond the replicas", ref.Name)
		}
		if available(pod) {
			spent++
		}
	}
	if spent > int(max(budget, 0)) {
		return fmt.Errorf("takes down %d available pods with a budget of %d", spent, budget)
	}
	if in.Rollout.Spec.Paused {
		return fmt.Errorf("deletes pods while paused")
	}
	return nil
}

func FuzzDecideInvariants(f *testing.F) {
	f.Add([]byte{9, 3, 0, 2, 1, 50, 2, 1, 1, 0, 3, 1, 1, 1, 2, 2, 0, 1, 3})
	f.Add([]byte{29, 5, 1, 7, 3, 2, 40, 1, 90, 0, 0, 0, 3, 1, 0, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1})
	f.Add([]byte{4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 1, 3, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := randomWorld(data)
		p := plan.Decide(in)
		if err := checkInvariants(in, p); err != nil {
			t.Fatalf("%v\nplan:\n%s", err, plantest.Describe(p))
		}
		if again := plan.Decide(in); plantest.Describe(again) != plantest.Describe(p) {
			t.Fatalf("same world, different plans:\n%s\n%s", plantest.Describe(p), plantest.Describe(again))
		}
	})
}

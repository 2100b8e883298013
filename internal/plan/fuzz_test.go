package plan

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
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
func randomWorld(data []byte) Input {
	src := &bytesource{data: data}
	replicas := int32(1 + src.next(30))
	r := newRollout(replicas, "v2")
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
	stable, target := revisionOf("v1"), revisionOf("v2")
	phases := []v1alpha1.Phase{v1alpha1.PhaseProgressing, v1alpha1.PhasePaused, v1alpha1.PhaseDegraded, v1alpha1.PhaseRollingBack, v1alpha1.PhaseAborted, v1alpha1.PhaseCompleted}
	r.Status = v1alpha1.StatefulSetRolloutStatus{
		Phase:            phases[src.next(len(phases))],
		CurrentStepIndex: int32(src.next(len(r.Spec.Rollout.Steps) + 1)),
		StableRevision:   stable,
		UpdateRevision:   target,
		TemplateHash:     TemplateHash(&r.Spec.Template),
		StepStartedAt:    &started,
		ProgressedAt:     &started,
		StartedAt:        &started,
	}
	wantHash := r.Status.TemplateHash
	if src.next(3) == 0 {
		r.Status.RollbackReason = RollbackAborted
		target = stable
		wantHash = rollbackHash(stable)
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
		ObjectMeta: metav1.ObjectMeta{Name: simName, Namespace: "ns", UID: "sts-uid", Generation: 3,
			Annotations: map[string]string{v1alpha1.AnnotationTemplateHash: wantHash}},
		Spec: appsv1.StatefulSetSpec{Replicas: &replicas, UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
			Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &partition}}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, CurrentRevision: current, UpdateRevision: target},
	}
	s := newSim(nil)
	var pods []corev1.Pod
	revisions := []string{stable, revisionOf("v2"), revisionOf("v0")}
	for o := range replicas + int32(src.next(3)) {
		if src.next(6) == 0 {
			continue // missing
		}
		pod := s.newPod(o, revisions[src.next(len(revisions))])
		switch src.next(4) {
		case 0:
		case 1:
			pod.DeletionTimestamp = &started
			fallthrough
		default:
			pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}
		}
		pods = append(pods, *pod)
	}
	return Input{Rollout: r, StatefulSet: sts, Pods: pods, Now: now}
}

// checkInvariants holds for every plan, whatever the world.
func checkInvariants(in Input, p Plan) error {
	sts := in.StatefulSet
	if len(p.Delete) == 0 {
		return nil
	}
	if p.TemplateHash != sts.Annotations[v1alpha1.AnnotationTemplateHash] {
		return fmt.Errorf("deletes pods while the template changes")
	}
	replicas := *in.Rollout.Spec.Replicas
	pods := observePods(sts, in.Pods, replicas, in.Now, 0)
	budgetValue := in.Rollout.Spec.Rollout.MaxUnavailableOrDefault()
	if p.Status.RollbackReason != "" {
		budgetValue = in.Rollout.Spec.Rollout.RollbackMaxUnavailableOrDefault()
	}
	budget := maxUnavailable(budgetValue, replicas) - pods.unavailable()
	var spent int32
	for _, ref := range p.Delete {
		o, _ := podOrdinal(simName, ref.Name)
		pod, ok := pods.byOrdinal[o]
		switch {
		case !ok || pod.Ref != ref:
			return fmt.Errorf("deletes %s, which was not observed at that version", ref.Name)
		case pod.Terminating:
			return fmt.Errorf("deletes %s, which is already terminating", ref.Name)
		case pod.Revision == sts.Status.UpdateRevision:
			return fmt.Errorf("deletes %s, which already runs the target revision", ref.Name)
		case o < p.Partition && sts.Status.CurrentRevision != sts.Status.UpdateRevision:
			return fmt.Errorf("deletes %s below the partition %d: it would come back outdated", ref.Name, p.Partition)
		case o >= replicas:
			return fmt.Errorf("deletes %s, beyond the replicas", ref.Name)
		}
		if pod.Available {
			spent++
		}
	}
	if spent > max(budget, 0) {
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
		p := Decide(in)
		if err := checkInvariants(in, p); err != nil {
			t.Fatalf("%v\nplan:\n%s", err, p)
		}
		if again := Decide(in); again.String() != p.String() {
			t.Fatalf("same world, different plans:\n%s\n%s", p, again)
		}
	})
}

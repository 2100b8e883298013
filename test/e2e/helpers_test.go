package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

const image = "registry.example/kv"

func percent(p int32) v1alpha1.RolloutStep { return v1alpha1.RolloutStep{Percent: &p} }

func pauseStep() v1alpha1.RolloutStep { return v1alpha1.RolloutStep{Pause: &v1alpha1.PauseStep{}} }

func newRollout(namespace, name string, replicas int32, maxUnavailable intstr.IntOrString, steps ...v1alpha1.RolloutStep) *v1alpha1.StatefulSetRollout {
	labels := map[string]string{"app": name}
	deadline := int32(600)
	return &v1alpha1.StatefulSetRollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.StatefulSetRolloutSpec{
			StatefulSetSpec: appsv1.StatefulSetSpec{
				Replicas:    &replicas,
				ServiceName: name,
				Selector:    &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kv", Image: image + ":v1"}}},
				},
			},
			Rollout: v1alpha1.RolloutStrategy{MaxUnavailable: &maxUnavailable, Steps: steps, ProgressDeadlineSeconds: &deadline},
		},
	}
}

// eventually polls until check says done, or fails the test with the last
// thing check reported.
func eventually(t *testing.T, timeout time.Duration, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		done, state := check()
		if done {
			return
		}
		last = state
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("not done within %s; last state: %s", timeout, last)
}

func getRollout(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout) *v1alpha1.StatefulSetRollout {
	t.Helper()
	got := &v1alpha1.StatefulSetRollout{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(r), got); err != nil {
		t.Fatal(err)
	}
	return got
}

func describe(r *v1alpha1.StatefulSetRollout) string {
	s := r.Status
	return fmt.Sprintf("phase=%s step=%d partition=%d updated=%d/%d ready=%d message=%q",
		s.Phase, s.CurrentStepIndex, s.Partition, s.UpdatedReadyReplicas, s.Replicas, s.ReadyReplicas, s.Message)
}

// waitPhase waits until the rollout observed its latest generation and is in phase.
func waitPhase(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, phase v1alpha1.Phase, timeout time.Duration) *v1alpha1.StatefulSetRollout {
	t.Helper()
	var got *v1alpha1.StatefulSetRollout
	eventually(t, timeout, func() (bool, string) {
		got = getRollout(t, c, r)
		return got.Status.ObservedGeneration == got.Generation && got.Status.Phase == phase, describe(got)
	})
	return got
}

// waitCompleted waits until every replica runs the update revision and is Ready.
func waitCompleted(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, timeout time.Duration) *v1alpha1.StatefulSetRollout {
	t.Helper()
	var got *v1alpha1.StatefulSetRollout
	eventually(t, timeout, func() (bool, string) {
		got = getRollout(t, c, r)
		s := got.Status
		done := s.ObservedGeneration == got.Generation && s.Phase == v1alpha1.PhaseCompleted &&
			s.UpdatedReadyReplicas == *got.Spec.Replicas && s.UpdateRevision == s.StableRevision
		return done, describe(got)
	})
	return got
}

func setImage(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, tag string) {
	t.Helper()
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"kv","image":"%s:%s"}]}}}}`, image, tag)
	if err := c.Patch(context.Background(), r, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

func annotate(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, key, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, key, value)
	if err := c.Patch(context.Background(), r, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// podsByRevision lists the set's pods and checks each against want(ordinal).
func checkPods(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, want func(ordinal int) string) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := c.List(context.Background(), pods, client.InNamespace(r.Namespace), client.MatchingLabels{"app": r.Name}); err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods.Items {
		ordinal, ok := ordinalOf(r.Name, pod.Name)
		if !ok {
			continue
		}
		if got := pod.Labels[appsv1.ControllerRevisionHashLabelKey]; got != want(ordinal) {
			t.Errorf("pod %s runs %s, want %s", pod.Name, got, want(ordinal))
		}
	}
}

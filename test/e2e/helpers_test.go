package e2e

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// checkPods lists the set's pods and checks each against want(ordinal).
func checkPods(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, want func(ordinal int) string) {
	t.Helper()
	pods := &corev1.PodList{}
	if err := c.List(context.Background(), pods, client.InNamespace(r.Namespace), client.MatchingLabels{"app": r.Name}); err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods.Items {
		ordinal, ok := e2eutil.Ordinal(r.Name, pod.Name)
		if !ok {
			continue
		}
		if got := pod.Labels[appsv1.ControllerRevisionHashLabelKey]; got != want(ordinal) {
			t.Errorf("pod %s runs %s, want %s", pod.Name, got, want(ordinal))
		}
	}
}

package localcluster_test

import (
	"context"
	"os"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

func client(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(clustertest.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// eventually polls cond every 100 ms until it holds, failing the test with
// what after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, timeout, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func statefulSet(name string, replicas int32, image string) *appsv1.StatefulSet {
	labels := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
		},
	}
}

func createStatefulSet(t *testing.T, cs kubernetes.Interface, ns string, sts *appsv1.StatefulSet) {
	t.Helper()
	if _, err := cs.AppsV1().StatefulSets(ns).Create(t.Context(), sts, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create StatefulSet %s: %v", sts.Name, err)
	}
}

func waitReadyReplicas(t *testing.T, cs kubernetes.Interface, ns, name string, want int32, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "StatefulSet "+name+" ready", func(ctx context.Context) (bool, error) {
		sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return sts.Status.ReadyReplicas == want && sts.Status.ObservedGeneration == sts.Generation, nil
	})
}

func podReady(pod *corev1.Pod) bool {
	return podCondition(pod, corev1.PodReady) == corev1.ConditionTrue
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

// deleteAndAwaitReplacement deletes a StatefulSet pod and returns its
// Ready replacement (same name, new UID).
func deleteAndAwaitReplacement(t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	old, err := cs.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Pods(ns).Delete(t.Context(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var replacement *corev1.Pod
	eventually(t, time.Minute, "replacement of "+name+" Ready", func(ctx context.Context) (bool, error) {
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		replacement = pod
		return pod.UID != old.UID && podReady(pod), nil
	})
	return replacement
}

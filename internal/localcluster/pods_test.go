package localcluster_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func createPod(t *testing.T, cs kubernetes.Interface, ns, name, image string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
}

func getPod(t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	pod, err := cs.CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// observe calls check on the pod every 100 ms for d.
func observe(t *testing.T, cs kubernetes.Interface, ns, name string, d time.Duration, check func(*corev1.Pod)) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		check(getPod(t, cs, ns, name))
	}
}

func TestBrokenImageRunsButNeverBecomesReady(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createPod(t, cs, ns, "healthy", "registry.example/app:v1")
	createPod(t, cs, ns, "broken", "registry.example/app:broken-v2")

	eventually(t, time.Minute, "healthy pod Ready", func(ctx context.Context) (bool, error) {
		return podReady(getPod(t, cs, ns, "healthy")), nil
	})
	// Several ready delays (1 s by default) after the healthy pod made it.
	observe(t, cs, ns, "broken", 4*time.Second, func(pod *corev1.Pod) {
		if podReady(pod) {
			t.Fatalf("pod with image tag broken-v2 became Ready")
		}
	})
	pod := getPod(t, cs, ns, "broken")
	if pod.Status.Phase != corev1.PodRunning || pod.Status.ContainerStatuses[0].State.Running == nil {
		t.Errorf("broken pod should run: phase %s, state %+v", pod.Status.Phase, pod.Status.ContainerStatuses[0].State)
	}
}

func TestCrashImageRestartsAndNeverBecomesReady(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createPod(t, cs, ns, "crashing", "registry.example/app:crash")

	var restarts int32
	observe(t, cs, ns, "crashing", 6*time.Second, func(pod *corev1.Pod) {
		if podReady(pod) {
			t.Fatalf("pod with image tag crash became Ready")
		}
		if len(pod.Status.ContainerStatuses) == 1 {
			restarts = pod.Status.ContainerStatuses[0].RestartCount
		}
	})
	if restarts < 2 {
		t.Errorf("restartCount %d after 6 s, want it to keep growing (>= 2)", restarts)
	}
	last := getPod(t, cs, ns, "crashing").Status.ContainerStatuses[0].LastTerminationState.Terminated
	if last == nil || last.ExitCode == 0 {
		t.Errorf("last termination state %+v, want a non-zero exit", last)
	}
}

func TestDeletedPodIsTerminatingBrieflyThenGone(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createPod(t, cs, ns, "short-lived", "registry.example/app:v1")
	eventually(t, time.Minute, "pod Ready", func(ctx context.Context) (bool, error) {
		return podReady(getPod(t, cs, ns, "short-lived")), nil
	})

	start := time.Now()
	if err := cs.CoreV1().Pods(ns).Delete(t.Context(), "short-lived", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if pod := getPod(t, cs, ns, "short-lived"); pod.DeletionTimestamp == nil {
		t.Fatal("deleted pod has no deletionTimestamp")
	}
	eventually(t, 10*time.Second, "pod gone", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, "short-lived", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	// The simulated kubelet takes 0.5 to 1 s to stop the pod.
	if gone := time.Since(start); gone < 400*time.Millisecond || gone > 5*time.Second {
		t.Errorf("pod gone %s after deletion, want about 0.5 to 1 s", gone)
	}
}

// A kubelet removes the pod it stopped and no other. Here the pod is
// deleted gracefully (the simulated kubelet will remove it shortly), then
// removed at once and created again under its name before the kubelet got
// to it: the new pod must survive the kubelet finishing the old one's
// deletion.
func TestDeletedPodsSuccessorOfTheSameNameSurvives(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createPod(t, cs, ns, "reused", "registry.example/app:v1")
	eventually(t, time.Minute, "pod Ready", func(ctx context.Context) (bool, error) {
		return podReady(getPod(t, cs, ns, "reused")), nil
	})

	pods := cs.CoreV1().Pods(ns)
	if err := pods.Delete(t.Context(), "reused", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(t.Context(), "reused", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	createPod(t, cs, ns, "reused", "registry.example/app:v1")
	successor := getPod(t, cs, ns, "reused")

	// Past the longest the simulated kubelet takes to stop a pod (1 s), and
	// until the successor is Ready.
	observe(t, cs, ns, "reused", 3*time.Second, func(pod *corev1.Pod) {
		if pod.UID != successor.UID || pod.DeletionTimestamp != nil {
			t.Fatalf("the successor of the deleted pod was deleted (uid %s, deletionTimestamp %v)", successor.UID, pod.DeletionTimestamp)
		}
	})
	if !podReady(getPod(t, cs, ns, "reused")) {
		t.Errorf("the successor never became Ready")
	}
}

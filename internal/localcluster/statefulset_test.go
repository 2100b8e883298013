package localcluster_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestParallelStatefulSetBecomesReady(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	sts := statefulSet("web", 50, "registry.example/web:v1")
	sts.Spec.PodManagementPolicy = appsv1.ParallelPodManagement

	start := time.Now()
	createStatefulSet(t, cs, ns, sts)
	waitReadyReplicas(t, cs, ns, "web", 50, 2*time.Minute)
	t.Logf("50 pods Ready after %s", time.Since(start).Round(10*time.Millisecond))

	pods, err := cs.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 50 {
		t.Fatalf("%d pods, want 50", len(pods.Items))
	}
	zones := map[string]bool{}
	nodes, err := cs.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zoneOf := map[string]string{}
	for _, n := range nodes.Items {
		zoneOf[n.Name] = n.Labels[localcluster.ZoneLabel]
	}
	for _, pod := range pods.Items {
		// What a kubelet reports for a running, ready pod.
		if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" || pod.Status.HostIP != "127.0.0.1" {
			t.Errorf("pod %s: phase %s, podIP %q, hostIP %q", pod.Name, pod.Status.Phase, pod.Status.PodIP, pod.Status.HostIP)
		}
		for _, c := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
			if got := podCondition(&pod, c); got != corev1.ConditionTrue {
				t.Errorf("pod %s: condition %s is %q", pod.Name, c, got)
			}
		}
		if len(pod.Status.ContainerStatuses) != 1 || !pod.Status.ContainerStatuses[0].Ready || pod.Status.ContainerStatuses[0].State.Running == nil {
			t.Errorf("pod %s: container statuses %+v", pod.Name, pod.Status.ContainerStatuses)
		}
		zones[zoneOf[pod.Spec.NodeName]] = true
	}
	if len(zones) != 3 {
		t.Errorf("pods spread over zones %v, want zone-a, zone-b and zone-c", zones)
	}
}

// setImage changes the StatefulSet's pod template image.
func setImage(t *testing.T, sts *appsv1.StatefulSet, ns, image string) {
	t.Helper()
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"` + image + `"}]}}}}`
	_, err := client(t).AppsV1().StatefulSets(ns).Patch(t.Context(), sts.Name, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func podImage(t *testing.T, ns, name string) string {
	t.Helper()
	pod, err := client(t).CoreV1().Pods(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod.Spec.Containers[0].Image
}

func TestOnDeleteRecreatesDeletedPodWithNewTemplate(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	sts := statefulSet("db", 3, "registry.example/db:v1")
	sts.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
	createStatefulSet(t, cs, ns, sts)
	waitReadyReplicas(t, cs, ns, "db", 3, time.Minute)

	setImage(t, sts, ns, "registry.example/db:v2")
	eventually(t, time.Minute, "new revision observed", func(ctx context.Context) (bool, error) {
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		return err == nil && s.Status.UpdateRevision != s.Status.CurrentRevision, err
	})
	if got := podImage(t, ns, "db-1"); got != "registry.example/db:v1" {
		t.Fatalf("OnDelete updated db-1 before it was deleted: image %s", got)
	}

	pod := deleteAndAwaitReplacement(t, cs, ns, "db-1")
	if got := pod.Spec.Containers[0].Image; got != "registry.example/db:v2" {
		t.Errorf("recreated db-1 has image %s, want the new template's registry.example/db:v2", got)
	}
	if got := podImage(t, ns, "db-0"); got != "registry.example/db:v1" {
		t.Errorf("untouched db-0 has image %s, want registry.example/db:v1", got)
	}
}

func TestPartitionRecreatesPodBelowPartitionWithOldTemplate(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	sts := statefulSet("queue", 3, "registry.example/queue:v1")
	partition := int32(2)
	sts.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{
		Type:          appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &partition},
	}
	createStatefulSet(t, cs, ns, sts)
	waitReadyReplicas(t, cs, ns, "queue", 3, time.Minute)

	setImage(t, sts, ns, "registry.example/queue:v2")
	// The ordinal at the partition rolls; the ones below stay.
	eventually(t, time.Minute, "queue-2 updated and Ready", func(ctx context.Context) (bool, error) {
		pod, err := cs.CoreV1().Pods(ns).Get(ctx, "queue-2", metav1.GetOptions{})
		return err == nil && pod.Spec.Containers[0].Image == "registry.example/queue:v2" && podReady(pod), nil
	})

	pod := deleteAndAwaitReplacement(t, cs, ns, "queue-0")
	if got := pod.Spec.Containers[0].Image; got != "registry.example/queue:v1" {
		t.Errorf("recreated queue-0 (below partition %d) has image %s, want the old template's registry.example/queue:v1", partition, got)
	}
	if got := podImage(t, ns, "queue-1"); got != "registry.example/queue:v1" {
		t.Errorf("queue-1 has image %s, want registry.example/queue:v1", got)
	}
}

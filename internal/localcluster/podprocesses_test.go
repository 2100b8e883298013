package localcluster_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// pids parses the pids a command printed, one a line.
func pids(t *testing.T, out string) []int {
	t.Helper()
	var pids []int
	for line := range strings.FieldsSeq(out) {
		pid, err := strconv.Atoi(line)
		if err != nil {
			t.Fatalf("not a pid in %q", out)
		}
		if !localcluster.Alive(pid) {
			t.Fatalf("process %d not running after the exec that started it", pid)
		}
		pids = append(pids, pid)
	}
	return pids
}

func waitGone(t *testing.T, pids []int, after string) {
	t.Helper()
	eventually(t, time.Minute, "processes gone "+after, func(context.Context) (bool, error) {
		for _, pid := range pids {
			if localcluster.Alive(pid) {
				return false, nil
			}
		}
		return true, nil
	})
}

func TestExecProcessesDieWithTheirPod(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createPod(t, cs, ns, "daemons", "registry.example/app:v1")
	eventually(t, time.Minute, "pod Ready", func(ctx context.Context) (bool, error) {
		return podReady(getPod(t, cs, ns, "daemons")), nil
	})

	// A background job and one in a session of its own, as a daemon
	// (pg_ctl start) makes: both outlive the exec.
	started := pids(t, execIn(t, ns, "daemons", "sleep 1000 & echo $!; setsid sleep 1001 & echo $!"))
	if err := cs.CoreV1().Pods(ns).Delete(t.Context(), "daemons", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, started, "with their pod")
}

func TestExecProcessesDieWhenTheirContainerCrashes(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createPod(t, cs, ns, "crashing", "registry.example/app:crash")

	// The container runs for about a ready delay (a second) before each
	// crash, and on a loaded host an exec can take as long: the container
	// may crash, killing the daemon, between the exec's answer and the look
	// at it. That run is lost, and the next one tried, until a daemon is
	// seen alive after its exec.
	var daemon int
	var restarts int32
	eventually(t, 2*time.Minute, "a daemon alive after the exec into the running container that started it", func(context.Context) (bool, error) {
		out, err := clustertest.Kubectl(t, "exec", "-n", ns, "crashing", "--", "sh", "-c", "setsid sleep 1002 & echo $!")
		if err != nil {
			return false, nil // not running yet, or crashed meanwhile
		}
		daemon, err = strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("not a pid in %q", out)
		}
		// Read before the look at the daemon: the crash that kills it
		// comes after.
		restarts = restartCount(getPod(t, cs, ns, "crashing"))
		return localcluster.Alive(daemon), nil
	})
	waitGone(t, []int{daemon}, "with their crashed container")
	// The kubelet kills them on seeing the crash in the pod's status: a
	// read now sees it too.
	pod := getPod(t, cs, ns, "crashing")
	if pod.DeletionTimestamp != nil {
		t.Errorf("the pod is being deleted; the test wants a crash")
	}
	if s := pod.Status.ContainerStatuses; restartCount(pod) <= restarts && len(s) == 1 && s[0].State.Running != nil {
		t.Errorf("daemon %d gone, but the container has not crashed since the exec (restartCount %d)", daemon, restarts)
	}
}

func restartCount(pod *corev1.Pod) int32 {
	if len(pod.Status.ContainerStatuses) == 0 {
		return 0
	}
	return pod.Status.ContainerStatuses[0].RestartCount
}

func TestExecReadinessProbeDecidesReadiness(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "probed"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example/app:v1",
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "ready"}}},
				PeriodSeconds:    1,
				FailureThreshold: 1,
			},
		}}},
	}
	if _, err := cs.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "container running", func(context.Context) (bool, error) {
		p := getPod(t, cs, ns, "probed")
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil, nil
	})
	// Several probe periods, and several ready delays of pods without a probe.
	observe(t, cs, ns, "probed", 3*time.Second, func(p *corev1.Pod) {
		if podReady(p) {
			t.Fatal("pod Ready before its probe's file exists")
		}
	})

	execIn(t, ns, "probed", "touch ready")
	eventually(t, 10*time.Second, "pod Ready once the file exists", func(context.Context) (bool, error) {
		p := getPod(t, cs, ns, "probed")
		return podReady(p) && p.Status.ContainerStatuses[0].Ready, nil
	})
	execIn(t, ns, "probed", "rm ready")
	eventually(t, 10*time.Second, "pod not Ready once the file is gone", func(context.Context) (bool, error) {
		p := getPod(t, cs, ns, "probed")
		return !podReady(p) && !p.Status.ContainerStatuses[0].Ready, nil
	})
}

package localcluster_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestExecRunsInPodDirectoryThatSurvivesRecreation(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createStatefulSet(t, cs, ns, statefulSet("kv", 1, "registry.example/kv:v1"))
	waitReadyReplicas(t, cs, ns, "kv", 1, time.Minute)

	out, err := clustertest.Kubectl(t, "exec", "-n", ns, "kv-0", "--", "sh", "-c", `echo $POD_NAME > f; cat f; echo $POD_NAMESPACE`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "kv-0\n" + ns + "\n"; out != want {
		t.Fatalf("exec printed %q, want %q", out, want)
	}

	deleteAndAwaitReplacement(t, cs, ns, "kv-0")
	out, err = clustertest.Kubectl(t, "exec", "-n", ns, "kv-0", "--", "cat", "f")
	if err != nil {
		t.Fatalf("file written before the pod was recreated: %v", err)
	}
	if out != "kv-0\n" {
		t.Errorf("file holds %q after recreation, want %q", out, "kv-0\n")
	}
}

func TestExecExitCodeReachesCaller(t *testing.T) {
	cs := client(t)
	ns := clustertest.Namespace(t)
	createPod(t, cs, ns, "shell", "registry.example/app:v1")
	eventually(t, time.Minute, "pod Ready", func(ctx context.Context) (bool, error) {
		return podReady(getPod(t, cs, ns, "shell")), nil
	})

	_, err := clustertest.Kubectl(t, "exec", "-n", ns, "shell", "--", "sh", "-c", "echo failing >&2; exit 3")
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("exec of a command exiting 3 returned %v, want a kubectl exit error", err)
	}
	if exitErr.ExitCode() != 3 {
		t.Errorf("kubectl exited %d, want 3 (%v)", exitErr.ExitCode(), err)
	}
	if !strings.Contains(err.Error(), "failing") {
		t.Errorf("stderr of the command missing from %v", err)
	}
}

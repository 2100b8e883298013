package localcluster_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// TestUpDownLeavesNothingRunning drives the localcluster command as `make
// cluster-up` and `make cluster-down` do, with a second cluster of its own.
func TestUpDownLeavesNothingRunning(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "localcluster")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/sroll-dev/sroll/cmd/localcluster").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	stateDir := filepath.Join(dir, "state")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--state-dir", stateDir, "--nodes", "1")...)
		cmd.Env = append(os.Environ(), localcluster.EnvBinDir+"="+clustertest.BinDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("localcluster %s: %v\n%s", args[0], err, out)
		}
		return string(out)
	}
	t.Cleanup(func() { _ = exec.Command(bin, "down", "--state-dir", stateDir).Run() })

	run("up")
	if out := run("up"); !strings.Contains(out, "already running") {
		t.Errorf("second up did not notice the running cluster:\n%s", out)
	}
	procs, err := localcluster.ReadPIDs(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	daemon, err := os.ReadFile(filepath.Join(stateDir, "daemon.pid"))
	if err != nil {
		t.Fatal(err)
	}
	daemonPID, err := strconv.Atoi(strings.TrimSpace(string(daemon)))
	if err != nil {
		t.Fatal(err)
	}
	procs = append(procs, localcluster.ProcessInfo{Name: "daemon", PID: daemonPID})
	if len(procs) != 8 {
		t.Fatalf("recorded processes %v, want the daemon and 7 components", procs)
	}
	for _, p := range procs {
		if !localcluster.Alive(p.PID) {
			t.Fatalf("%s (pid %d) not running after up", p.Name, p.PID)
		}
	}
	kubectl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(clustertest.BinDir(), "kubectl"), append([]string{"--kubeconfig", filepath.Join(stateDir, "kubeconfig")}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl %v on the second cluster: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// A daemon started in a pod must not outlive the cluster either.
	kubectl("run", "daemon", "--image=registry.example/app:v1")
	kubectl("wait", "--for=condition=Ready", "pod/daemon", "--timeout=2m")
	daemonOut := kubectl("exec", "daemon", "--", "sh", "-c", "setsid sleep 1003 & echo $!")
	podDaemon, err := strconv.Atoi(strings.TrimSpace(daemonOut))
	if err != nil {
		t.Fatalf("exec printed %q, not a pid", daemonOut)
	}
	procs = append(procs, localcluster.ProcessInfo{Name: "daemon in a pod", PID: podDaemon})

	run("down")
	for _, p := range procs {
		if localcluster.Alive(p.PID) {
			t.Errorf("%s (pid %d) still running after down", p.Name, p.PID)
		}
	}
	if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
		t.Errorf("state directory still there after down: %v", err)
	}
	run("down") // idempotent
}

package e2eutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

var build struct {
	once sync.Once
	bin  string
	err  error
}

// BuildOperator builds ./cmd/sroll-operator into dir, once per process, and
// returns the binary's path. dir must last as long as the process's tests:
// the cluster's state directory, say, removed after a good run.
func BuildOperator(t testing.TB, dir string) string {
	t.Helper()
	build.once.Do(func() {
		bin := filepath.Join(dir, "sroll-operator")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/sroll-operator")
		cmd.Dir = RepoRoot()
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %w: %s", err, out)
			return
		}
		t.Logf("built sroll-operator in %s", time.Since(start).Round(time.Millisecond))
		build.bin = bin
	})
	if build.err != nil {
		t.Fatalf("building the operator: %v", build.err)
	}
	return build.bin
}

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 15 * time.Second

// Operator is sroll-operator running as its own process, as users run it,
// so that a test can SIGKILL it by its pid as a node failure would, start
// it again, and read its log. Set the fields, then call Start.
type Operator struct {
	Bin  string
	Args []string
	// Kubeconfig is passed as $KUBECONFIG.
	Kubeconfig string
	// Log is the file its output is appended to, across restarts; empty
	// for operator.log in the test's temporary directory.
	Log string

	cmd    *exec.Cmd // the running process; nil once killed or stopped
	exited chan struct{}
	starts int
}

// StartOperator starts the operator on clustertest's cluster, built once
// into its state directory, watching namespace alone as one test's operator
// does: no leader election, no listeners. extra flags follow those.
func StartOperator(t testing.TB, namespace string, extra ...string) *Operator {
	t.Helper()
	op := &Operator{
		Bin:        BuildOperator(t, clustertest.StateDir()),
		Kubeconfig: clustertest.KubeconfigPath(),
		Args: append([]string{"--namespace=" + namespace, "--leader-elect=false",
			"--metrics-bind-address=0", "--health-probe-bind-address=0"}, extra...),
	}
	op.Start(t)
	return op
}

// Start starts the operator. The first start also arranges for it to be
// stopped when the test ends, and the tail of its log printed if the test
// failed.
func (op *Operator) Start(t testing.TB) {
	t.Helper()
	if op.starts == 0 {
		if op.Log == "" {
			op.Log = filepath.Join(t.TempDir(), "operator.log")
		}
		t.Cleanup(func() {
			op.Stop()
			if t.Failed() {
				t.Logf("operator log (tail):\n%s", op.LogTail())
			}
		})
	}
	op.starts++
	logFile, err := os.OpenFile(op.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(op.Bin, op.Args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+op.Kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a signal to the test's group leaves it alone,
	// the test alone ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatal(err)
	}
	op.cmd = cmd
	op.exited = make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); _ = logFile.Close(); close(exited) }(op.exited)
}

// Kill is SIGKILL: no graceful shutdown, nothing pending is flushed.
func (op *Operator) Kill() {
	if op.cmd == nil {
		return
	}
	_ = syscall.Kill(op.cmd.Process.Pid, syscall.SIGKILL)
	<-op.exited
	op.cmd = nil
}

// Stop sends SIGTERM to the operator's pid, SIGKILL if it lingers.
func (op *Operator) Stop() {
	if op.cmd == nil {
		return
	}
	_ = syscall.Kill(op.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-op.exited:
	case <-time.After(stopGrace):
		_ = syscall.Kill(op.cmd.Process.Pid, syscall.SIGKILL)
		<-op.exited
	}
	op.cmd = nil
}

// PID is the running process's id.
func (op *Operator) PID() int { return op.cmd.Process.Pid }

// Exited is closed when the process last started ends.
func (op *Operator) Exited() <-chan struct{} { return op.exited }

// Starts counts the times the operator was started.
func (op *Operator) Starts() int { return op.starts }

// LogTail is the end of the operator's log.
func (op *Operator) LogTail() string {
	data, err := os.ReadFile(op.Log)
	if err != nil {
		return err.Error()
	}
	return string(data[max(0, len(data)-12000):])
}

package notifye2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// clusterName is what the operator calls the cluster in notifications.
const clusterName = "e2e"

// operator is the sroll operator running as its own process, watching one
// namespace, so a test can SIGKILL it as a node failure would.
type operator struct {
	t         *testing.T
	namespace string
	cmd       *exec.Cmd
	exited    chan struct{}
	log       string
	starts    int
}

func startOperator(t *testing.T, namespace string) *operator {
	op := &operator{t: t, namespace: namespace, log: filepath.Join(t.TempDir(), "operator.log")}
	op.start()
	t.Cleanup(op.stop)
	return op
}

func (op *operator) start() {
	op.t.Helper()
	op.starts++
	logFile, err := os.OpenFile(op.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		op.t.Fatal(err)
	}
	cmd := exec.Command(operatorBin,
		"--namespace="+op.namespace,
		"--cluster-name="+clusterName,
		"--leader-elect=false",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+clustertest.KubeconfigPath())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		op.t.Fatal(err)
	}
	op.cmd = cmd
	op.exited = make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); _ = logFile.Close(); close(exited) }(op.exited)
}

// kill is SIGKILL: no graceful shutdown, nothing pending is flushed.
func (op *operator) kill() {
	op.t.Helper()
	if op.cmd == nil {
		return
	}
	_ = syscall.Kill(op.cmd.Process.Pid, syscall.SIGKILL)
	<-op.exited
	op.cmd = nil
}

func (op *operator) stop() {
	if op.cmd != nil {
		_ = syscall.Kill(op.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-op.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(op.cmd.Process.Pid, syscall.SIGKILL)
			<-op.exited
		}
		op.cmd = nil
	}
	if op.t.Failed() {
		if data, err := os.ReadFile(op.log); err == nil {
			tail := data
			if len(tail) > 12000 {
				tail = tail[len(tail)-12000:]
			}
			op.t.Logf("operator log (tail):\n%s", tail)
		}
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sroll-dev/sroll/internal/localcluster"
)

// upTimeout bounds how long up waits for the daemon to report.
const upTimeout = 3 * time.Minute

// up starts the daemon, detached in its own session so it outlives this
// process (and `go run`), and waits until it reports the cluster ready.
func up(stateDir string, nodes int) error {
	if pid, ok := runningDaemon(stateDir); ok {
		fmt.Printf("Local cluster already running (pid %d).\n", pid)
		printUsage(stateDir)
		return nil
	}
	// Whatever is left from a cluster whose daemon died goes first.
	if _, err := remove(stateDir); err != nil {
		return err
	}
	binDir, err := localcluster.DefaultBinDir()
	if err != nil {
		return err
	}
	if err := localcluster.CheckBinaries(binDir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(daemonLog(stateDir)), 0o755); err != nil {
		return err
	}
	logFile, err := os.Create(daemonLog(stateDir))
	if err != nil {
		return err
	}
	defer logFile.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer reportR.Close()

	started := time.Now()
	cmd := exec.Command(self, serveCommand, "--state-dir="+stateDir, "--nodes="+strconv.Itoa(nodes))
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.ExtraFiles = []*os.File{reportW}
	cmd.Env = append(os.Environ(), localcluster.EnvBinDir+"="+binDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		_ = reportW.Close()
		return err
	}
	_ = reportW.Close()
	fmt.Printf("Starting local cluster (daemon pid %d, log %s)...\n", cmd.Process.Pid, relative(daemonLog(stateDir)))

	report := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(reportR)
		report <- strings.TrimSpace(string(data))
	}()
	var msg string
	select {
	case msg = <-report:
	case <-time.After(upTimeout):
		// The daemon stops its components; the logs stay for diagnosis
		// and the next up removes them.
		msg = fmt.Sprintf("no report after %s", upTimeout)
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	if msg != readyMessage {
		return fmt.Errorf("cluster did not start: %s\nsee %s", msg, relative(filepath.Dir(daemonLog(stateDir))))
	}
	// The daemon is re-parented once we exit; we do not wait for it.
	_ = cmd.Process.Release()
	fmt.Printf("Local cluster is up after %.1fs.\n", time.Since(started).Seconds())
	printUsage(stateDir)
	return nil
}

func printUsage(stateDir string) {
	kubeconfig := filepath.Join(stateDir, "kubeconfig")
	binDir, _ := localcluster.DefaultBinDir()
	fmt.Printf(`
  kubeconfig: %s
  logs:       %s
  kubectl:    %s

  kubectl --kubeconfig %s get nodes
  export KUBECONFIG=%s

Pods are simulated (no container runs); see docs/local-cluster.md.
Stop and remove it with: make cluster-down
`, relative(kubeconfig), relative(filepath.Join(stateDir, "logs")), relative(filepath.Join(binDir, "kubectl")), relative(kubeconfig), kubeconfig)
}

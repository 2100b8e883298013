package main

import (
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/sroll-dev/sroll/internal/localcluster"
)

// daemonStopTimeout covers the daemon stopping its components, each of
// which gets 10 s before SIGKILL.
const daemonStopTimeout = 30 * time.Second

// down stops the cluster in stateDir, if there is one.
func down(stateDir string) error {
	found, err := remove(stateDir)
	if err == nil && !found {
		fmt.Printf("No local cluster in %s.\n", relative(stateDir))
	}
	return err
}

// remove stops the daemon by pid, then any recorded component it left
// behind, and removes the state directory. found is false when there was
// no state directory.
func remove(stateDir string) (found bool, err error) {
	isState, err := isStateDir(stateDir)
	if err != nil || !isState {
		return false, err
	}
	if pid, ok := runningDaemon(stateDir); ok {
		fmt.Printf("Stopping local cluster (daemon pid %d)...\n", pid)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(daemonStopTimeout)
		for localcluster.Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if localcluster.Alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if err := localcluster.KillRecorded(stateDir); err != nil {
		return true, err
	}
	if err := os.RemoveAll(stateDir); err != nil {
		return true, err
	}
	fmt.Printf("Local cluster in %s removed.\n", relative(stateDir))
	return true, nil
}

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sroll-dev/sroll/internal/localcluster"
)

// The daemon records its pid here; its children are in pids.json.
func daemonPIDFile(stateDir string) string { return filepath.Join(stateDir, "daemon.pid") }

func daemonLog(stateDir string) string { return filepath.Join(stateDir, "logs", "localcluster.log") }

// runningDaemon returns the pid of the daemon serving stateDir, if any.
func runningDaemon(stateDir string) (int, bool) {
	data, err := os.ReadFile(daemonPIDFile(stateDir))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, false
	}
	return pid, localcluster.OwnedBy(pid, stateDir)
}

// isStateDir guards the RemoveAll in down: only a directory a cluster
// wrote is removed, whatever --state-dir says.
func isStateDir(dir string) (bool, error) {
	for _, marker := range []string{daemonPIDFile(dir), filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "pids.json")} {
		if _, err := os.Stat(marker); err == nil {
			return true, nil
		}
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return false, fmt.Errorf("%s exists but is not a local cluster's state directory; not touching it", dir)
}

// relative shortens path for messages when it is under the working directory.
func relative(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return path
	}
	return rel
}

package localcluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessInfo identifies a process a cluster started, for `down` and for
// tests that check nothing is left running.
type ProcessInfo struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
}

// process is one control-plane binary running in its own process group, so
// stopping it also stops anything it forked.
type process struct {
	ProcessInfo
	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process has been reaped
	mu       sync.Mutex
	stopping bool
	waitErr  error
}

// startProcess runs binDir/name with args, logging stdout and stderr to
// logDir/<name>.log. onExit is called if the process exits before stop.
func startProcess(binDir, logDir, name string, args []string, env []string, onExit func(name string, err error)) (*process, error) {
	logFile, err := os.OpenFile(filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{ProcessInfo: ProcessInfo{Name: name, PID: cmd.Process.Pid}, cmd: cmd, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		stopping := p.stopping
		p.mu.Unlock()
		close(p.exited)
		if !stopping {
			onExit(name, err)
		}
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *process) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		<-p.exited
	}
	// Grandchildren that ignored SIGTERM outlive the leader; the group id
	// still reaches them.
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
}

// writePIDs records the running processes so a later `down` can stop them
// even if the process that started them is gone.
func writePIDs(path string, procs []ProcessInfo) error {
	data, err := json.MarshalIndent(procs, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadPIDs returns the processes recorded in a cluster's state directory.
func ReadPIDs(stateDir string) ([]ProcessInfo, error) {
	data, err := os.ReadFile(layout(stateDir).pidsFile())
	if err != nil {
		return nil, err
	}
	var procs []ProcessInfo
	if err := json.Unmarshal(data, &procs); err != nil {
		return nil, fmt.Errorf("%s: %w", layout(stateDir).pidsFile(), err)
	}
	return procs, nil
}

// KillRecorded stops every process recorded in stateDir that is still
// alive and still belongs to this state directory (its command line names
// the directory), so a recycled pid is never signalled.
func KillRecorded(stateDir string) error {
	procs, err := ReadPIDs(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range procs {
		if OwnedBy(p.PID, stateDir) {
			_ = syscall.Kill(-p.PID, syscall.SIGKILL)
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
	return killRecordedPods(stateDir)
}

// OwnedBy reports whether pid is alive and was started for stateDir: every
// process of a cluster names its state directory on its command line.
func OwnedBy(pid int, stateDir string) bool {
	if pid <= 0 || !Alive(pid) {
		return false
	}
	cmdline, err := processCmdline(pid)
	return err == nil && strings.Contains(cmdline, stateDir)
}

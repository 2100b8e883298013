//go:build !linux

package localcluster

import (
	"os/exec"
	"strconv"
	"syscall"
)

// childProcAttr puts a child in its own process group so stopping the
// group also stops anything it forked.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// Alive reports whether pid is a running process.
func Alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func processCmdline(pid int) (string, error) {
	out, err := exec.Command("ps", "-o", "command=", "-p", strconv.Itoa(pid)).Output()
	return string(out), err
}

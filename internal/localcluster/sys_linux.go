//go:build linux

package localcluster

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
)

// childProcAttr puts a child in its own process group and has the kernel
// kill it when its parent dies, so a crashed test binary or daemon leaves
// no control plane behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// Alive reports whether pid is a running process; zombies count as gone
// because they hold no resources and their parent may never reap them.
func Alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}

func processCmdline(pid int) (string, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return "", err
	}
	return string(bytes.ReplaceAll(raw, []byte{0}, []byte{' '})), nil
}

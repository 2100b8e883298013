//go:build linux

package localcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// cgroupTree is the cgroup v2 directory that holds the processes of one
// cluster's pods, one cgroup per container, as a kubelet's runtime keeps
// them:
//
//	<root>/<pod uid>/<container>/
//
// A process is born in its container's cgroup (clone3 with
// CLONE_INTO_CGROUP), so neither a fork nor setsid nor a double fork takes
// it out, and cgroup.kill ends every process of a container or a pod at
// once. cgroup v2 is used rather than a v1 hierarchy for those two: v1 has
// neither, so a process forking while it is moved or killed can escape.
type cgroupTree struct {
	root string
}

// cgroupPrefix names a cluster's cgroup after the pid of the process that
// owns it, so a later cluster can tell the leftovers of a dead one.
const cgroupPrefix = "sroll-localcluster-"

// clusterCount numbers the clusters this process starts.
var clusterCount atomic.Int64

// newCgroupTree creates the cluster's cgroup under the cgroup of this
// process, first removing those of clusters whose owner is dead. It fails,
// saying what is missing, where cgroup v2 cannot be used.
func newCgroupTree() (*cgroupTree, error) {
	parent, err := ownCgroupDir()
	if err != nil {
		return nil, err
	}
	if leftovers, err := filepath.Glob(filepath.Join(parent, cgroupPrefix+"*")); err == nil {
		for _, dir := range leftovers {
			owner, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), cgroupPrefix), "-")
			pid, err := strconv.Atoi(owner)
			if err == nil && !Alive(pid) {
				_ = removeCgroup(context.Background(), dir)
			}
		}
	}
	// <pid>-<n>: a process may run several clusters.
	root := filepath.Join(parent, fmt.Sprintf("%s%d-%d", cgroupPrefix, os.Getpid(), clusterCount.Add(1)))
	if err := os.Mkdir(root, 0o755); err != nil {
		return nil, fmt.Errorf("pod processes need a cgroup of their own: %w (run as root, or where your user's cgroup is delegated to it)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "cgroup.kill")); err != nil {
		_ = syscall.Rmdir(root)
		return nil, fmt.Errorf("pod processes need cgroup.kill (Linux 5.14 or later): %w", err)
	}
	return &cgroupTree{root: root}, nil
}

// ownCgroupDir is the directory of this process's cgroup v2.
func ownCgroupDir() (string, error) {
	mount, ok, err := cgroup2Mount()
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errors.New("pod processes need a cgroup v2 hierarchy, and none is mounted (no cgroup2 in /proc/self/mountinfo)")
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			return filepath.Join(mount, path), nil
		}
	}
	return "", errors.New("pod processes need a cgroup v2 hierarchy, and this process is in none (no 0:: line in /proc/self/cgroup)")
}

// cgroup2Mount finds where the cgroup v2 hierarchy is mounted: at
// /sys/fs/cgroup on a unified system, elsewhere (/sys/fs/cgroup/unified)
// on a hybrid one.
func cgroup2Mount() (string, bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		// id parent major:minor root mountpoint options... - fstype source superoptions
		fields := strings.Fields(scanner.Text())
		sep := slices.Index(fields, "-")
		if sep > 4 && sep+1 < len(fields) && fields[sep+1] == "cgroup2" {
			return fields[4], true, nil
		}
	}
	return "", false, scanner.Err()
}

func (t *cgroupTree) podDir(uid string) string { return filepath.Join(t.root, uid) }

func (t *cgroupTree) containerDir(uid, container string) string {
	return filepath.Join(t.root, uid, container)
}

// open creates a container's cgroup if needed and opens it, for
// SysProcAttr.CgroupFD.
func (t *cgroupTree) open(uid, container string) (*os.File, error) {
	dir := t.containerDir(uid, container)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.Open(dir)
}

// signal sends sig to every process in the cgroup dir and those below it.
func signalCgroup(dir string, sig syscall.Signal) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(path, "cgroup.procs"))
		if err != nil {
			return nil
		}
		for field := range strings.FieldsSeq(string(data)) {
			if pid, err := strconv.Atoi(field); err == nil {
				_ = syscall.Kill(pid, sig)
			}
		}
		return nil
	})
}

// killCgroup SIGKILLs every process in dir and below, at once.
func killCgroup(dir string) error {
	err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// removeCgroup kills every process in dir and below and removes the
// cgroups once they are empty.
func removeCgroup(ctx context.Context, dir string) error {
	if err := killCgroup(dir); err != nil {
		return err
	}
	if err := waitCgroup(ctx, dir, "populated 0"); err != nil {
		return err
	}
	var dirs []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	// Children before parents.
	for _, d := range slices.Backward(dirs) {
		if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("remove cgroup %s: %w", d, err)
		}
	}
	return nil
}

// freezeCgroup freezes (or thaws) every process in dir and below, and
// returns once the kernel reports it done.
func freezeCgroup(ctx context.Context, dir string, frozen bool) error {
	value, want := "0", "frozen 0"
	if frozen {
		value, want = "1", "frozen 1"
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte(value), 0); err != nil {
		return err
	}
	return waitCgroup(ctx, dir, want)
}

// cgroupWait bounds how long the kernel may take to kill or freeze a
// cgroup's processes; it takes milliseconds.
const cgroupWait = 10 * time.Second

// waitCgroup polls the cgroup's events file until it has the line want.
// (The file also signals changes through inotify; the waits are so short
// that polling is simpler.)
func waitCgroup(ctx context.Context, dir, want string) error {
	ctx, cancel := context.WithTimeout(ctx, cgroupWait)
	defer cancel()
	for {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if slices.Contains(strings.Split(string(data), "\n"), want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cgroup %s: no %q: %w", dir, want, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// cgroupAttr starts a process in the cgroup open as dir.
func cgroupAttr(dir *os.File) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(dir.Fd())}
}

// killRecordedPods kills the processes of every pod of the cluster in
// stateDir, whose owner may have died without doing so: daemons started by
// exec outlive it, in their cgroups.
func killRecordedPods(stateDir string) error {
	data, err := os.ReadFile(layout(stateDir).cgroupFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	dir := strings.TrimSpace(string(data))
	if !strings.HasPrefix(filepath.Base(dir), cgroupPrefix) {
		return fmt.Errorf("%s names %q, not a local cluster's cgroup", layout(stateDir).cgroupFile(), dir)
	}
	return removeCgroup(context.Background(), dir)
}

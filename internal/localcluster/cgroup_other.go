//go:build !linux

package localcluster

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// cgroupTree needs Linux: elsewhere exec into a pod fails, saying so.
type cgroupTree struct{ root string }

func newCgroupTree() (*cgroupTree, error) {
	return nil, errors.New("pod processes need Linux cgroup v2, to be killed with their pod")
}

func (t *cgroupTree) podDir(string) string                  { return "" }
func (t *cgroupTree) containerDir(string, string) string    { return "" }
func (t *cgroupTree) open(string, string) (*os.File, error) { return nil, errors.ErrUnsupported }
func signalCgroup(string, syscall.Signal)                   {}
func killCgroup(string) error                               { return nil }
func removeCgroup(context.Context, string) error            { return nil }
func freezeCgroup(context.Context, string, bool) error      { return errors.ErrUnsupported }
func cgroupAttr(*os.File) *syscall.SysProcAttr              { return nil }

func killRecordedPods(string) error { return nil }

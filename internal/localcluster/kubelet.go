package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/sroll-dev/sroll/internal/localcluster/localcsi"
)

// kubelet is the part of the nodes' kubelet that kwok does not play: it
// runs the processes of pods (`kubectl exec` commands and exec readiness
// probes) on this host in the pod's directory, keeps each in its
// container's cgroup, and kills them when the container crashes or the pod
// goes, as a container runtime would.
type kubelet struct {
	client  kubernetes.Interface
	watches *podWatches
	volumes *localcsi.Storage
	podsDir string
	logs    *log.Logger

	// cgroups is nil when the host has no usable cgroup v2; cgroupErr then
	// says why, and every exec fails with it.
	cgroups   *cgroupTree
	cgroupErr error

	probes *probes

	// mu guards running and gone, and is held while a process starts, so
	// that a pod's removal either sees the new process or stops it from
	// starting.
	mu      sync.Mutex
	running map[types.UID]*podProcesses
	gone    map[types.UID]time.Time
	// unreachable are the nodes whose heartbeat is stopped (heartbeat.go).
	unreachable map[string]bool

	cancel context.CancelFunc
	done   sync.WaitGroup
}

// podProcesses is what the kubelet knows of a pod that has processes.
type podProcesses struct {
	key         string // namespace/name
	node        string
	dir         string
	terminating bool
}

// goneMemory is how long a removed pod's UID is refused: longer than any
// exec request takes between reading the pod and starting its process.
const goneMemory = 5 * time.Minute

// newKubelet prepares the kubelet; start starts it once the API answers.
func newKubelet(podsDir string, logOut io.Writer) *kubelet {
	k := &kubelet{
		podsDir:     podsDir,
		logs:        log.New(logOut, "kubelet: ", log.LstdFlags|log.Lmicroseconds),
		running:     map[types.UID]*podProcesses{},
		gone:        map[types.UID]time.Time{},
		unreachable: map[string]bool{},
		cancel:      func() {},
	}
	k.cgroups, k.cgroupErr = newCgroupTree()
	if k.cgroupErr != nil {
		k.logs.Printf("Pod processes disabled: %v", k.cgroupErr)
	}
	return k
}

// stop stops the probes and the watches, and kills every process of every
// pod.
func (k *kubelet) stop() {
	k.cancel()
	k.watches.stop()
	k.done.Wait()
	if k.cgroups != nil {
		if err := removeCgroup(context.Background(), k.cgroups.root); err != nil {
			k.logs.Printf("Removing the pods' cgroups failed: %v", err)
		}
	}
}

// podChanged follows a pod's life: its containers' processes die with the
// container, SIGTERM reaches them all once the pod is deleted (the
// simulated grace period runs until kwok removes it), and probes follow.
func (k *kubelet) podChanged(old, pod *corev1.Pod) {
	if !k.reachable(pod.Spec.NodeName) {
		// A cut-off kubelet hears of nothing; it catches up on resync.
		return
	}
	if old != nil && old.UID != pod.UID {
		k.podGone(old.UID) // a delete the watch did not deliver
	}
	if pod.DeletionTimestamp != nil {
		k.podTerminating(pod.UID)
	} else if old != nil {
		for _, name := range crashedContainers(old, pod) {
			k.containerCrashed(pod, name)
		}
	}
	k.probes.podChanged(pod)
}

func (k *kubelet) podDeleted(obj any) {
	if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tombstone.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		k.probes.podGone(pod)
		if k.reachable(pod.Spec.NodeName) {
			k.podGone(pod.UID)
		}
	}
}

// crashedContainers lists the containers that stopped running between two
// states of a pod, or were restarted in between.
func crashedContainers(old, pod *corev1.Pod) []string {
	was := map[string]corev1.ContainerStatus{}
	for _, s := range old.Status.ContainerStatuses {
		was[s.Name] = s
	}
	var out []string
	for _, s := range pod.Status.ContainerStatuses {
		before, ok := was[s.Name]
		if ok && (s.RestartCount > before.RestartCount || (before.State.Running != nil && s.State.Running == nil)) {
			out = append(out, s.Name)
		}
	}
	return out
}

func (k *kubelet) containerCrashed(pod *corev1.Pod, container string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cgroups == nil || k.running[pod.UID] == nil {
		return
	}
	if err := killCgroup(k.cgroups.containerDir(string(pod.UID), container)); err != nil {
		k.logs.Printf("Killing the processes of crashed container %s of pod %s failed: %v", container, k.running[pod.UID].key, err)
		return
	}
	k.logs.Printf("Killed the processes of crashed container %s of pod %s", container, k.running[pod.UID].key)
}

func (k *kubelet) podTerminating(uid types.UID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.running[uid]
	if p == nil || p.terminating || k.cgroups == nil {
		return
	}
	p.terminating = true
	signalCgroup(k.cgroups.podDir(string(uid)), syscall.SIGTERM)
	k.logs.Printf("Sent SIGTERM to the processes of terminating pod %s", p.key)
}

// podGone kills what is left of a removed pod, and refuses it new processes.
func (k *kubelet) podGone(uid types.UID) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := time.Now()
	for u, at := range k.gone {
		if now.Sub(at) > goneMemory {
			delete(k.gone, u)
		}
	}
	k.gone[uid] = now
	p := k.running[uid]
	if p == nil {
		return
	}
	delete(k.running, uid)
	dir := k.cgroups.podDir(string(uid))
	if err := killCgroup(dir); err != nil {
		k.logs.Printf("Killing the processes of removed pod %s failed: %v", p.key, err)
	}
	k.logs.Printf("Killed the processes of removed pod %s", p.key)
	k.done.Go(func() {
		if err := removeCgroup(context.Background(), dir); err != nil {
			k.logs.Printf("Removing the cgroup of pod %s failed: %v", p.key, err)
		}
	})
}

// errContainerNotRunning is what exec into a container that is not running
// gets, as from a kubelet.
var errContainerNotRunning = errors.New("container not running")

// target finds the running container an exec or probe runs in, and the
// pod's directory.
func (k *kubelet) target(ctx context.Context, pod *corev1.Pod, container string) (string, error) {
	if pod.DeletionTimestamp != nil {
		return "", fmt.Errorf("pod %s/%s is terminating", pod.Namespace, pod.Name)
	}
	running := false
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == container {
			running = s.State.Running != nil
		}
	}
	if !running {
		return "", fmt.Errorf("container %q of pod %s/%s: %w", container, pod.Namespace, pod.Name, errContainerNotRunning)
	}
	return k.podDir(ctx, pod)
}

// podDir is where a pod's processes run: the directory of its first
// PersistentVolumeClaim's volume, so the data is the PV's and a restored
// PVC brings it along; else a directory of the pod's own, kept across its
// recreation.
func (k *kubelet) podDir(ctx context.Context, pod *corev1.Pod) (string, error) {
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		claim, err := k.client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, v.PersistentVolumeClaim.ClaimName, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("volume %s of pod %s/%s: %w", v.Name, pod.Namespace, pod.Name, err)
		}
		if claim.Spec.VolumeName == "" {
			return "", fmt.Errorf("volume %s of pod %s/%s: PVC %s is not bound", v.Name, pod.Namespace, pod.Name, claim.Name)
		}
		pv, err := k.client.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("volume %s of pod %s/%s: %w", v.Name, pod.Namespace, pod.Name, err)
		}
		if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != localcsi.DriverName {
			return "", fmt.Errorf("volume %s of pod %s/%s: PV %s is not a volume of %s, the only driver here", v.Name, pod.Namespace, pod.Name, pv.Name, localcsi.DriverName)
		}
		return k.volumes.VolumeDir(pv.Spec.CSI.VolumeHandle), nil
	}
	dir := volumeDir(k.podsDir, pod.Namespace, pod.Name)
	return dir, os.MkdirAll(dir, 0o755)
}

// spawn starts cmd in the container's cgroup, in dir, unless the pod has
// gone meanwhile.
func (k *kubelet) spawn(pod *corev1.Pod, container, dir string, cmd *exec.Cmd) error {
	if k.cgroups == nil {
		return k.cgroupErr
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, gone := k.gone[pod.UID]; gone {
		return fmt.Errorf("pod %s/%s has been removed", pod.Namespace, pod.Name)
	}
	cgroup, err := k.cgroups.open(string(pod.UID), container)
	if err != nil {
		return fmt.Errorf("cgroup of container %q of pod %s/%s: %w", container, pod.Namespace, pod.Name, err)
	}
	defer cgroup.Close()
	attr := cgroupAttr(cgroup)
	if cmd.SysProcAttr != nil {
		attr.Setpgid = cmd.SysProcAttr.Setpgid
	}
	cmd.SysProcAttr = attr
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "POD_NAME="+pod.Name, "POD_NAMESPACE="+pod.Namespace, "HOSTNAME="+pod.Name)
	if err := cmd.Start(); err != nil {
		return err
	}
	if k.running[pod.UID] == nil {
		k.running[pod.UID] = &podProcesses{key: pod.Namespace + "/" + pod.Name, node: pod.Spec.NodeName, dir: dir}
	}
	return nil
}

// Quiesce freezes the processes of every pod working in one of dirs, and
// holds new processes back, until thaw: a snapshot then copies what they
// wrote up to one instant and nothing after.
func (k *kubelet) Quiesce(ctx context.Context, dirs []string) (thaw func(), err error) {
	k.mu.Lock()
	var frozen []string
	thaw = func() {
		for _, dir := range frozen {
			if err := freezeCgroup(context.Background(), dir, false); err != nil {
				k.logs.Printf("Thawing %s failed: %v", dir, err)
			}
		}
		k.mu.Unlock()
	}
	if k.cgroups == nil {
		return thaw, nil
	}
	for uid, p := range k.running {
		if !containsPath(dirs, p.dir) {
			continue
		}
		dir := k.cgroups.podDir(string(uid))
		if err := freezeCgroup(ctx, dir, true); err != nil {
			thaw()
			return nil, fmt.Errorf("freezing the processes of pod %s: %w", p.key, err)
		}
		frozen = append(frozen, dir)
	}
	return thaw, nil
}

func containsPath(dirs []string, dir string) bool {
	for _, d := range dirs {
		if filepath.Clean(d) == filepath.Clean(dir) {
			return true
		}
	}
	return false
}

// getPod reads a pod from the API, not the cache: an exec may follow the
// pod's creation by less than the watch's delay.
// getPodByKey is getPod of a namespace/name key; its error is the API's.
func (k *kubelet) getPodByKey(ctx context.Context, key string) (*corev1.Pod, error) {
	namespace, name, _ := strings.Cut(key, "/")
	return k.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
}

func (k *kubelet) getPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	pod, err := k.client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("pod %s/%s not found", namespace, name)
	}
	return pod, err
}

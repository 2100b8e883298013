package localcluster

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// probes runs the exec readiness probes of pods, as a kubelet's prober
// does, and writes the readiness they give to the pods' status. kwok's
// pod-ready stage leaves such pods alone and its pod-exec-probe stage
// announces them; every other pod keeps its delay-based readiness and
// costs the probes nothing.
type probes struct {
	k     *kubelet
	queue workqueue.TypedRateLimitingInterface[string] // pods whose readiness to write

	mu      sync.Mutex
	workers map[workerKey]*probeWorker
}

// workerKey names one run of one container: a restarted container gets a
// new worker, which starts not ready, as a kubelet's does.
type workerKey struct {
	uid       types.UID
	container string
	restarts  int32
}

// probeWorker probes one container every period and keeps the result.
type probeWorker struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	ready  bool
}

func newProbes(k *kubelet) *probes {
	return &probes{
		k: k,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](50*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "readiness"}),
		workers: map[workerKey]*probeWorker{},
	}
}

// hasExecReadinessProbe reports whether readiness of the pod is this
// prober's to say. The kwok stage pod-ready makes the same choice.
func hasExecReadinessProbe(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		if c.ReadinessProbe != nil && c.ReadinessProbe.Exec != nil {
			return true
		}
	}
	return false
}

func (p *probes) podChanged(pod *corev1.Pod) {
	if !hasExecReadinessProbe(pod) {
		return
	}
	p.queue.Add(cache.MetaObjectToName(pod).String())
}

func (p *probes) podGone(pod *corev1.Pod) {
	if hasExecReadinessProbe(pod) {
		p.stopWorkers(pod.UID, nil)
	}
}

func (p *probes) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		p.queue.ShutDown()
		p.stopWorkers("", nil)
	}()
	for {
		key, shutdown := p.queue.Get()
		if shutdown {
			return
		}
		if err := p.sync(ctx, key); err != nil {
			if !apierrors.IsConflict(err) {
				p.k.logs.Printf("Writing the readiness of pod %s failed: %v", key, err)
			}
			p.queue.AddRateLimited(key)
		} else {
			p.queue.Forget(key)
		}
		p.queue.Done(key)
	}
}

// sync starts and stops the pod's probe workers to match its containers,
// and writes the readiness they report when it differs from the status.
func (p *probes) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pods := p.k.watches.watched(namespace)
	if pods == nil {
		return nil
	}
	pod, err := pods.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		p.stopWorkers(pod.UID, nil)
		return nil
	}
	ready := map[string]bool{}
	keep := map[workerKey]bool{}
	for _, c := range pod.Spec.Containers {
		status := containerStatus(pod, c.Name)
		running := status != nil && status.State.Running != nil
		switch {
		case !running || neverReady.MatchString(c.Image):
			ready[c.Name] = false
		case c.ReadinessProbe == nil || c.ReadinessProbe.Exec == nil:
			ready[c.Name] = true
		default:
			wk := workerKey{uid: pod.UID, container: c.Name, restarts: status.RestartCount}
			keep[wk] = true
			ready[c.Name] = p.worker(ctx, wk, pod, c, status).isReady()
		}
	}
	p.stopWorkers(pod.UID, keep)
	return p.writeReadiness(ctx, pod, ready)
}

var neverReady = regexp.MustCompile(neverReadyImage)

func containerStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == name {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// stopWorkers stops the workers of the pod (every pod for an empty uid)
// that keep does not hold.
func (p *probes) stopWorkers(uid types.UID, keep map[workerKey]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for wk, w := range p.workers {
		if (uid == "" || wk.uid == uid) && !keep[wk] {
			w.cancel()
			delete(p.workers, wk)
		}
	}
}

func (p *probes) worker(ctx context.Context, wk workerKey, pod *corev1.Pod, c corev1.Container, status *corev1.ContainerStatus) *probeWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w := p.workers[wk]; w != nil {
		return w
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &probeWorker{cancel: cancel}
	p.workers[wk] = w
	started := status.State.Running.StartedAt.Time
	go w.run(ctx, p, pod.DeepCopy(), c.Name, c.ReadinessProbe.DeepCopy(), started)
	return w
}

func (w *probeWorker) isReady() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

// run probes from initialDelaySeconds after the container started, every
// periodSeconds: successThreshold passes in a row make it ready,
// failureThreshold failures in a row not ready.
func (w *probeWorker) run(ctx context.Context, p *probes, pod *corev1.Pod, container string, probe *corev1.Probe, started time.Time) {
	key := cache.MetaObjectToName(pod).String()
	period := time.Duration(max(probe.PeriodSeconds, 1)) * time.Second
	timeout := time.Duration(max(probe.TimeoutSeconds, 1)) * time.Second
	first := time.Until(started.Add(time.Duration(probe.InitialDelaySeconds) * time.Second))
	timer := time.NewTimer(max(first, 0))
	defer timer.Stop()
	var successes, failures int32
	var dir string
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		timer.Reset(period)
		var err error
		if dir == "" {
			dir, err = p.k.podDir(ctx, pod)
		}
		if err == nil {
			err = p.k.probe(ctx, pod, container, dir, probe.Exec.Command, timeout)
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
		}
		w.mu.Lock()
		was := w.ready
		if successes >= max(probe.SuccessThreshold, 1) {
			w.ready = true
		}
		if failures >= max(probe.FailureThreshold, 1) {
			w.ready = false
		}
		changed := w.ready != was
		w.mu.Unlock()
		if changed {
			p.k.logs.Printf("Readiness probe of container %s of pod %s: ready=%v (last result: %v)", container, key, !was, err)
			p.queue.Add(key)
		}
	}
}

// probe runs a probe's command in the container, killing it and whatever
// it started after timeout.
func (k *kubelet) probe(ctx context.Context, pod *corev1.Pod, container, dir string, command []string, timeout time.Duration) error {
	if len(command) == 0 {
		return fmt.Errorf("empty probe command")
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := k.spawn(pod, container, dir, cmd); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
	case <-ctx.Done():
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	return fmt.Errorf("probe timed out after %s", timeout)
}

// writeReadiness sets each container's ready flag and the pod's
// ContainersReady and Ready conditions from ready, when they differ.
func (p *probes) writeReadiness(ctx context.Context, pod *corev1.Pod, ready map[string]bool) error {
	if !p.k.reachable(pod.Spec.NodeName) {
		return nil // a cut-off kubelet reports nothing
	}
	updated := pod.DeepCopy()
	changed := false
	var unready []string
	for i := range updated.Status.ContainerStatuses {
		s := &updated.Status.ContainerStatuses[i]
		if s.Ready != ready[s.Name] {
			s.Ready, changed = ready[s.Name], true
		}
		if !s.Ready {
			unready = append(unready, s.Name)
		}
	}
	allReady := len(unready) == 0 && len(updated.Status.ContainerStatuses) == len(pod.Spec.Containers)
	for _, t := range []corev1.PodConditionType{corev1.ContainersReady, corev1.PodReady} {
		if setPodCondition(updated, t, allReady, unready) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	_, err := p.k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	return err
}

func setPodCondition(pod *corev1.Pod, t corev1.PodConditionType, ready bool, unready []string) bool {
	want := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}
	if !ready {
		want.Status = corev1.ConditionFalse
		want.Reason = "ContainersNotReady"
		want.Message = "containers with unready status: [" + strings.Join(unready, " ") + "]"
	}
	for i, c := range pod.Status.Conditions {
		if c.Type != t {
			continue
		}
		if c.Status == want.Status && c.Reason == want.Reason && c.Message == want.Message {
			return false
		}
		if c.Status == want.Status {
			want.LastTransitionTime = c.LastTransitionTime
		}
		pod.Status.Conditions[i] = want
		return true
	}
	pod.Status.Conditions = append(pod.Status.Conditions, want)
	return true
}

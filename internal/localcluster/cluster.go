// Package localcluster runs a Kubernetes control plane on loopback for
// development and end-to-end tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok, which simulates the
// nodes and the pods on them (no container runs). `kubectl exec` runs the
// command on this host, in the pod's PV directory or a per-pod directory,
// in a cgroup that dies with the pod. Storage is real CSI: the project's
// directory-backed driver, provisioned and resized through the CSI
// protocol, with the upstream snapshot-controller and csi-snapshotter.
package localcluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sroll-dev/sroll/internal/localcluster/localcsi"
)

// Cluster is a running local control plane. Its processes are children of
// the process that called Start and die with it.
type Cluster struct {
	opts       Options
	layout     layout
	restConfig *rest.Config
	exec       *execServer
	execLog    *os.File
	kubelet    *kubelet
	storage    *localcsi.Storage
	storageLog *os.File
	reaper     *reaper

	mu    sync.Mutex
	procs []*process

	failed   chan struct{}
	failOnce sync.Once
	failErr  error
	stopOnce sync.Once
}

// Start starts a cluster and returns once its API answers, its nodes are
// Ready and schedulable and the default service account exists. On error
// everything already started is stopped.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := CheckBinaries(opts.BinDir); err != nil {
		return nil, err
	}
	l := layout(opts.StateDir)
	// A cluster's identity (CA, keys, etcd contents) is made at start; a
	// directory holding another one's would mix two clusters.
	if _, err := os.Stat(l.etcdDataDir()); err == nil {
		return nil, fmt.Errorf("state directory %s already holds a cluster; remove it first", opts.StateDir)
	}
	for _, dir := range []string{l.logsDir(), l.volumesDir(), l.kwokHome()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	c := &Cluster{opts: opts, layout: l, failed: make(chan struct{})}
	defer func() {
		if err != nil {
			c.Stop()
			err = fmt.Errorf("start local cluster: %w (logs in %s)", err, l.logsDir())
		}
	}()
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	l := c.layout
	pki, err := generatePKI(l)
	if err != nil {
		return err
	}
	p, err := freePorts()
	if err != nil {
		return err
	}
	if c.execLog, err = os.Create(l.path("logs", "exec-server.log")); err != nil {
		return err
	}
	c.kubelet = newKubelet(l.volumesDir(), c.execLog)
	if c.kubelet.cgroups != nil {
		if err := os.WriteFile(l.cgroupFile(), []byte(c.kubelet.cgroups.root), 0o644); err != nil {
			return err
		}
	}
	if c.exec, err = startExecServer(c.kubelet, pki, c.execLog); err != nil {
		return err
	}
	if err := writeKubeconfig(l, fmt.Sprintf("https://127.0.0.1:%d", p.apiServer)); err != nil {
		return err
	}
	if err := writeKwokConfig(l.kwokConfig(), c.opts.PodReadyDelay, c.opts.NodeMonitorGracePeriod); err != nil {
		return err
	}
	if c.restConfig, err = RestConfigFromKubeconfig(l.kubeconfig()); err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(c.restConfig)
	if err != nil {
		return err
	}

	if err := c.run("etcd", etcdArgs(l, p), nil); err != nil {
		return err
	}
	etcdHealth := fmt.Sprintf("http://127.0.0.1:%d/health", p.etcdClient)
	if err := c.waitFor(ctx, "etcd", func(ctx context.Context) error { return httpOK(ctx, etcdHealth) }); err != nil {
		return err
	}
	if err := c.run("kube-apiserver", apiServerArgs(l, p, c.opts.FeatureGates), nil); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "kube-apiserver", func(ctx context.Context) error {
		_, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}); err != nil {
		return err
	}
	if err := c.startStorage(); err != nil {
		return err
	}
	// The snapshot CRDs take a second to be served: meanwhile the other
	// components start and the nodes become Ready.
	snapshots := make(chan error, 1)
	go func() { snapshots <- c.installSnapshots(ctx) }()

	schedArgs, err := schedulerArgs(l)
	if err != nil {
		return err
	}
	if err := c.run("kube-controller-manager", controllerManagerArgs(l, c.opts.FeatureGates, c.opts.NodeMonitorGracePeriod), nil); err != nil {
		return err
	}
	if err := c.run("kube-scheduler", schedArgs, nil); err != nil {
		return err
	}
	if err := c.run("kwok", kwokArgs(l), kwokEnv(l)); err != nil {
		return err
	}
	if err := createNodes(ctx, cs, c.opts.Nodes, c.exec.port()); err != nil {
		return err
	}
	// It outlives Start, so not its context; Stop ends it.
	if c.reaper, err = startReaper(context.Background(), cs, nodeNames(c.opts.Nodes)); err != nil {
		return err
	}
	if err := c.waitFor(ctx, "nodes Ready and untainted", func(ctx context.Context) error {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var ready int
		for i := range nodes.Items {
			if nodeSchedulable(&nodes.Items[i]) {
				ready++
			}
		}
		if ready < c.opts.Nodes {
			return fmt.Errorf("%d of %d nodes schedulable", ready, c.opts.Nodes)
		}
		return nil
	}); err != nil {
		return err
	}
	// Pods are rejected until their namespace has its default service account.
	if err := c.waitFor(ctx, "default service account", func(ctx context.Context) error {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return err
	}
	return <-snapshots
}

// run starts a component and records its pid in the state directory.
func (c *Cluster) run(name string, args, env []string) error {
	p, err := startProcess(c.opts.BinDir, c.layout.logsDir(), name, args, env, func(name string, err error) {
		c.fail(fmt.Errorf("%s exited unexpectedly (%v); see %s/%s.log", name, err, c.layout.logsDir(), name))
	})
	if err != nil {
		return err
	}
	// Components start from two goroutines: each write of the file must
	// hold every process started before it.
	c.mu.Lock()
	defer c.mu.Unlock()
	c.procs = append(c.procs, p)
	infos := make([]ProcessInfo, len(c.procs))
	for i, p := range c.procs {
		infos[i] = p.ProcessInfo
	}
	return writePIDs(c.layout.pidsFile(), infos)
}

func (c *Cluster) fail(err error) {
	c.failOnce.Do(func() {
		c.failErr = err
		close(c.failed)
	})
}

// startTimeout bounds each step of Start; the slowest, kube-apiserver,
// takes about 10 s on two cores.
const startTimeout = 90 * time.Second

// waitFor polls check until it returns nil, a component dies or the step
// times out.
func (c *Cluster) waitFor(ctx context.Context, what string, check func(context.Context) error) error {
	ctx, cancel := c.stepContext(ctx)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return c.failedOr(fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), err))
		case <-tick.C:
		}
	}
}

// stepContext bounds a step of Start: it ends after startTimeout, or as
// soon as a component fails.
func (c *Cluster) stepContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	go func() {
		select {
		case <-c.failed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// failedOr is why the cluster failed, if it did, else err: the step's own
// error then only says it was cut short.
func (c *Cluster) failedOr(err error) error {
	select {
	case <-c.failed:
		return c.failErr
	default:
		return err
	}
}

func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// freePorts asks the kernel for free ports, holding all of them open
// together so they differ from each other.
func freePorts() (ports, error) {
	var p ports
	targets := []*int{&p.etcdClient, &p.etcdPeer, &p.apiServer}
	for _, t := range targets {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return p, err
		}
		defer ln.Close()
		*t = ln.Addr().(*net.TCPAddr).Port
	}
	return p, nil
}

// Stop stops every process of the cluster and waits for them to exit. The
// state directory stays; it is safe to call Stop more than once.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		procs := c.procs
		c.mu.Unlock()
		if c.reaper != nil {
			c.reaper.stop()
		}
		// Clients first, then kube-apiserver, then etcd: a server whose
		// backend is already gone drains for seconds before it exits.
		var clients, apiServer, etcd []*process
		for _, p := range procs {
			switch p.Name {
			case "etcd":
				etcd = append(etcd, p)
			case "kube-apiserver":
				apiServer = append(apiServer, p)
			default:
				clients = append(clients, p)
			}
		}
		stopAll(clients)
		// The CSI driver after the csi-snapshotter, which exits when it
		// loses the driver; the pods' processes with it.
		if c.storage != nil {
			c.storage.Stop()
		}
		if c.kubelet != nil {
			c.kubelet.stop()
		}
		stopAll(apiServer)
		stopAll(etcd)
		if c.exec != nil {
			c.exec.stop()
		}
		for _, f := range []*os.File{c.execLog, c.storageLog} {
			if f != nil {
				_ = f.Close()
			}
		}
		_ = os.Remove(c.layout.pidsFile())
	})
}

func stopAll(procs []*process) {
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() { p.stop(10 * time.Second) })
	}
	wg.Wait()
}

// Failed is closed when a component exits on its own; Err then says which.
func (c *Cluster) Failed() <-chan struct{} { return c.failed }

// Err returns why the cluster failed, or nil.
func (c *Cluster) Err() error {
	select {
	case <-c.failed:
		return c.failErr
	default:
		return nil
	}
}

// Processes lists the cluster's component processes.
func (c *Cluster) Processes() []ProcessInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ProcessInfo, len(c.procs))
	for i, p := range c.procs {
		out[i] = p.ProcessInfo
	}
	return out
}

// RestConfig returns a new admin client configuration with high rate limits.
func (c *Cluster) RestConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// KubeconfigPath is the admin kubeconfig.
func (c *Cluster) KubeconfigPath() string { return c.layout.kubeconfig() }

// BinDir holds kubectl and the control-plane binaries.
func (c *Cluster) BinDir() string { return c.opts.BinDir }

// StateDir is the cluster's state directory.
func (c *Cluster) StateDir() string { return c.opts.StateDir }

// LogDir holds one log file per component.
func (c *Cluster) LogDir() string { return c.layout.logsDir() }

// VolumeDir is the directory `kubectl exec` commands of the pod run in.
func (c *Cluster) VolumeDir(namespace, pod string) string {
	return volumeDir(c.layout.volumesDir(), namespace, pod)
}

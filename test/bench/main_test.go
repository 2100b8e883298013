// Package bench measures sroll on the local cluster: the figures of the
// README's performance section. `make bench` runs it and prints a table.
//
// Only benchmarks live here. Plain `go test ./...` selects none of them and
// starts no cluster: the cluster starts inside the first benchmark that runs
// (setup), and TestMain stops it.
package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// defaultReadyDelay is the pod ready delay the README's figures are measured
// with, unless $SROLL_POD_READY_DELAY says otherwise.
const defaultReadyDelay = 2 * time.Second

// benchNodes hold every benchmark's pods together (2000 each): the
// namespaces of finished benchmarks are not deleted.
const benchNodes = 5

// gates are the feature gates of the benchmarks' cluster: with
// MaxUnavailableStatefulSet the native controller updates maxUnavailable
// pods at once, the alternative sroll is measured against.
var gates = map[string]bool{"MaxUnavailableStatefulSet": true}

// scale is the benchmarks' sizes: `make bench` measures the README's
// figures; BENCH=quick is a smaller run, minutes instead of a quarter of an
// hour, to try a change.
type scale struct {
	// rollout is the pods of the large rollout, sroll's and native.
	rollout int32
	// serial is the pods of the native one-at-a-time rolling update.
	serial int32
	// many rollouts of manyPods pods change together.
	many, manyPods int
}

var sizes = func() scale {
	if os.Getenv("BENCH") == "quick" {
		return scale{rollout: 200, serial: 20, many: 10, manyPods: 50}
	}
	return scale{rollout: 1000, serial: 100, many: 50, manyPods: 100}
}()

func TestMain(m *testing.M) {
	began := time.Now()
	code := m.Run()
	if shared != nil {
		code = shared.close(code)
	}
	if results.measured() {
		results.print(os.Stdout, time.Since(began))
	}
	os.Exit(code)
}

// env is the cluster and the tools every benchmark shares.
type env struct {
	cluster    *localcluster.Cluster
	stateDir   string
	logDir     string // operator logs, kept after the run
	client     client.Client
	clientset  kubernetes.Interface
	readyDelay time.Duration
}

var (
	envOnce sync.Once
	shared  *env
	envErr  error
)

// setup starts the cluster, installs the CRDs and builds the operator, once.
// The operator goes into the cluster's state directory, removed after a
// good run.
func setup(b *testing.B) *env {
	b.Helper()
	envOnce.Do(func() { shared, envErr = startEnv() })
	if envErr != nil {
		b.Fatalf("setting up the benchmarks: %v", envErr)
	}
	e2eutil.InstallCRDs(b, shared.cluster.RestConfig())
	e2eutil.BuildOperator(b, shared.stateDir)
	return shared
}

func startEnv() (_ *env, err error) {
	delay := defaultReadyDelay
	if v := os.Getenv(localcluster.EnvPodReadyDelay); v != "" {
		if delay, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("%s=%q: %w", localcluster.EnvPodReadyDelay, v, err)
		}
	}
	stateDir, err := os.MkdirTemp("", "sroll-bench-cluster-")
	if err != nil {
		return nil, err
	}
	logDir, err := os.MkdirTemp("", "sroll-bench-logs-")
	if err != nil {
		return nil, err
	}
	progress("starting the local cluster in %s (pod ready delay %s)", stateDir, delay)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		StateDir: stateDir, PodReadyDelay: delay, Nodes: benchNodes, FeatureGates: gates,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			cluster.Stop()
		}
	}()
	go func() {
		<-cluster.Failed()
		fmt.Fprintln(os.Stderr, "bench: the local cluster failed:", cluster.Err())
	}()
	e := &env{cluster: cluster, stateDir: stateDir, logDir: logDir, readyDelay: delay}
	if e.client, err = client.New(cluster.RestConfig(), client.Options{Scheme: controller.NewScheme()}); err != nil {
		return nil, err
	}
	if e.clientset, err = kubernetes.NewForConfig(cluster.RestConfig()); err != nil {
		return nil, err
	}
	progress("cluster ready; operator logs in %s", logDir)
	return e, nil
}

// close stops the cluster. Its logs are kept when a benchmark failed.
func (e *env) close(code int) int {
	e.cluster.Stop()
	if code == 0 {
		_ = os.RemoveAll(e.stateDir)
	} else {
		fmt.Fprintln(os.Stderr, "bench: cluster logs kept in", e.cluster.LogDir())
	}
	return code
}

// namespace creates a fresh namespace and waits for its default service
// account. Namespaces are not deleted: tearing down a thousand pods would
// load the cluster while the next benchmark measures; the cluster goes away
// at the end anyway.
func (e *env) namespace(b *testing.B, prefix string) string {
	b.Helper()
	ctx := context.Background()
	ns, err := e.clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-" + prefix + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatalf("create namespace: %v", err)
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := e.clientset.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		b.Fatalf("namespace %s: no default service account: %v", ns.Name, err)
	}
	return ns.Name
}

// progress tells the person waiting for `make bench` what is going on.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: %s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// Package clustertest gives an end-to-end test package one local cluster
// (see docs/local-cluster.md):
//
//	func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }
//
// Every test then works in its own namespace from Namespace. The pod ready
// delay comes from $SROLL_POD_READY_DELAY (default 1s).
package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sroll-dev/sroll/internal/localcluster"
)

var (
	cluster   *localcluster.Cluster
	clientset kubernetes.Interface
)

// startTimeout is generous: several test packages may start clusters on
// the same machine at once.
const startTimeout = 3 * time.Minute

// Run starts a 3-node cluster in a temporary directory, runs the tests and
// stops the cluster. It fails, never skips, when the binaries are missing.
// The directory is removed when the tests pass and kept, with the
// components' logs, when they fail.
func Run(m *testing.M) int {
	binDir, err := localcluster.DefaultBinDir()
	if err == nil {
		err = localcluster.CheckBinaries(binDir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	stateDir, err := os.MkdirTemp("", "sroll-localcluster-")
	if err == nil {
		// MkdirTemp's 0700 would keep out a pod's process that runs as
		// another user (PostgreSQL refuses root) from its volume below.
		err = os.Chmod(stateDir, 0o711)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	cluster, err = localcluster.Start(ctx, localcluster.Options{StateDir: stateDir, BinDir: binDir})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	if clientset, err = kubernetes.NewForConfig(cluster.RestConfig()); err != nil {
		cluster.Stop()
		fmt.Fprintln(os.Stderr, "clustertest:", err)
		return 1
	}
	done := make(chan struct{})
	go func() {
		// Say so at once: tests failing against a dead component are confusing.
		select {
		case <-cluster.Failed():
			fmt.Fprintln(os.Stderr, "clustertest: local cluster failed:", cluster.Err())
		case <-done:
		}
	}()

	code := m.Run()

	close(done)
	cluster.Stop()
	if code == 0 {
		_ = os.RemoveAll(stateDir)
	} else {
		fmt.Fprintln(os.Stderr, "clustertest: cluster logs kept in", cluster.LogDir())
	}
	return code
}

func mustCluster() *localcluster.Cluster {
	if cluster == nil {
		panic("clustertest: no cluster; call clustertest.Run from TestMain")
	}
	return cluster
}

// RestConfig returns a new admin client configuration (QPS 500, burst 1000).
func RestConfig() *rest.Config { return mustCluster().RestConfig() }

// KubeconfigPath is the admin kubeconfig of the cluster.
func KubeconfigPath() string { return mustCluster().KubeconfigPath() }

// BinDir holds kubectl and the control-plane binaries.
func BinDir() string { return mustCluster().BinDir() }

// StateDir is the cluster's directory, removed when the tests pass and kept
// when they fail: a place for what the tests need to their end, such as a
// binary built once.
func StateDir() string { return mustCluster().StateDir() }

// Namespace creates a namespace named after the test and deletes it when
// the test ends. It returns once the namespace's default service account
// exists, since pods are rejected before.
func Namespace(t testing.TB) string {
	t.Helper()
	mustCluster()
	ctx := t.Context()
	ns, err := clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: namespacePrefix(t.Name())},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		// Not waiting: the namespace controller finishes in the background.
		err := clientset.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		if err != nil {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
	})
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := clientset.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s: no default service account: %v", ns.Name, err)
	}
	return ns.Name
}

var notDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// namespacePrefix turns a test name into a namespace prefix, leaving room
// for the 5 characters the API server appends.
func namespacePrefix(testName string) string {
	p := notDNSLabel.ReplaceAllString(strings.ToLower(testName), "-")
	p = strings.Trim(p, "-")
	if len(p) > 50 {
		p = strings.TrimRight(p[:50], "-")
	}
	return p + "-"
}

// Kubectl runs kubectl against the cluster and returns its stdout. When
// kubectl fails, the error wraps its *exec.ExitError (errors.As gives the
// exit code) and includes its stderr. It works in t.Cleanup too, so it is
// not bound to t.Context.
func Kubectl(t testing.TB, args ...string) (stdout string, err error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(BinDir(), "kubectl"), append([]string{"--kubeconfig", KubeconfigPath()}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// ClaimDir is the directory holding the data of a bound PVC: where
// `kubectl exec` runs in a pod whose first volume it is.
func ClaimDir(t testing.TB, namespace, claim string) string {
	t.Helper()
	dir, err := mustCluster().ClaimDir(t.Context(), namespace, claim)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

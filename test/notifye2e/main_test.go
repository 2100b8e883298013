// Package notifye2e runs sroll's notifications end to end: the operator as
// its own process (--cluster-name=e2e) against the local control plane,
// telling a local Slack stand-in (internal/notify/slacktest) and a local
// release system (internal/notify/webhooktest) in this process, on
// 127.0.0.1, about real rollouts. The tests run in parallel, each with its
// own namespace, operator, Slack and receiver.
package notifye2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

var (
	setupOnce   sync.Once
	setupErr    error
	operatorBin string
	scheme      = runtime.NewScheme()
)

func init() {
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
}

// setup installs the CRDs and builds the operator once per package, and
// returns an uncached client.
func setup(t *testing.T) client.Client {
	t.Helper()
	setupOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			setupErr = err
			return
		}
		if out, err := clustertest.Kubectl(t, "apply", "--server-side", "-f", filepath.Join(root, "config/crd/bases")); err != nil {
			setupErr = err
			t.Logf("%s", out)
			return
		}
		if setupErr = waitEstablished(t); setupErr != nil {
			return
		}
		dir, err := os.MkdirTemp("", "sroll-notifye2e-bin")
		if err != nil {
			setupErr = err
			return
		}
		operatorBin = filepath.Join(dir, "sroll-operator")
		build := exec.Command("go", "build", "-o", operatorBin, "./cmd/sroll-operator")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			setupErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	if setupErr != nil {
		t.Fatalf("setting up the notification e2e tests: %v", setupErr)
	}
	c, err := client.New(clustertest.RestConfig(), client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitEstablished waits for the CRD to serve; kubectl wait fails outright
// when it looks before the API server wrote any condition.
func waitEstablished(t *testing.T) error {
	var out string
	var err error
	for range 120 {
		out, err = clustertest.Kubectl(t, "get", "crd/statefulsetrollouts.sroll.dev",
			"-o", `jsonpath={.status.conditions[?(@.type=="Established")].status}`)
		if err == nil && out == "True" {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("the CRD was not Established: %q, %v", out, err)
}

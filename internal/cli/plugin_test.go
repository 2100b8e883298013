package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// kubectl finds the binary on the PATH and runs it as `kubectl sroll`.
func TestKubectlPlugin(t *testing.T) {
	ns, c := clusterTest(t, false)
	create(t, c, newRollout(ns, "kv"))
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "../../cmd/kubectl-sroll")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// kubectl looks a plugin up by the words before the first flag.
	kubectl := exec.Command(filepath.Join(clustertest.BinDir(), "kubectl"), "sroll", "list", "-n", ns)
	kubectl.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+clustertest.KubeconfigPath())
	out, err := kubectl.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl sroll list: %v\n%s", err, out)
	}
	// No operator runs here, so the rollout has no status yet.
	wantRows(t, string(out), "",
		"NAME PHASE STEP UPDATED/READY/DESIRED IMAGES",
		"kv Unknown 1/3 0/0/4 registry.example/kv:1.0")
}

package e2eutil

import (
	"strings"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// PodShell runs script with sh in a pod of clustertest's cluster, in the
// directory of the pod's first claim (where shell hooks keep their files),
// and returns its output without surrounding space; a failure fails the test.
func PodShell(t testing.TB, namespace, pod, script string) string {
	t.Helper()
	out, err := clustertest.Kubectl(t, "-n", namespace, "exec", pod, "--", "sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

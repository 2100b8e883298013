// Package e2e runs sroll against the local control plane: the real
// kube-apiserver and StatefulSet controller, pods simulated by kwok, and the
// operator as a separate process, as users run it.
package e2e

import (
	"os"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

// setup installs the CRDs and builds the operator, once per package, and
// returns an uncached client.
func setup(t *testing.T) client.Client {
	t.Helper()
	e2eutil.InstallCRDs(t, clustertest.RestConfig())
	return e2eutil.Client(t, clustertest.RestConfig())
}

// Package e2e runs sroll against the local control plane: the real
// kube-apiserver and StatefulSet controller, pods simulated by kwok, and the
// operator as a separate process, as users run it.
package e2e

import (
	"os"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

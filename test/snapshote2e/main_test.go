// Package snapshote2e runs sroll's snapshot sets end to end: the operator
// as its own process against the local control plane, whose storage is
// real CSI (the project's directory-backed driver, the upstream
// snapshot-controller and csi-snapshotter). Each test works in its own
// namespace with its own operator.
package snapshote2e

import (
	"os"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

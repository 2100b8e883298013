// Package failovere2e runs the role-aware parts of replication against the
// local control plane with the operator as a process: a rollout that
// switches the primary role over once, a failover after the primary's
// application died, and fencing of a node whose heartbeat stopped. Its
// cluster declares a node NotReady after 8 s without a heartbeat (the
// default is 50 s), so that fencing is tested in seconds.
package failovere2e

import (
	"os"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/internal/localcluster"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) {
	os.Exit(clustertest.RunWith(m, localcluster.Options{NodeMonitorGracePeriod: 8 * time.Second}))
}

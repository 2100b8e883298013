// Package notifye2e runs sroll's notifications end to end: the operator as
// its own process (--cluster-name=e2e) against the local control plane,
// telling a local Slack stand-in (internal/notify/slacktest) and a local
// release system (internal/notify/webhooktest) in this process, on
// 127.0.0.1, about real rollouts. The tests run in parallel, each with its
// own namespace, operator, Slack and receiver.
package notifye2e

import (
	"os"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

// clusterName is what the operator calls the cluster in notifications.
const clusterName = "e2e"

// startOperator runs the operator as its own process, watching one
// namespace, so a test can SIGKILL it as a node failure would. It may
// connect to the test's servers on 127.0.0.1; extra flags come after, so
// they win.
func startOperator(t *testing.T, namespace string, extra ...string) *e2eutil.Operator {
	t.Helper()
	return e2eutil.StartOperator(t, namespace, append([]string{"--cluster-name=" + clusterName, "--allowed-hosts=127.0.0.1"}, extra...)...)
}

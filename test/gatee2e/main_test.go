// Package gatee2e runs sroll's gates end to end: the operator as its own
// process against the local control plane, analyses measured by Debian's
// Prometheus (started by the test on a loopback port, scraping a test
// exporter whose error counts the test sets per image), webhook checks
// answered by a signature-verifying receiver, and Consul stood in for by a
// local server speaking its HTTP API.
package gatee2e

import (
	"os"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

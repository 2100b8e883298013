// Package dashboarde2e drives `kubectl sroll dashboard` in headless
// Chromium against the local cluster, with the operator running as its own
// process: what a user sees and clicks, checked in a real browser.
package dashboarde2e

import (
	"os"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

func TestMain(m *testing.M) { os.Exit(clustertest.Run(m)) }

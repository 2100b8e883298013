package snapshot_test

import (
	"testing"

	"github.com/sroll-dev/sroll/internal/plan/plantest"
)

// TestScenarios runs the scripts in testdata/scenarios in the planner's simulated
// world, where plantest's snapshot commands play the set controller and the
// CSI snapshot controllers. `go test ./internal/snapshot -rewrite`
// regenerates the expected output.
func TestScenarios(t *testing.T) {
	plantest.Walk(t, "testdata/scenarios")
}

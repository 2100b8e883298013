package plan_test

import (
	"testing"

	"github.com/sroll-dev/sroll/internal/plan/plantest"
)

// TestScenarios runs the scripts in testdata/. Each script is the rollout
// semantics written down; `go test ./internal/plan -rewrite` regenerates the
// expected output for a human to review.
func TestScenarios(t *testing.T) {
	plantest.Walk(t, "testdata")
}

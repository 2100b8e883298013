package plantest

import (
	"testing"

	"github.com/cockroachdb/datadriven"
)

// Commands is a family of scenario commands. It returns the command's
// output and true, or false for a command it does not know, so that
// families compose: a decider's own family first, then the rollout's.
type Commands func(s *Sim, t *testing.T, d *datadriven.TestData) (string, bool)

// Walk runs every scenario script below dir in a fresh world each: the
// rollout's commands (specCommands, podCommands, loopCommands) and then the
// extra families. `go test -rewrite` regenerates the expected output for a
// human to review.
func Walk(t *testing.T, dir string, extra ...Commands) {
	families := append(extra, specCommands, podCommands, loopCommands, analysisCommands, snapshotCommands)
	datadriven.Walk(t, dir, func(t *testing.T, path string) {
		s := NewSim(t)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			for _, family := range families {
				if out, ok := family(s, t, d); ok {
					return out
				}
			}
			t.Fatalf("unknown command %q", d.Cmd)
			return ""
		})
	})
}

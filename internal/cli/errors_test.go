package cli

import (
	"fmt"
	"testing"

	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
)

// A missing rollout is named with its namespace, and the namespaces that do
// have a rollout of that name are pointed out.
func TestNotFound(t *testing.T) {
	ns, c := clusterTest(t, false)
	for _, verb := range [][]string{{"status"}, {"promote"}, {"pause"}, {"undo"}, {"history"}, {"set", "image"}} {
		args := append(append([]string(nil), verb...), "nowhere")
		if verb[0] == "set" {
			args = append(args, "kv=registry.example/kv:1.1")
		}
		sroll(t, ns, args...).wantFailure(t, exitFailed, fmt.Sprintf(`statefulsetrollout "nowhere" not found in namespace %q`, ns))
	}

	other := clustertest.Namespace(t)
	create(t, c, newRollout(other, "elsewhere"))
	sroll(t, ns, "status", "elsewhere").wantFailure(t, exitFailed,
		fmt.Sprintf(`statefulsetrollout "elsewhere" not found in namespace %q; it exists in namespace %q (use -n)`, ns, other))
	third := clustertest.Namespace(t)
	create(t, c, newRollout(third, "elsewhere"))
	want := fmt.Sprintf(`statefulsetrollout "elsewhere" not found in namespace %q; it exists in namespaces %q, %q (use -n)`, ns, other, third)
	if other > third {
		want = fmt.Sprintf(`statefulsetrollout "elsewhere" not found in namespace %q; it exists in namespaces %q, %q (use -n)`, ns, third, other)
	}
	sroll(t, ns, "abort", "elsewhere").wantFailure(t, exitFailed, want)
}

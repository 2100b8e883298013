package packaging

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// `kubectl apply -k examples/postgres` brings every script the rollout's
// hooks run, in the ConfigMap its pods mount at /hooks.
func TestPostgresExampleShipsItsHooks(t *testing.T) {
	objs := kustomizeBuild(t, "examples/postgres")
	hooks := one(t, objs, "ConfigMap")
	var rollout v1alpha1.StatefulSetRollout
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(one(t, objs, "StatefulSetRollout").Object, &rollout, true); err != nil {
		t.Fatal(err)
	}
	mounted := false
	for _, v := range rollout.Spec.Template.Spec.Volumes {
		mounted = mounted || (v.ConfigMap != nil && v.ConfigMap.Name == hooks.GetName())
	}
	if !mounted {
		t.Errorf("the pods do not mount ConfigMap %s", hooks.GetName())
	}
	files, _, err := unstructured.NestedStringMap(hooks.Object, "data")
	if err != nil {
		t.Fatal(err)
	}
	h := rollout.Spec.Replication.Hooks
	for _, hook := range []*v1alpha1.Hook{&h.Sequence, &h.Seed, h.Primary, h.Secondary, &h.Stop, &h.Status.Hook, h.Switchover, h.Freeze, h.Thaw} {
		if hook == nil {
			continue
		}
		script, ok := strings.CutPrefix(hook.Command[0], "/hooks/")
		if !ok || files[script] == "" {
			t.Errorf("hook %v runs %s, which ConfigMap %s does not have", hook.Command, hook.Command[0], hooks.GetName())
			continue
		}
		if !strings.Contains(files[script], `. "$(dirname "$0")/lib.sh"`) || files["lib.sh"] == "" {
			t.Errorf("%s does not source lib.sh from the ConfigMap", script)
		}
	}
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func newSetCommand(e *env) *cobra.Command {
	set := &cobra.Command{
		Use:   "set",
		Short: "Change a rollout's template",
		// Runnable only to refuse what is not a subcommand, which cobra
		// would otherwise answer with the help text and exit code 0.
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown set command %q; try: kubectl sroll set image", args[0])
			}
			return usagef("set needs a subcommand: kubectl sroll set image NAME CONTAINER=IMAGE")
		},
	}
	set.AddCommand(&cobra.Command{
		Use:   "image NAME CONTAINER=IMAGE...",
		Short: "Change container images; the operator rolls the change out",
		Example: "  kubectl sroll set image kv kv=registry.example/kv:1.1\n" +
			"  kubectl sroll set image kv kv=registry.example/kv:1.1 metrics=registry.example/metrics:2.4",
		Args: func(_ *cobra.Command, args []string) error {
			_, err := parseImages(args)
			return err
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			changes, err := parseImages(args)
			if err != nil {
				return err
			}
			return e.setImages(cmd.Context(), args[0], changes)
		},
	})
	return set
}

// imageChange is one CONTAINER=IMAGE argument.
type imageChange struct {
	container string
	image     string
}

func parseImages(args []string) ([]imageChange, error) {
	if len(args) < 2 {
		return nil, usagef("set image wants NAME and at least one CONTAINER=IMAGE")
	}
	seen := map[string]bool{}
	var changes []imageChange
	for _, arg := range args[1:] {
		container, image, ok := strings.Cut(arg, "=")
		if !ok || container == "" || image == "" {
			return nil, usagef("expected CONTAINER=IMAGE, got %q", arg)
		}
		if seen[container] {
			return nil, usagef("container %q is given twice", container)
		}
		seen[container] = true
		changes = append(changes, imageChange{container, image})
	}
	return changes, nil
}

// setImages patches spec.template with a JSON patch that tests each
// container's name at the index it replaces the image of, so a template
// changed meanwhile fails the patch instead of getting the wrong image.
func (e *env) setImages(ctx context.Context, name string, changes []imageChange) error {
	s, r, err := e.connectTo(ctx, name)
	if err != nil {
		return err
	}
	ops, err := imagePatch(r, changes)
	if err != nil {
		return err
	}
	if len(ops) == 0 {
		fmt.Fprintf(e.streams.Out, "%s image unchanged\n", ref(r))
		return nil
	}
	data, err := json.Marshal(ops)
	if err != nil {
		return err
	}
	if err := s.Patch(ctx, r, client.RawPatch(types.JSONPatchType, data)); err != nil {
		return explain(err)
	}
	fmt.Fprintf(e.streams.Out, "%s image updated\n", ref(r))
	return nil
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

func imagePatch(r *v1alpha1.StatefulSetRollout, changes []imageChange) ([]patchOp, error) {
	spec := &r.Spec.Template.Spec
	lists := []struct {
		field      string
		containers []corev1.Container
	}{{"containers", spec.Containers}, {"initContainers", spec.InitContainers}}
	var ops []patchOp
	for _, change := range changes {
		found := false
		for _, list := range lists {
			for i, c := range list.containers {
				if c.Name != change.container {
					continue
				}
				found = true
				if c.Image != change.image {
					path := fmt.Sprintf("/spec/template/spec/%s/%d", list.field, i)
					ops = append(ops,
						patchOp{"test", path + "/name", c.Name},
						patchOp{"replace", path + "/image", change.image})
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("container %q not found in %s; its containers are: %s", change.container, r.Name, containerNames(spec))
		}
	}
	return ops, nil
}

func containerNames(spec *corev1.PodSpec) string {
	var names []string
	for _, c := range spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	return strings.Join(names, ", ")
}

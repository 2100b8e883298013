package cli

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

func TestSetImage(t *testing.T) {
	ns, c := clusterTest(t, false)
	r := newRollout(ns, "kv")
	spec := &r.Spec.Template.Spec
	spec.Containers = append(spec.Containers, corev1.Container{Name: "metrics", Image: "registry.example/metrics:2.3"})
	spec.InitContainers = []corev1.Container{{Name: "setup", Image: "registry.example/setup:1"}}
	create(t, c, r)

	sroll(t, ns, "set", "image", "kv", "kv=registry.example/kv:1.1", "proxy=registry.example/proxy:1").wantFailure(t, exitFailed,
		`container "proxy" not found in kv; its containers are: kv, metrics, setup (init)`)
	if out := mustSroll(t, ns, "set", "image", "kv", "metrics=registry.example/metrics:2.4", "setup=registry.example/setup:2"); out != "statefulsetrollout.sroll.dev/kv image updated\n" {
		t.Errorf("set image said %q", out)
	}
	var got v1alpha1.StatefulSetRollout
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(r), &got); err != nil {
		t.Fatal(err)
	}
	if images := []string{
		got.Spec.Template.Spec.Containers[0].Image,
		got.Spec.Template.Spec.Containers[1].Image,
		got.Spec.Template.Spec.InitContainers[0].Image,
	}; images[0] != "registry.example/kv:1.0" || images[1] != "registry.example/metrics:2.4" || images[2] != "registry.example/setup:2" {
		t.Errorf("images after set image: %v", images)
	}
	if out := mustSroll(t, ns, "set", "image", "kv", "metrics=registry.example/metrics:2.4"); out != "statefulsetrollout.sroll.dev/kv image unchanged\n" {
		t.Errorf("set image to the same image said %q", out)
	}
}

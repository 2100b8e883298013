package localcluster

import (
	"slices"
	"strings"
	"testing"
)

func TestFeatureGatesReachAPIServerAndControllerManager(t *testing.T) {
	l := layout(t.TempDir())
	gates := map[string]bool{"MaxUnavailableStatefulSet": true, "AnotherGate": false}
	want := "--feature-gates=AnotherGate=false,MaxUnavailableStatefulSet=true"
	for name, args := range map[string][]string{
		"kube-apiserver":          apiServerArgs(l, ports{}, gates),
		"kube-controller-manager": controllerManagerArgs(l, gates, 0),
	} {
		if !slices.Contains(args, want) {
			t.Errorf("%s args lack %s: %v", name, want, args)
		}
	}
	for _, arg := range apiServerArgs(l, ports{}, nil) {
		if strings.HasPrefix(arg, "--feature-gates=") {
			t.Errorf("kube-apiserver got %s without gates", arg)
		}
	}
}

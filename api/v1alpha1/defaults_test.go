package v1alpha1_test

import (
	"encoding/json"
	"os"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/sroll-dev/sroll/api/v1alpha1"
)

// The …OrDefault helpers must say what the API server writes, so every
// reader of an undefaulted rollout agrees with a defaulted one.
func TestDefaultsMatchTheCRD(t *testing.T) {
	data, err := os.ReadFile("../../config/crd/bases/sroll.dev_statefulsetrollouts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	rollout := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["rollout"].Properties
	defaultOf := func(field string) string {
		d := rollout[field].Default
		if d == nil {
			t.Fatalf("spec.rollout.%s has no default in the CRD", field)
		}
		return string(d.Raw)
	}
	var unset v1alpha1.RolloutStrategy
	maxUnavailable := unset.MaxUnavailableOrDefault()
	if got, want := defaultOf("maxUnavailable"), mustJSON(t, maxUnavailable.String()); got != want {
		t.Errorf("CRD default of maxUnavailable = %s, MaxUnavailableOrDefault = %s", got, want)
	}
	if got, want := defaultOf("progressDeadlineSeconds"), mustJSON(t, int(unset.ProgressDeadlineOrDefault().Seconds())); got != want {
		t.Errorf("CRD default of progressDeadlineSeconds = %s, ProgressDeadlineOrDefault = %s", got, want)
	}
	replication := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["replication"]
	hooks := replication.Properties["hooks"].Properties
	var unsetReplication v1alpha1.ReplicationSpec
	for _, tc := range []struct {
		field      string
		crdDefault *apiextensionsv1.JSON
		helper     any
	}{
		{"replication.primaries", replication.Properties["primaries"].Default, unsetReplication.PrimariesOrDefault()},
		{"replication.recovery.quorum", replication.Properties["recovery"].Properties["quorum"].Default, unsetReplication.Recovery.QuorumOrDefault()},
		{"replication.recovery.timeoutSeconds", replication.Properties["recovery"].Properties["timeoutSeconds"].Default, int(unsetReplication.Recovery.TimeoutOrDefault().Seconds())},
		{"replication.hooks.seed.timeoutSeconds", hooks["seed"].Properties["timeoutSeconds"].Default, int(unsetReplication.Hooks.Seed.TimeoutOrDefault().Seconds())},
		{"replication.hooks.status.periodSeconds", hooks["status"].Properties["periodSeconds"].Default, int(unsetReplication.Hooks.Status.PeriodOrDefault().Seconds())},
		{"replication.failover.afterSeconds", replication.Properties["failover"].Properties["afterSeconds"].Default, int(v1alpha1.FailoverSpec{}.AfterOrDefault().Seconds())},
		{"replication.fencing.afterSeconds", replication.Properties["fencing"].Properties["afterSeconds"].Default, int(v1alpha1.FencingSpec{}.AfterOrDefault().Seconds())},
	} {
		if tc.crdDefault == nil {
			t.Errorf("spec.%s has no default in the CRD", tc.field)
			continue
		}
		if got, want := string(tc.crdDefault.Raw), mustJSON(t, tc.helper); got != want {
			t.Errorf("CRD default of spec.%s = %s, helper = %s", tc.field, got, want)
		}
	}
	var steps []v1alpha1.RolloutStep
	if err := json.Unmarshal([]byte(defaultOf("steps")), &steps); err != nil {
		t.Fatal(err)
	}
	if got, want := mustJSON(t, steps), mustJSON(t, unset.StepsOrDefault()); got != want {
		t.Errorf("CRD default of steps = %s, StepsOrDefault = %s", got, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

package e2e

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// Bad specs are refused by the API server itself, at apply time, with a
// message that says what to fix.
func TestInvalidSpecsAreRefused(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	for _, tc := range []struct {
		name   string
		mutate func(r *v1alpha1.StatefulSetRollout)
		want   string
	}{
		{"updateStrategy set", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		}, "spec.updateStrategy is owned by sroll"},
		{"percent above 100", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Steps = []v1alpha1.RolloutStep{e2eutil.Percent(150)}
		}, "should be less than or equal to 100"},
		{"percent zero", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Steps = []v1alpha1.RolloutStep{e2eutil.Percent(0)}
		}, "should be greater than or equal to 1"},
		{"percents not increasing", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Steps = []v1alpha1.RolloutStep{e2eutil.Percent(50), e2eutil.Percent(20), e2eutil.Percent(100)}
		}, "percent steps must be strictly increasing"},
		{"percents repeated", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Steps = []v1alpha1.RolloutStep{e2eutil.Percent(50), e2eutil.Percent(50)}
		}, "percent steps must be strictly increasing"},
		{"step with percent and pause", func(r *v1alpha1.StatefulSetRollout) {
			p := int32(10)
			r.Spec.Rollout.Steps = []v1alpha1.RolloutStep{{Percent: &p, Pause: &v1alpha1.PauseStep{}}}
		}, "each step sets exactly one of percent, pause or analysis"},
		{"analysis step naming an unknown check", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Checks = []v1alpha1.Check{errorRate()}
			r.Spec.Rollout.Steps = []v1alpha1.RolloutStep{e2eutil.Percent(10), {Analysis: &v1alpha1.Analysis{Checks: []string{"latency"}}}, e2eutil.Percent(100)}
		}, "an analysis step names a check that spec.rollout.checks does not define"},
		{"background analysis naming an unknown check", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Analysis = &v1alpha1.Analysis{Checks: []string{"latency"}}
		}, "spec.rollout.analysis names a check that spec.rollout.checks does not define"},
		{"background analysis with a count", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Checks = []v1alpha1.Check{errorRate()}
			r.Spec.Rollout.Analysis = &v1alpha1.Analysis{Checks: []string{"error-rate"}, Count: ptr(int32(3))}
		}, "spec.rollout.analysis runs until the rollout completes: remove its count"},
		{"check with two providers", func(r *v1alpha1.StatefulSetRollout) {
			check := errorRate()
			check.Webhook = &v1alpha1.WebhookCheck{URL: "http://gate.example"}
			r.Spec.Rollout.Checks = []v1alpha1.Check{check}
		}, "each check sets exactly one of prometheus or webhook"},
		{"check without a provider", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Checks = []v1alpha1.Check{{Name: "error-rate"}}
		}, "each check sets exactly one of prometheus or webhook"},
		{"maxUnavailable zero", func(r *v1alpha1.StatefulSetRollout) {
			zero := intstr.FromInt32(0)
			r.Spec.Rollout.MaxUnavailable = &zero
		}, "maxUnavailable must be an integer >= 1 or a percent from 1% to 100%"},
		{"maxUnavailable 0%", func(r *v1alpha1.StatefulSetRollout) {
			zero := intstr.FromString("0%")
			r.Spec.Rollout.MaxUnavailable = &zero
		}, "maxUnavailable must be an integer >= 1 or a percent from 1% to 100%"},
		{"selector does not match the template", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		}, "spec.selector.matchLabels must all appear with the same values in spec.template.metadata.labels"},
		{"ordinals starting above 0", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5}
		}, "spec.ordinals.start other than 0 is not supported yet"},
		{"negative pause", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Rollout.Steps = []v1alpha1.RolloutStep{e2eutil.Percent(10), {Pause: &v1alpha1.PauseStep{Duration: &metav1.Duration{Duration: -60e9}}}, e2eutil.Percent(100)}
		}, "pause duration must not be negative"},
		{"more primaries than replicas", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			four := int32(4)
			r.Spec.Replication.Primaries = &four
		}, "spec.replication.primaries must not exceed spec.replicas"},
		{"unknown quorum", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Recovery.Quorum = "Most"
		}, `supported values: "All", "Majority"`},
		{"no secondary hook for the secondaries", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Hooks.Secondary = nil
		}, "spec.replication.hooks.secondary is required when replicas exceed primaries"},
		{"no primary hook for several primaries", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Hooks.Primary = nil
			two := int32(2)
			r.Spec.Replication.Primaries = &two
		}, "spec.replication.hooks.primary is required when primaries is more than 1"},
		{"fencing without a webhook or fence hook", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Fencing = &v1alpha1.FencingSpec{}
		}, "spec.replication.fencing needs exactly one of fencing.webhook and hooks.fence"},
		{"fencing with both a webhook and a fence hook", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Fencing = &v1alpha1.FencingSpec{Webhook: &v1alpha1.WebhookEndpoint{URL: "https://fencer.example"}}
			r.Spec.Replication.Hooks.Fence = &v1alpha1.Hook{Command: []string{"true"}}
		}, "spec.replication.fencing needs exactly one of fencing.webhook and hooks.fence"},
		{"fence hook without fencing", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Hooks.Fence = &v1alpha1.Hook{Command: []string{"true"}}
		}, "hooks.fence is used only with spec.replication.fencing"},
		{"failover with several primaries", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			two := int32(2)
			r.Spec.Replication.Primaries = &two
			r.Spec.Replication.Failover = &v1alpha1.FailoverSpec{Enabled: true}
		}, "spec.replication.failover is for a single primary"},
		{"replication without serviceName", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.ServiceName = ""
		}, "spec.serviceName is required with spec.replication"},
		{"freeze hook without a thaw hook", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Hooks.Freeze = &v1alpha1.Hook{Command: []string{"true"}}
		}, "spec.replication.hooks.freeze and hooks.thaw go together"},
		{"thaw hook without a freeze hook", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Hooks.Thaw = &v1alpha1.Hook{Command: []string{"true"}}
		}, "spec.replication.hooks.freeze and hooks.thaw go together"},
		{"freeze limit without a freeze hook", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
			limit := int32(10)
			r.Spec.Snapshots = &v1alpha1.SnapshotSpec{FreezeTimeoutSeconds: &limit}
		}, "spec.snapshots.freezeTimeoutSeconds bounds the freeze of spec.replication.hooks.freeze"},
		{"hook without a command", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Replication = e2eutil.ShellReplication("echo 1", "true", "true", "true", "true")
			r.Spec.Replication.Hooks.Stop.Command = nil
		}, "spec.replication.hooks.stop.command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e2eutil.NewRollout(ns, "bad", 3, intstr.FromInt32(1))
			tc.mutate(r)
			err := c.Create(context.Background(), r, client.DryRunAll)
			if err == nil {
				t.Fatalf("accepted; want refused with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refused with %q; want a message containing %q", err, tc.want)
			}
		})
	}

	good := e2eutil.NewRollout(ns, "good", 3, intstr.FromString("30%"), e2eutil.Percent(10), e2eutil.Pause(0),
		v1alpha1.RolloutStep{Analysis: &v1alpha1.Analysis{Checks: []string{"error-rate"}, Count: ptr(int32(3)), FailureLimit: 1}}, e2eutil.Percent(100))
	good.Spec.Rollout.Checks = []v1alpha1.Check{errorRate()}
	good.Spec.Rollout.Analysis = &v1alpha1.Analysis{Checks: []string{"error-rate"}}
	if err := c.Create(context.Background(), good); err != nil {
		t.Fatalf("a valid spec was refused: %v", err)
	}

	// Fields the StatefulSet API keeps immutable are refused on update, not
	// silently ignored.
	for _, tc := range []struct {
		name   string
		mutate func(r *v1alpha1.StatefulSetRollout)
		want   string
	}{
		{"serviceName", func(r *v1alpha1.StatefulSetRollout) { r.Spec.ServiceName = "other" }, "spec.serviceName can't change"},
		{"podManagementPolicy", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
		}, "spec.podManagementPolicy can't change"},
		{"selector", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.Selector.MatchLabels["tier"] = "db"
			r.Spec.Template.Labels["tier"] = "db"
		}, "spec.selector can't change"},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			r := e2eutil.GetRollout(t, c, good)
			tc.mutate(r)
			err := c.Update(context.Background(), r, client.DryRunAll)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("update refused with %v; want a message containing %q", err, tc.want)
			}
		})
	}
	r := e2eutil.GetRollout(t, c, good)
	r.Spec.Replicas = ptr(int32(5))
	if err := c.Update(context.Background(), r, client.DryRunAll); err != nil {
		t.Fatalf("a valid update was refused: %v", err)
	}
}

// errorRate is a valid Prometheus check named error-rate.
func errorRate() v1alpha1.Check {
	return v1alpha1.Check{Name: "error-rate", Prometheus: &v1alpha1.PrometheusCheck{
		Address:          "http://prometheus.monitoring:9090",
		Query:            `sum(rate(http_errors_total{revision="{{.UpdateRevision}}"}[1m]))`,
		SuccessCondition: "result < 0.5",
	}}
}

// Of spec.volumeClaimTemplates only a storage request may change, and only
// grow: anything else the StatefulSet API can't do is refused at apply
// with what is possible, instead of being accepted and dropped.
func TestClaimTemplateChanges(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	r := e2eutil.NewRollout(ns, "db", 2, intstr.FromInt32(1))
	r.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{claim("data", "1Gi")}
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	const fixed = "only the storage request of an existing claim can change"
	for _, tc := range []struct {
		name   string
		mutate func(r *v1alpha1.StatefulSetRollout)
		want   string // empty: accepted
	}{
		{"storage grows", func(r *v1alpha1.StatefulSetRollout) { r.Spec.VolumeClaimTemplates[0] = claim("data", "2Gi") }, ""},
		{"storage grows, other units", func(r *v1alpha1.StatefulSetRollout) { r.Spec.VolumeClaimTemplates[0] = claim("data", "1500Mi") }, ""},
		{"storage shrinks", func(r *v1alpha1.StatefulSetRollout) { r.Spec.VolumeClaimTemplates[0] = claim("data", "512Mi") }, "a storage request can grow, not shrink"},
		{"claim added", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.VolumeClaimTemplates = append(r.Spec.VolumeClaimTemplates, claim("logs", "1Gi"))
		}, fixed},
		{"claim removed", func(r *v1alpha1.StatefulSetRollout) { r.Spec.VolumeClaimTemplates = nil }, fixed},
		{"claim renamed", func(r *v1alpha1.StatefulSetRollout) { r.Spec.VolumeClaimTemplates[0].Name = "other" }, fixed},
		{"access modes", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.VolumeClaimTemplates[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, fixed},
		{"storage class", func(r *v1alpha1.StatefulSetRollout) {
			r.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr("fast")
		}, fixed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e2eutil.GetRollout(t, c, r)
			tc.mutate(r)
			err := c.Update(context.Background(), r, client.DryRunAll)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("update answered %v; want refused with %q", err, tc.want)
			}
		})
	}
}

func claim(name, storage string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(storage)}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

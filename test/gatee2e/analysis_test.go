package gatee2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/internal/notify/webhooktest"
	"github.com/sroll-dev/sroll/internal/plan"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// errorRate is a check of the update revision's errors (its worst pod), as Prometheus
// scraped them from the exporter.
func errorRate(prom *prometheus) v1alpha1.Check {
	return v1alpha1.Check{Name: "error-rate", Prometheus: &v1alpha1.PrometheusCheck{
		Address:          prom.url,
		Query:            `max(app_errors_total{namespace="{{.Namespace}}", revision="{{.UpdateRevision}}"})`,
		SuccessCondition: "result < 1",
	}}
}

// analysisStep measures error-rate every second, count times; a first
// measurement taken before Prometheus scraped the new pod is
// inconclusive, which the limit allows for.
func analysisStep(count int32) v1alpha1.RolloutStep {
	return v1alpha1.RolloutStep{Analysis: &v1alpha1.Analysis{
		Checks: []string{"error-rate"}, IntervalSeconds: ptr.To[int32](1), Count: ptr.To(count), InconclusiveLimit: 2,
	}}
}

// gated is a rollout of 3 pods measured by Prometheus after its first pod
// is updated, and the exporter Prometheus scrapes. Tests of gated
// rollouts run in parallel: each has its namespace, operator and Prometheus.
func gated(t *testing.T, steps ...v1alpha1.RolloutStep) (*v1alpha1.StatefulSetRollout, *exporter, *prometheus) {
	t.Parallel()
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns, "--allowed-hosts=127.0.0.1")
	r := e2eutil.NewRollout(ns, "kv", 3, intstr.FromInt32(1), steps...)
	exp := startExporter(t, c, ns, r.Name)
	prom := startPrometheus(t, hostOf(exp.srv.URL))
	r.Spec.Rollout.Checks = []v1alpha1.Check{errorRate(prom)}
	return r, exp, prom
}

// Healthy metrics: the analysis step passes by itself after its count,
// the background analysis watches the rest, and the records leave status
// once the rollout completed.
func TestAnalysisPromotesHealthyRevision(t *testing.T) {
	r, _, _ := gated(t, e2eutil.Percent(34), analysisStep(3), e2eutil.Percent(100))
	r.Spec.Rollout.Analysis = &v1alpha1.Analysis{Checks: []string{"error-rate"}, IntervalSeconds: ptr.To[int32](1), InconclusiveLimit: 2}
	c := e2eutil.Setup(t)
	create(t, r)

	e2eutil.SetImage(t, c, r, "v2")
	done := e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
	if len(done.Status.Analysis) != 0 {
		t.Errorf("completed with analysis records left: %+v", done.Status.Analysis)
	}
	e2eutil.WaitEvent(t, c, r, plan.ReasonAnalysisPassed, 10*time.Second, "analysis passed: error-rate (3 measured, 0 failed")
}

// Errors on the new revision: the analysis fails, the rollout rolls back
// by itself, the message names the check, the measured value and the
// condition, and the notification targets are told.
func TestAnalysisFailureRollsBack(t *testing.T) {
	r, exp, _ := gated(t, e2eutil.Percent(34), analysisStep(5), e2eutil.Percent(100))
	r.Spec.Rollout.AutoRollback = true
	hook := webhooktest.NewReceiver("", "")
	t.Cleanup(hook.Close)
	r.Spec.Notifications = []v1alpha1.NotificationTarget{{Name: "releases", Webhook: &v1alpha1.WebhookTarget{WebhookEndpoint: v1alpha1.WebhookEndpoint{URL: hook.URL()}}}}
	c := e2eutil.Setup(t)
	create(t, r)

	exp.setErrors("v2", 7)
	e2eutil.SetImage(t, c, r, "v2")
	want := []string{"rolled back to", "check error-rate failed", "last measured 7", "condition result < 1"}
	failed := e2eutil.WaitRollout(t, c, r, 2*time.Minute, "rolled back after the failed analysis", func(got *v1alpha1.StatefulSetRollout) bool {
		return got.Status.Phase == v1alpha1.PhaseDegraded && e2eutil.ContainsAll(got.Status.Message, want)
	})
	checkPods(t, c, failed, failed.Status.StableRevision)
	e2eutil.WaitEvent(t, c, r, plan.ReasonAnalysisFailed, 10*time.Second, "check error-rate failed", "last measured 7")
	e2eutil.Eventually(t, 30*time.Second, "a Failed notification naming the check", func() (bool, string) {
		var events []string
		for _, d := range hook.Deliveries() {
			if d.Payload.Event == v1alpha1.EventFailed && strings.Contains(d.Payload.Reason, "check error-rate failed") {
				return true, ""
			}
			events = append(events, string(d.Payload.Event)+": "+d.Payload.Reason)
		}
		return false, strings.Join(events, "; ")
	})
}

// Prometheus stopped in the middle of an analysis: the measurements are in
// error, the rollout waits through inconclusiveLimit of them and fails at
// the next one.
func TestAnalysisInconclusiveWhilePrometheusIsDown(t *testing.T) {
	step := analysisStep(0) // until promoted
	step.Analysis.InconclusiveLimit = 3
	r, _, prom := gated(t, e2eutil.Percent(34), step, e2eutil.Percent(100))
	c := e2eutil.Setup(t)
	create(t, r)

	e2eutil.SetImage(t, c, r, "v2")
	e2eutil.WaitRollout(t, c, r, 2*time.Minute, "two successful measurements", func(got *v1alpha1.StatefulSetRollout) bool {
		return len(got.Status.Analysis) == 1 && got.Status.Analysis[0].Successful >= 2
	})
	prom.stop(t)
	failed := e2eutil.WaitPhase(t, c, r, v1alpha1.PhaseDegraded, time.Minute)
	rec := failed.Status.Analysis[0]
	if undecided := rec.Inconclusive + rec.Error; undecided != 4 || rec.Error == 0 || rec.Failed != 0 {
		t.Errorf("failed with %d measurements in error, %d inconclusive and %d failed; want 4 without a verdict (inconclusiveLimit 3), errors among them, and none failed: %+v",
			rec.Error, rec.Inconclusive, rec.Failed, rec)
	}
	if want := []string{"check error-rate gave no verdict", "more than inconclusiveLimit 3", "connection refused"}; !e2eutil.ContainsAll(failed.Status.Message, want) {
		t.Errorf("message %q; want it to contain %q", failed.Status.Message, want)
	}
}

// create creates the rollout and waits until its v1 pods are all Ready.
func create(t *testing.T, r *v1alpha1.StatefulSetRollout) {
	t.Helper()
	c := e2eutil.Setup(t)
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e2eutil.WaitCompleted(t, c, r, 2*time.Minute)
}

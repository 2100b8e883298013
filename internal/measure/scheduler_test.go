package measure_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/egress"
	"github.com/sroll-dev/sroll/internal/measure"
	"github.com/sroll-dev/sroll/internal/plan"
)

// The scheduler takes a measurement once at its time, even when plans made
// before its result was recorded ask again; keeps its result until taken
// (and given back); a replanned or dropped measurement is not taken.
func TestSchedulerTakesEachMeasurementOnce(t *testing.T) {
	var calls atomic.Int32
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		_, _ = w.Write([]byte(`{"pass": true}`))
	}))
	defer gate.Close()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := clocktesting.NewFakeClock(start)
	s := measure.NewScheduler(measure.Options{Workers: 2, AllowedHosts: egress.MustParseHosts("127.0.0.1"), Clock: clock})
	rollout := &v1alpha1.StatefulSetRollout{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kv"}}
	rollout.Spec.Rollout.Checks = []v1alpha1.Check{{Name: "gate", Webhook: &v1alpha1.WebhookCheck{URL: gate.URL}}}
	key := types.NamespacedName{Namespace: "ns", Name: "kv"}
	due := []plan.Measure{{Check: "gate", Step: 1, At: start}}

	s.Schedule(rollout, measure.Vars{}, due)
	<-s.Events()
	s.Schedule(rollout, measure.Vars{}, due) // a plan made before the result was recorded
	results := s.Observe(key)
	if len(results) != 1 || results[0].Measurement.Phase != v1alpha1.MeasurementSuccessful || results[0].Step != 1 {
		t.Fatalf("results %+v; want one Successful measurement of gate (step 2)", results)
	}
	s.Return(key, results)
	if again := s.Observe(key); len(again) != 1 {
		t.Fatalf("results given back, then %d taken; want 1", len(again))
	}

	// The next measurement, due in 10s, replanned to 20s, then dropped.
	s.Schedule(rollout, measure.Vars{}, []plan.Measure{{Check: "gate", Step: 1, At: start.Add(10 * time.Second)}})
	s.Schedule(rollout, measure.Vars{}, []plan.Measure{{Check: "gate", Step: 1, At: start.Add(20 * time.Second)}})
	clock.Step(15 * time.Second)
	s.Schedule(rollout, measure.Vars{}, nil)
	clock.Step(15 * time.Second)
	if clock.HasWaiters() {
		t.Errorf("a dropped measurement is still waiting")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the check was called %d times; want once", n)
	}
}

package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// Each benchmark measures once, whatever b.N: one rollout is the operation,
// and it takes far longer than -benchtime's default, so the framework never
// asks for a second one. `make bench` passes -benchtime 1x all the same.
// The benchmarks run in this order (source order), the small one first.

// BenchmarkFirstDeletion: from the image change (the patch of the
// StatefulSetRollout) to the first pod deletion the pod watcher sees, on a
// 10-pod set, 15 times.
func BenchmarkFirstDeletion(b *testing.B) {
	const replicas, runs = 10, 15
	e := setup(b)
	ns := e.namespace(b, "first-deletion")
	e.startOperator(b, ns)
	// The whole set in one batch, so each run completes quickly; the time to
	// the first deletion does not depend on the batch size.
	r := e2eutil.NewRollout(ns, "kv", replicas, intstr.FromString("100%"))
	e.create(b, r)
	e.waitCompleted(b, r, 5*time.Minute)
	w := e2eutil.WatchPods(b, e.cluster.RestConfig(), ns, r.Name, replicas)

	progress("image change to first deletion, %d pods, %d runs", replicas, runs)
	var latencies []time.Duration
	for run := range runs {
		// Idle for a moment, as a rollout is when someone changes its image.
		time.Sleep(time.Second)
		start := time.Now()
		e2eutil.SetImage(b, e.client, r, fmt.Sprintf("v%d", run+2))
		first := waitFor(b, 30*time.Second, "a pod deletion", func() (time.Time, bool) { return firstDeletionAfter(w.Seen().Deletions, start) })
		latencies = append(latencies, first.Sub(start))
		e.waitCompleted(b, r, 5*time.Minute)
	}
	slices.Sort(latencies)
	f := &latencyFigures{replicas: replicas, sorted: latencies}
	results.set(func(s *figureSet) { s.latency = f })
	b.ReportMetric(float64(percentile(latencies, 0.5).Nanoseconds()), "ns/op")
	b.ReportMetric(percentile(latencies, 0.5).Seconds(), "p50-s")
	b.ReportMetric(percentile(latencies, 0.9).Seconds(), "p90-s")
}

// BenchmarkRollout: 1000 pods, maxUnavailable 10%, one step of 100%: the
// total time, the physical floor measured in the same run, the budget as a
// pod watcher saw it; then the operator's memory, and the writes it makes
// when reconciles find nothing to do.
func BenchmarkRollout(b *testing.B) {
	replicas := sizes.rollout
	e := setup(b)
	ns := e.namespace(b, "rollout")
	op := e.startOperator(b, ns)
	r := e2eutil.NewRollout(ns, "kv", replicas, intstr.FromString("10%"))
	progress("creating a %d-pod rollout", replicas)
	e.create(b, r)
	e.waitCompleted(b, r, 10*time.Minute)
	time.Sleep(2 * time.Second)
	w := e2eutil.WatchPods(b, e.cluster.RestConfig(), ns, r.Name, int(replicas))

	progress("rolling out a new image to %d pods", replicas)
	cpuBefore, opBefore, apiBefore := e.cpu(op), scrape(b, op), e.apiLatency(b)
	start := time.Now()
	e2eutil.SetImage(b, e.client, r, "v2")
	done, completedAt := e.waitCompleted(b, r, 30*time.Minute)
	cpuAfter, opAfter, apiAfter := e.cpu(op), scrape(b, op), e.apiLatency(b)
	rss, peak, err := memory(op.PID())
	if err != nil {
		b.Fatal(err)
	}
	f := &rolloutFigures{
		pipelineFigures: pipelineOf(b, w, done.Status.UpdateRevision, int(replicas)/10, start, completedAt),
		rss:             rss,
		peakRSS:         peak,
		cpu:             cpuAfter.minus(cpuBefore),
		operator:        opAfter.minus(opBefore),
		api:             apiAfter.minus(apiBefore),
	}
	results.set(func(s *figureSet) { s.rollout = f })
	progress("rollout done in %s (floor %s); checking idle reconciles", f.total.Round(time.Millisecond), f.floor())

	idle := e.idleWrites(b, op, r)
	results.set(func(s *figureSet) { s.idle = idle })
	if idle.reconciles == 0 {
		b.Errorf("no reconcile ran while the rollout was touched: the write count proves nothing")
	}
	if n := total(idle.writes); n != 0 {
		b.Errorf("the operator made %v writes (%v) in %v reconciles with nothing to do; log in %s", n, idle.writes, idle.reconciles, op.Log)
	}

	b.ReportMetric(float64(f.total.Nanoseconds()), "ns/op")
	b.ReportMetric(f.total.Seconds(), "total-s")
	b.ReportMetric(f.floor().Seconds(), "floor-s")
	b.ReportMetric(f.ratio(), "total/floor")
	b.ReportMetric(f.podP50.Seconds(), "pod-p50-s")
	b.ReportMetric(f.podP90.Seconds(), "pod-p90-s")
	b.ReportMetric(float64(f.maxUnavailable), "max-unavailable")
	b.ReportMetric(float64(f.rss)/(1<<20), "rss-MiB")
	b.ReportMetric(total(idle.writes), "idle-writes")
}

// BenchmarkNativeMaxUnavailable: the same image change on the same number of
// pods, done by the native StatefulSet controller alone: RollingUpdate with
// maxUnavailable equal to sroll's budget (feature gate
// MaxUnavailableStatefulSet). It runs right after BenchmarkRollout, on the
// same cluster, so the two totals compare.
func BenchmarkNativeMaxUnavailable(b *testing.B) {
	replicas := sizes.rollout
	budget := int(replicas) / 10
	e := setup(b)
	ns := e.namespace(b, "native-parallel")
	sts := nativeStatefulSet(ns, "kv", replicas)
	sts.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt(budget))
	progress("creating a plain %d-pod StatefulSet with maxUnavailable %d", replicas, budget)
	e.create(b, sts)
	if got := e.getStatefulSet(b, sts).Spec.UpdateStrategy.RollingUpdate.MaxUnavailable; got == nil || got.IntValue() != budget {
		b.Fatalf("the API server dropped maxUnavailable (%v): is the feature gate MaxUnavailableStatefulSet on?", got)
	}
	e.waitNativeUpdated(b, sts, 10*time.Minute)
	time.Sleep(2 * time.Second)
	w := e2eutil.WatchPods(b, e.cluster.RestConfig(), ns, sts.Name, int(replicas))

	progress("native RollingUpdate of %d pods, %d at a time", replicas, budget)
	cpuBefore := e.cpu(nil)
	start := time.Now()
	e2eutil.SetImage(b, e.client, sts, "v2")
	done, finished := e.waitNativeUpdated(b, sts, 30*time.Minute)
	cpu := e.cpu(nil).minus(cpuBefore)
	f := pipelineOf(b, w, done.Status.UpdateRevision, budget, start, finished)
	results.set(func(s *figureSet) { s.nativeParallel, s.nativeParallelCPU = &f, &cpu })
	progress("native update done in %s", f.total.Round(time.Millisecond))
	b.ReportMetric(float64(f.total.Nanoseconds()), "ns/op")
	b.ReportMetric(f.total.Seconds(), "total-s")
	b.ReportMetric(f.podP50.Seconds(), "pod-p50-s")
	b.ReportMetric(float64(f.maxUnavailable), "max-unavailable")
}

// pipelineOf waits until the watcher saw every pod Ready at revision and
// draws the figures of an update of the watched pods under a budget, from
// start to done.
func pipelineOf(b *testing.B, w *e2eutil.PodWatcher, revision string, budget int, start, done time.Time) pipelineFigures {
	b.Helper()
	replicas := w.Replicas()
	seen := waitFor(b, time.Minute, "the watcher to see every pod Ready at "+revision, func() (watchSummary, bool) {
		s := watchSummary{w.Seen()}
		return s, s.Serving[revision] == replicas
	})
	if len(seen.Replaced) != replicas || len(seen.Deletions) < budget {
		b.Fatalf("the watcher saw %d pods replaced and %d deleted, want %d", len(seen.Replaced), len(seen.Deletions), replicas)
	}
	podTimes, reactions := seen.podTimes(), seen.reactions(budget)
	return pipelineFigures{
		replicas:       replicas,
		budget:         budget,
		batches:        (replicas + budget - 1) / budget,
		total:          done.Sub(start),
		lastReady:      seen.Replaced[len(seen.Replaced)-1].Ready.Sub(start),
		firstDeletion:  seen.Deletions[0].At.Sub(start),
		firstWave:      seen.Deletions[budget-1].At.Sub(seen.Deletions[0].At),
		podP50:         percentile(podTimes, 0.5),
		podP90:         percentile(podTimes, 0.9),
		reactionP50:    percentile(reactions, 0.5),
		reactionP90:    percentile(reactions, 0.9),
		ideal:          seen.idealPipeline(budget),
		maxUnavailable: seen.MaxUnavailable,
		deletions:      len(seen.Deletions),
		load:           loadAverage(),
	}
}

// BenchmarkNativeRollingUpdate100: a plain StatefulSet of 100 pods with the
// native RollingUpdate strategy (partition 0, maxUnavailable 1), image
// change to every pod updated and Ready. The table scales it linearly to
// 1000 pods, since this strategy replaces one pod at a time.
func BenchmarkNativeRollingUpdate100(b *testing.B) {
	replicas := sizes.serial
	e := setup(b)
	ns := e.namespace(b, "native100")
	sts := nativeStatefulSet(ns, "kv", replicas)
	progress("creating a plain %d-pod StatefulSet", replicas)
	e.create(b, sts)
	e.waitNativeUpdated(b, sts, 5*time.Minute)
	time.Sleep(2 * time.Second)
	w := e2eutil.WatchPods(b, e.cluster.RestConfig(), ns, sts.Name, int(replicas))

	progress("native RollingUpdate of %d pods, one at a time (several minutes)", replicas)
	start := time.Now()
	e2eutil.SetImage(b, e.client, sts, "v2")
	done, finished := e.waitNativeUpdated(b, sts, 60*time.Minute)
	seen := waitFor(b, time.Minute, "the watcher to see every pod Ready", func() (watchSummary, bool) {
		s := watchSummary{w.Seen()}
		return s, s.Serving[done.Status.UpdateRevision] == int(replicas)
	})
	f := &nativeFigures{
		replicas:       int(replicas),
		total:          finished.Sub(start),
		podP50:         percentile(seen.podTimes(), 0.5),
		maxUnavailable: seen.MaxUnavailable,
	}
	results.set(func(s *figureSet) { s.native = f })
	b.ReportMetric(float64(f.total.Nanoseconds()), "ns/op")
	b.ReportMetric(f.total.Seconds(), "total-s")
	b.ReportMetric(f.podP50.Seconds(), "pod-p50-s")
	b.ReportMetric(10*f.total.Seconds(), "scaled-1000-s")
}

// waitNativeUpdated polls (every 100 ms) until the StatefulSet's controller
// observed its latest generation and every replica runs the update revision
// and is Ready. It returns the StatefulSet and when it was seen so.
func (e *env) waitNativeUpdated(b *testing.B, sts *appsv1.StatefulSet, timeout time.Duration) (*appsv1.StatefulSet, time.Time) {
	b.Helper()
	replicas := *sts.Spec.Replicas
	var done *appsv1.StatefulSet
	at := waitFor(b, timeout, "the StatefulSet "+sts.Name+" to be updated and Ready", func() (time.Time, bool) {
		done = e.getStatefulSet(b, sts)
		s := done.Status
		return time.Now(), s.ObservedGeneration >= done.Generation && s.Replicas == replicas &&
			s.UpdatedReplicas == replicas && s.ReadyReplicas == replicas && s.CurrentRevision == s.UpdateRevision
	})
	return done, at
}

// idleWrites waits until the operator has stopped writing after the rollout
// completed, then touches the rollout, its StatefulSet and one pod in ways
// that need no write (a label or annotation of no meaning to sroll), and
// counts the reconciles that ran and the writes the operator made meanwhile.
func (e *env) idleWrites(b *testing.B, op *operator, r *v1alpha1.StatefulSetRollout) *idleFigures {
	b.Helper()
	quietFor, settle := 3*time.Second, 5*time.Second
	before := scrape(b, op)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		time.Sleep(quietFor)
		now := scrape(b, op)
		if total(since(now.writes(), before.writes())) == 0 {
			break
		}
		before = now
	}
	ctx := context.Background()
	const rounds = 3
	for round := range rounds {
		value := fmt.Sprint(round)
		label := fmt.Sprintf(`{"metadata":{"labels":{"bench.sroll.dev/touched":%q}}}`, value)
		annotation := fmt.Sprintf(`{"metadata":{"annotations":{"bench.sroll.dev/touched":%q}}}`, value)
		touches := []struct {
			obj   client.Object
			patch string
		}{
			{r, label},
			{&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name}}, annotation},
			{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name + "-0"}}, annotation},
		}
		for _, t := range touches {
			if err := e.client.Patch(ctx, t.obj, client.RawPatch(types.MergePatchType, []byte(t.patch))); err != nil {
				b.Fatalf("touch %s: %v", t.obj.GetName(), err)
			}
		}
		time.Sleep(time.Second)
	}
	time.Sleep(settle)
	after := scrape(b, op)
	return &idleFigures{
		touches:    rounds * 3,
		reconciles: after.reconciles - before.reconciles,
		writes:     since(after.writes(), before.writes()),
	}
}

func scrape(b *testing.B, op *operator) sample {
	b.Helper()
	s, err := op.scrape()
	if err != nil {
		b.Fatalf("scrape the operator's metrics: %v", err)
	}
	return s
}

// cpuUse is the CPU time used so far by each process of interest, and by
// the whole machine.
type cpuUse struct {
	at          time.Time
	byProcess   map[string]time.Duration
	machineBusy time.Duration
	machineAll  time.Duration
}

// cpu reads the CPU time used so far by each process of the cluster, the
// benchmark and op (none when nil), and by the whole machine.
func (e *env) cpu(op *operator) cpuUse {
	u := cpuUse{at: time.Now(), byProcess: map[string]time.Duration{}}
	pids := map[string]int{"benchmark (watchers, polling)": os.Getpid()}
	if op != nil {
		pids["sroll-operator"] = op.PID()
	}
	for _, p := range e.cluster.Processes() {
		pids[p.Name] = p.PID
	}
	for name, pid := range pids {
		if t, err := cpuTime(pid); err == nil {
			u.byProcess[name] = t
		}
	}
	u.machineBusy, u.machineAll, _ = machineCPU()
	return u
}

// minus is the CPU used between before and u.
func (u cpuUse) minus(before cpuUse) cpuUse {
	d := cpuUse{at: before.at, byProcess: map[string]time.Duration{},
		machineBusy: u.machineBusy - before.machineBusy, machineAll: u.machineAll - before.machineAll}
	for name, t := range u.byProcess {
		d.byProcess[name] = t - before.byProcess[name]
	}
	return d
}

// nativeStatefulSet is a plain StatefulSet with the native RollingUpdate
// strategy. Parallel only speeds up its creation: a rolling update replaces
// one pod at a time under either pod management policy.
func nativeStatefulSet(namespace, name string, replicas int32) *appsv1.StatefulSet {
	labels := map[string]string{"app": name}
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &replicas,
			ServiceName:         name,
			Selector:            &metav1.LabelSelector{MatchLabels: labels},
			Template:            e2eutil.PodTemplate(labels),
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)},
			},
		},
	}
}

func (e *env) create(b *testing.B, obj client.Object) {
	b.Helper()
	if err := e.client.Create(context.Background(), obj); err != nil {
		b.Fatalf("create %s: %v", obj.GetName(), err)
	}
}

func (e *env) getStatefulSet(b *testing.B, sts *appsv1.StatefulSet) *appsv1.StatefulSet {
	b.Helper()
	got := &appsv1.StatefulSet{}
	if err := e.client.Get(context.Background(), client.ObjectKeyFromObject(sts), got); err != nil {
		b.Fatal(err)
	}
	return got
}

// waitCompleted polls (every 100 ms) until the rollout observed its latest
// generation, is Completed, and every replica runs the update revision and
// is Ready. It returns the rollout and when it was seen so.
func (e *env) waitCompleted(b *testing.B, r *v1alpha1.StatefulSetRollout, timeout time.Duration) (*v1alpha1.StatefulSetRollout, time.Time) {
	b.Helper()
	var got *v1alpha1.StatefulSetRollout
	at := waitFor(b, timeout, "the rollout to complete", func() (time.Time, bool) {
		got = &v1alpha1.StatefulSetRollout{}
		if err := e.client.Get(context.Background(), client.ObjectKeyFromObject(r), got); err != nil {
			b.Fatal(err)
		}
		return time.Now(), e2eutil.Completed(got)
	})
	return got, at
}

// waitFor polls check every 100 ms (5 ms when the timeout is under a
// minute, for latencies) until it says done, and returns its value; it
// fails the benchmark at the timeout.
func waitFor[T any](b *testing.B, timeout time.Duration, what string, check func() (T, bool)) T {
	b.Helper()
	interval := 100 * time.Millisecond
	if timeout < time.Minute {
		interval = 5 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	for {
		v, done := check()
		if done {
			return v
		}
		if time.Now().After(deadline) {
			b.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(interval)
	}
}

package bench

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// BenchmarkManyRollouts: 50 rollouts of 100 pods, budget 10% each, each in
// its own namespace, one operator for all. First one rollout changes alone,
// the reference; then all 50 change together: per-rollout times against the
// lone one, the time to each one's first deletion, the operator's CPU and
// memory, and the API requests per replaced pod. Then all change again and,
// half-way, the operator is SIGKILLed and started again: the time to the
// next deletion, and no pod deleted twice nor budget exceeded meanwhile.
func BenchmarkManyRollouts(b *testing.B) {
	n, replicas := sizes.many, int32(sizes.manyPods)
	budget := int(replicas) / 10
	e := setup(b)
	namespaces := make([]string, n)
	rollouts := make([]*v1alpha1.StatefulSetRollout, n)
	for i := range n {
		namespaces[i] = e.namespace(b, fmt.Sprintf("many-%02d", i))
		rollouts[i] = e2eutil.NewRollout(namespaces[i], "kv", replicas, intstr.FromString("10%"))
	}
	op := e.startOperator(b, namespaces...)
	progress("creating %d rollouts of %d pods", n, replicas)
	for _, r := range rollouts {
		e.create(b, r)
	}
	e.waitAllCompleted(b, rollouts, 15*time.Minute)
	time.Sleep(2 * time.Second)
	f := &manyFigures{rollouts: n, replicas: int(replicas), budget: budget}

	progress("one rollout of %d pods alone", replicas)
	lone := e.changeTogether(b, rollouts[:1], "v2")
	f.lone = lone.took[0]

	progress("%d rollouts of %d pods together", n, replicas)
	cpuBefore, opBefore, apiBefore, refusedBefore := e.cpu(op), scrape(b, op), e.apiRequests(b), e.apiRefusals(b)
	all := e.changeTogether(b, rollouts, "v3")
	cpuAfter, opAfter, apiAfter, refusedAfter := e.cpu(op), scrape(b, op), e.apiRequests(b), e.apiRefusals(b)
	f.apiRefusals = since(refusedAfter, refusedBefore)
	f.total = all.total
	f.took = all.took
	f.firstDeletion = all.firstDeletion
	f.podP50 = all.podP50()
	f.operatorCPU = cpuAfter.byProcess["sroll-operator"] - cpuBefore.byProcess["sroll-operator"]
	f.operatorRequests = opAfter.minus(opBefore).requests
	f.apiRequests = since(apiAfter, apiBefore)
	f.apiServerCPU = cpuAfter.byProcess["kube-apiserver"] - cpuBefore.byProcess["kube-apiserver"]
	f.cpuUse = cpuAfter.minus(cpuBefore)
	f.check(b, all)
	f.load = loadAverage()

	progress("%d rollouts together again; the operator is killed half-way", n)
	restart := e.changeTogether(b, rollouts, "v4", func(watchers []*e2eutil.PodWatcher) {
		half := n * int(replicas) / 2
		waitFor(b, 10*time.Minute, "half the pods deleted", func() (struct{}, bool) {
			return struct{}{}, deletionsSeen(watchers) >= half
		})
		op.Kill()
		op.Start(b)
		restarted := time.Now()
		next := waitFor(b, time.Minute, "a deletion after the restart", func() (time.Time, bool) {
			var first time.Time
			for _, w := range watchers {
				if at, ok := firstDeletionAfter(w.Seen().Deletions, restarted); ok && (first.IsZero() || at.Before(first)) {
					first = at
				}
			}
			return first, !first.IsZero()
		})
		f.restartToDeletion = next.Sub(restarted)
	})
	f.restartTotal = restart.total
	f.check(b, restart)
	_, f.peakRSS, _ = memory(op.PID())
	results.set(func(s *figureSet) { s.many = f })

	b.ReportMetric(float64(f.total.Nanoseconds()), "ns/op")
	b.ReportMetric(f.total.Seconds(), "total-s")
	b.ReportMetric(percentile(f.took, 0.9).Seconds(), "rollout-p90-s")
	b.ReportMetric(percentile(f.firstDeletion, 0.99).Seconds(), "first-deletion-p99-s")
	b.ReportMetric(f.restartToDeletion.Seconds(), "restart-to-deletion-s")
}

// together is what the pod watchers saw while rollouts changed together.
type together struct {
	// total runs from the first image change to the last rollout seen Completed.
	total time.Duration
	// took and firstDeletion are per rollout, from its own image change, sorted.
	took, firstDeletion []time.Duration
	seen                []e2eutil.Seen
}

// changeTogether sets every rollout's image to tag, one patch after the
// other, and waits until all are Completed. meanwhile, if given, runs once
// the patches are sent, with the rollouts' pod watchers.
func (e *env) changeTogether(b *testing.B, rollouts []*v1alpha1.StatefulSetRollout, tag string, meanwhile ...func([]*e2eutil.PodWatcher)) together {
	b.Helper()
	watchers := make([]*e2eutil.PodWatcher, len(rollouts))
	for i, r := range rollouts {
		watchers[i] = e2eutil.WatchPods(b, e.cluster.RestConfig(), r.Namespace, r.Name, int(*r.Spec.Replicas))
	}
	changed := make([]time.Time, len(rollouts))
	for i, r := range rollouts {
		changed[i] = time.Now()
		e2eutil.SetImage(b, e.client, r, tag)
	}
	for _, f := range meanwhile {
		f(watchers)
	}
	completed := e.waitAllCompleted(b, rollouts, 30*time.Minute)
	t := together{total: slices.MaxFunc(completed, time.Time.Compare).Sub(changed[0])}
	for i, w := range watchers {
		seen := w.Seen()
		t.seen = append(t.seen, seen)
		t.took = append(t.took, completed[i].Sub(changed[i]))
		first, ok := firstDeletionAfter(seen.Deletions, changed[i])
		if !ok {
			b.Fatalf("rollout %s/%s completed with no deletion seen", rollouts[i].Namespace, rollouts[i].Name)
		}
		t.firstDeletion = append(t.firstDeletion, first.Sub(changed[i]))
	}
	slices.Sort(t.took)
	slices.Sort(t.firstDeletion)
	return t
}

// waitAllCompleted lists the rollouts every 100 ms until each is Completed
// (e2eutil.Completed) and returns when each was first seen so.
func (e *env) waitAllCompleted(b *testing.B, rollouts []*v1alpha1.StatefulSetRollout, timeout time.Duration) []time.Time {
	b.Helper()
	index := map[client.ObjectKey]int{}
	for i, r := range rollouts {
		index[client.ObjectKeyFromObject(r)] = i
	}
	completed := make([]time.Time, len(rollouts))
	var left int
	waitFor(b, timeout, "every rollout to complete", func() (struct{}, bool) {
		var list v1alpha1.StatefulSetRolloutList
		if err := e.client.List(context.Background(), &list); err != nil {
			b.Fatal(err)
		}
		now := time.Now()
		left = len(rollouts)
		for i := range list.Items {
			r := &list.Items[i]
			j, ok := index[client.ObjectKeyFromObject(r)]
			if !ok {
				continue
			}
			if completed[j].IsZero() && e2eutil.Completed(r) {
				completed[j] = now
			}
			if !completed[j].IsZero() {
				left--
			}
		}
		return struct{}{}, left == 0
	})
	return completed
}

// podP50 is the median replacement time of every pod of every rollout.
func (t together) podP50() time.Duration {
	var times []time.Duration
	for _, seen := range t.seen {
		times = append(times, watchSummary{seen}.podTimes()...)
	}
	slices.Sort(times)
	return percentile(times, 0.5)
}

func deletionsSeen(watchers []*e2eutil.PodWatcher) int {
	var n int
	for _, w := range watchers {
		n += len(w.Seen().Deletions)
	}
	return n
}

// manyFigures are BenchmarkManyRollouts' figures.
type manyFigures struct {
	rollouts, replicas, budget int
	// lone is one rollout changing alone; took are the rollouts' times when
	// all change together, sorted, and total the whole.
	lone, total time.Duration
	took        []time.Duration
	// firstDeletion is per rollout, from its image change, sorted.
	firstDeletion []time.Duration
	// podP50 is the median replacement time of a pod when all change
	// together: what the cluster's load makes of it.
	podP50       time.Duration
	operatorCPU  time.Duration
	apiServerCPU time.Duration
	// cpuUse is every process's CPU while all changed together, and the
	// machine's: where a saturated cluster's time goes.
	cpuUse  cpuUse
	peakRSS int64
	// operatorRequests are the operator's own, by HTTP method; apiRequests
	// all the API server served, by verb and resource.
	operatorRequests map[string]float64
	apiRequests      map[string]float64
	// apiRefusals are the requests the API server refused, all clients, by
	// verb, resource and code.
	apiRefusals map[string]float64
	// restartToDeletion is from the operator started again to the next
	// deletion seen; restartTotal is that round's whole time.
	restartToDeletion, restartTotal time.Duration
	// worst is the most pods of one rollout unavailable at once, deletedTwice
	// the pods deleted twice on one revision, wrongCount the rollouts whose
	// deletions differ from their replicas, over both rounds.
	worst        int
	deletedTwice []string
	wrongCount   []string
	load         string
}

// check records the budget and deletion figures of one round.
func (f *manyFigures) check(b *testing.B, t together) {
	b.Helper()
	for i, seen := range t.seen {
		f.worst = max(f.worst, seen.MaxUnavailable)
		for _, twice := range seen.DeletedTwice() {
			f.deletedTwice = append(f.deletedTwice, fmt.Sprintf("rollout %d: %s", i, twice))
		}
		if len(seen.Deletions) != f.replicas {
			f.wrongCount = append(f.wrongCount, fmt.Sprintf("rollout %d: %d", i, len(seen.Deletions)))
		}
	}
}

// replaced is the pods one round replaced.
func (f *manyFigures) replaced() float64 { return float64(f.rollouts * f.replicas) }

const (
	targetManyFirstDeletion = time.Second
	targetManyVsLone        = 1.5
	targetWritesPerPod      = 1.5
)

func (f *manyFigures) rows(row func(figure, value, target string, pass *bool), check func(bool) *bool) {
	p := func(q float64) time.Duration { return percentile(f.took, q) }
	title := fmt.Sprintf("6. %d rollouts × %d pods, budget 10%% each, changed together", f.rollouts, f.replicas)
	row(title+": first change → last Completed", secs(f.total)+" (load "+f.load+")", "", nil)
	row(fmt.Sprintf("6. … lone %d-pod rollout (reference)", f.replicas), secs(f.lone), "", nil)
	row("6. … per rollout, p50 / p90 / max", secs(p(0.5))+" / "+secs(p(0.9))+" / "+secs(p(1)), "", nil)
	ratio := p(0.9).Seconds() / f.lone.Seconds()
	row("6. … per-rollout p90 / lone", fmt.Sprintf("%.2f", ratio), fmt.Sprintf("≤ %.1f", targetManyVsLone), check(ratio <= targetManyVsLone))
	batches := (f.replicas + f.budget - 1) / f.budget
	floor := time.Duration(batches) * f.podP50
	row(fmt.Sprintf("6. … per-rollout floor under that load: %d batches × median per-pod time (%s); p90 / floor", batches, secs(f.podP50)),
		fmt.Sprintf("%s; %.2f", secs(floor), p(0.9).Seconds()/floor.Seconds()), "", nil)
	p99 := percentile(f.firstDeletion, 0.99)
	row("6. … image change → first deletion seen, p50 / p99", msecs(percentile(f.firstDeletion, 0.5))+" / "+msecs(p99),
		"p99 < "+secs(targetManyFirstDeletion), check(p99 < targetManyFirstDeletion))
	row("6. … operator CPU / kube-apiserver CPU", fmt.Sprintf("%.1f s / %.1f s", f.operatorCPU.Seconds(), f.apiServerCPU.Seconds()), "", nil)
	row("6. … CPU by process; machine busy", cpuByProcess(f.cpuUse), "", nil)
	row("6. … operator peak RSS (whole run)", mib(f.peakRSS), "", nil)
	writes := total(sample{requests: f.operatorRequests}.writes()) / f.replaced()
	row("6. … operator API writes per replaced pod (deletions included)", fmt.Sprintf("%.2f (%s)", writes, perPod(sample{requests: f.operatorRequests}.writes(), f.replaced())),
		fmt.Sprintf("≤ %.1f", targetWritesPerPod), check(writes <= targetWritesPerPod))
	row("6. … operator API requests per replaced pod, by method", perPod(f.operatorRequests, f.replaced()), "", nil)
	row("6. … API server requests per replaced pod, all clients, by verb", perPod(byVerb(f.apiRequests), f.replaced()), "", nil)
	row("6. … API server writes per replaced pod, all clients, by verb and resource", perPod(writesOnly(f.apiRequests), f.replaced()), "", nil)
	row("6. … API server refusals per replaced pod, all clients, by verb, resource and code", perPod(f.apiRefusals, f.replaced()), "", nil)
	row("7. operator SIGKILLed half-way and started again → next deletion seen", msecs(f.restartToDeletion), "", nil)
	row("7. … that round: first change → last Completed", secs(f.restartTotal), "", nil)
	row("6.–7. most pods of one rollout unavailable at one instant", fmt.Sprint(f.worst), fmt.Sprintf("≤ %d", f.budget), check(f.worst <= f.budget))
	twice := "none"
	if len(f.deletedTwice) > 0 {
		twice = strings.Join(f.deletedTwice, ", ")
	}
	row("6.–7. pods deleted twice on one revision", twice, "none", check(len(f.deletedTwice) == 0))
	wrong := "none"
	if len(f.wrongCount) > 0 {
		wrong = strings.Join(f.wrongCount, ", ")
	}
	row(fmt.Sprintf("6.–7. rollouts whose deletions seen ≠ %d", f.replicas), wrong, "none", check(len(f.wrongCount) == 0))
}

// perPod formats counts divided by pods, sorted by key, leaving out those
// under 0.01.
func perPod(counts map[string]float64, pods float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if v := counts[k] / pods; v >= 0.01 {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

// cpuByProcess lists each process's CPU seconds, most first, and the share
// of the machine's CPU time that was busy (every process, ours or not).
func cpuByProcess(u cpuUse) string {
	names := slices.SortedFunc(maps.Keys(u.byProcess), func(a, b string) int { return cmp.Compare(u.byProcess[b], u.byProcess[a]) })
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f s", name, u.byProcess[name].Seconds()))
	}
	busy := "unknown"
	if u.machineAll > 0 {
		busy = fmt.Sprintf("%.0f%%", 100*float64(u.machineBusy)/float64(u.machineAll))
	}
	return strings.Join(parts, ", ") + "; machine busy " + busy
}

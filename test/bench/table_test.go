package bench

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// figureSet collects what the benchmarks measured, for the table TestMain
// prints at the end. A nil part was not measured (benchmark filtered out or
// failed before it got there).
type figureSet struct {
	mu      sync.Mutex
	latency *latencyFigures
	rollout *rolloutFigures
	idle    *idleFigures
	native  *nativeFigures
	// nativeParallel is the native controller with maxUnavailable.
	nativeParallel *pipelineFigures
	// nativeParallelCPU is the CPU the machine used during it.
	nativeParallelCPU *cpuUse
	many              *manyFigures
}

var results figureSet

func (s *figureSet) set(f func(*figureSet)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *figureSet) measured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency != nil || s.rollout != nil || s.idle != nil || s.native != nil || s.nativeParallel != nil || s.many != nil
}

type latencyFigures struct {
	replicas int
	sorted   []time.Duration
}

// pipelineFigures are what the pod watcher saw of one update of replicas
// pods under a budget, by sroll or by the native controller.
type pipelineFigures struct {
	replicas, budget, batches int
	// total runs from the image change to the update seen complete;
	// lastReady to the last replacement seen Ready.
	total, lastReady time.Duration
	// firstDeletion is from the image change to the first deletion seen;
	// firstWave from that deletion to the budget-th.
	firstDeletion, firstWave time.Duration
	podP50, podP90           time.Duration
	// reaction is from the budget freeing to its use (watchSummary.reactions).
	reactionP50, reactionP90 time.Duration
	// ideal is the same update with a zero reaction time (watchSummary.idealPipeline).
	ideal          time.Duration
	maxUnavailable int
	deletions      int
	// load is the machine's load averages when the update completed.
	load string
}

type rolloutFigures struct {
	pipelineFigures
	rss, peakRSS int64
	cpu          cpuUse
	// operator is what the operator's metrics say it did during the rollout;
	// api the API server's time serving every client meanwhile.
	operator sample
	api      apiTimes
}

// criticalRequests are the requests on the operator's path from a freed
// slot to the next deletion, and the status write that follows: the API
// server's mean time for each says what one wave costs there.
var criticalRequests = []string{"PATCH statefulsets", "DELETE pods", "PATCH statefulsetrollouts/status", "POST events"}

// floor is the physical floor: one recreate-and-ready time per batch.
func (f *pipelineFigures) floor() time.Duration { return time.Duration(f.batches) * f.podP50 }

func (f *pipelineFigures) ratio() float64 { return f.total.Seconds() / f.floor().Seconds() }

type idleFigures struct {
	touches    int
	reconciles float64
	writes     map[string]float64
}

type nativeFigures struct {
	replicas       int
	total          time.Duration
	podP50         time.Duration
	maxUnavailable int
}

const (
	targetRatio = 1.3
	// targetVsNative is sroll's total over the native controller's with
	// maxUnavailable set to sroll's budget.
	targetVsNative  = 0.95
	targetSpeedUp   = 30.0
	targetLatency   = time.Second
	targetRSS       = 150 << 20
	nativeScaleUpTo = 1000
)

// print writes the markdown table of every figure measured.
func (s *figureSet) print(out io.Writer, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rows [][]string
	row := func(figure, value, target string, pass *bool) {
		result := ""
		if pass != nil {
			result = "FAIL"
			if *pass {
				result = "pass"
			}
		}
		rows = append(rows, []string{figure, value, target, result})
	}
	check := func(ok bool) *bool { return &ok }

	if f := s.rollout; f != nil {
		row(fmt.Sprintf("1. %d pods, maxUnavailable 10%%, one 100%% step: image change → Completed, every pod updated and Ready", f.replicas),
			secs(f.total)+" (load "+f.load+")", "", nil)
		row(fmt.Sprintf("1. per pod: deletion seen → replacement Ready, median / p90 (%d pods)", f.replicas),
			secs(f.podP50)+" / "+secs(f.podP90), "", nil)
		row(fmt.Sprintf("1. physical floor: %d batches × median per-pod time", f.batches), secs(f.floor()), "", nil)
		row("1. total / floor", fmt.Sprintf("%.2f", f.ratio()), fmt.Sprintf("≤ %.1f", targetRatio), check(f.ratio() <= targetRatio))
		row("1. where the rest goes: same per-pod times, operator reacting instantly (list schedule)", secs(f.ideal), "", nil)
		row("1. … image change → first deletion seen", msecs(f.firstDeletion), "", nil)
		row(fmt.Sprintf("1. … first %d deletions seen within", f.budget), msecs(f.firstWave), "", nil)
		row("1. … budget freed (replacement Ready seen) → next deletion seen, median / p90", msecs(f.reactionP50)+" / "+msecs(f.reactionP90), "", nil)
		var served []string
		for _, key := range criticalRequests {
			if mean, n := f.api.mean(key); n > 0 {
				served = append(served, fmt.Sprintf("%s %.0f × %.1f ms", key, n, float64(mean.Microseconds())/1000))
			}
		}
		row("1. … API server, every client: requests served × mean time", strings.Join(served, ", "), "", nil)
		row("1. … last pod seen Ready / rollout seen Completed", secs(f.lastReady)+" / "+secs(f.total), "", nil)
		if o := f.operator; o.reconciles > 0 && o.queued > 0 {
			row("1. … operator: reconciles, mean time each, mean wait in the work queue",
				fmt.Sprintf("%.0f, %s, %s", o.reconciles, msecs(o.reconcileTime/time.Duration(o.reconciles)), msecs(o.queueTime/time.Duration(o.queued))), "", nil)
			row("1. … operator: API requests by method", counts(o.requests), "", nil)
		}
		row("1. most pods unavailable at one instant (pod watcher)", fmt.Sprint(f.maxUnavailable),
			fmt.Sprintf("≤ %d", f.budget), check(f.maxUnavailable <= f.budget))
		row("1. pod deletions seen", fmt.Sprint(f.deletions), fmt.Sprint(f.replicas), check(f.deletions == f.replicas))
	}
	if f := s.nativeParallel; f != nil {
		row(fmt.Sprintf("1b. native RollingUpdate, maxUnavailable %d (gate MaxUnavailableStatefulSet), %d pods: image change → every pod updated and Ready", f.budget, f.replicas),
			secs(f.total)+" (load "+f.load+")", "", nil)
		row("1b. native, per pod: deletion seen → replacement Ready, median / p90", secs(f.podP50)+" / "+secs(f.podP90), "", nil)
		row("1b. native, total / floor", fmt.Sprintf("%.2f", f.ratio()), "", nil)
		row("1b. native, same per-pod times, controller reacting instantly (list schedule)", secs(f.ideal), "", nil)
		row("1b. native, image change → first deletion seen", msecs(f.firstDeletion), "", nil)
		row(fmt.Sprintf("1b. native, first %d deletions seen within", f.budget), msecs(f.firstWave), "", nil)
		row("1b. native, budget freed → next deletion seen, median / p90", msecs(f.reactionP50)+" / "+msecs(f.reactionP90), "", nil)
		row("1b. native, most pods unavailable at one instant", fmt.Sprint(f.maxUnavailable), fmt.Sprintf("≤ %d", f.budget), check(f.maxUnavailable <= f.budget))
		row("1b. native, pod deletions seen", fmt.Sprint(f.deletions), fmt.Sprint(f.replicas), check(f.deletions == f.replicas))
		if r := s.rollout; r != nil && r.replicas == f.replicas && r.budget == f.budget {
			ratio := r.total.Seconds() / f.total.Seconds()
			row("1b. sroll total / native total (same pods, same budget, back to back)", fmt.Sprintf("%.2f", ratio),
				fmt.Sprintf("≤ %.2f", targetVsNative), check(ratio <= targetVsNative))
			row("1b. sroll / native: total / list schedule (what each controller adds to the same per-pod times, whatever the load)",
				fmt.Sprintf("%.2f / %.2f", r.total.Seconds()/r.ideal.Seconds(), f.total.Seconds()/f.ideal.Seconds()), "", nil)
			row("1b. sroll / native: image change → first deletion", msecs(r.firstDeletion)+" / "+msecs(f.firstDeletion), "", nil)
			row("1b. sroll / native: first wave, reaction median",
				fmt.Sprintf("%s / %s, %s / %s", msecs(r.firstWave), msecs(f.firstWave), msecs(r.reactionP50), msecs(f.reactionP50)), "", nil)
		}
	}
	if f := s.many; f != nil {
		f.rows(row, check)
	}
	if f := s.native; f != nil {
		row(fmt.Sprintf("2. native RollingUpdate, %d pods, **measured**: image change → every pod updated and Ready", f.replicas),
			secs(f.total), "", nil)
		row("2. native, per pod: deletion seen → replacement Ready, median", secs(f.podP50), "", nil)
		scaled := f.total * nativeScaleUpTo / time.Duration(f.replicas)
		row(fmt.Sprintf("2. native RollingUpdate, %d pods, **scaled linearly** from %d (×%d), not measured",
			nativeScaleUpTo, f.replicas, nativeScaleUpTo/f.replicas), secs(scaled), "", nil)
		if r := s.rollout; r != nil && r.replicas == nativeScaleUpTo {
			speedUp := scaled.Seconds() / r.total.Seconds()
			row(fmt.Sprintf("2. speed-up of sroll at %d pods (scaled native / sroll)", nativeScaleUpTo),
				fmt.Sprintf("%.0f×", speedUp), fmt.Sprintf("≥ %.0f×", targetSpeedUp), check(speedUp >= targetSpeedUp))
		}
	}
	if f := s.latency; f != nil {
		p50, p90 := percentile(f.sorted, 0.5), percentile(f.sorted, 0.9)
		row(fmt.Sprintf("3. image change → first pod deletion seen, %d pods, %d runs: median", f.replicas, len(f.sorted)),
			msecs(p50), "< "+secs(targetLatency), check(p50 < targetLatency))
		row("3. … p90 / min / max", msecs(p90)+" / "+msecs(f.sorted[0])+" / "+msecs(f.sorted[len(f.sorted)-1]), "", nil)
	}
	if f := s.idle; f != nil {
		n := total(f.writes)
		value := fmt.Sprint(n)
		if n != 0 {
			value += " (" + counts(f.writes) + ")"
		}
		row(fmt.Sprintf("4. API writes by the operator while idle (%d touches, %.0f reconciles, 1000 pods)", f.touches, f.reconciles),
			value, "0", check(n == 0 && f.reconciles > 0))
	}
	if f := s.rollout; f != nil {
		row(fmt.Sprintf("5. operator RSS after the %d-pod rollout (peak during the run)", f.replicas),
			fmt.Sprintf("%s (%s)", mib(f.rss), mib(f.peakRSS)), "< "+mib(targetRSS), check(f.rss < targetRSS))
	}

	fmt.Fprintln(out)
	fmt.Fprintln(out, "## sroll performance (make bench)")
	fmt.Fprintln(out)
	printTable(out, []string{"Figure", "Value", "Target", "Result"}, rows)
	fmt.Fprintln(out)
	delay := defaultReadyDelay
	if shared != nil {
		delay = shared.readyDelay
	}
	fmt.Fprintf(out, "Local cluster (%d kwok nodes), pod ready delay %s (each pod draws 0.8–1.2×), %d cores, "+
		"%s, benchmarks took %s; load average at the end: %s.\n",
		benchNodes, delay, runtime.NumCPU(), time.Now().Format("2006-01-02 15:04 MST"), took.Round(time.Second), loadAverage())
	fmt.Fprintln(out, "Times are seen by the benchmark's pod watch and 100 ms status polling; percentiles are nearest-rank.")
	if f := s.native; f != nil {
		fmt.Fprintf(out, "Native RollingUpdate was measured on %d pods and scaled linearly to %d (it replaces one pod at a time).\n",
			f.replicas, nativeScaleUpTo)
	}
	if f := s.rollout; f != nil && f.cpu.machineAll > 0 {
		fmt.Fprintln(out)
		printCPU(out, f, s.nativeParallelCPU)
	}
	fmt.Fprintln(out)
}

// printCPU is the CPU each process used during sroll's rollout and, when
// measured, during the native controller's update of as many pods: the
// machine is saturated in both, so what one run uses more slows its pods.
func printCPU(out io.Writer, f *rolloutFigures, native *cpuUse) {
	busy := func(u cpuUse) string {
		return fmt.Sprintf("%.0f%%", 100*u.machineBusy.Seconds()/u.machineAll.Seconds())
	}
	fmt.Fprintf(out, "CPU used during the %d-pod rollout (%s wall, %d cores: %.0f core-seconds available; "+
		"the whole machine was busy %s of them)", f.replicas, secs(f.total), runtime.NumCPU(), f.cpu.machineAll.Seconds(), busy(f.cpu))
	header := []string{"Process", "CPU time", "of one core"}
	if native != nil {
		fmt.Fprintf(out, " and during the native update (%s wall, busy %s)", secs(native.machineAll/time.Duration(runtime.NumCPU())), busy(*native))
		header = append(header, "native: CPU time", "of one core")
	}
	fmt.Fprint(out, ":\n\n")
	names := make([]string, 0, len(f.cpu.byProcess))
	for name := range f.cpu.byProcess {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return int(f.cpu.byProcess[b] - f.cpu.byProcess[a]) })
	cell := func(t, wall time.Duration) []string {
		return []string{fmt.Sprintf("%.1f s", t.Seconds()), fmt.Sprintf("%.0f%%", 100*t.Seconds()/wall.Seconds())}
	}
	var rows [][]string
	row := func(name string, sroll time.Duration, native *cpuUse, nativeT time.Duration) {
		r := append([]string{name}, cell(sroll, f.total)...)
		if native != nil {
			r = append(r, cell(nativeT, native.machineAll/time.Duration(runtime.NumCPU()))...)
		}
		rows = append(rows, r)
	}
	var sum, nativeSum time.Duration
	for _, name := range names {
		var t time.Duration
		if native != nil {
			t = native.byProcess[name]
			nativeSum += t
		}
		sum += f.cpu.byProcess[name]
		row(name, f.cpu.byProcess[name], native, t)
	}
	var nativeOther time.Duration
	if native != nil {
		nativeOther = native.machineBusy - nativeSum
	}
	row("everything else on the machine", f.cpu.machineBusy-sum, native, nativeOther)
	printTable(out, header, rows)
}

// printTable writes a markdown table with its columns aligned, so it reads
// well in a terminal too.
func printTable(out io.Writer, header []string, rows [][]string) {
	widths := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, cell := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	line := func(cells []string) {
		padded := make([]string, len(cells))
		for i, cell := range cells {
			padded[i] = cell + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
		}
		fmt.Fprintln(out, "| "+strings.Join(padded, " | ")+" |")
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", widths[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}

// counts formats request counts by method, sorted by method.
func counts(byMethod map[string]float64) string {
	methods := make([]string, 0, len(byMethod))
	for m := range byMethod {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	parts := make([]string, len(methods))
	for i, m := range methods {
		parts[i] = fmt.Sprintf("%s %.0f", m, byMethod[m])
	}
	return strings.Join(parts, ", ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func msecs(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func mib(bytes int64) string { return fmt.Sprintf("%.0f MiB", float64(bytes)/(1<<20)) }

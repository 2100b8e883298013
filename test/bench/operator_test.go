package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sroll-dev/sroll/test/e2eutil"
)

// operator is the sroll operator binary running as its own process, as users
// run it, watching one namespace, with its metrics endpoint on loopback.
type operator struct {
	*e2eutil.Operator
	metricsURL string
}

// startOperator starts an operator watching the given namespaces, its log
// named after the first.
func (e *env) startOperator(b *testing.B, namespaces ...string) *operator {
	b.Helper()
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	pprofPort, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	op := &operator{
		Operator: &e2eutil.Operator{
			Bin: e2eutil.BuildOperator(b, e.stateDir),
			Args: []string{
				"--namespace=" + strings.Join(namespaces, ","),
				"--leader-elect=false",
				fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", port),
				"--health-probe-bind-address=0",
				fmt.Sprintf("--pprof-bind-address=127.0.0.1:%d", pprofPort),
				"--zap-time-encoding=rfc3339nano",
			},
			Kubeconfig: e.cluster.KubeconfigPath(),
			Log:        filepath.Join(e.logDir, namespaces[0]+".log"),
		},
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port),
	}
	op.Start(b)
	// A profile of the operator during a benchmark: go tool pprof this URL.
	progress("operator for %s: CPU profile at http://127.0.0.1:%d/debug/pprof/profile?seconds=30", namespaces[0], pprofPort)

	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := op.scrape(); err == nil {
			return op
		} else if time.Now().After(deadline) {
			b.Fatalf("the operator's metrics endpoint did not answer: %v", err)
		}
		select {
		case <-op.Exited():
			b.Fatalf("the operator exited at start")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sample is what one scrape of the operator's /metrics says.
type sample struct {
	// requests counts the API requests the operator's clients made, by
	// HTTP method (rest_client_requests_total; lists and watches are GETs).
	requests map[string]float64
	// reconciles counts the rollout controller's reconciles, any result;
	// reconcileTime is the time they took in all.
	reconciles    float64
	reconcileTime time.Duration
	// queued counts the reconcile requests taken off the work queue;
	// queueTime is the time they waited there in all.
	queued    float64
	queueTime time.Duration
}

// minus is what happened between before and s.
func (s sample) minus(before sample) sample {
	return sample{
		requests:      since(s.requests, before.requests),
		reconciles:    s.reconciles - before.reconciles,
		reconcileTime: s.reconcileTime - before.reconcileTime,
		queued:        s.queued - before.queued,
		queueTime:     s.queueTime - before.queueTime,
	}
}

// writes counts the requests that are not reads: everything but GET (and
// LIST and WATCH, should a client ever report them by name).
func (s sample) writes() map[string]float64 {
	out := map[string]float64{}
	for method, n := range s.requests {
		switch strings.ToUpper(method) {
		case "GET", "LIST", "WATCH":
		default:
			out[method] = n
		}
	}
	return out
}

// since returns the difference s - before, by method, leaving out zeros.
func since(s, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for method, n := range s {
		if d := n - before[method]; d != 0 {
			out[method] = d
		}
	}
	return out
}

func total(counts map[string]float64) float64 {
	var n float64
	for _, c := range counts {
		n += c
	}
	return n
}

func (op *operator) scrape() (sample, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(op.metricsURL)
	if err != nil {
		return sample{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return sample{}, fmt.Errorf("GET %s: %s", op.metricsURL, resp.Status)
	}
	return parseMetrics(resp.Body)
}

// controllerName is the rollout controller's name in the metrics.
const controllerName = "statefulsetrollout"

// parseMetrics reads the series it needs from the Prometheus text format.
func parseMetrics(r io.Reader) (sample, error) {
	s := sample{requests: map[string]float64{}}
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		name, labels, value, ok := parseSeries(line)
		if !ok {
			continue
		}
		seconds := time.Duration(value * float64(time.Second))
		switch {
		case name == "rest_client_requests_total":
			s.requests[labels["method"]] += value
		case labels["controller"] == controllerName && name == "controller_runtime_reconcile_total":
			s.reconciles += value
		case labels["controller"] == controllerName && name == "controller_runtime_reconcile_time_seconds_sum":
			s.reconcileTime += seconds
		case labels["name"] == controllerName && name == "workqueue_queue_duration_seconds_count":
			s.queued += value
		case labels["name"] == controllerName && name == "workqueue_queue_duration_seconds_sum":
			s.queueTime += seconds
		}
	}
	if err := scanner.Err(); err != nil {
		return s, err
	}
	if len(s.requests) == 0 {
		return s, fmt.Errorf("no rest_client_requests_total in the metrics")
	}
	return s, nil
}

// parseSeries splits `name{k="v",...} value` into its parts.
func parseSeries(line string) (name string, labels map[string]string, value float64, ok bool) {
	if line == "" || line[0] == '#' {
		return "", nil, 0, false
	}
	labels = map[string]string{}
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		name = line[:i]
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", nil, 0, false
		}
		for _, pair := range splitLabels(line[i+1 : j]) {
			k, v, found := strings.Cut(pair, "=")
			if !found {
				continue
			}
			if unquoted, err := strconv.Unquote(v); err == nil {
				v = unquoted
			}
			labels[k] = v
		}
		rest = line[j+1:]
	} else {
		name, rest, _ = strings.Cut(line, " ")
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, false
	}
	value, err := strconv.ParseFloat(fields[0], 64)
	return name, labels, value, err == nil
}

// splitLabels splits on the commas outside quoted label values.
func splitLabels(s string) []string {
	var out []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// memory reads the resident set size now and at its peak (VmRSS, VmHWM).
func memory(pid int) (rss, peak int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q: %w", key, value, err)
		}
		if key == "VmRSS" {
			rss = kib * 1024
		} else {
			peak = kib * 1024
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, peak, nil
}

// clockTicks is USER_HZ, the unit of /proc CPU times: 100 on Linux.
const clockTicks = 100

// cpuTime is the CPU time a process used so far (user + system).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(data, ')')
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// machineCPU returns the busy and total CPU time of the whole machine, all
// cores, from /proc/stat.
func machineCPU() (busy, all time.Duration, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var sum, idle int64
	for i, f := range fields[1:] {
		if i >= 8 { // guest times are already counted in user time
			break
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		sum += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	tick := time.Second / clockTicks
	return time.Duration(sum-idle) * tick, time.Duration(sum) * tick, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

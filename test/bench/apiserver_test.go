package bench

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// apiRequests reads the API server's apiserver_request_total: the requests
// it served so far from every client, keyed "VERB resource" (with
// "/subresource" when there is one).
func (e *env) apiRequests(b *testing.B) map[string]float64 {
	return e.apiSeries(b, "apiserver_request_total")
}

// apiRefusals reads the requests the API server refused so far (a 4xx or
// 5xx answer: a conflict, a pod already gone), keyed "VERB resource code".
// They are load that moves nothing: the simulated kubelet's and kwok's
// deletions and patches of pods that changed meanwhile show here.
func (e *env) apiRefusals(b *testing.B) map[string]float64 {
	out := map[string]float64{}
	e.scrapeAPIServer(b, func(name string, labels map[string]string, value float64) {
		if name == "apiserver_request_total" && labels["code"] >= "400" {
			out[requestKey(labels)+" "+labels["code"]] += value
		}
	})
	return out
}

// apiLatency reads the API server's apiserver_request_duration_seconds so
// far: the seconds spent serving, and the requests served, keyed as
// apiRequests keys them.
func (e *env) apiLatency(b *testing.B) apiTimes {
	return apiTimes{
		seconds:  e.apiSeries(b, "apiserver_request_duration_seconds_sum"),
		requests: e.apiSeries(b, "apiserver_request_duration_seconds_count"),
	}
}

// apiSeries sums the API server's series of one name, keyed "VERB resource".
func (e *env) apiSeries(b *testing.B, series string) map[string]float64 {
	out := map[string]float64{}
	e.scrapeAPIServer(b, func(name string, labels map[string]string, value float64) {
		if name == series {
			out[requestKey(labels)] += value
		}
	})
	return out
}

// requestKey is "VERB resource", with "/subresource" when there is one.
func requestKey(labels map[string]string) string {
	key := labels["verb"] + " " + labels["resource"]
	if sub := labels["subresource"]; sub != "" {
		key += "/" + sub
	}
	return key
}

// scrapeAPIServer reads the API server's metrics and gives each series to use.
func (e *env) scrapeAPIServer(b *testing.B, use func(name string, labels map[string]string, value float64)) {
	b.Helper()
	data, err := e.clientset.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("read the API server's metrics: %v", err)
	}
	for _, line := range strings.Split(string(bytes.TrimSpace(data)), "\n") {
		if name, labels, value, ok := parseSeries(line); ok {
			use(name, labels, value)
		}
	}
}

// apiTimes is the API server's time serving requests, by "VERB resource".
type apiTimes struct{ seconds, requests map[string]float64 }

func (t apiTimes) minus(before apiTimes) apiTimes {
	return apiTimes{seconds: since(t.seconds, before.seconds), requests: since(t.requests, before.requests)}
}

// mean is the mean time the API server took to serve one request of key,
// and how many it served.
func (t apiTimes) mean(key string) (time.Duration, float64) {
	n := t.requests[key]
	if n == 0 {
		return 0, 0
	}
	return time.Duration(t.seconds[key] / n * float64(time.Second)), n
}

// byVerb sums requests keyed "VERB resource" by verb.
func byVerb(requests map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for key, n := range requests {
		verb, _, _ := strings.Cut(key, " ")
		out[verb] += n
	}
	return out
}

// writesOnly keeps the requests keyed "VERB resource" that are not reads.
func writesOnly(requests map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for key, n := range requests {
		verb, _, _ := strings.Cut(key, " ")
		switch verb {
		case "GET", "LIST", "WATCH", "WATCHLIST":
		default:
			out[key] = n
		}
	}
	return out
}

// loadAverage is the machine's 1-, 5- and 15-minute load averages.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(data))[:3], " ")
}

package gatee2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// exporter serves app_errors_total for the pods of one rollout, labelled
// with each pod's revision: the value is what the test set for the pod's
// image tag (0 unless set), so the test decides how bad a revision is.
type exporter struct {
	c         client.Client
	namespace string
	rollout   string
	srv       *httptest.Server

	mu     sync.Mutex
	errors map[string]float64 // by image tag
}

func startExporter(t *testing.T, c client.Client, namespace, rollout string) *exporter {
	e := &exporter{c: c, namespace: namespace, rollout: rollout, errors: map[string]float64{}}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// setErrors sets the error count of the pods running Image:tag.
func (e *exporter) setErrors(tag string, n float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errors[tag] = n
}

func (e *exporter) serve(w http.ResponseWriter, r *http.Request) {
	var pods corev1.PodList
	if err := e.c.List(r.Context(), &pods, client.InNamespace(e.namespace), client.MatchingLabels{"app": e.rollout}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var lines []string
	for _, pod := range pods.Items {
		tag := pod.Spec.Containers[0].Image[strings.LastIndex(pod.Spec.Containers[0].Image, ":")+1:]
		lines = append(lines, fmt.Sprintf("app_errors_total{namespace=%q,pod=%q,revision=%q} %g",
			pod.Namespace, pod.Name, pod.Labels[appsv1.ControllerRevisionHashLabelKey], e.errors[tag]))
	}
	sort.Strings(lines)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE app_errors_total counter\n%s\n", strings.Join(lines, "\n"))
}

// prometheus is Debian's prometheus, as its own process, scraping one
// target every second.
type prometheus struct {
	url    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startPrometheus starts Prometheus on a free loopback port, with a
// configuration scraping target (host:port), and waits until it is ready.
func startPrometheus(t *testing.T, target string) *prometheus {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("Debian's prometheus package is needed (make test installs it): %v", err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
- job_name: app
  static_configs:
  - targets: [%q]
`, target), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddress(t)
	p := &prometheus{url: "http://" + addr, exited: make(chan struct{})}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); _ = logFile.Close(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			t.Logf("prometheus log:\n%s", out)
		}
	})
	// Ready, and the target scraped: Prometheus applies its targets a few
	// seconds after it starts.
	e2eutil.Eventually(t, time.Minute, "prometheus scraping "+target, func() (bool, string) {
		resp, err := http.Get(p.url + "/api/v1/query?query=" + url.QueryEscape(`up{job="app"} == 1`))
		if err != nil {
			return false, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		var answer struct {
			Data struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			return false, resp.Status + ": " + err.Error()
		}
		return len(answer.Data.Result) == 1, fmt.Sprintf("%s, %d targets up", resp.Status, len(answer.Data.Result))
	})
	return p
}

// stop ends Prometheus by its pid and waits until it exited.
func (p *prometheus) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// freeAddress is a loopback address with a port free right now.
func freeAddress(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// hostOf is a URL's host:port.
func hostOf(address string) string { return strings.TrimPrefix(address, "http://") }

// checkPods checks that every pod of the rollout runs revision.
func checkPods(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout, revision string) {
	t.Helper()
	var pods corev1.PodList
	if err := c.List(context.Background(), &pods, client.InNamespace(r.Namespace), client.MatchingLabels{"app": r.Name}); err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods.Items {
		if got := pod.Labels[appsv1.ControllerRevisionHashLabelKey]; got != revision {
			t.Errorf("pod %s runs %s, want %s", pod.Name, got, revision)
		}
	}
}

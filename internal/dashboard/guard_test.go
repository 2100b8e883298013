package dashboard

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/cli/render"
)

// recordedRollouts records the actions that reach it.
type recordedRollouts struct{ acted []string }

func (*recordedRollouts) List(context.Context, client.Reader, string) ([]render.Row, error) {
	return nil, nil
}

func (*recordedRollouts) Read(context.Context, client.Client, string, string, time.Time) (*v1alpha1.StatefulSetRollout, render.Model, error) {
	return nil, render.Model{}, nil
}

func (r *recordedRollouts) Act(_ context.Context, _ client.Client, namespace, name, action string) (string, error) {
	r.acted = append(r.acted, action+" "+namespace+"/"+name)
	return action + " requested", nil
}

// testServer is a dashboard on loopback port 3100 with one cluster, kind,
// whose actions are recorded.
func testServer(t *testing.T) (*server, *recordedRollouts) {
	t.Helper()
	rollouts := &recordedRollouts{}
	names, _ := hostNames("127.0.0.1")
	s := &server{Options: Options{Rollouts: rollouts, ErrOut: &strings.Builder{}}, guard: newGuard("3100", names...), changes: newChanges(), byName: map[string]*cluster{}}
	c := newCluster(Cluster{Name: "kind", Config: &rest.Config{}}, s.changes)
	c.client = fake.NewClientBuilder().Build()
	c.state = stateReady
	s.clusters, s.byName["kind"] = []*cluster{c}, c
	return s, rollouts
}

// serve sends one request to the dashboard at 127.0.0.1:3100; header may
// set Host.
func serve(s *server, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1:3100"+path, strings.NewReader(body))
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	s.routes().ServeHTTP(w, req)
	return w
}

const promoteBody = `{"cluster":"kind","namespace":"shop","name":"kv","action":"promote"}`

func TestActionsNeedTheOriginAndTheToken(t *testing.T) {
	s, rollouts := testServer(t)
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
		says   string
	}{
		{"the page's own request", map[string]string{"Origin": "http://127.0.0.1:3100", tokenHeader: s.guard.token}, http.StatusOK, "promote requested"},
		{"by localhost", map[string]string{"Host": "localhost:3100", "Origin": "http://localhost:3100", tokenHeader: s.guard.token}, http.StatusOK, "promote requested"},
		{"another site's form or fetch", map[string]string{"Origin": "https://evil.example", tokenHeader: s.guard.token}, http.StatusForbidden, "another site"},
		{"a sandboxed frame", map[string]string{"Origin": "null", tokenHeader: s.guard.token}, http.StatusForbidden, "another site"},
		{"another origin on loopback", map[string]string{"Origin": "http://127.0.0.1:8080", tokenHeader: s.guard.token}, http.StatusForbidden, "another site"},
		{"https to the same host", map[string]string{"Origin": "https://127.0.0.1:3100", tokenHeader: s.guard.token}, http.StatusForbidden, "another site"},
		{"cross-site by fetch metadata", map[string]string{"Origin": "http://127.0.0.1:3100", "Sec-Fetch-Site": "cross-site", tokenHeader: s.guard.token}, http.StatusForbidden, "Sec-Fetch-Site"},
		{"DNS rebinding", map[string]string{"Host": "evil.example:3100", "Origin": "http://evil.example:3100", tokenHeader: s.guard.token}, http.StatusForbidden, "DNS rebinding"},
		{"another port in Host", map[string]string{"Host": "127.0.0.1:9999", "Origin": "http://127.0.0.1:9999", tokenHeader: s.guard.token}, http.StatusForbidden, "Host"},
		{"no token", map[string]string{"Origin": "http://127.0.0.1:3100"}, http.StatusForbidden, "token"},
		{"a wrong token", map[string]string{"Origin": "http://127.0.0.1:3100", tokenHeader: newToken()}, http.StatusForbidden, "token"},
		{"no Origin (not a browser page's fetch)", map[string]string{tokenHeader: s.guard.token}, http.StatusForbidden, "Origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rollouts.acted = nil
			w := serve(s, http.MethodPost, "/api/action", promoteBody, tc.header)
			if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.says) {
				t.Errorf("got %d %q, want %d saying %q", w.Code, w.Body.String(), tc.want, tc.says)
			}
			if acted := len(rollouts.acted) > 0; acted != (tc.want == http.StatusOK) {
				t.Errorf("actions carried out: %v", rollouts.acted)
			}
			if got := w.Header().Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q, want DENY: no other site may frame the buttons", got)
			}
			if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q lacks frame-ancestors 'none'", got)
			}
		})
	}
}

func TestPagesAndStreamsRefuseOtherSites(t *testing.T) {
	s, _ := testServer(t)
	for _, tc := range []struct {
		name, path string
		header     map[string]string
		want       int
	}{
		{"the page, typed in", "/", map[string]string{"Sec-Fetch-Site": "none"}, http.StatusOK},
		{"a script, from the page", "/app.js", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"the page, by a rebound name", "/", map[string]string{"Host": "evil.example:3100"}, http.StatusForbidden},
		{"the stream, from another site", "/api/list/events", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"the stream, by a rebound name", "/api/list/events", map[string]string{"Host": "attacker.test:3100"}, http.StatusForbidden},
		{"an action by GET is no action", "/api/action", nil, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(s, http.MethodGet, tc.path, "", tc.header)
			if w.Code != tc.want {
				t.Errorf("got %d %q, want %d", w.Code, w.Body.String(), tc.want)
			}
		})
	}
}

func TestTheStreamGivesTheTokenThenTheView(t *testing.T) {
	s, _ := testServer(t)
	ts := httptest.NewServer(nil)
	defer ts.Close()
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	s.guard.port = port
	ts.Config.Handler = s.routes()
	res, err := http.Get(ts.URL + "/api/list/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if got := res.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Errorf("Content-Type %q", got)
	}
	// The first view comes at once; the stream then waits for a change.
	var got strings.Builder
	for lines := bufio.NewScanner(res.Body); lines.Scan(); {
		got.WriteString(lines.Text() + "\n")
		if strings.HasPrefix(lines.Text(), "data: {\"clusters\"") {
			break
		}
	}
	want := "retry: 1000\nevent: hello\ndata: {\"token\":\"" + s.guard.token + "\"}\n\nevent: view\ndata: {\"clusters\":[{\"name\":\"kind\",\"state\":\"ready\"}],\"rollouts\":[]}\n"
	if got.String() != want {
		t.Errorf("the stream sent\n%q\nwant\n%q", got.String(), want)
	}
}

func TestListeningOffLoopbackIsLoud(t *testing.T) {
	for _, tc := range []struct {
		address  string
		loopback bool
		names    []string
	}{
		{"127.0.0.1", true, []string{"localhost"}},
		{"::1", true, []string{"localhost"}},
		{"localhost", true, []string{"localhost"}},
		{"10.1.2.3", false, nil},
		{"dash.internal", false, []string{"dash.internal"}},
	} {
		names, _ := hostNames(tc.address)
		if isLoopback(tc.address) != tc.loopback || strings.Join(names, ",") != strings.Join(tc.names, ",") {
			t.Errorf("%s: loopback %t, names %v; want %t, %v", tc.address, isLoopback(tc.address), names, tc.loopback, tc.names)
		}
	}
	var errOut strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Serve(ctx, Options{Address: "0.0.0.0", Port: 0, Out: &strings.Builder{}, ErrOut: &errOut}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "WARNING: the dashboard listens on 0.0.0.0:") || !strings.Contains(errOut.String(), "YOUR credentials") {
		t.Errorf("listening on all interfaces said %q", errOut.String())
	}
}

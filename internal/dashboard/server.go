package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

//go:embed web
var web embed.FS

// actionTimeout bounds one action's reads and writes.
const actionTimeout = 30 * time.Second

// ErrUnknownAction is what Rollouts.Act wraps for an action it does not know.
var ErrUnknownAction = errors.New("unknown action")

// Options configures Serve.
type Options struct {
	// Address is the address to listen on: loopback unless the user says
	// otherwise; Port 0 picks a free port.
	Address string
	Port    int
	// Clusters are shown in this order.
	Clusters []Cluster
	// Scheme knows sroll's types and the core ones.
	Scheme   *runtime.Scheme
	Rollouts Rollouts
	// Out gets the dashboard's URL; ErrOut the warnings and the actions taken.
	Out, ErrOut io.Writer
}

type server struct {
	Options
	guard    *guard
	changes  *changes
	clusters []*cluster
	byName   map[string]*cluster
}

// Serve serves the dashboard until ctx ends.
func Serve(ctx context.Context, o Options) error {
	listener, err := net.Listen("tcp", net.JoinHostPort(o.Address, strconv.Itoa(o.Port)))
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(listener.Addr().String())
	names, shown := hostNames(o.Address)
	if !isLoopback(o.Address) {
		fmt.Fprintf(o.ErrOut, "WARNING: the dashboard listens on %s, not on loopback: anyone who can reach\n"+
			"WARNING: this address can see your rollouts and, with the session token a page\n"+
			"WARNING: gets, promote, abort and undo them with YOUR credentials. Use\n"+
			"WARNING: --address 127.0.0.1 (the default) and an SSH tunnel instead.\n", net.JoinHostPort(o.Address, port))
	}
	s := &server{Options: o, guard: newGuard(port, names...), changes: newChanges(), byName: map[string]*cluster{}}
	for _, c := range o.Clusters {
		cl := newCluster(c, s.changes)
		s.clusters = append(s.clusters, cl)
		s.byName[c.Name] = cl
		go cl.run(ctx, o.Scheme)
	}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	fmt.Fprintf(o.Out, "sroll dashboard: http://%s/ (Ctrl-C to stop)\n", net.JoinHostPort(shown, port))
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Event streams end with ctx (BaseContext); Shutdown waits for them.
	_ = srv.Shutdown(shutdown)
	return nil
}

// isLoopback is true for an address only this machine reaches.
func isLoopback(address string) bool {
	if strings.EqualFold(address, "localhost") {
		return true
	}
	ip := net.ParseIP(address)
	return ip != nil && ip.IsLoopback()
}

// hostNames are the names a Host header may carry besides IP addresses,
// and the host the printed URL uses.
func hostNames(address string) (names []string, shown string) {
	switch {
	case isLoopback(address):
		return []string{"localhost"}, address
	case net.ParseIP(address) != nil && !net.ParseIP(address).IsUnspecified():
		return nil, address
	case address != "" && net.ParseIP(address) == nil:
		return []string{address}, address
	}
	// All interfaces: the machine's own name.
	host, err := os.Hostname()
	if err != nil {
		return nil, "0.0.0.0"
	}
	return []string{host}, host
}

func (s *server) routes() http.Handler {
	assets, _ := fs.Sub(web, "web")
	mux := http.NewServeMux()
	mux.Handle("GET /", s.guard.wrap(false, http.FileServerFS(assets)))
	mux.Handle("GET /api/list/events", s.guard.wrap(false, http.HandlerFunc(s.listEvents)))
	mux.Handle("GET /api/rollout/events", s.guard.wrap(false, http.HandlerFunc(s.rolloutEvents)))
	mux.Handle("POST /api/action", s.guard.wrap(true, http.HandlerFunc(s.action)))
	return mux
}

func (s *server) listEvents(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, Key{}, func(ctx context.Context) any { return s.list(ctx) })
}

func (s *server) rolloutEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	key := Key{Cluster: q.Get("cluster"), Namespace: q.Get("namespace"), Name: q.Get("name")}
	if key.Cluster == "" || key.Namespace == "" || key.Name == "" {
		http.Error(w, "cluster, namespace and name are required", http.StatusBadRequest)
		return
	}
	s.stream(w, r, key, func(ctx context.Context) any { return s.rollout(ctx, key) })
}

// list reads every cluster's rollouts from its informers.
func (s *server) list(ctx context.Context) List {
	l := List{Clusters: []ClusterState{}, Rollouts: []Row{}}
	for _, c := range s.clusters {
		state := c.status()
		if reader := c.reader(); reader != nil && state.State == stateReady {
			rows, err := s.Rollouts.List(ctx, reader, c.Namespace)
			if err != nil {
				state.Error = err.Error()
			}
			for _, row := range rows {
				l.Rollouts = append(l.Rollouts, newRow(c.Name, row))
			}
		}
		l.Clusters = append(l.Clusters, state)
	}
	sort.SliceStable(l.Rollouts, func(i, j int) bool {
		a, b := l.Rollouts[i], l.Rollouts[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return l
}

// RolloutPage is what the rollout page's stream sends: the rollout, or the
// problem that keeps it from being shown.
type RolloutPage struct {
	Cluster ClusterState `json:"cluster"`
	Rollout *Rollout     `json:"rollout,omitempty"`
	Problem string       `json:"problem,omitempty"`
}

func (s *server) rollout(ctx context.Context, key Key) RolloutPage {
	c, ok := s.byName[key.Cluster]
	if !ok {
		return RolloutPage{Cluster: ClusterState{Name: key.Cluster}, Problem: fmt.Sprintf("no cluster %q: the dashboard shows %s", key.Cluster, s.clusterNames())}
	}
	p := RolloutPage{Cluster: c.status()}
	reader := c.reader()
	if reader == nil {
		p.Problem = "cluster " + c.Name + " is " + p.Cluster.State
		return p
	}
	r, m, err := s.Rollouts.Read(ctx, reader, key.Namespace, key.Name, time.Now())
	if err != nil {
		p.Problem = err.Error()
		return p
	}
	v := newRollout(c.Name, r, m)
	p.Rollout = &v
	return p
}

func (s *server) clusterNames() string {
	var names []string
	for _, c := range s.clusters {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

// actionRequest is the body of POST /api/action.
type actionRequest struct {
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Action    string `json:"action"`
}

// actionResult is its answer: what was done, or why not.
type actionResult struct {
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (s *server) action(w http.ResponseWriter, r *http.Request) {
	var req actionRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, actionResult{Error: "the request is not an action: " + err.Error()})
		return
	}
	c, ok := s.byName[req.Cluster]
	if !ok {
		writeJSON(w, http.StatusNotFound, actionResult{Error: fmt.Sprintf("no cluster %q", req.Cluster)})
		return
	}
	reader := c.reader()
	if reader == nil {
		writeJSON(w, http.StatusServiceUnavailable, actionResult{Error: "cluster " + c.Name + " is " + c.status().State})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	message, err := s.Rollouts.Act(ctx, reader, req.Namespace, req.Name, req.Action)
	if err != nil {
		fmt.Fprintf(s.ErrOut, "%s of %s/%s in %s refused: %v\n", req.Action, req.Namespace, req.Name, c.Name, err)
		writeJSON(w, refusalStatus(err), actionResult{Error: err.Error()})
		return
	}
	fmt.Fprintf(s.ErrOut, "%s (%s)\n", message, c.Name)
	writeJSON(w, http.StatusOK, actionResult{Message: message})
}

// refusalStatus is the HTTP status of a refused action: the API server's
// own (403 when the user may not write the rollout), else 409, the action
// not fitting the rollout's phase.
func refusalStatus(err error) int {
	var status apierrors.APIStatus
	switch {
	case errors.Is(err, ErrUnknownAction):
		return http.StatusBadRequest
	case errors.As(err, &status) && status.Status().Code >= 400:
		return int(status.Status().Code)
	}
	return http.StatusConflict
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

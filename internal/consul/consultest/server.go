// Package consultest is a local server speaking the part of Consul's HTTP
// API sroll uses (GET /v1/health/service/:service, PUT
// /v1/agent/service/maintenance/:id), as the agent answers it, so that
// tests drive sroll's real Consul client against it. Consul itself cannot
// be installed here. It records every maintenance change, for tests to
// check the drain.
package consultest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maintenanceCheck is the ID prefix Consul gives an instance's
// maintenance check.
const maintenanceCheck = "_service_maintenance:"

// Change is one maintenance change of an instance.
type Change struct {
	Instance string
	Enabled  bool
	Reason   string
	At       time.Time
}

// Server is a Consul agent with one node and the instances registered.
type Server struct {
	srv *httptest.Server

	mu        sync.Mutex
	index     uint64
	instances map[string]*instance
	changes   []Change
}

type instance struct {
	service, address string
	// status is the instance's own check: passing, warning or critical.
	status      string
	maintenance string // reason; "" when not in maintenance
	inMaint     bool
}

// NewServer starts a server; Close it when done.
func NewServer() *Server {
	s := &Server{instances: map[string]*instance{}, index: 1}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the agent's address.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Register registers an instance of service (its own check passing); an
// instance registered again keeps its maintenance, as the agent's
// registration does.
func (s *Server) Register(service, id, address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[id]
	if !ok {
		in = &instance{status: "passing"}
		s.instances[id] = in
	}
	in.service, in.address = service, address
	s.index++
}

// SetStatus sets the status of an instance's own check.
func (s *Server) SetStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[id]; ok {
		in.status = status
		s.index++
	}
}

// Changes are the maintenance changes so far, oldest first.
func (s *Server) Changes() []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Change(nil), s.changes...)
}

// InMaintenance reports whether the instance is in maintenance mode.
func (s *Server) InMaintenance(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[id]
	return ok && in.inMaint
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/health/service/"):
		s.health(w, strings.TrimPrefix(r.URL.Path, "/v1/health/service/"))
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/agent/service/maintenance/"):
		s.maintenance(w, r, strings.TrimPrefix(r.URL.Path, "/v1/agent/service/maintenance/"))
	default:
		http.NotFound(w, r)
	}
}

// Shapes of Consul's JSON, the fields sroll's client reads.
type (
	node        struct{ Node, Address string }
	service     struct{ ID, Service, Address string }
	healthCheck struct{ Node, CheckID, Name, Status, Notes, ServiceID, ServiceName string }
	entry       struct {
		Node    node
		Service service
		Checks  []healthCheck
	}
)

// health answers /v1/health/service/:service: each instance with its
// node's check, its own and, in maintenance, the critical maintenance check.
func (s *Server) health(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.instances))
	for id, in := range s.instances {
		if in.service == name {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	entries := make([]entry, 0, len(ids))
	for _, id := range ids {
		in := s.instances[id]
		checks := []healthCheck{
			{Node: "node-1", CheckID: "serfHealth", Name: "Serf Health Status", Status: "passing"},
			{Node: "node-1", CheckID: "service:" + id, Name: "Service '" + name + "' check", Status: in.status, ServiceID: id, ServiceName: name},
		}
		if in.inMaint {
			checks = append(checks, healthCheck{Node: "node-1", CheckID: maintenanceCheck + id, Name: "Service Maintenance Mode",
				Status: "critical", Notes: in.maintenance, ServiceID: id, ServiceName: name})
		}
		entries = append(entries, entry{Node: node{Node: "node-1", Address: "127.0.0.1"}, Service: service{ID: id, Service: name, Address: in.address}, Checks: checks})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Consul-Index", strconv.FormatUint(s.index, 10))
	w.Header().Set("X-Consul-KnownLeader", "true")
	w.Header().Set("X-Consul-LastContact", "0")
	_ = json.NewEncoder(w).Encode(entries)
}

// maintenance answers PUT /v1/agent/service/maintenance/:id?enable=&reason=.
func (s *Server) maintenance(w http.ResponseWriter, r *http.Request, id string) {
	enable, err := strconv.ParseBool(r.URL.Query().Get("enable"))
	if err != nil {
		http.Error(w, "Missing value for enable", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[id]
	if !ok {
		http.Error(w, "Unknown service ID \""+id+"\"", http.StatusNotFound)
		return
	}
	reason := r.URL.Query().Get("reason")
	if enable == in.inMaint {
		// Consul keeps the maintenance (and reason) already set.
		return
	}
	in.inMaint, in.maintenance = enable, ""
	if enable {
		in.maintenance = reason
	}
	s.index++
	s.changes = append(s.changes, Change{Instance: id, Enabled: enable, Reason: reason, At: time.Now()})
}

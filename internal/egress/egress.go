// Package egress decides where the operator may connect on behalf of a
// rollout: notification targets today, gates and hooks later. A rollout's
// author chooses those URLs, and the operator connects from its own network
// position, often with a Secret's value in the request; the cluster admin
// bounds them with the operator's --allowed-hosts flag.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// DefaultAllowedHosts is the --allowed-hosts default: the Slack Web API,
// the one host every install needs. A webhook receiver (or a Slack proxy)
// must be listed by the admin: an author who may create a rollout but not
// read the namespace's Secrets must not be able to point a target, and an
// opted-in token with it, at a server of their own.
const DefaultAllowedHosts = "slack.com"

// Hosts is a list of host patterns a URL's host must match: an exact name
// or IP address ("hooks.example.com", "10.0.0.7"), "*." and a domain for
// any name below it ("*.example.com", not example.com itself), or "*" for
// any host. Names compare case-insensitively; ports are not part of it.
type Hosts struct {
	patterns []string
}

// ParseHosts reads a comma-separated list of host patterns.
func ParseHosts(list string) (Hosts, error) {
	var h Hosts
	for p := range strings.SplitSeq(list, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		name := strings.TrimPrefix(p, "*.")
		if p != "*" && (name == "" || strings.ContainsAny(name, "*/:@ ")) {
			return Hosts{}, fmt.Errorf("host pattern %q: want a host name, an IP address, *.domain or *", p)
		}
		h.patterns = append(h.patterns, p)
	}
	return h, nil
}

// String lists the patterns as the flag takes them.
func (h Hosts) String() string { return strings.Join(h.patterns, ",") }

// NotAllowedError is the error for a host outside the list.
type NotAllowedError struct {
	Host    string
	Allowed Hosts
}

func (e *NotAllowedError) Error() string {
	allowed := e.Allowed.String()
	if allowed == "" {
		allowed = "none"
	}
	return fmt.Sprintf("host %q is not in the operator's --allowed-hosts (%s): a cluster admin must add it", e.Host, allowed)
}

// Check returns nil when rawURL may be connected to, else a
// *NotAllowedError.
func (h Hosts) Check(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return &NotAllowedError{Host: rawURL, Allowed: h}
	}
	return h.checkHost(u.Hostname())
}

func (h Hosts) checkHost(host string) error {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host != "" {
		for _, p := range h.patterns {
			if h.matches(p, host) {
				return nil
			}
		}
	}
	return &NotAllowedError{Host: host, Allowed: h}
}

func (Hosts) matches(pattern, host string) bool {
	if pattern == "*" || pattern == host {
		return true
	}
	domain, wildcard := strings.CutPrefix(pattern, "*.")
	// An IP address has no subdomains: *.0.0.7 must not match 10.0.0.7.
	return wildcard && net.ParseIP(host) == nil && strings.HasSuffix(host, "."+domain)
}

// MustParseHosts is ParseHosts for constants; it panics on a bad pattern.
func MustParseHosts(list string) Hosts {
	h, err := ParseHosts(list)
	if err != nil {
		panic(err)
	}
	return h
}

// Client returns a copy of c whose redirects are held to the list too: a
// redirect is a connection to another host the author chose. Its error
// wraps the *NotAllowedError.
func (h Hosts) Client(c *http.Client) *http.Client {
	copied := *c
	next := c.CheckRedirect
	copied.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := h.checkHost(req.URL.Hostname()); err != nil {
			return fmt.Errorf("redirected: %w", err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &copied
}

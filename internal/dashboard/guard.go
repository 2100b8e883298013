package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// tokenHeader carries the session token on every action.
const tokenHeader = "X-Sroll-Token"

// guard keeps other sites out of the dashboard, which acts with the user's
// own credentials. A page of another site open in the same browser can
// send requests to loopback; three checks stop it:
//
//   - Host must name this server by an IP address or a name it was told
//     (DNS rebinding: the attacker's name resolving to 127.0.0.1 arrives
//     with the attacker's name in Host);
//   - a request a browser marks as coming from another origin (Origin,
//     Sec-Fetch-Site) is refused, so no other page reads or acts;
//   - actions also need the session token, which only a page of this
//     origin can read (it comes in the event stream), and a custom
//     header, which a cross-site form cannot send.
type guard struct {
	token string
	port  string
	// names are the host names accepted besides IP addresses, lower case.
	names map[string]bool
}

// newGuard guards a server listening on port, reachable under names (the
// bind address when it is a name, localhost when it is loopback).
func newGuard(port string, names ...string) *guard {
	g := &guard{token: newToken(), port: port, names: map[string]bool{}}
	for _, name := range names {
		g.names[strings.ToLower(name)] = true
	}
	return g
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// check says why a request is refused, or "" when it may go on.
// Actions also need the token.
func (g *guard) check(r *http.Request, action bool) string {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil || port != g.port {
		return "the Host header does not name this dashboard"
	}
	if net.ParseIP(strings.Trim(host, "[]")) == nil && !g.names[strings.ToLower(host)] {
		return "the Host header " + host + " is not a name of this dashboard (DNS rebinding?)"
	}
	origin := r.Header.Get("Origin")
	if origin != "" && !g.sameOrigin(origin, r.Host) {
		return "requests from another site (Origin " + origin + ") are refused"
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "requests from another site (Sec-Fetch-Site " + site + ") are refused"
	}
	if !action {
		return ""
	}
	if origin == "" {
		return "an action needs the Origin header a browser sends"
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(tokenHeader)), []byte(g.token)) != 1 {
		return "the session token is missing or stale: reload the page"
	}
	return ""
}

func (g *guard) sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Scheme == "http" && u.Host == host && u.Path == ""
}

// wrap refuses what check refuses and sets the headers that keep the page
// out of other sites' frames (clickjacking) and its scripts its own.
func (g *guard) wrap(action bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if why := g.check(r, action); why != "" {
			http.Error(w, why, http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

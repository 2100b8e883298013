package egress_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sroll-dev/sroll/internal/egress"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		list, url string
		allowed   bool
	}{
		{"slack.com", "https://slack.com/api/", true},
		{"slack.com", "https://SLACK.com./api/", true},
		{"slack.com", "https://evil.slack.com.attacker.example/api/", false},
		{"slack.com", "https://slack.com@attacker.example/", false},
		{"*.example.com", "https://hooks.example.com:8443/x", true},
		{"*.example.com", "https://example.com/x", false},
		{"*.example.com", "https://hooksexample.com/x", false},
		{"*.0.0.7", "http://10.0.0.7/", false},
		{"10.0.0.7", "http://10.0.0.7:9000/", true},
		{"*", "http://anything.internal/", true},
		{"", "https://slack.com/api/", false},
		{"slack.com", "not a url\x7f", false},
	} {
		h, err := egress.ParseHosts(tc.list)
		if err != nil {
			t.Fatalf("ParseHosts(%q): %v", tc.list, err)
		}
		err = h.Check(tc.url)
		if got := err == nil; got != tc.allowed {
			t.Errorf("hosts %q: Check(%q) = %v, want allowed=%v", tc.list, tc.url, err, tc.allowed)
		}
		if _, ok := errors.AsType[*egress.NotAllowedError](err); err != nil && !ok {
			t.Errorf("hosts %q: Check(%q) = %T, want a *NotAllowedError", tc.list, tc.url, err)
		}
	}
}

func TestParseHostsRefusesURLsAndInnerWildcards(t *testing.T) {
	for _, bad := range []string{"https://slack.com", "hooks.*.example.com", "*.", "slack.com:443", "user@host"} {
		if _, err := egress.ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) succeeded, want an error", bad)
		}
	}
}

// A redirect is held to the list: the client does not follow it to a host
// outside, and says which host it refused.
func TestClientHoldsRedirectsToTheList(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("the redirect was followed to a host outside the list")
	}))
	defer elsewhere.Close()
	// The same server by another name: 127.0.0.1 is allowed, localhost not.
	target := strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)
	allowed := httptest.NewServer(http.RedirectHandler(target, http.StatusTemporaryRedirect))
	defer allowed.Close()

	c := egress.MustParseHosts("127.0.0.1").Client(http.DefaultClient)
	resp, err := c.Get(allowed.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("the redirect to localhost was followed")
	}
	if e, ok := errors.AsType[*egress.NotAllowedError](err); !ok || e.Host != "localhost" {
		t.Errorf("error = %v, want a *NotAllowedError for localhost", err)
	}
}

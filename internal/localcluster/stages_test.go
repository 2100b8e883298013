package localcluster

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestImageTagRules(t *testing.T) {
	neverReady, crash := regexp.MustCompile(neverReadyImage), regexp.MustCompile(crashImage)
	for _, tc := range []struct {
		image             string
		neverReady, crash bool
	}{
		{"app:v1", false, false},
		{"app", false, false},
		{"app:broken", true, false},
		{"registry.example:5000/team/app:broken-v2", true, false},
		{"app:crash", true, true},
		{"app:crashloop@sha256:0123abcd", true, true},
		{"registry.example:5000/broken/app:v1", false, false},
		{"crash:v1", false, false},
		{"app:v1-broken", false, false},
	} {
		if got := neverReady.MatchString(tc.image); got != tc.neverReady {
			t.Errorf("%s: never ready = %v, want %v", tc.image, got, tc.neverReady)
		}
		if got := crash.MatchString(tc.image); got != tc.crash {
			t.Errorf("%s: crash = %v, want %v", tc.image, got, tc.crash)
		}
	}
}

func TestKwokConfigCarriesReadyDelay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kwok.yaml")
	if err := writeKwokConfig(path, 2*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	config := string(data)
	for _, want := range []string{"durationMilliseconds: 1600", "jitterDurationMilliseconds: 2400", "kind: KwokConfiguration", "name: pod-ready"} {
		if !strings.Contains(config, want) {
			t.Errorf("kwok configuration lacks %q", want)
		}
	}
	if strings.Contains(config, "[[") {
		t.Errorf("unrendered parameter in kwok configuration")
	}
}

package plantest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// ordinalsArg reads "3", "3,5" and "5-7" into ordinals; key=value
// arguments are not ordinals.
func ordinalsArg(t *testing.T, d *datadriven.TestData) []int32 {
	var out []int32
	for _, a := range d.CmdArgs {
		if len(a.Vals) > 0 {
			continue
		}
		for _, part := range strings.Split(a.Key, ",") {
			if from, to, ok := strings.Cut(part, "-"); ok {
				for o := mustInt(t, from); o <= mustInt(t, to); o++ {
					out = append(out, int32(o))
				}
				continue
			}
			out = append(out, int32(mustInt(t, part)))
		}
	}
	return out
}

func intArg(d *datadriven.TestData, key string, def int) int {
	for _, a := range d.CmdArgs {
		if a.Key == key && len(a.Vals) > 0 {
			if n, err := strconv.Atoi(a.Vals[0]); err == nil {
				return n
			}
		}
	}
	return def
}

func strArg(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key && len(a.Vals) > 0 {
			return a.Vals[0]
		}
	}
	return def
}

// textArg reads key=(some text, with commas) whole.
func textArg(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key && len(a.Vals) > 0 {
			return strings.Join(a.Vals, ", ")
		}
	}
	return def
}

func mustInt(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

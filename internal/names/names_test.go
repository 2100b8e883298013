package names

import (
	"fmt"
	"testing"
)

func TestSummary(t *testing.T) {
	list := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("kv-%d", i))
		}
		return out
	}
	for _, tt := range []struct {
		n    int
		want string
	}{
		{0, ""},
		{3, "kv-0, kv-1, kv-2"},
		{5, "kv-0, kv-1, kv-2, kv-3, kv-4"},
		{6, "kv-0, kv-1, kv-2, kv-3, kv-4 and 1 more"},
		{978, "kv-0, kv-1, kv-2, kv-3, kv-4 and 973 more"},
	} {
		if got := Summary(list(tt.n)); got != tt.want {
			t.Errorf("Summary(%d names) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

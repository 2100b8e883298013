package cli

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// A wrong command line fails before any connection: these run against a
// kubeconfig that does not exist.
func TestArgumentErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status"}, "expected one StatefulSetRollout name, got 0 arguments"},
		{[]string{"status", "a", "b"}, "expected one StatefulSetRollout name, got 2 arguments"},
		{[]string{"status", "kv", "--timeout", "5m"}, "--timeout only applies with -w"},
		{[]string{"status", "kv", "-w", "--timeout", "-1s"}, "--timeout must not be negative, got -1s"},
		{[]string{"status", "kv", "--timeout", "soon"}, `invalid argument "soon" for "--timeout" flag: time: invalid duration "soon"`},
		{[]string{"promote"}, "expected one StatefulSetRollout name, got 0 arguments"},
		{[]string{"promote", "kv", "--fully"}, "unknown flag: --fully"},
		{[]string{"abort", "a", "b"}, "expected one StatefulSetRollout name, got 2 arguments"},
		{[]string{"list", "kv"}, `list takes no arguments, got ["kv"]`},
		{[]string{"dashboard", "kv"}, `dashboard takes no arguments, got ["kv"]`},
		{[]string{"dashboard", "--port", "70000"}, "--port must be a port number (0 picks a free one), got 70000"},
		{[]string{"undo", "kv", "--to-revision", "-2"}, "--to-revision must be a revision number (1 or more), got -2"},
		{[]string{"undo", "kv", "--to-revision", "previous"}, `invalid argument "previous" for "--to-revision" flag: strconv.ParseInt: parsing "previous": invalid syntax`},
		{[]string{"snapshot"}, "expected one StatefulSetRollout name, got 0 arguments"},
		{[]string{"snapshot", "kv", "--timeout", "5m"}, "--timeout only applies with --wait"},
		{[]string{"snapshots", "a", "b"}, "expected one StatefulSetRollout name, got 2 arguments"},
		{[]string{"restore", "kv"}, "--from is required: the snapshot set to restore (kubectl sroll snapshots kv lists them)"},
		{[]string{"set"}, "set needs a subcommand: kubectl sroll set image NAME CONTAINER=IMAGE"},
		{[]string{"set", "env", "kv"}, `unknown set command "env"; try: kubectl sroll set image`},
		{[]string{"set", "image", "kv"}, "set image wants NAME and at least one CONTAINER=IMAGE"},
		{[]string{"set", "image", "kv", "registry.example/kv:1.1"}, `expected CONTAINER=IMAGE, got "registry.example/kv:1.1"`},
		{[]string{"set", "image", "kv", "=registry.example/kv:1.1"}, `expected CONTAINER=IMAGE, got "=registry.example/kv:1.1"`},
		{[]string{"set", "image", "kv", "kv="}, `expected CONTAINER=IMAGE, got "kv="`},
		{[]string{"set", "image", "kv", "kv=a:1", "kv=a:2"}, `container "kv" is given twice`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"--kubeconfig", "/nonexistent/kubeconfig"}, tc.args...)
			code := Run(t.Context(), args, genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errOut})
			first, hint, _ := strings.Cut(errOut.String(), "\n")
			if code != exitFailed || first != "error: "+tc.want || !strings.HasPrefix(hint, "See 'kubectl sroll ") {
				t.Errorf("got exit %d, stderr %q; want exit 1 and %q with a help hint", code, errOut.String(), "error: "+tc.want)
			}
			if out.Len() > 0 {
				t.Errorf("stdout should be empty, got %q", out.String())
			}
		})
	}
}

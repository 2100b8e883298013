// Command localcluster starts and stops the local Kubernetes cluster the
// end-to-end tests and demos run against (see docs/local-cluster.md).
//
//	localcluster up   [--state-dir .localcluster] [--nodes 3]
//	localcluster down [--state-dir .localcluster]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// serveCommand is the hidden subcommand `up` runs as the detached daemon
// that owns the cluster's processes.
const serveCommand = "serve"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "localcluster:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return usageError()
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	stateDir := fs.String("state-dir", ".localcluster", "directory for the cluster's state, kubeconfig and logs")
	nodes := fs.Int("nodes", 3, "number of simulated nodes (up)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError()
	}
	dir, err := filepath.Abs(*stateDir)
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		return up(dir, *nodes)
	case "down":
		return down(dir)
	case serveCommand:
		return serve(dir, *nodes)
	}
	return usageError()
}

func usageError() error {
	return fmt.Errorf("usage: localcluster up|down [--state-dir DIR] [--nodes N]")
}

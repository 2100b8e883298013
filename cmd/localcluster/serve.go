package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/sroll-dev/sroll/internal/localcluster"
)

// serve runs in the daemon `up` starts: it owns the cluster's processes
// until SIGTERM or SIGINT, or until one of them dies. It reports "ready" or
// the start error on file descriptor 3, a pipe `up` reads.
func serve(stateDir string, nodes int) error {
	// The components must not inherit the pipe: up reads until it closes.
	syscall.CloseOnExec(3)
	report := os.NewFile(3, "report")
	defer report.Close()
	if err := os.WriteFile(daemonPIDFile(stateDir), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fmt.Fprintln(report, err)
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	cluster, err := localcluster.Start(ctx, localcluster.Options{StateDir: stateDir, Nodes: nodes})
	if err != nil {
		fmt.Fprintln(report, err)
		return err
	}
	log.Printf("cluster ready; components: %v", cluster.Processes())
	fmt.Fprintln(report, readyMessage)
	_ = report.Close()

	select {
	case <-ctx.Done():
		log.Print("stopping on signal")
	case <-cluster.Failed():
		log.Printf("stopping: %v", cluster.Err())
	}
	cluster.Stop()
	return cluster.Err()
}

const readyMessage = "ready"

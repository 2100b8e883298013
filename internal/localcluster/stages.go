package localcluster

import (
	"bytes"
	"embed"
	"io/fs"
	"os"
	"text/template"
	"time"
)

// The kwok configuration and the Stages that play kubelet, one file each.
// They are Go templates with [[ ]] delimiters, because kwok's own templates
// inside them use {{ }}.
//
// Every status patch carries the resourceVersion its stage matched. kwok
// queues a job per pod event, so it can play a stage from a stale view of
// the pod; the precondition turns that into a conflict kwok drops (a newer
// event has queued the right stage) instead of, say, a second pod IP.
//
//go:embed kwok/*.yaml
var kwokFiles embed.FS

// Image tags that change how a pod is simulated. A tag is what follows the
// last ':' of the image name, before any digest.
const (
	neverReadyImage = `:(broken|crash)[^/:@]*(@|$)`
	crashImage      = `:crash[^/:@]*(@|$)`
)

// Nodes localcluster creates carry this annotation; kwok manages only them.
const (
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
	kwokNodeValue      = "fake"
)

type stageParams struct {
	NodeSelector     string
	NeverReadyImage  string
	CrashImage       string
	ReadyDelayMinMs  int64
	ReadyDelayMaxMs  int64
	ProbeEventReason string
	// NodeLeaseSeconds is each node lease's duration; kwok renews it every quarter.
	NodeLeaseSeconds int
}

// defaultNodeLeaseSeconds is the lease of a node whose grace period is
// kube-controller-manager's default.
const defaultNodeLeaseSeconds = 40

// writeKwokConfig renders every embedded file into one multi-document kwok
// configuration; the ready delay is drawn per pod from [0.8, 1.2] × delay.
func writeKwokConfig(path string, readyDelay, nodeGrace time.Duration) error {
	lease := defaultNodeLeaseSeconds
	if nodeGrace > 0 {
		lease = max(1, int(nodeGrace.Seconds()))
	}
	params := stageParams{
		NodeLeaseSeconds: lease,
		NodeSelector:     kwokNodeAnnotation + "=" + kwokNodeValue,
		NeverReadyImage:  neverReadyImage,
		CrashImage:       crashImage,
		ReadyDelayMinMs:  (readyDelay * 8 / 10).Milliseconds(),
		ReadyDelayMaxMs:  (readyDelay * 12 / 10).Milliseconds(),
		ProbeEventReason: probeEventReason,
	}
	names, err := fs.Glob(kwokFiles, "kwok/*.yaml")
	if err != nil {
		return err
	}
	var out bytes.Buffer
	for _, name := range names {
		text, err := fs.ReadFile(kwokFiles, name)
		if err != nil {
			return err
		}
		tmpl, err := template.New(name).Delims("[[", "]]").Option("missingkey=error").Parse(string(text))
		if err != nil {
			return err
		}
		out.WriteString("---\n")
		if err := tmpl.Execute(&out, params); err != nil {
			return err
		}
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

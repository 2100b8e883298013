package dashboarde2e

import (
	"context"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sroll-dev/sroll/api/v1alpha1"
	"github.com/sroll-dev/sroll/internal/controller"
	"github.com/sroll-dev/sroll/internal/localcluster/clustertest"
	"github.com/sroll-dev/sroll/test/e2eutil"
)

// TestDashboardFollowsARolloutAndActs opens the dashboard, rolls out 200
// pods through a pause, promotes from the page and sees the rollout
// complete without reloading; a read-only user's promote is refused with
// the API server's reason. It measures how soon the page shows a change of
// the rollout and the page's heap at 1000 pods.
func TestDashboardFollowsARolloutAndActs(t *testing.T) {
	c := e2eutil.Setup(t)
	ns := clustertest.Namespace(t)
	e2eutil.StartOperator(t, ns)
	admin, withGone := kubeconfigs(t)
	dashboardArgs := []string{"--context", admin + "," + unreachableContext, "-n", ns}
	url, stopDashboard := startDashboard(t, withGone, dashboardArgs...)
	viewerURL, _ := startDashboard(t, readOnlyKubeconfig(t, ns), "-n", ns)

	r := e2eutil.NewRollout(ns, "web", 200, intstr.FromString("25%"), e2eutil.Percent(25), e2eutil.Pause(0), e2eutil.Percent(100))
	if err := c.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	browser := newBrowser(t)

	// The list: the rollout, and the cluster that can't be reached, shown as such.
	do(t, browser, time.Minute, "open the list", chromedp.Navigate(url))
	waitPage(t, browser, time.Minute, "the unreachable cluster",
		`[...document.querySelectorAll("#clusters li.unreachable")].some(li => li.textContent.includes("`+unreachableContext+`"))`)
	waitPage(t, browser, time.Minute, "the rollout in the list", `document.querySelector("#rollouts tbody a")?.textContent === "web"`)
	e2eutil.WaitCompleted(t, c, r, 3*time.Minute)
	waitPage(t, browser, time.Minute, "web Completed in the list", `document.querySelector("#rollouts tbody .phase")?.textContent === "Completed"`)
	screenshot(t, browser, "1-list")

	// The rollout page, from the list's link.
	do(t, browser, time.Minute, "open the rollout", chromedp.Click(chromedp.CSS("#rollouts tbody a")))
	waitPage(t, browser, time.Minute, "200 ready cells", cellCount(".update.ready")+" === 200")
	if _, err := chromedp.Run(browser, chromedp.Evaluate[chromedp.Void](recordShown)); err != nil {
		t.Fatal(err)
	}
	changes := watchChanges(t, c, r)

	e2eutil.SetImage(t, c, r, "v2")
	waitPage(t, browser, 2*time.Minute, "Paused", phaseIs("Paused"))
	screenshot(t, browser, "2-paused")

	// A user who may only read is refused by the API server, and says so.
	shown := eval[map[string]float64](t, browser, "window.shown")
	do(t, browser, time.Minute, "open the rollout as the viewer",
		chromedp.Navigate(viewerURL+"#/rollout/"+readOnlyContext+"/"+ns+"/web"))
	waitPage(t, browser, time.Minute, "Paused to the viewer", phaseIs("Paused"))
	do(t, browser, time.Minute, "promote as the viewer", chromedp.Click(chromedp.CSS(`[data-action="promote"]`)))
	waitPage(t, browser, time.Minute, "the refusal", `document.querySelector("#action-result.refused")?.textContent.includes("forbidden")`)
	refusal := eval[string](t, browser, `document.querySelector("#action-result").textContent`)
	t.Logf("the viewer's promote: %s", refusal)
	for _, want := range []string{"Refused (403)", "cannot patch", "statefulsetrollouts"} {
		if !strings.Contains(refusal, want) {
			t.Errorf("the refusal %q does not say %q", refusal, want)
		}
	}
	screenshot(t, browser, "3-refused")
	if got := e2eutil.GetRollout(t, c, r); got.Annotations[v1alpha1.AnnotationPromote] != "" {
		t.Fatalf("the viewer's promote reached the rollout: %v", got.Annotations)
	}
	do(t, browser, time.Minute, "back to the rollout", chromedp.Navigate(url+"#/rollout/"+admin+"/"+ns+"/web"))
	waitPage(t, browser, time.Minute, "Paused", phaseIs("Paused"))
	if _, err := chromedp.Run(browser, chromedp.Evaluate[chromedp.Void](recordShown)); err != nil {
		t.Fatal(err)
	}

	// Abort asks first; cancelling does nothing.
	do(t, browser, time.Minute, "abort, then cancel",
		chromedp.Click(chromedp.CSS(`[data-action="abort"]`)),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
		chromedp.Click(chromedp.CSS(`#confirm button[value="cancel"]`)))
	waitPage(t, browser, time.Minute, "the dialog closed", `!document.querySelector("#confirm").open`)
	// The cancel gives the focus back to the abort button once the dialog's
	// close is handled; the promote below must not race it for the focus.
	waitPage(t, browser, time.Minute, "the focus back on abort", `document.activeElement?.dataset.action === "abort"`)
	if text := eval[string](t, browser, `document.querySelector("#action-result").textContent`); text != "" {
		t.Errorf("a cancelled abort said %q", text)
	}

	// Promote. (It was pressed from the keyboard, Focus and an Enter key
	// event; on the CI runs of 2026-12-02 that Enter never reached the
	// button's handler while a Click always did: a click it is, until that
	// is understood.)
	do(t, browser, time.Minute, "promote", chromedp.Click(chromedp.CSS(`[data-action="promote"]`)))
	waitPage(t, browser, time.Minute, "the promote's answer", `document.querySelector("#action-result.done")?.textContent.includes("promote requested")`)
	waitPage(t, browser, time.Minute, "pods being replaced", phaseIs("Progressing")+
		` && document.querySelectorAll("#r-grid .cell.in-flight").length > 0 && `+cellCount(".update.ready")+" > 50")
	inProgress := screenshot(t, browser, "4-progressing")
	waitPage(t, browser, 3*time.Minute, "Completed", phaseIs("Completed")+" && "+cellCount(".update.ready")+" === 200")
	screenshot(t, browser, "5-completed")
	if n := eval[int](t, browser, cellCount("")); n != 200 {
		t.Errorf("the pod grid has %d cells, want 200", n)
	}
	maps.Copy(shown, eval[map[string]float64](t, browser, "window.shown"))
	reportLatency(t, changes(), shown)

	if *docs {
		if err := os.WriteFile(filepath.Join(e2eutil.RepoRoot(), "docs", "dashboard.png"), inProgress, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A phone-width window: nothing wider than the screen.
	do(t, browser, time.Minute, "phone width", chromedp.EmulateViewport(390, 844))
	screenshot(t, browser, "6-phone")
	if wide := eval[bool](t, browser, `document.documentElement.scrollWidth > window.innerWidth`); wide {
		t.Errorf("at 390 px the page is %d px wide", eval[int](t, browser, "document.documentElement.scrollWidth"))
	}
	do(t, browser, time.Minute, "back to 1280×800", chromedp.EmulateViewport(1280, 800))

	// The dashboard goes away and comes back on the same port: the page
	// says so, reconnects by itself, and follows the rollout again.
	stopDashboard()
	waitPage(t, browser, time.Minute, "the lost connection", `document.querySelector("#live").classList.contains("down")`)
	_, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
	startDashboard(t, withGone, append(dashboardArgs, "--port", port)...)
	waitPage(t, browser, time.Minute, "live again", `document.querySelector("#live").classList.contains("ok")`)

	// 1000 pods: still one cell each, and the page's memory.
	e2eutil.Patch(t, c, r, `{"spec":{"replicas":1000}}`)
	waitPage(t, browser, 5*time.Minute, "1000 ready cells", cellCount(".ready")+" === 1000")
	screenshot(t, browser, "7-1000-pods")
	t.Logf("page with 1000 pods: JS heap %.1f MiB used after a garbage collection, %d DOM nodes",
		jsHeap(t, browser)/(1<<20), eval[int](t, browser, `document.getElementsByTagName("*").length`))
}

const unreachableContext = "gone"

func phaseIs(phase string) string {
	return `document.querySelector("#rollout-page").dataset.phase === "` + phase + `"`
}

func cellCount(class string) string {
	return `document.querySelectorAll("#r-grid .cell` + class + `").length`
}

// recordShown notes when the page first shows each resourceVersion of the
// rollout: window.shown maps it to the time in ms since the epoch.
const recordShown = `(() => {
  const page = document.querySelector("#rollout-page");
  window.shown = {};
  new MutationObserver(() => {
    const rv = page.dataset.resourceVersion;
    if (rv && !(rv in window.shown)) window.shown[rv] = Date.now();
  }).observe(page, { attributes: true, attributeFilter: ["data-resource-version"] });
})()`

// watchChanges records when each resourceVersion of the rollout arrives on
// a watch of this process, from now until the returned function is called.
func watchChanges(t *testing.T, c client.Client, r *v1alpha1.StatefulSetRollout) func() map[string]time.Time {
	t.Helper()
	w, err := client.NewWithWatch(clustertest.RestConfig(), client.Options{Scheme: controller.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	watcher, err := w.Watch(context.Background(), &v1alpha1.StatefulSetRolloutList{},
		client.InNamespace(r.Namespace), client.MatchingFields{"metadata.name": r.Name})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for event := range watcher.ResultChan() {
			if obj, ok := event.Object.(*v1alpha1.StatefulSetRollout); ok {
				mu.Lock()
				seen[obj.ResourceVersion] = time.Now()
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(watcher.Stop)
	return func() map[string]time.Time {
		watcher.Stop()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// reportLatency logs the time from each change of the rollout arriving on
// a watch to the page showing it, for the changes the page showed (it
// coalesces: a change followed by another within its push interval is
// shown only as the later one).
func reportLatency(t *testing.T, watched map[string]time.Time, shown map[string]float64) {
	t.Helper()
	var delays []time.Duration
	for rv, at := range watched {
		if ms, ok := shown[rv]; ok {
			delays = append(delays, time.UnixMilli(int64(ms)).Sub(at))
		}
	}
	if len(delays) < 3 {
		t.Fatalf("the page showed %d of the %d changes watched", len(delays), len(watched))
	}
	slices.Sort(delays)
	t.Logf("API change → page: median %s, p90 %s, max %s over %d of %d changes (the rest coalesced)",
		delays[len(delays)/2], delays[len(delays)*9/10], delays[len(delays)-1], len(delays), len(watched))
}

// jsHeap is the page's JavaScript heap in use, after a garbage collection.
func jsHeap(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	heap, err := chromedp.Run(ctx, func(ctx context.Context, target *chromedp.Target) (float64, error) {
		if _, err := cdp.Call(ctx, target, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return 0, err
		}
		if _, err := cdp.Call(ctx, target, performance.Enable, performance.EnableParams{}); err != nil {
			return 0, err
		}
		res, err := cdp.Call(ctx, target, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			return 0, err
		}
		for _, m := range res.Metrics {
			if m.Name == "JSHeapUsedSize" {
				return m.Value, nil
			}
		}
		return 0, nil
	})
	if err != nil || heap == 0 {
		t.Fatalf("reading the page's heap: %v (JSHeapUsedSize %v)", err, heap)
	}
	return heap
}

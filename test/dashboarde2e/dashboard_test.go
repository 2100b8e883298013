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
	"github.com/chromedp/chromedp/kb"
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

	// The rollout page, from the list's link. The first revision has
	// completed: nothing to promote, no previous revision to undo to; the
	// buttons say so, in the plugin's words.
	do(t, browser, time.Minute, "open the rollout", chromedp.Click(chromedp.CSS("#rollouts tbody a")))
	waitPage(t, browser, time.Minute, "200 ready cells", cellCount(".update.ready")+" === 200")
	waitPage(t, browser, time.Minute, "promote and undo disabled at Completed",
		refused("promote", "nothing to promote")+" && "+refused("undo", "no previous revision")+" && "+refused("retry", "nothing to retry"))
	if _, err := chromedp.Run(browser, chromedp.Evaluate[chromedp.Void](recordShown)); err != nil {
		t.Fatal(err)
	}
	changes := watchChanges(t, c, r)

	e2eutil.SetImage(t, c, r, "v2")
	waitPage(t, browser, 2*time.Minute, "Paused", phaseIs("Paused"))
	screenshot(t, browser, "2-paused")
	// While it moved the page could neither resume (nothing paused it)
	// nor retry (nothing failed); at the pause, promote and undo apply.
	buttons := eval[map[string]map[string]string](t, browser, "window.buttons")
	for phase, want := range map[string]map[string]string{
		"Progressing": {"promote": "", "abort": "", "resume": "is not paused", "retry": "it is moving"},
		"Paused":      {"promote": "", "promote-full": "", "abort": "", "undo": "", "resume": "use promote to go on", "retry": "use promote to go on"},
	} {
		for action, reason := range want {
			got, seen := buttons[phase][action]
			switch {
			case !seen:
				t.Errorf("the page never showed %s with its %s button: %v", phase, action, buttons)
			case reason == "" && got != "":
				t.Errorf("at %s %s was disabled: %s", phase, action, got)
			case reason != "" && !strings.Contains(got, reason):
				t.Errorf("at %s %s said %q, want it disabled with %q", phase, action, got, reason)
			}
		}
	}

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

	// The keyboard alone: Tab from the top of the page reaches the
	// toolbar and walks it in order; Enter on abort asks first, with
	// Cancel focused, and Escape cancels and gives the focus back to abort;
	// Shift+Tab goes back to promote, and Enter promotes.
	do(t, browser, time.Minute, "focus the top of the page", chromedp.Focus(chromedp.CSS("a.brand")))
	var order []string
	for range 12 {
		do(t, browser, time.Minute, "Tab", chromedp.KeyEvent(kb.Tab))
		action := eval[string](t, browser, `document.activeElement?.dataset.action ?? document.activeElement?.tagName`)
		if len(order) > 0 || action == "pause" {
			order = append(order, action)
		}
		if action == "abort" {
			break
		}
	}
	if got, want := strings.Join(order, " "), "pause resume promote promote-full abort"; got != want {
		t.Fatalf("Tab walked the toolbar as %q, want %q", got, want)
	}
	do(t, browser, time.Minute, "Enter on abort", chromedp.KeyEvent(kb.Enter))
	waitPage(t, browser, time.Minute, "the question, Cancel focused",
		`document.querySelector("#confirm").open && document.activeElement?.value === "cancel"`)
	screenshot(t, browser, "3b-abort-asks")
	do(t, browser, time.Minute, "Escape", chromedp.KeyEvent(kb.Escape))
	waitPage(t, browser, time.Minute, "the dialog closed, the focus back on abort",
		`!document.querySelector("#confirm").open && document.activeElement?.dataset.action === "abort"`)
	if text := eval[string](t, browser, `document.querySelector("#action-result").textContent`); text != "" {
		t.Errorf("a cancelled abort said %q", text)
	}
	do(t, browser, time.Minute, "Shift+Tab twice",
		chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)),
		chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	if focused := eval[string](t, browser, `document.activeElement?.dataset.action ?? ""`); focused != "promote" {
		t.Fatalf("Shift+Tab twice from abort reached %q, want promote", focused)
	}
	do(t, browser, time.Minute, "Enter on promote", chromedp.KeyEvent(kb.Enter))
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

// refused is true when the action's button is disabled, saying why.
func refused(action, why string) string {
	return `(b => b.getAttribute("aria-disabled") === "true" && b.title.includes("` + why + `") && ` +
		`document.getElementById(b.getAttribute("aria-describedby")).textContent.includes("` + why + `"))` +
		`(document.querySelector('[data-action="` + action + `"]'))`
}

func cellCount(class string) string {
	return `document.querySelectorAll("#r-grid .cell` + class + `").length`
}

// recordShown notes when the page first shows each resourceVersion of the
// rollout: window.shown maps it to the time in ms since the epoch. And for
// each phase shown, the last state of each button: window.buttons maps the
// phase to the action to its reason for being disabled, "" when enabled.
const recordShown = `(() => {
  const page = document.querySelector("#rollout-page");
  window.shown = {};
  window.buttons = window.buttons || {};
  new MutationObserver(() => {
    const rv = page.dataset.resourceVersion;
    if (rv && !(rv in window.shown)) window.shown[rv] = Date.now();
    const states = window.buttons[page.dataset.phase] = {};
    for (const b of document.querySelectorAll("[data-action]")) states[b.dataset.action] = b.title;
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

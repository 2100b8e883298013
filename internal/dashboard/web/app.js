// The sroll dashboard page: one Server-Sent Events stream per page (the
// list, or one rollout), each event a whole view, drawn into the DOM. No
// framework and no build: the page is small, and what the binary embeds is
// what is in the repository.
"use strict";

const $ = (id) => document.getElementById(id);
let token = "";
let stream = null;
let route = null;
let rollout = null; // the rollout page's last view

// --- helpers ---------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function age(t) {
  const s = Math.max(0, Math.round((Date.now() - new Date(t).getTime()) / 1000));
  if (s < 120) return s + "s";
  const m = Math.floor(s / 60);
  if (m < 120) return m + "m";
  const h = Math.floor(m / 60);
  if (h < 48) return h + "h" + (h < 10 && m % 60 ? (m % 60) + "m" : "");
  return Math.floor(h / 24) + "d";
}

function ageCell(t) {
  return el("td", { class: "num age", "data-time": t, text: age(t) });
}

setInterval(() => {
  for (const e of document.querySelectorAll("[data-time]")) e.textContent = age(e.dataset.time);
}, 1000);

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function phaseBadge(phase) {
  return el("span", { class: "phase " + phase, text: phase });
}

// --- routing and the stream ------------------------------------------------

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "rollout" && parts.length === 4) {
    return { page: "rollout", cluster: parts[1], namespace: parts[2], name: parts[3] };
  }
  return { page: "list" };
}

function rolloutHref(cluster, namespace, name) {
  return "#/rollout/" + [cluster, namespace, name].map(encodeURIComponent).join("/");
}

function open() {
  route = parseRoute();
  if (stream) stream.close();
  rollout = null;
  $("list-page").hidden = route.page !== "list";
  $("rollout-page").hidden = route.page !== "rollout";
  $("action-result").textContent = "";
  let url = "api/list/events";
  if (route.page === "rollout") {
    url = "api/rollout/events?" + new URLSearchParams({ cluster: route.cluster, namespace: route.namespace, name: route.name });
    $("crumbs").replaceChildren(el("a", { href: "#/", text: "Rollouts" }), " / " + route.cluster + " / " + route.namespace + " / " + route.name);
    $("r-name").textContent = route.name;
    document.title = route.name + " · sroll";
  } else {
    $("crumbs").replaceChildren("Rollouts");
    document.title = "sroll dashboard";
  }
  setLive("connecting…", "");
  // EventSource reconnects by itself (after the retry the server sets)
  // when the server or the network blips; each reconnect gets a whole view.
  stream = new EventSource(url);
  stream.addEventListener("hello", (e) => {
    token = JSON.parse(e.data).token;
    setLive("live", "ok");
  });
  stream.addEventListener("view", (e) => {
    const view = JSON.parse(e.data);
    if (route.page === "list") drawList(view);
    else drawRolloutPage(view);
  });
  stream.onerror = () => setLive("reconnecting…", "down");
}

function setLive(text, cls) {
  $("live").textContent = text;
  $("live").className = "live " + cls;
}

window.addEventListener("hashchange", open);
document.addEventListener("DOMContentLoaded", () => {
  for (const id of ["filter-cluster", "filter-namespace", "filter-phase"]) {
    $(id).addEventListener("change", () => list && drawList(list));
  }
  setUpActions();
  setUpGrid();
  open();
});

// --- the list ----------------------------------------------------------------

let list = null;

function options(select, values) {
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "", text: "all" }),
    ...[...new Set(values)].sort().map((v) => el("option", { value: v, text: v })));
  select.value = values.includes(chosen) ? chosen : "";
}

function drawList(view) {
  list = view;
  $("clusters").replaceChildren(...view.clusters.map((c) => {
    const li = el("li", { class: c.state }, el("strong", { text: c.name }), " " + c.state);
    if (c.error) li.append(el("span", { class: "error", text: c.error }));
    return li;
  }));
  options($("filter-cluster"), view.clusters.map((c) => c.name));
  options($("filter-namespace"), view.rollouts.map((r) => r.namespace));
  options($("filter-phase"), view.rollouts.map((r) => r.phase));
  const want = { cluster: $("filter-cluster").value, namespace: $("filter-namespace").value, phase: $("filter-phase").value };
  const shown = view.rollouts.filter((r) => Object.entries(want).every(([k, v]) => !v || r[k] === v));
  fill($("rollouts").tBodies[0], shown.map((r) => el("tr", {},
    el("td", { text: r.cluster }),
    el("td", { text: r.namespace }),
    el("td", {}, el("a", { href: rolloutHref(r.cluster, r.namespace, r.name), text: r.name })),
    el("td", {}, phaseBadge(r.phase)),
    el("td", { class: "num", text: r.step }),
    el("td", { class: "num", text: r.updated + "/" + r.ready + "/" + r.desired }),
    el("td", { class: "images", text: (r.images || []).join(", ") }),
    ageCell(r.created))));
  $("no-rollouts").hidden = shown.length > 0;
}

// --- a rollout ---------------------------------------------------------------

function drawRolloutPage(page) {
  const problem = page.problem || (page.cluster.state !== "ready" ? "cluster " + page.cluster.name + " is " + page.cluster.state + (page.cluster.error ? ": " + page.cluster.error : "") : "");
  $("r-problem").hidden = !problem;
  $("r-problem").textContent = problem;
  if (!page.rollout) {
    $("r-body").hidden = true;
    return;
  }
  $("r-body").hidden = false;
  drawRollout(page.rollout);
}

function drawRollout(r) {
  rollout = r;
  const root = $("rollout-page");
  root.dataset.phase = r.phase;
  root.dataset.resourceVersion = r.resourceVersion;
  $("r-phase").replaceWith(Object.assign(phaseBadge(r.phase), { id: "r-phase" }));
  $("r-where").textContent = "namespace " + r.namespace + " · cluster " + r.cluster + (r.paused ? " · spec.paused" : "") +
    (r.outdated ? " · the operator has not seen the latest spec yet" : "");
  $("r-message").textContent = r.message;

  $("r-steps").replaceChildren(...r.steps.map((s) => {
    const li = el("li", { class: s.state, text: s.label });
    if (s.state === "current" || s.state === "failed") li.setAttribute("aria-current", "step");
    li.append(el("span", { class: "visually-hidden", text: " (" + s.state + ")" }));
    return li;
  }));

  const rev = (label, v) => [el("dt", { text: label }),
    el("dd", { text: v.name ? (v.number ? "#" + v.number + " " : "") + v.name + " — " + (v.images || []).join(", ") : "not known yet" })];
  const same = r.stable.name && r.stable.name === r.update.name;
  $("r-revisions").replaceChildren(...(same ? rev("stable = update", r.update)
    : [...rev("stable", r.stable), el("dd", { class: "arrow", "aria-hidden": "true", text: "↓" }), ...rev("update", r.update)]));

  const p = r.progress;
  const pct = (n) => (r.desired ? Math.min(100, (100 * n) / r.desired) : 0) + "%";
  document.querySelector(".bar-updated").style.width = pct(p.updated);
  document.querySelector(".bar-available").style.width = pct(p.updatedAvailable);
  const counts = p.updated + " of " + r.desired + " updated, " + p.updatedAvailable + " of them available; " + p.ready + " ready, " + p.live + " live";
  $("r-bar").setAttribute("aria-label", counts);
  $("r-counts").textContent = counts;

  drawActions(r.actions);
  drawGrid(r.pods);
  drawAnalysis(r.analysis);
  drawReplication(r.replication);
  drawSnapshots(r.snapshots);
  fill($("r-events").tBodies[0], r.events.map((e) => el("tr", { class: e.type },
    el("td", { text: (e.type === "Warning" ? "▲ " : "") + e.type }),
    el("td", { text: e.reason }), el("td", { text: e.message }),
    el("td", { class: "num", text: String(e.count || 1) }), ageCell(e.last))));
}

function drawAnalysis(checks) {
  $("r-analysis-section").hidden = !checks.length;
  fill($("r-analysis").tBodies[0], checks.map((c) => el("tr", {},
    el("td", { text: c.check }),
    el("td", { text: c.background ? "background" : "step " + (c.step + 1) }),
    el("td", { class: "num", text: String(c.successful) }), el("td", { class: "num", text: String(c.failed) }),
    el("td", { class: "num", text: String(c.inconclusive) }), el("td", { class: "num", text: String(c.error) }),
    el("td", { text: c.measurements.map((m) => m.phase + (m.value ? " " + m.value : "") + (m.message ? " (" + m.message + ")" : "")).join("; ") }))));
}

function drawReplication(rep) {
  $("r-replication-section").hidden = !rep;
  if (!rep) return;
  $("r-replication").textContent = (rep.phase || "") + (rep.message ? ": " + rep.message : "") + (rep.seed ? " · seed " + rep.seed : "");
  fill($("r-members").tBodies[0], rep.members.map((m) => el("tr", {},
    el("td", { text: m.name }), el("td", { text: m.role }), el("td", { text: m.state }),
    el("td", { text: m.joined ? "yes" : "no" }), el("td", { text: m.lastError || "" }))));
}

// drawSnapshots shows the rollout's snapshot sets; the section stays hidden
// while there are none (and while the cluster has no RolloutSnapshot kind).
function drawSnapshots(sets) {
  $("r-snapshots-section").hidden = !sets.length;
  fill($("r-snapshots").tBodies[0], sets.map((s) => el("tr", {},
    el("td", { text: s.name }), el("td", { text: s.reason }), el("td", { text: s.phase }),
    el("td", { text: s.readyVolumes + "/" + s.volumes }), el("td", { text: s.group || "—" }),
    el("td", { text: s.freeze || "—" }), ageCell(s.created))));
}

// --- the pod grid ------------------------------------------------------------
// One cell per pod, updated in place: a 1000-pod view redraws only the
// cells that changed. The grid is one tab stop; arrow keys move between pods.

let cells = [];
let pods = [];
let active = -1;

function cellClass(p) {
  return "cell " + p.kind + " " + p.state + (p.inFlight ? " in-flight" : "") + (p.role === "Primary" ? " primary" : "") +
    (cells.length && pods[active] && pods[active].name === p.name ? " active" : "");
}

function describe(p) {
  return p.name + " · revision " + (p.revision || "none") + " (" + p.kind + ") · " + p.state.replace("-", " ") +
    (p.why ? " (" + p.why + ")" : "") + (p.inFlight ? " · in the batch being replaced" : "") + (p.role ? " · role " + p.role : "");
}

function drawGrid(next) {
  pods = next;
  const grid = $("r-grid");
  while (cells.length < pods.length) {
    const c = el("span", { "data-i": String(cells.length) });
    grid.append(c);
    cells.push(c);
  }
  while (cells.length > pods.length) cells.pop().remove();
  pods.forEach((p, i) => {
    const cls = cellClass(p);
    if (cells[i].className !== cls) cells[i].className = cls;
  });
  $("r-pod-count").textContent = "(" + pods.length + ")";
  if (active >= pods.length) active = pods.length - 1;
  // Rewritten only when it changed: it is a live region, read out on change.
  if (active >= 0 && $("r-pod").textContent !== describe(pods[active])) $("r-pod").textContent = describe(pods[active]);
}

function choose(i) {
  if (i < 0 || i >= pods.length) return;
  if (active >= 0 && cells[active]) cells[active].classList.remove("active");
  active = i;
  cells[i].classList.add("active");
  $("r-pod").textContent = describe(pods[i]);
}

function setUpGrid() {
  const grid = $("r-grid");
  const pick = (e) => { if (e.target.dataset.i) choose(Number(e.target.dataset.i)); };
  grid.addEventListener("mouseover", pick);
  grid.addEventListener("click", pick);
  grid.addEventListener("keydown", (e) => {
    if (!pods.length) return;
    const perRow = Math.max(1, Math.round(grid.clientWidth / (cells[0].offsetWidth + 2)));
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow, Home: -active, End: pods.length };
    if (!(e.key in moves)) return;
    e.preventDefault();
    choose(Math.min(pods.length - 1, Math.max(0, (active < 0 ? 0 : active + moves[e.key]))));
  });
  grid.addEventListener("focus", () => { if (active < 0) choose(0); });
}

// --- actions -----------------------------------------------------------------
// Each button is enabled by the view: the server sends, per action, whether
// the plugin would carry it out now and if not why (the same words a
// refused `kubectl sroll` verb prints). A button that does not apply stays
// focusable (aria-disabled, as in a toolbar), so a keyboard or screen
// reader user reaches it and hears the reason, given by aria-describedby.

let busy = false; // an action's request is on its way

function setUpActions() {
  for (const b of document.querySelectorAll("[data-action]")) {
    const why = el("span", { id: "why-" + b.dataset.action, class: "visually-hidden" });
    b.after(why);
    b.setAttribute("aria-describedby", why.id);
    b.addEventListener("click", async () => {
      if (!rollout || busy || b.getAttribute("aria-disabled") === "true") return;
      if (b.dataset.confirm && !(await confirmed(b.dataset.confirm))) return;
      act(b);
    });
  }
}

function drawActions(states) {
  const byName = new Map((states || []).map((a) => [a.name, a]));
  for (const b of document.querySelectorAll("[data-action]")) {
    const a = byName.get(b.dataset.action);
    const reason = !a ? "not known yet" : a.applies ? "" : a.reason;
    b.setAttribute("aria-disabled", String(!!reason));
    b.title = reason;
    $("why-" + b.dataset.action).textContent = reason ? "Not now: " + reason : "";
  }
}

// confirmed asks in a modal dialog; Escape or Cancel says no. Closing the
// dialog gives the focus back to the button that opened it (the browser
// does, as the dialog closes); the close event comes later, in a task of
// its own, and must not take the focus back from wherever the user (or a
// test) moved it meanwhile: only when the focus went nowhere is it put back.
function confirmed(text) {
  const d = $("confirm");
  const opener = document.activeElement;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = "Yes, " + text.split(":")[0].toLowerCase();
  d.returnValue = "";
  d.showModal();
  return new Promise((resolve) => d.addEventListener("close", () => {
    if (opener && (document.activeElement === document.body || !document.activeElement)) opener.focus();
    resolve(d.returnValue === "ok");
  }, { once: true }));
}

// act asks the server to carry out the button's action. The buttons are
// not disabled meanwhile (a disabled button drops the focus); a second
// press waits for the first answer.
async function act(button) {
  const out = $("action-result");
  const toolbar = button.closest("[role=toolbar]");
  busy = true;
  toolbar.setAttribute("aria-busy", "true");
  out.className = "action-result";
  out.textContent = button.textContent.replace("…", "") + "…";
  try {
    const res = await fetch("api/action", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Sroll-Token": token },
      body: JSON.stringify({ cluster: rollout.cluster, namespace: rollout.namespace, name: rollout.name, action: button.dataset.action }),
    });
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = { error: text.trim() }; }
    if (res.ok) {
      out.className = "action-result done";
      out.textContent = body.message;
    } else {
      out.className = "action-result refused";
      out.textContent = (res.status === 403 ? "Refused (403): " : "Refused (" + res.status + "): ") + body.error;
    }
  } catch (err) {
    out.className = "action-result refused";
    out.textContent = "The dashboard did not answer: " + err.message;
  } finally {
    busy = false;
    toolbar.removeAttribute("aria-busy");
  }
}

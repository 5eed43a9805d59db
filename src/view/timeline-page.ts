/**
 * The timeline page's HTML, CSS and script (issue 14), as one string: `hvtrace timeline`
 * (timeline.ts) fills in @@TITLE@@ and @@DATA@@ (the gzip + base64 of the TimelineData JSON).
 * Self-contained: no network, no CDN, system fonts only.
 *
 * Drawing: one canvas; lanes of change points drawn with level-of-detail aggregation (for each
 * pixel column the level at its start, then a binary search to the next column, so a frame
 * costs O(lanes x width x log n) whatever the zoom); marks per lane and kind the same way.
 * Navigation: wheel (zoom at the cursor; shift+wheel pans), drag, and w/s/a/d as in Perfetto.
 * Hover shows a summary; click pins the details with the `hvtrace replay --to seq:N` command.
 * `window.hvtrace` exposes the state for tests and the benchmark (lanes, counts, frame times,
 * view, locate(seq)).
 *
 * The script avoids template literals: this file embeds it in one.
 */
export const TIMELINE_PAGE = String.raw`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src data:">
<title>@@TITLE@@</title>
<style>
  :root { --bg: #fff; --fg: #1d1d1f; --muted: #6b6b70; --line: #d9d9de; --panel: #f6f6f8; }
  * { box-sizing: border-box; }
  html, body { margin: 0; height: 100%; background: var(--bg); color: var(--fg);
    font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
  code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
  #app { display: grid; grid-template-rows: auto auto 1fr 190px; height: 100%; }
  header { padding: 6px 10px; border-bottom: 1px solid var(--line); display: flex; gap: 14px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 15px; margin: 0; font-weight: 600; }
  #meta { color: var(--muted); }
  #notes { margin: 0; padding: 0 10px; }
  #notes div { background: #fff6d6; border: 1px solid #f0d77a; padding: 4px 8px; margin: 4px 0; border-radius: 4px; }
  #bar { display: flex; gap: 10px; align-items: center; padding: 4px 10px; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
  #legend { display: flex; gap: 10px; flex-wrap: wrap; }
  #legend label { display: inline-flex; gap: 4px; align-items: center; cursor: pointer; white-space: nowrap; }
  .sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
  #levels { display: flex; gap: 8px; color: var(--muted); flex-wrap: wrap; }
  #search { width: 230px; padding: 3px 6px; }
  #searchInfo { color: var(--muted); min-width: 120px; }
  #main { display: grid; grid-template-columns: 110px 1fr 340px; min-height: 0; }
  #labels { border-right: 1px solid var(--line); position: relative; overflow: hidden; }
  .lane-label { position: absolute; left: 0; right: 0; padding: 3px 8px; border-bottom: 1px solid #eee; font-weight: 600; }
  .lane-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-size: 12px; }
  .lane-label small { display: block; font-weight: 400; color: var(--muted); font-size: 10px; }
  #view { position: relative; min-width: 0; overflow: hidden; cursor: crosshair; }
  #view.dragging { cursor: grabbing; }
  canvas { display: block; }
  #tip { position: absolute; pointer-events: none; background: rgba(30,30,34,.92); color: #fff; padding: 4px 7px; border-radius: 4px;
    max-width: 460px; white-space: pre-wrap; display: none; z-index: 5; font-size: 12px; }
  #side { border-left: 1px solid var(--line); overflow: auto; padding: 8px 10px; background: var(--panel); }
  #side h2 { font-size: 13px; margin: 0 0 6px; }
  #details table { border-collapse: collapse; width: 100%; }
  #details th { text-align: left; color: var(--muted); font-weight: 400; padding: 1px 8px 1px 0; vertical-align: top; white-space: nowrap; }
  #details td { padding: 1px 0; word-break: break-all; }
  #details .cmd { margin-top: 8px; background: #fff; border: 1px solid var(--line); padding: 6px; border-radius: 4px; user-select: all; word-break: break-all; }
  #details .code { margin-top: 6px; }
  #help { color: var(--muted); margin-top: 14px; }
  #consoleWrap { border-top: 1px solid var(--line); display: grid; grid-template-rows: auto 1fr; min-height: 0; }
  #consoleHead { padding: 2px 10px; color: var(--muted); }
  #console { margin: 0; padding: 4px 10px; overflow: auto; background: #111; color: #ddd; white-space: pre-wrap; }
  #console:empty::before { content: "(no console output before the cursor)"; color: #888; }
</style>
</head>
<body>
<div id="app">
  <header><h1 id="title">@@TITLE@@</h1><span id="meta">loading…</span></header>
  <div>
    <div id="notes"></div>
    <div id="bar">
      <input id="search" type="search" placeholder="symbol, seq:N, or instruction count" title="a symbol (marks at that symbol: Enter for the next), seq:N (an event), or a number (virtual time in instructions)">
      <span id="searchInfo"></span>
      <span id="legend"></span>
      <span id="levels"></span>
    </div>
  </div>
  <div id="main">
    <div id="labels"></div>
    <div id="view"><canvas id="cv"></canvas><div id="tip"></div></div>
    <div id="side"><h2>Details</h2><div id="details">Click a mark or a VM exit to pin its details.</div>
      <div id="help">Wheel: zoom at the cursor (shift+wheel: pan). Drag: pan. Keys: w/s zoom, a/d pan, 0 whole trace. Hover for a summary; click to pin.</div></div>
  </div>
  <div id="consoleWrap"><div id="consoleHead">Guest console up to the cursor</div><pre id="console"></pre></div>
</div>
<script id="data" type="application/octet-stream">@@DATA@@</script>
<script id="details-data" type="application/octet-stream">@@DETAILS@@</script>
<script>
"use strict";
(function () {
  var T0 = performance.now();
  var api = window.hvtrace = { ready: false, detailsReady: false, error: null, frameTimes: [], firstDrawMs: null, draws: 0 };
  var DET = null, pendingDetails = null;
  var LEVEL_COLORS = { 0: "#4e79a7", 1: "#f28e2b", 3: "#e15759", 4: "#4e79a7", 5: "#59a14f", 6: "#c9c9cf", 7: null, 8: "#b07aa1" };
  var REASON_COLORS = { 0: "#888", 1: "#edc948", 2: "#e15759", 3: "#ff9da7", 4: "#9c755f", 5: "#76b7b2", 6: "#499894", 7: "#bab0ac", 8: "#d37295", 9: "#8cd17d", 10: "#f1ce63", 11: "#333" };
  var PRIO = { 3: 6, 1: 5, 5: 4, 4: 3, 0: 3, 8: 2, 6: 1, 7: 0 };
  var KIND_COLORS = { trap: "#e15759", sbi_call: "#edc948", mmio: "#76b7b2", irq: "#b07aa1", hart_state: "#59a14f", input: "#4e79a7", halt: "#000", console: "#9c755f" };
  var KIND_BAND = { trap: 0, sbi_call: 1, hart_state: 1, halt: 1, mmio: 2, irq: 2, input: 2, console: 2 };
  var HART_H = 46, VCPU_H = 36, AXIS_H = 22;
  var D, W = 0, H = 0, dpr = 1, cv, ctx, view, lanesY = [], laneH = [];
  var t0 = 0, t1 = 1, enabled = {}, perLane = [], exitsPerLane = [], selected = null, cursorT = null;
  var consoleT = [], consoleCum = [];

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) { var e = document.createElement(tag); if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]); if (text != null) e.textContent = text; return e; }
  function fmtT(t) { var us = t / 1000; if (Math.abs(us) >= 1000) return (us / 1000).toFixed(us >= 100000 ? 1 : 3) + " ms"; if (Math.abs(us) >= 1) return us.toFixed(us >= 100 ? 1 : 3) + " µs"; return t.toFixed(0) + " ns"; }
  function lowerBound(arr, x, lo, hi) { while (lo < hi) { var m = (lo + hi) >> 1; if (arr[m] < x) lo = m + 1; else hi = m; } return lo; }
  function upperBound(arr, x, lo, hi) { while (lo < hi) { var m = (lo + hi) >> 1; if (arr[m] <= x) lo = m + 1; else hi = m; } return lo; }

  async function load(id) {
    var b64 = $(id).textContent.trim();
    var bin = atob(b64), n = bin.length, bytes = new Uint8Array(n);
    for (var i = 0; i < n; i++) bytes[i] = bin.charCodeAt(i);
    if (typeof DecompressionStream === "undefined") throw new Error("this browser has no DecompressionStream (needs Chromium 80+, Firefox 113+, Safari 16.4+)");
    var ds = new DecompressionStream("gzip");
    var text = await new Response(new Blob([bytes]).stream().pipeThrough(ds)).text();
    return JSON.parse(text);
  }

  function prepare() {
    var m = D.marks, nl = D.lanes.length, k, i;
    for (k = 0; k < D.kinds.length; k++) enabled[D.kinds[k]] = true;
    enabled.vm_exit = true;
    for (i = 0; i < nl; i++) { perLane.push({}); exitsPerLane.push([]); }
    var tmp = [];
    for (i = 0; i < nl; i++) { tmp.push({}); }
    for (i = 0; i < m.seq.length; i++) {
      var kind = D.kinds[m.kind[i]], L = tmp[m.lane[i]];
      (L[kind] || (L[kind] = [])).push(i);
    }
    for (i = 0; i < nl; i++) {
      for (k in tmp[i]) {
        var idx = tmp[i][k];
        idx.sort(function (a, b) { return m.t[a] - m.t[b] || m.seq[a] - m.seq[b]; });
        var ts = new Float64Array(idx.length);
        for (var j = 0; j < idx.length; j++) ts[j] = m.t[idx[j]];
        perLane[i][k] = { idx: Int32Array.from(idx), t: ts };
      }
    }
    // Console chunks as marks of kind 'console' on their hart's lane.
    var hartLane = {};
    D.lanes.forEach(function (L, li) { if (L.type === "hart") hartLane[parseInt(L.name.slice(5), 10)] = li; });
    var cIdx = [];
    for (i = 0; i < D.console.length; i++) cIdx.push(i);
    cIdx.sort(function (a, b) { return D.console[a].t - D.console[b].t || a - b; });
    var byLane = {};
    cIdx.forEach(function (ci) { var li = hartLane[D.console[ci].h < 0 ? 0 : D.console[ci].h]; if (li === undefined) return; (byLane[li] || (byLane[li] = [])).push(ci); });
    for (var li in byLane) { var ids = byLane[li]; var tt = new Float64Array(ids.length); for (i = 0; i < ids.length; i++) tt[i] = D.console[ids[i]].t; perLane[li].console = { idx: Int32Array.from(ids), t: tt, console: true }; }
    var cum = 0;
    cIdx.forEach(function (ci) { consoleT.push(D.console[ci].t); cum += D.console[ci].s.length; consoleCum.push(ci); });
    // VM exits per lane, by start.
    var x = D.exits;
    for (i = 0; i < x.seq.length; i++) if (x.lane[i] >= 0) exitsPerLane[x.lane[i]].push(i);
    for (i = 0; i < nl; i++) {
      var e = exitsPerLane[i];
      e.sort(function (a, b) { return x.t0[a] - x.t0[b] || x.seq[a] - x.seq[b]; });
      var t0s = new Float64Array(e.length);
      for (var j2 = 0; j2 < e.length; j2++) t0s[j2] = x.t0[e[j2]];
      exitsPerLane[i] = { idx: Int32Array.from(e), t: t0s };
    }
    var y = AXIS_H;
    D.lanes.forEach(function (L) { lanesY.push(y); var h = L.type === "hart" ? HART_H : VCPU_H; laneH.push(h); y += h; });
    t0 = 0; t1 = Math.max(D.end, 1);
  }

  function buildChrome() {
    $("title").textContent = "hvtrace timeline: " + D.title;
    var nEv = 0; for (var k in D.kindCounts) nEv += D.kindCounts[k];
    $("meta").textContent = D.status + (D.exit ? " (" + D.exit + ")" : "") + " · " + fmtT(D.end) + " of virtual time · " + D.lanes.length + " lanes · 1 instruction = 1 ns";
    var notes = $("notes");
    D.notes.forEach(function (n) { notes.appendChild(el("div", { "class": "note" }, "Note: " + n)); });
    var legend = $("legend");
    var kinds = D.kinds.concat(["vm_exit"]);
    kinds.forEach(function (k) {
      var lab = el("label", { "data-kind": k });
      var cb = el("input", { type: "checkbox" }); cb.checked = true;
      cb.addEventListener("change", function () { enabled[k] = cb.checked; requestDraw(); });
      var sw = el("span", { "class": "sw" }); sw.style.background = k === "vm_exit" ? REASON_COLORS[1] : KIND_COLORS[k];
      lab.appendChild(cb); lab.appendChild(sw);
      lab.appendChild(el("span", null, k + " "));
      lab.appendChild(el("span", { "class": "count", "data-kind": k }, String(D.kindCounts[k] || 0)));
      legend.appendChild(lab);
    });
    var lv = $("levels");
    Object.keys(D.levelNames).forEach(function (code) {
      if (code === "7") return;
      var s = el("span"); var sw = el("span", { "class": "sw" }); sw.style.background = LEVEL_COLORS[code];
      s.appendChild(sw); s.appendChild(document.createTextNode(" " + D.levelNames[code])); lv.appendChild(s);
    });
    var labels = $("labels");
    D.lanes.forEach(function (L, i) {
      var d = el("div", { "class": "lane-label", "data-lane": String(i), "data-type": L.type }, L.name);
      d.style.top = lanesY[i] + "px"; d.style.height = laneH[i] + "px";
      var sub = L.type === "hart" ? "privilege · marks" : "VS/VU · exits";
      d.appendChild(el("small", null, sub));
      labels.appendChild(d);
    });
  }

  function resize() {
    var r = view.getBoundingClientRect();
    dpr = window.devicePixelRatio || 1;
    W = Math.max(50, Math.floor(r.width)); H = Math.max(50, Math.floor(r.height));
    cv.width = W * dpr; cv.height = H * dpr; cv.style.width = W + "px"; cv.style.height = H + "px";
    requestDraw();
  }

  var pending = false;
  function requestDraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
  function xOf(t) { return (t - t0) / (t1 - t0) * W; }
  function tOf(x) { return t0 + x / W * (t1 - t0); }

  function drawAxis() {
    ctx.fillStyle = "#fafafa"; ctx.fillRect(0, 0, W, AXIS_H);
    var span = t1 - t0, step = Math.pow(10, Math.floor(Math.log10(span / 6)));
    if (span / step > 12) step *= 5; else if (span / step > 6) step *= 2;
    ctx.fillStyle = "#666"; ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
    ctx.strokeStyle = "#e4e4e8"; ctx.lineWidth = 1;
    for (var t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      var x = Math.round(xOf(t)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, AXIS_H - 6); ctx.lineTo(x, H); ctx.stroke();
      ctx.fillText(fmtT(t), x + 3, AXIS_H / 2);
    }
  }

  // Level of detail: for each pixel column, the level at the column's start; spans narrower
  // than a pixel are skipped with a binary search to the next column.
  function drawLevels(L, y, h) {
    var ts = L.t, lv = L.lv, n = ts.length;
    if (!n) return;
    var i = Math.max(0, lowerBound(ts, t0, 0, n) - 1);
    while (i < n) {
      var s = ts[i], e = i + 1 < n ? ts[i + 1] : Math.max(D.end, s);
      if (s > t1) break;
      var x0 = Math.max(0, xOf(s)), x1 = Math.min(W, xOf(e));
      var col = LEVEL_COLORS[lv[i]];
      if (x1 - x0 < 1) {
        // Sub-pixel: draw one pixel with this level, jump to the next column.
        // Sub-pixel: one pixel in the most telling level of the column (M over HS over VS over
        // U/VU over WFI), then jump to the next column.
        var px = Math.floor(x0);
        var next = lowerBound(ts, tOf(px + 1), i + 1, n), best = lv[i];
        for (var q = i + 1; q < next && q < i + 24; q++) if ((PRIO[lv[q]] || 0) > (PRIO[best] || 0)) best = lv[q];
        col = LEVEL_COLORS[best];
        if (col) { ctx.fillStyle = col; ctx.fillRect(px, y, 1, h); }
        i = Math.max(i + 1, next - 1);
        continue;
      }
      if (col) { ctx.fillStyle = col; ctx.fillRect(x0, y, x1 - x0, h); }
      i++;
    }
  }

  function drawMarks(li, y, h) {
    var P = perLane[li];
    for (var kind in P) {
      if (!enabled[kind]) continue;
      var A = P[kind], ts = A.t, n = ts.length;
      var band = KIND_BAND[kind] || 0, bh = Math.floor(h / 3);
      ctx.fillStyle = KIND_COLORS[kind] || "#000";
      var i = lowerBound(ts, t0, 0, n);
      while (i < n && ts[i] <= t1) {
        var px = Math.floor(xOf(ts[i]));
        ctx.fillRect(px, y + band * bh, 1, bh - 1);
        i = lowerBound(ts, tOf(px + 1), i + 1, n);
      }
    }
  }

  function drawExits(li, y, h) {
    if (!enabled.vm_exit) return;
    var E = exitsPerLane[li], x = D.exits, n = E.t.length;
    if (!n) return;
    // Exits are sorted by start; an exit starting before t0 may still be visible: back up over long ones.
    // A vCPU's exits do not overlap (exit, entry, next exit): only the one before t0 can reach
    // into the view, and of the exits starting inside one pixel column only the last can reach
    // past it, so the others are skipped.
    var i = lowerBound(E.t, t0, 0, n);
    if (i > 0) { var k0 = E.idx[i - 1]; var e0 = x.t1[k0] < 0 ? D.end : x.t1[k0]; if (e0 >= t0) drawExit(k0, y, h); }
    while (i < n && E.t[i] <= t1) {
      var k = E.idx[i];
      var ex = drawExit(k, y, h);
      if (ex.w < 1) i = Math.max(i + 1, lowerBound(E.t, tOf(Math.floor(ex.x) + 1), i + 1, n) - 1); else i++;
    }
  }
  function drawExit(k, y, h) {
    var x = D.exits, s = x.t0[k], e = x.t1[k] < 0 ? D.end : x.t1[k];
    var x0 = xOf(s), x1 = xOf(e), w = x1 - x0;
    ctx.fillStyle = REASON_COLORS[x.reason[k]] || "#888";
    ctx.fillRect(Math.floor(Math.max(x0, -1)), y, Math.max(1, Math.min(x1, W + 1) - Math.max(x0, -1)), h);
    return { x: x0, w: w };
  }

  function draw() {
    var start = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    drawAxis();
    for (var li = 0; li < D.lanes.length; li++) {
      var L = D.lanes[li], y = lanesY[li], h = laneH[li];
      if (y > H) break;
      ctx.fillStyle = li % 2 ? "#fbfbfd" : "#fff"; ctx.fillRect(0, y, W, h);
      if (L.type === "hart") { drawLevels(L, y + 3, 20); drawMarks(li, y + 26, 18); }
      else { drawLevels(L, y + 3, 14); drawExits(li, y + 19, 14); }
      ctx.fillStyle = "#eee"; ctx.fillRect(0, y + h - 1, W, 1);
    }
    if (selected) {
      var sx = xOf(selected.t), sy = lanesY[selected.lane];
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      var sw = selected.t1 !== undefined ? Math.max(3, xOf(selected.t1) - sx) : 3;
      ctx.strokeRect(sx - 2, sy + 1, sw + 2, laneH[selected.lane] - 2);
    }
    if (cursorT !== null) { var cx = Math.round(xOf(cursorT)) + 0.5; ctx.strokeStyle = "rgba(0,0,0,.35)"; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(cx, AXIS_H); ctx.lineTo(cx, H); ctx.stroke(); }
    var dt = performance.now() - start;
    api.draws++;
    api.frameTimes.push(dt);
    if (api.frameTimes.length > 1000) api.frameTimes.shift();
    if (api.firstDrawMs === null) { api.firstDrawMs = performance.now(); api.firstDrawSinceScript = api.firstDrawMs - T0; }
    api.view = { t0: t0, t1: t1, width: W };
  }

  // ---- navigation ----
  function zoom(f, atX) {
    var tc = tOf(atX === undefined ? W / 2 : atX);
    var span = Math.max(20, Math.min((t1 - t0) * f, Math.max(D.end, 1) * 4));
    var frac = atX === undefined ? 0.5 : atX / W;
    t0 = tc - span * frac; t1 = t0 + span; requestDraw();
  }
  function pan(dx) { var dt = dx / W * (t1 - t0); t0 += dt; t1 += dt; requestDraw(); }
  function showRange(a, b) { var pad = Math.max((b - a) * 0.1, 50); t0 = a - pad; t1 = b + pad; requestDraw(); }

  // ---- hit testing ----
  function laneAt(y) { for (var i = 0; i < lanesY.length; i++) if (y >= lanesY[i] && y < lanesY[i] + laneH[i]) return i; return -1; }
  function hit(x, y) {
    var li = laneAt(y);
    if (li < 0) return null;
    var L = D.lanes[li], t = tOf(x), best = null, bestD = 5;
    if (L.type === "vcpu" && enabled.vm_exit && y >= lanesY[li] + 17) {
      var E = exitsPerLane[li], X = D.exits, i = lowerBound(E.t, tOf(x - 5), 0, E.t.length);
      for (var j = Math.max(0, i - 64); j < E.t.length && E.t[j] <= tOf(x + 5); j++) {
        var k = E.idx[j], s = X.t0[k], e = X.t1[k] < 0 ? D.end : X.t1[k];
        var xs = xOf(s), xe = Math.max(xs + 1, xOf(e));
        var d = x < xs ? xs - x : x > xe ? x - xe : 0;
        if (d < bestD) { bestD = d; best = { type: "exit", k: k, lane: li, t: s, t1: e }; }
      }
      if (best) return best;
    }
    if (L.type === "hart" && y >= lanesY[li] + 24) {
      var P = perLane[li];
      for (var kind in P) {
        if (!enabled[kind]) continue;
        var A = P[kind], n = A.t.length, i2 = lowerBound(A.t, t, 0, n);
        for (var c = Math.max(0, i2 - 1); c <= Math.min(n - 1, i2); c++) {
          var d2 = Math.abs(xOf(A.t[c]) - x);
          if (d2 < bestD) { bestD = d2; best = A.console ? { type: "console", k: A.idx[c], lane: li, t: A.t[c] } : { type: "mark", k: A.idx[c], lane: li, t: A.t[c] }; }
        }
      }
      if (best) return best;
    }
    var ts = L.t, n2 = ts.length;
    if (!n2) return null;
    var p = upperBound(ts, t, 0, n2) - 1;
    if (p < 0) return null;
    return { type: "level", lane: li, p: p, t: ts[p], t1: p + 1 < n2 ? ts[p + 1] : D.end };
  }

  /** A path as a shell word (quoted when it has spaces or shell characters). */
  function shq(s) { return /^[\w.\/:@%+=,-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'"; }
  function fieldsOf(s) { return s.split("\t").map(function (kv) { var i = kv.indexOf("="); return [kv.slice(0, i), kv.slice(i + 1)]; }); }
  function summary(h) {
    if (!h) return "";
    var L = D.lanes[h.lane];
    if (h.type === "level") { var lv = L.lv[h.p]; return L.name + ": " + (D.levelNames[lv] || "?") + " from " + fmtT(h.t) + " to " + fmtT(h.t1) + " (" + fmtT(h.t1 - h.t) + ")"; }
    if (h.type === "console") { var c = D.console[h.k]; return "console (hart " + c.h + ") at " + fmtT(c.t) + ":\n" + c.s.slice(0, 300); }
    if (h.type === "mark") { var m = D.marks; return "#" + m.seq[h.k] + " " + D.kinds[m.kind[h.k]] + ": " + D.names[m.name[h.k]] + " at " + fmtT(m.t[h.k]) + (m.code[h.k] >= 0 && D.codeSym[m.code[h.k]] ? " <" + D.codeSym[m.code[h.k]] + ">" : ""); }
    var X = D.exits, k = h.k, dur = X.t1[k] < 0 ? "no entry" : fmtT(X.t1[k] - X.t0[k]);
    return "#" + X.seq[k] + " VM exit: " + (D.reasons[X.reason[k]] || "?") + " on " + L.name + ", " + dur;
  }

  function showDetails(h) {
    var box = $("details"); box.textContent = "";
    if (h && h.type !== "level" && h.type !== "console" && !DET) { pendingDetails = h; box.textContent = "loading details…"; return; }
    pendingDetails = null;
    if (!h || h.type === "level") { box.textContent = h ? summary(h) : "Click a mark or a VM exit to pin its details."; return; }
    var kind, fields, code = -1, seq = null;
    if (h.type === "console") { var c = D.console[h.k]; kind = "console"; fields = [["hart", String(c.h)], ["vtime", String(c.t)], ["text", c.s]]; }
    else if (h.type === "mark") {
      var m = D.marks; kind = D.kinds[m.kind[h.k]]; code = m.code[h.k]; seq = m.seq[h.k];
      fields = [["seq", String(seq)], ["hart", D.lanes[m.lane[h.k]].name.slice(5)], ["vtime", String(m.t[h.k])]].concat(fieldsOf(DET.marks[h.k]));
    } else {
      var X = D.exits; kind = "vm_exit"; code = X.code[h.k]; seq = X.seq[h.k];
      fields = [["seq", String(seq)], ["vtime", String(X.t0[h.k])]].concat(fieldsOf(DET.exits[h.k]));
    }
    box.appendChild(el("div", { "class": "kind", "data-kind": kind }, kind + (seq !== null ? " #" + seq : "")));
    var tb = el("table", { "class": "fields" });
    fields.forEach(function (f) { var tr = el("tr", { "data-field": f[0] }); tr.appendChild(el("th", null, f[0])); tr.appendChild(el("td", { "class": "mono" }, f[1])); tb.appendChild(tr); });
    box.appendChild(tb);
    if (code >= 0) {
      var cd = el("div", { "class": "code mono" });
      if (D.codeSym[code]) cd.appendChild(el("div", { "class": "symbol" }, "<" + D.codeSym[code] + ">"));
      if (D.codeInsn[code]) cd.appendChild(el("div", { "class": "insn" }, D.codeInsn[code]));
      box.appendChild(cd);
    }
    if (seq !== null) {
      box.appendChild(el("div", { style: "margin-top:8px;color:#6b6b70" }, "Land there:"));
      box.appendChild(el("code", { "class": "cmd", style: "display:block" }, "hvtrace replay " + shq(D.file) + " --to seq:" + seq));
    }
  }

  function updateConsole(t) {
    var pre = $("console");
    var k = upperBound(consoleT, t, 0, consoleT.length);
    var parts = [], len = 0;
    for (var i = k - 1; i >= 0 && len < 6000; i--) { var s = D.console[consoleCum[i]].s; parts.push(s); len += s.length; }
    pre.textContent = parts.reverse().join("");
    pre.scrollTop = pre.scrollHeight;
    $("consoleHead").textContent = "Guest console up to " + fmtT(t) + " (" + k + " of " + consoleT.length + " chunks)";
  }

  // ---- search ----
  var lastQuery = null, matches = [], matchPos = -1;
  function search(q) {
    var info = $("searchInfo"); q = q.trim();
    if (!q) { info.textContent = ""; return; }
    var m = D.marks, i;
    var sm = /^(?:seq:|#)(\d+)$/.exec(q);
    if (sm) {
      var seq = Number(sm[1]);
      var X = D.exits, xi = X.seq.indexOf(seq);
      if (xi >= 0) { var ee = X.t1[xi] < 0 ? D.end : X.t1[xi]; select({ type: "exit", k: xi, lane: X.lane[xi], t: X.t0[xi], t1: ee }, true); info.textContent = "VM exit #" + seq; return; }
      var p = lowerBound(m.seq, seq, 0, m.seq.length);
      if (p >= m.seq.length) p = m.seq.length - 1;
      if (p < 0) { info.textContent = "no events"; return; }
      select({ type: "mark", k: p, lane: m.lane[p], t: m.t[p] }, true);
      info.textContent = m.seq[p] === seq ? "event #" + seq : "#" + seq + " is not drawn (CSR write, trap return or entry): nearest #" + m.seq[p];
      return;
    }
    if (/^\d[\d_,]*$/.test(q)) { var t = Number(q.replace(/[_,]/g, "")); var span = t1 - t0; t0 = t - span / 2; t1 = t + span / 2; cursorT = t; updateConsole(t); requestDraw(); info.textContent = "virtual time " + fmtT(t); return; }
    if (q !== lastQuery) {
      lastQuery = q; matches = []; matchPos = -1;
      var codes = {};
      for (i = 0; i < D.codeSym.length; i++) { var s = D.codeSym[i]; if (s === q || s.indexOf(q + "+") === 0) codes[i] = true; }
      for (i = 0; i < m.seq.length; i++) if (codes[m.code[i]]) matches.push(i);
      var xs = [];
      for (i = 0; i < D.exits.seq.length; i++) if (codes[D.exits.code[i]]) xs.push(i);
      matches = matches.map(function (k) { return { type: "mark", k: k, t: m.t[k], seq: m.seq[k] }; })
        .concat(xs.map(function (k) { return { type: "exit", k: k, t: D.exits.t0[k], seq: D.exits.seq[k] }; }))
        .sort(function (a, b) { return a.seq - b.seq; });
    }
    if (!matches.length) { info.textContent = "no mark at " + q; return; }
    matchPos = (matchPos + 1) % matches.length;
    var h = matches[matchPos];
    if (h.type === "mark") select({ type: "mark", k: h.k, lane: m.lane[h.k], t: h.t }, true);
    else { var X2 = D.exits; select({ type: "exit", k: h.k, lane: X2.lane[h.k], t: X2.t0[h.k], t1: X2.t1[h.k] < 0 ? D.end : X2.t1[h.k] }, true); }
    info.textContent = (matchPos + 1) + " of " + matches.length + " at " + q;
  }

  function select(h, center) {
    selected = h && h.type !== "level" ? h : null;
    showDetails(h);
    if (h && center) {
      var span = t1 - t0, e = h.t1 !== undefined ? h.t1 : h.t;
      if (e - h.t > span * 0.8) showRange(h.t, e); else { t0 = (h.t + e) / 2 - span / 2; t1 = t0 + span; }
      cursorT = h.t; updateConsole(h.t);
    }
    requestDraw();
  }

  function setup() {
    view = $("view"); cv = $("cv"); ctx = cv.getContext("2d", { alpha: false });
    var tip = $("tip"), drag = null;
    view.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = view.getBoundingClientRect(), x = ev.clientX - r.left;
      if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) pan((ev.shiftKey ? ev.deltaY : ev.deltaX) * 0.8);
      else zoom(Math.pow(1.0015, ev.deltaY), x);
    }, { passive: false });
    view.addEventListener("mousedown", function (ev) { var r = view.getBoundingClientRect(); drag = { x: ev.clientX, moved: false, x0: ev.clientX - r.left, y0: ev.clientY - r.top }; });
    window.addEventListener("mouseup", function () {
      if (drag && !drag.moved) select(hit(drag.x0, drag.y0), false);
      drag = null; view.classList.remove("dragging");
    });
    view.addEventListener("mousemove", function (ev) {
      var r = view.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
      if (drag) { var dx = ev.clientX - drag.x; if (Math.abs(dx) > 2 || drag.moved) { drag.moved = true; view.classList.add("dragging"); pan(-dx); drag.x = ev.clientX; } return; }
      var h = hit(x, y);
      cursorT = tOf(x); updateConsole(cursorT); requestDraw();
      if (h) { tip.style.display = "block"; tip.textContent = summary(h); tip.style.left = Math.min(x + 12, W - 300) + "px"; tip.style.top = (y + 14) + "px"; }
      else tip.style.display = "none";
    });
    view.addEventListener("mouseleave", function () { tip.style.display = "none"; });
    var keys = {};
    window.addEventListener("keydown", function (ev) {
      if (ev.target && ev.target.tagName === "INPUT") return;
      var k = ev.key.toLowerCase();
      if (k === "0") { t0 = 0; t1 = Math.max(D.end, 1); requestDraw(); return; }
      if ("wsad".indexOf(k) >= 0 && k.length === 1) { if (!keys[k]) { keys[k] = true; keyLoop(); } ev.preventDefault(); }
    });
    window.addEventListener("keyup", function (ev) { delete keys[ev.key.toLowerCase()]; });
    var looping = false;
    function keyLoop() {
      if (looping) return; looping = true;
      (function step() {
        var any = false;
        if (keys.w) { zoom(0.92, cursorT !== null ? xOf(cursorT) : undefined); any = true; }
        if (keys.s) { zoom(1 / 0.92, cursorT !== null ? xOf(cursorT) : undefined); any = true; }
        if (keys.a) { pan(-W * 0.03); any = true; }
        if (keys.d) { pan(W * 0.03); any = true; }
        if (any) requestAnimationFrame(step); else looping = false;
      })();
    }
    $("search").addEventListener("keydown", function (ev) { if (ev.key === "Enter") search(ev.target.value); });
    window.addEventListener("resize", resize);
    resize();
  }

  api.zoom = function (f, x) { zoom(f, x); };
  api.setView = function (a, b) { t0 = a; t1 = b; draw(); };
  api.drawNow = function () { draw(); return api.frameTimes[api.frameTimes.length - 1]; };
  /** Where an event (a mark or a VM exit) is drawn now, in page coordinates (null when hidden). */
  api.locate = function (seq) {
    var X = D.exits, r = view.getBoundingClientRect(), i = X.seq.indexOf(seq);
    if (i >= 0 && X.lane[i] >= 0) { var e = X.t1[i] < 0 ? D.end : X.t1[i]; var xm = (Math.max(xOf(X.t0[i]), 0) + Math.min(Math.max(xOf(e), xOf(X.t0[i]) + 1), W)) / 2; return { x: r.left + xm, y: r.top + lanesY[X.lane[i]] + 19 + 7, lane: X.lane[i] }; }
    var m = D.marks, p = m.seq.indexOf(seq);
    if (p < 0) return null;
    var band = KIND_BAND[D.kinds[m.kind[p]]] || 0;
    return { x: r.left + xOf(m.t[p]) + 0.5, y: r.top + lanesY[m.lane[p]] + 26 + band * 6 + 2, lane: m.lane[p] };
  };
  api.search = search;

  load("data").then(function (data) {
    D = data; api.data = D;
    prepare(); buildChrome(); setup();
    api.lanes = D.lanes.map(function (L) { return { name: L.name, type: L.type }; });
    api.markCounts = Object.assign({}, D.kindCounts);
    api.loadedMs = performance.now() - T0;
    requestAnimationFrame(function () {
      api.ready = true;
      // The fields of every event: only needed for the details panel, inflated after the first frame.
      setTimeout(function () {
        load("details-data").then(function (det) {
          DET = det; api.detailsReady = true;
          if (pendingDetails) showDetails(pendingDetails);
        }).catch(function (e) { api.error = String(e && e.message || e); });
      }, 0);
    });
  }).catch(function (e) {
    api.error = String(e && e.message || e);
    $("meta").textContent = "cannot show this trace: " + api.error;
  });
})();
</script>
</body>
</html>
`;

// The lap page: laps (`?l=UUID:N`, repeated) from /api/lap, overlaid against lap distance with
// uPlot — speed, throttle, brake, steering, gear, rpm, and the time delta to a reference lap —
// with one cursor shared by every chart and the map, sector splits, the theoretical best and
// the server's events marked on the traces and the map.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const COLOURS = ["#4ea3ff", "#ffb02e", "#3ecf6e", "#ff5a5a", "#b48cff", "#e6e8eb"];
  const MAX_LAPS = COLOURS.length;
  const SYNC = uPlot.sync("lap");
  let laps = []; // /api/lap answers, in the order shown
  let reference = 0; // index into laps
  const charts = {};
  let view = null;

  function setState(state, text) {
    const c = $("connection");
    c.dataset.state = state;
    c.textContent = text;
  }

  function problem(text) {
    const p = $("problem");
    p.hidden = false;
    p.textContent = text;
  }

  function wanted() {
    const out = [];
    for (const value of new URLSearchParams(location.search).getAll("l")) {
      const m = /^([0-9a-fA-F-]{32,36}):(\d{1,9})$/.exec(value);
      if (m && !out.some((w) => w.session === m[1] && w.lap === m[2])) out.push({ session: m[1], lap: m[2] });
    }
    return out.slice(0, MAX_LAPS);
  }

  async function fetchLap(w) {
    return PW.getJson("/api/lap", { session: w.session, lap: w.lap });
  }

  // ---- the charts ----
  const axis = { stroke: "#8a939e", grid: { stroke: "#2a3038" }, ticks: { stroke: "#2a3038" } };
  const yAxis = Object.assign({ size: 60 }, axis);

  function makeChart(id, key, range, stepped) {
    const el = $(id);
    const series = [{ label: "m", value: (u, v) => (v === null ? "" : `${Math.round(v)} m`) }];
    laps.forEach((lap, i) => series.push({
      label: `${lap.driver} L${lap.lap}`,
      stroke: COLOURS[i],
      width: i === reference ? 2 : 1.4,
      points: { show: false },
      paths: stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
    }));
    // The server's events, as points on the first lap that has them.
    series.push({ label: "events", stroke: "#ff5a5a", fill: "#ff5a5a", paths: () => null, points: { show: true, size: 9, width: 2 } });
    const opts = {
      width: Math.max(320, el.clientWidth || 640),
      height: key === "delta" ? 150 : 120,
      legend: { show: false },
      cursor: { sync: { key: SYNC.key }, drag: { x: true, y: false } },
      scales: { x: { time: false }, y: range ? { range } : {} },
      series,
      axes: [axis, yAxis],
      hooks: { setCursor: [onCursor] },
    };
    const chart = new uPlot(opts, data(key), el);
    el.dataset.series = String(laps.length);
    el.dataset.points = String(chart.data[0].length);
    return chart;
  }

  // The columns of one chart: the shared distance grid, one series per lap (null past its
  // end), and the event markers.
  function data(key) {
    const longest = Math.max(...laps.map((l) => l.trace.distance_m.length));
    const x = [];
    for (let k = 0; k < longest; k++) x.push(k * 2);
    const cols = [x];
    for (let i = 0; i < laps.length; i++) cols.push(column(laps[i], key, longest, i));
    cols.push(eventColumn(key, cols, longest));
    return cols;
  }

  function column(lap, key, n, i) {
    const out = new Array(n).fill(null);
    if (key === "delta") {
      const ref = laps[reference].trace.t_ms;
      const t = lap.trace.t_ms;
      const m = Math.min(ref.length, t.length);
      for (let k = 0; k < m; k++) out[k] = (t[k] - ref[k]) / 1000;
      return out;
    }
    const v = lap.trace[key];
    for (let k = 0; k < v.length; k++) out[k] = v[k];
    return out;
  }

  function eventColumn(key, cols, n) {
    const out = new Array(n).fill(null);
    laps.forEach((lap, i) => {
      for (const e of lap.events) {
        if (e.distance_m === null) continue;
        const k = Math.min(n - 1, Math.round(e.distance_m / 2));
        out[k] = cols[i + 1][k];
      }
    });
    return out;
  }

  function drawCharts() {
    for (const el of document.querySelectorAll("#lap-charts .trace > div")) el.replaceChildren();
    charts.delta = makeChart("c-delta", "delta", null, false);
    charts.speed = makeChart("c-speed", "speed_kmh", [0, null], false);
    charts.throttle = makeChart("c-throttle", "throttle", [0, 1], false);
    charts.brake = makeChart("c-brake", "brake", [0, 1], false);
    charts.steering = makeChart("c-steering", "steering", [-1, 1], false);
    charts.gear = makeChart("c-gear", "gear", [-1, 8], true);
    charts.rpm = makeChart("c-rpm", "rpm", [0, null], false);
    const ref = laps[reference];
    const delta = $("c-delta");
    delta.dataset.reference = `${ref.session_id}:${ref.lap}`;
    // The delta of each lap at the end of the shorter of it and the reference, ms.
    delta.dataset.finalDeltas = JSON.stringify(laps.map((lap) => {
      const m = Math.min(lap.trace.t_ms.length, ref.trace.t_ms.length) - 1;
      return m >= 0 ? Math.round(lap.trace.t_ms[m] - ref.trace.t_ms[m]) : null;
    }));
  }

  // ---- the cursor: every chart (uPlot's sync) and the map ----
  function onCursor(u) {
    const k = u.cursor.idx;
    if (k === null || k === undefined) return;
    const parts = [`${k * 2} m`];
    const dots = [];
    laps.forEach((lap, i) => {
      const tr = lap.trace;
      if (k >= tr.distance_m.length) return;
      parts.push(`${lap.driver} L${lap.lap}: ${Math.round(tr.speed_kmh[k])} km/h, gear ${tr.gear[k]}`);
      if (view) dots.push([i, tr.x[k], tr.z[k]]);
    });
    $("cursor-readout").textContent = parts.join(" · ");
    document.body.dataset.cursor = String(k);
    drawDots(dots);
  }

  // ---- the map: the reference lap's path, the events, the cursor ----
  const NS = "http://www.w3.org/2000/svg";
  function drawMap() {
    const tr = laps[reference].trace;
    if (!tr.x.length) return;
    let minX = Infinity; let maxX = -Infinity; let minZ = Infinity; let maxZ = -Infinity;
    for (let k = 0; k < tr.x.length; k++) {
      minX = Math.min(minX, tr.x[k]); maxX = Math.max(maxX, tr.x[k]);
      minZ = Math.min(minZ, tr.z[k]); maxZ = Math.max(maxZ, tr.z[k]);
    }
    const size = Math.max(maxX - minX, maxZ - minZ, 1);
    const pad = size * 0.04;
    view = { minX: minX - pad, maxZ: maxZ + pad, size };
    const svg = $("lap-map");
    svg.setAttribute("viewBox", `0 0 ${(maxX - minX + 2 * pad).toFixed(1)} ${(maxZ - minZ + 2 * pad).toFixed(1)}`);
    let d = "";
    for (let k = 0; k < tr.x.length; k += 2) d += `${k ? "L" : "M"}${mx(tr.x[k]).toFixed(1)} ${mz(tr.z[k]).toFixed(1)}`;
    const line = $("lap-map-line");
    line.setAttribute("d", d);
    line.setAttribute("stroke-width", (size / 90).toFixed(2));
    const marks = [];
    laps.forEach((lap) => {
      for (const e of lap.events) {
        if (e.distance_m === null) continue;
        const k = Math.min(lap.trace.x.length - 1, Math.round(e.distance_m / 2));
        const c = document.createElementNS(NS, "circle");
        c.setAttribute("cx", mx(lap.trace.x[k]).toFixed(1));
        c.setAttribute("cy", mz(lap.trace.z[k]).toFixed(1));
        c.setAttribute("r", (size / 60).toFixed(1));
        c.setAttribute("class", `mark ${e.kind}`);
        const title = document.createElementNS(NS, "title");
        title.textContent = `${lap.driver} L${lap.lap}: ${e.text}`;
        c.appendChild(title);
        marks.push(c);
      }
      // Sector ends: small squares on the reference lap's line.
    });
    laps[reference].sector_ends_m.forEach((dm, s) => {
      const k = Math.min(tr.x.length - 1, Math.round(dm / 2));
      const r = document.createElementNS(NS, "rect");
      const w = size / 70;
      r.setAttribute("x", (mx(tr.x[k]) - w / 2).toFixed(1));
      r.setAttribute("y", (mz(tr.z[k]) - w / 2).toFixed(1));
      r.setAttribute("width", w.toFixed(1));
      r.setAttribute("height", w.toFixed(1));
      r.setAttribute("class", "sector-end");
      const title = document.createElementNS(NS, "title");
      title.textContent = `end of sector ${s + 1}`;
      r.appendChild(title);
      marks.push(r);
    });
    $("lap-map-marks").replaceChildren(...marks);
  }
  const mx = (x) => x - view.minX;
  const mz = (z) => view.maxZ - z;

  function drawDots(dots) {
    $("lap-map-cursor").replaceChildren(...dots.map(([i, x, z]) => {
      const c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", mx(x).toFixed(1));
      c.setAttribute("cy", mz(z).toFixed(1));
      c.setAttribute("r", (view.size / 55).toFixed(1));
      c.setAttribute("fill", COLOURS[i]);
      c.dataset.lap = String(i);
      return c;
    }));
  }

  // ---- the list of laps: sectors, fidelity, events, reference, downloads ----
  function drawList() {
    const sectorCount = Math.max(0, ...laps.map((l) => l.sectors_ms.length));
    const best = [];
    for (let s = 0; s < sectorCount; s++) {
      const v = laps.map((l) => l.sectors_ms[s]).filter((x) => x !== undefined);
      best.push(v.length ? Math.min(...v) : null);
    }
    $("lap-list").tBodies[0].replaceChildren(...laps.map((lap, i) => {
      const tr = document.createElement("tr");
      tr.dataset.lap = `${lap.session_id}:${lap.lap}`;
      const cell = (key, text, cls) => {
        const td = PW.el("td", cls, text);
        td.dataset.col = key;
        tr.appendChild(td);
        return td;
      };
      const swatch = cell("colour", "");
      swatch.appendChild(PW.el("span", "swatch", "")).style.background = COLOURS[i];
      cell("driver", lap.driver);
      cell("car", lap.car_model);
      cell("lap", lap.lap);
      cell("time", PW.lap(lap.time_ms), lap.invalid.length ? "bad" : "");
      const sectors = cell("sectors", "", "sector");
      lap.sectors_ms.forEach((ms, s) => {
        const span = PW.el("span", ms === best[s] ? "sb" : "", (ms / 1000).toFixed(3));
        span.style.display = "inline";
        sectors.appendChild(span);
        if (s + 1 < lap.sectors_ms.length) sectors.appendChild(document.createTextNode(" · "));
      });
      const total = lap.frames + lap.missed_steps;
      const fid = cell("fidelity", total ? `${(100 * lap.frames / total).toFixed(1)} %` : "");
      fid.title = `${lap.frames_read} of ${lap.frames} frames read, ${lap.missed_steps} physics steps missed`;
      cell("events", lap.events.map((e) => e.text).join("; ") || "none");
      const refCell = cell("reference", "");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "reference";
      radio.checked = i === reference;
      radio.addEventListener("change", () => { reference = i; redraw(); });
      refCell.appendChild(radio);
      const dl = cell("download", "");
      for (const format of ["csv", "parquet", "motec"]) {
        const a = PW.el("a", "download", format === "motec" ? "MoTeC" : format.toUpperCase());
        a.href = PW.url("/api/lap/download", { session: lap.session_id, lap: String(lap.lap), format });
        a.dataset.format = format;
        dl.appendChild(a);
      }
      return tr;
    }));
    const theo = best.every((b) => b !== null) && best.length ? best.reduce((a, b) => a + b, 0) : null;
    $("theoretical").textContent = theo === null ? "" :
      `Theoretical best of these laps (best sectors, in purple): ${PW.lap(theo)}`;
    $("theoretical").dataset.ms = theo === null ? "" : String(theo);
    const list = $("events");
    list.replaceChildren(...laps.flatMap((lap, i) => lap.events.map((e) => {
      const li = PW.el("li", e.kind, `${lap.driver} L${lap.lap}: ${e.text}` +
        (e.distance_m !== null ? ` (${Math.round(e.distance_m)} m)` : ""));
      li.style.borderLeftColor = COLOURS[i];
      return li;
    })));
  }

  function redraw() {
    drawList();
    drawCharts();
    drawMap();
    document.body.dataset.laps = String(laps.length);
    document.body.dataset.reference = String(reference);
  }

  async function main() {
    const asked = wanted();
    if (!asked.length) {
      setState("offline", "no lap");
      problem("No lap asked for: pick laps on the Sessions page.");
      return;
    }
    const got = await Promise.allSettled(asked.map(fetchLap));
    laps = got.filter((g) => g.status === "fulfilled").map((g) => g.value).filter((l) => l.trace.distance_m.length > 1);
    const failed = got.filter((g) => g.status === "rejected").map((g) => g.reason.message);
    if (failed.length) problem(`Not shown: ${failed.join("; ")}`);
    if (!laps.length) {
      setState("offline", "no lap");
      return;
    }
    // One lap: the fastest valid lap of its session comes as the reference.
    if (laps.length === 1) {
      try {
        const own = await PW.getJson("/api/session/laps", { telemetry: laps[0].session_id });
        const valid = own.filter((l) => !l.invalid.length).sort((a, b) => a.time_ms - b.time_ms);
        if (valid.length && valid[0].lap !== laps[0].lap) laps.unshift(await fetchLap({ session: valid[0].session_id, lap: String(valid[0].lap) }));
      } catch (_) {
        // Without it the lap is its own reference.
      }
    }
    // The reference: the fastest lap without a reason to set it aside, else the fastest.
    const order = laps.map((l, i) => [l.invalid.length > 0, l.time_ms, i]).sort((a, b) => (a[0] - b[0]) || (a[1] - b[1]));
    reference = order[0][2];
    setState("live", `${laps.length} lap${laps.length > 1 ? "s" : ""}`);
    redraw();
    // When the page was drawn, ms after navigation started (the benchmark reads it).
    document.body.dataset.drawnMs = String(Math.round(performance.now()));
  }

  main();
})();

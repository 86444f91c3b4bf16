// The live telemetry page: pick a live car (/api/telemetry), follow it over /ws/telemetry, and
// draw its last WINDOW_S seconds with uPlot. Messages: {"s":[seq, unix_ms, speed_kmh, throttle,
// brake, steering, gear, rpm]} at most 30 a second, {"t":[seq, [core °C FL FR RL RR],
// [psi FL FR RL RR]]} twice a second.
"use strict";

(() => {
  const WINDOW_S = 30;
  const $ = (id) => document.getElementById(id);
  const select = $("car");
  let sessions = [];
  let chosen = new URLSearchParams(location.search).get("session") || "";
  let ws = null;
  let retry = 1000;
  let count = 0;
  let dirty = false;

  // Columns: time (s), speed, throttle, brake, steering, gear, rpm.
  let data = [[], [], [], [], [], [], []];

  function setState(state, text) {
    const c = $("connection");
    c.dataset.state = state;
    c.textContent = text;
  }

  // ---- the charts ----
  const axis = { stroke: "#8a939e", grid: { stroke: "#2a3038" }, ticks: { stroke: "#2a3038" } };
  // Room for "10,000" rpm, and the same on every chart so that their time axes line up.
  const yAxis = Object.assign({ size: 60 }, axis);
  function chart(id, series, scales, axes) {
    const el = $(id);
    const opts = {
      width: Math.max(320, el.clientWidth || 640),
      height: 130,
      // The headings above the charts name the series, in their colours.
      legend: { show: false },
      cursor: { show: false },
      scales: Object.assign({ x: { time: true } }, scales || {}),
      // Points only where a line cannot be drawn: at 30 samples a second, markers are noise.
      series: [{}].concat(series.map((s) => Object.assign({ points: { show: false } }, s))),
      axes: axes || [axis, yAxis],
    };
    const empty = [[]].concat(series.map(() => []));
    return new uPlot(opts, empty, el);
  }
  const charts = {
    speed: chart("c-speed", [{ label: "km/h", stroke: "#4ea3ff", width: 1.5 }], { y: { range: [0, null] } }),
    pedals: chart(
      "c-pedals",
      [
        { label: "throttle", stroke: "#3ecf6e", width: 1.5 },
        { label: "brake", stroke: "#ff5a5a", width: 1.5 },
      ],
      { y: { range: [0, 1] } },
    ),
    steer: chart("c-steer", [{ label: "steering", stroke: "#ffb02e", width: 1.5 }], { y: { range: [-1, 1] } }),
    engine: chart(
      "c-engine",
      [
        { label: "rpm", stroke: "#b48cff", width: 1.5, scale: "rpm" },
        { label: "gear", stroke: "#e6e8eb", width: 1.5, scale: "gear", paths: uPlot.paths.stepped({ align: 1 }) },
      ],
      { rpm: { range: [0, null] }, gear: { range: [-1, 8] } },
      [axis, Object.assign({ scale: "rpm" }, yAxis), Object.assign({ scale: "gear", side: 1, size: 30 }, axis, { grid: { show: false } })],
    ),
  };

  function draw() {
    if (dirty) {
      dirty = false;
      const [t, speed, throttle, brake, steer, gear, rpm] = data;
      charts.speed.setData([t, speed]);
      charts.pedals.setData([t, throttle, brake]);
      charts.steer.setData([t, steer]);
      charts.engine.setData([t, rpm, gear]);
      const p = $("points");
      p.textContent = String(count);
      p.dataset.count = String(count);
      p.dataset.series = String(charts.speed.data[0].length);
    }
    requestAnimationFrame(draw);
  }
  requestAnimationFrame(draw);

  window.addEventListener("resize", () => {
    for (const c of Object.values(charts)) {
      c.setSize({ width: Math.max(320, c.root.parentElement.clientWidth), height: 130 });
    }
  });

  function clear() {
    data = [[], [], [], [], [], [], []];
    count = 0;
    dirty = true;
  }

  function onSample(s) {
    const [, unixMs, speed, throttle, brake, steer, gear, rpm] = s;
    const t = unixMs / 1000;
    // A session that starts over (or a clock that steps back) starts the traces over.
    if (data[0].length && t < data[0][data[0].length - 1]) clear();
    const row = [t, speed, throttle, brake, steer, gear, rpm];
    for (let i = 0; i < row.length; i++) data[i].push(row[i]);
    let old = 0;
    while (old < data[0].length && data[0][old] < t - WINDOW_S) old++;
    if (old > 0) for (const column of data) column.splice(0, old);
    count++;
    dirty = true;
  }

  function onTyres(m) {
    const [, temps, psi] = m;
    for (const tyre of document.querySelectorAll(".tyre")) {
      const w = Number(tyre.dataset.wheel);
      tyre.querySelector(".temp").textContent = temps[w].toFixed(1);
      tyre.querySelector(".psi").textContent = `${psi[w].toFixed(1)} psi`;
      // The bar spans 40 to 120 °C; cold under 70, hot over 100 (road tyres' window).
      const pct = Math.max(0, Math.min(100, ((temps[w] - 40) / 80) * 100));
      tyre.querySelector(".bar span").style.width = `${pct}%`;
      tyre.dataset.heat = temps[w] < 70 ? "cold" : temps[w] > 100 ? "hot" : "ok";
    }
  }

  // ---- the car list ----
  function showInfo() {
    const s = sessions.find((x) => x.session === chosen);
    $("t-player").textContent = s ? s.player || "—" : "—";
    $("t-car").textContent = s ? s.car_model || "—" : "—";
    $("t-track").textContent = s ? [s.track, s.track_config].filter(Boolean).join(" — ") || "—" : "—";
    $("t-fps").textContent = s ? String(s.frames_per_second) : "—";
    $("empty").hidden = sessions.length > 0;
  }

  async function refreshList() {
    try {
      sessions = await PW.getJson("/api/telemetry");
    } catch (e) {
      sessions = [];
      if (e.status === 503) setState("offline", "no live telemetry");
    }
    const options = [PW.el("option", null, "—")];
    options[0].value = "";
    for (const s of sessions) {
      const o = PW.el("option", null, `${s.player || "?"} · ${s.car_model || "?"}`);
      o.value = s.session;
      options.push(o);
    }
    if (chosen && !sessions.some((s) => s.session === chosen)) {
      const o = PW.el("option", null, `${chosen.slice(0, 8)}… (not live)`);
      o.value = chosen;
      options.push(o);
    }
    select.replaceChildren(...options);
    if (!chosen && sessions.length) choose(sessions[0].session);
    if (!chosen && !sessions.length && $("connection").dataset.state !== "offline") {
      setState("connecting", "no live car");
    }
    select.value = chosen;
    showInfo();
  }

  function choose(session) {
    if (session === chosen && ws) return;
    chosen = session;
    const q = new URLSearchParams(location.search);
    if (chosen) q.set("session", chosen);
    else q.delete("session");
    history.replaceState(null, "", `${location.pathname}?${q.toString()}`);
    clear();
    if (ws) {
      ws.onclose = null;
      ws.close();
      ws = null;
    }
    showInfo();
    if (chosen) connect();
  }

  select.addEventListener("change", () => choose(select.value));

  // ---- the connection ----
  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${PW.url("/ws/telemetry", { session: chosen })}`);
    ws = socket;
    socket.onopen = () => {
      retry = 1000;
      setState("live", "live");
    };
    socket.onmessage = (event) => {
      let m;
      try {
        m = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (m.s) onSample(m.s);
      else if (m.t) onTyres(m.t);
    };
    socket.onclose = () => {
      if (ws !== socket) return;
      ws = null;
      setState("reconnecting", "reconnecting…");
      setTimeout(() => {
        if (!ws && chosen) connect();
      }, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  refreshList();
  setInterval(refreshList, 2000);
  if (chosen) choose(chosen);
})();

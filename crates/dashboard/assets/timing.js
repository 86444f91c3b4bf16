// The live timing page: the board and the notices from /ws/timing.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const BADGE_MS = 15000; // how long an event stays on screen
  let board = null;
  let sectorCount = 0;
  const badges = new Map(); // car id -> [{text, kind, until}]
  const events = []; // [{text, kind, until}], newest first

  function driverName(carId) {
    const row = board && board.rows.find((r) => r.car_id === carId);
    return row && row.driver ? row.driver : `car ${carId}`;
  }

  // ---- the session header ----
  function renderSession() {
    const s = board.session;
    $("s-track").textContent = s ? s.track : "—";
    $("s-layout").textContent = s && s.track_config ? s.track_config : "—";
    $("s-type").textContent = s ? `${s.name} (${s.session_type})${s.over ? " — over" : ""}` : "—";
    let left = "—";
    let label = "Left";
    if (s) {
      if (s.laps > 0) {
        const leaderLaps = board.rows.length ? board.rows[0].laps : 0;
        label = "Laps";
        left = `${Math.min(leaderLaps + 1, s.laps)} / ${s.laps}`;
      } else if (s.elapsed_ms < 0) {
        label = "Starts in";
        left = clock(-s.elapsed_ms);
      } else {
        left = clock(Math.max(0, s.minutes * 60000 - s.elapsed_ms));
      }
    }
    $("s-left-label").textContent = label;
    $("s-left").textContent = left;
    $("s-grip").textContent = board.grip === null ? "—" : `${(board.grip * 100).toFixed(1)} %`;
    const down = $("s-server");
    down.textContent = board.server_down ? "down" : "up";
    down.className = board.server_down ? "bad" : "good";
  }

  function clock(ms) {
    const total = Math.floor(ms / 1000);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0");
    return `${h ? h + ":" : ""}${mm}:${String(s).padStart(2, "0")}`;
  }

  // ---- the standings ----
  function columns() {
    const cols = [
      ["position", "Pos"], ["driver", "Driver"], ["car", "Car"], ["laps", "Laps"],
      ["last", "Last"], ["best", "Best"], ["gap", "Gap"], ["interval", "Int"],
    ];
    for (let i = 0; i < sectorCount; i++) cols.push([`s${i + 1}`, `S${i + 1}`]);
    cols.push(["theoretical", "Theo"], ["top", "Top km/h"], ["collisions", "Coll"], ["status", "Status"]);
    return cols;
  }

  function renderHead() {
    const head = $("standings-head");
    head.replaceChildren(...columns().map(([key, title]) => {
      const th = PW.el("th", null, title);
      th.dataset.col = key;
      return th;
    }));
  }

  function renderRows() {
    const rows = board.rows;
    const n = Math.max(board.sectors.length + 1, ...rows.map((r) => r.last_sectors_ms.length), 0);
    if (n !== sectorCount || !$("standings-head").children.length) {
      sectorCount = rows.length || board.sectors.length ? n : 0;
      renderHead();
    }
    // Session bests, to mark in purple.
    const bestLap = min(rows.map((r) => r.best_lap_ms));
    const bestSectors = [];
    for (let i = 0; i < sectorCount; i++) bestSectors.push(min(rows.map((r) => r.best_sectors_ms[i])));
    const now = Date.now();
    const body = $("standings").tBodies[0];
    body.replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.carId = String(r.car_id);
      if (!r.connected) tr.classList.add("left");
      if (r.car_id === selected) tr.classList.add("selected");
      tr.addEventListener("click", () => select(r.car_id));
      const cell = (key, text, className) => {
        const td = PW.el("td", className, text);
        td.dataset.col = key;
        tr.appendChild(td);
        return td;
      };
      cell("position", r.position);
      const driver = cell("driver", r.driver || `car ${r.car_id}`);
      if (r.team) driver.title = r.team;
      for (const b of (badges.get(r.car_id) || []).filter((b) => b.until > now)) {
        driver.appendChild(PW.el("span", `badge ${b.kind}`, b.text));
      }
      cell("car", r.car_model);
      cell("laps", r.laps);
      const lastClass = r.last_lap_ms !== null && r.last_lap_ms === r.best_lap_ms ? "pb" : "";
      const last = cell("last", PW.lap(r.last_lap_ms), lastClass);
      if (r.last_lap_out) last.appendChild(PW.el("span", "tag", "out"));
      if (r.last_lap_in) last.appendChild(PW.el("span", "tag", "in"));
      cell("best", PW.lap(r.best_lap_ms), r.best_lap_ms !== null && r.best_lap_ms === bestLap ? "sb" : "");
      cell("gap", PW.gap(r.gap));
      cell("interval", PW.gap(r.interval));
      for (let i = 0; i < sectorCount; i++) {
        const lastS = r.last_sectors_ms[i];
        const bestS = r.best_sectors_ms[i];
        const td = cell(`s${i + 1}`, "", "sector");
        const cls = lastS !== null && lastS !== undefined && lastS === bestSectors[i] ? "sb" : lastS === bestS ? "pb" : "";
        td.appendChild(PW.el("span", `last ${cls}`, sector(lastS)));
        td.appendChild(PW.el("span", "best", sector(bestS)));
      }
      cell("theoretical", PW.lap(r.theoretical_best_ms));
      const top = cell("top", PW.kmh(r.best_lap_top_kmh));
      top.title = `last lap: ${PW.kmh(r.last_lap_top_kmh) || "—"} km/h, now: ${PW.kmh(r.speed_kmh)} km/h`;
      const coll = cell("collisions", r.collisions);
      coll.title = `cars: ${r.car_collisions}, walls: ${r.env_collisions}` +
        (r.max_impact_kmh !== null ? `, hardest: ${PW.kmh(r.max_impact_kmh)} km/h` : "");
      cell("status", r.finished ? "finished" : r.connected ? "on track" : "left", r.finished ? "finished" : "");
      return tr;
    }));
    $("empty").hidden = rows.length > 0;
  }

  function sector(ms) {
    return ms === null || ms === undefined ? "" : (ms / 1000).toFixed(3);
  }

  function min(values) {
    const v = values.filter((x) => x !== null && x !== undefined);
    return v.length ? Math.min(...v) : null;
  }

  // ---- the track map ----
  // The outline comes from /api/map (learned by the server from the cars' positions), the
  // cars' places from each board (their world x, z). World z grows away from the viewer on
  // AC's maps, so the map is drawn with z up: SVG's y is -z.
  let outline = null; // {points, learned, track, layout}
  let view = null; // {minX, minZ, size}: the SVG's coordinate frame
  let selected = Number(sessionStorage.getItem("pw-selected-car") || NaN);

  async function loadMap() {
    try {
      const answer = await PW.getJson("/api/map");
      if (answer.outline) {
        outline = answer.outline;
        drawOutline();
      }
    } catch (_) {
      // No live timing: the page says so in its connection state.
    }
  }

  function drawOutline() {
    const pts = outline.points;
    let minX = Infinity; let maxX = -Infinity; let minZ = Infinity; let maxZ = -Infinity;
    for (const [x, z] of pts) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x);
      minZ = Math.min(minZ, z); maxZ = Math.max(maxZ, z);
    }
    const size = Math.max(maxX - minX, maxZ - minZ, 1);
    const pad = size * 0.04;
    view = { minX: minX - pad, maxZ: maxZ + pad, size };
    const svg = $("map");
    const w = maxX - minX + 2 * pad;
    const h = maxZ - minZ + 2 * pad;
    svg.setAttribute("viewBox", `0 0 ${w.toFixed(1)} ${h.toFixed(1)}`);
    const d = pts.map(([x, z], i) => `${i ? "L" : "M"}${mx(x).toFixed(1)} ${mz(z).toFixed(1)}`).join("") + "Z";
    const line = $("map-line");
    line.setAttribute("d", d);
    line.setAttribute("stroke-width", (size / 90).toFixed(2));
    svg.dataset.learned = String(outline.learned);
    svg.dataset.points = String(pts.length);
    $("map-note").textContent = `${outline.track}${outline.layout ? " / " + outline.layout : ""}: ` +
      `learned from ${outline.samples} positions (${Math.round(100 * outline.learned / pts.length)} % of the lap seen)`;
    drawCars();
  }

  const mx = (x) => x - view.minX;
  const mz = (z) => view.maxZ - z;

  function drawCars() {
    if (!view || !board) return;
    const ns = "http://www.w3.org/2000/svg";
    const r = view.size / 70;
    const group = $("map-cars");
    const cars = board.rows.filter((row) => row.world);
    // The selected car is drawn last, on top.
    cars.sort((a, b) => (a.car_id === selected) - (b.car_id === selected));
    group.replaceChildren(...cars.map((row) => {
      const dot = document.createElementNS(ns, "circle");
      dot.setAttribute("cx", mx(row.world[0]).toFixed(1));
      dot.setAttribute("cy", mz(row.world[1]).toFixed(1));
      dot.setAttribute("r", (row.car_id === selected ? r * 1.6 : r).toFixed(1));
      dot.setAttribute("stroke-width", (r / 4).toFixed(2));
      dot.dataset.carId = String(row.car_id);
      if (row.car_id === selected) dot.classList.add("selected");
      if (!row.connected) dot.classList.add("left");
      const title = document.createElementNS(ns, "title");
      title.textContent = `P${row.position} ${row.driver || "car " + row.car_id}`;
      dot.appendChild(title);
      dot.addEventListener("click", () => select(row.car_id));
      return dot;
    }));
  }

  function select(carId) {
    selected = selected === carId ? NaN : carId;
    sessionStorage.setItem("pw-selected-car", String(selected));
    renderRows();
    drawCars();
  }

  // ---- notices ----
  function onNotice(message) {
    const n = message.notice;
    const until = Date.now() + BADGE_MS;
    let text = null;
    let kind = "info";
    let carId = null;
    switch (n.type) {
      case "car_collision":
        carId = n.car_id;
        kind = "collision";
        text = `collision with ${driverName(n.other_car_id)} at ${PW.kmh(n.impact_kmh)} km/h`;
        break;
      case "wall_collision":
        carId = n.car_id;
        kind = "collision";
        text = `hit the wall at ${PW.kmh(n.impact_kmh)} km/h`;
        break;
      case "lap_completed":
        carId = n.car_id;
        if (n.cuts > 0) {
          kind = "cut";
          text = `cut lap (${n.cuts} cut${n.cuts > 1 ? "s" : ""})`;
        } else if (n.personal_best && n.counted) {
          kind = "pb";
          text = `personal best ${PW.lap(n.lap_ms)}`;
        }
        break;
      case "driver_joined":
        text = `${n.driver} joined in ${n.car_model}`;
        break;
      case "driver_left":
        text = `${n.driver} left`;
        break;
      case "session_started":
        text = `${n.name} started at ${n.track}`;
        badges.clear();
        break;
      case "session_ended":
        text = "session over";
        break;
      case "server_down":
        kind = "collision";
        text = `server silent for ${Math.round(n.silent_ms / 1000)} s`;
        break;
      case "server_up":
        text = "server back";
        break;
      case "server_error":
        kind = "collision";
        text = `server error: ${n.message}`;
        break;
      default:
        break;
    }
    if (text === null) return;
    if (carId !== null) {
      const list = (badges.get(carId) || []).filter((b) => b.until > Date.now());
      list.push({ text, kind, until });
      badges.set(carId, list.slice(-3));
      text = `${driverName(carId)}: ${text}`;
    }
    events.unshift({ text, kind, until, type: n.type });
    events.splice(8);
    renderEvents();
  }

  function renderEvents() {
    const now = Date.now();
    $("events").replaceChildren(...events.filter((e) => e.until > now).map((e) => {
      const span = PW.el("span", `badge ${e.kind}`, e.text);
      span.dataset.type = e.type;
      return span;
    }));
  }

  // ---- the connection ----
  function setState(state, text) {
    const c = $("connection");
    c.dataset.state = state;
    c.textContent = text;
  }

  let retry = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${PW.url("/ws/timing")}`);
    ws.onopen = () => {
      retry = 1000;
      setState("live", "live");
    };
    ws.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (message.kind === "board") {
        board = message.board;
        renderSession();
        renderRows();
        renderEvents();
        drawCars();
        document.body.dataset.boardAt = String(board.at_ms);
        document.body.dataset.droppedNotices = String(message.dropped_notices);
      } else if (message.kind === "notice") {
        onNotice(message);
      }
    };
    ws.onclose = async () => {
      // Tell "no live timing here" (503) from "connection lost" before trying again.
      try {
        await PW.getJson("/api/board");
        setState("reconnecting", "reconnecting…");
      } catch (e) {
        setState("offline", e.status === 503 ? "no live timing" : "offline");
      }
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  renderHead();
  connect();
  setInterval(renderEvents, 1000);
  // The outline sharpens as positions come: fetched again every few seconds.
  loadMap();
  setInterval(loadMap, 5000);
})();

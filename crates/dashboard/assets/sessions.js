// The sessions page: the catalogue of the records (/api/sessions), a session's laps
// (/api/session/laps) with what each lap's telemetry is worth, and laps ticked to compare on
// the lap page.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ticked = new Set(); // "uuid:lap"

  function setState(state, text) {
    const c = $("connection");
    c.dataset.state = state;
    c.textContent = text;
  }

  // frames and missed steps -> "99.8 %", the share of the game's physics steps recorded.
  function fidelity(frames, missed) {
    if (!frames) return "";
    return `${(100 * frames / (frames + missed)).toFixed(1)} %`;
  }

  function driverOf(game) {
    const name = [game.player_name, game.player_surname].map((s) => s.trim()).filter(Boolean).join(" ");
    return name || game.player_nick;
  }

  function row(cells, onClick) {
    const tr = document.createElement("tr");
    for (const [key, text, cls] of cells) {
      const td = PW.el("td", cls, text);
      td.dataset.col = key;
      tr.appendChild(td);
    }
    if (onClick) {
      tr.classList.add("pick");
      tr.addEventListener("click", () => {
        for (const other of document.querySelectorAll("tr.selected")) other.classList.remove("selected");
        tr.classList.add("selected");
        onClick();
      });
    }
    return tr;
  }

  async function load() {
    let answer;
    try {
      answer = await PW.getJson("/api/sessions");
    } catch (e) {
      setState("offline", e.status === 503 ? "no records" : "offline");
      return;
    }
    setState("live", "records");
    const server = answer.server;
    $("server-sessions").tBodies[0].replaceChildren(...server.map((s) => {
      const tr = row([
        ["started", PW.date(s.started_at_ms)],
        ["server", s.server],
        ["track", s.layout ? `${s.track} / ${s.layout}` : s.track],
        ["session", `${s.name} (${s.session_type})`],
        ["drivers", s.drivers],
        ["laps", s.laps],
        ["telemetry", s.laps_with_telemetry],
      ], () => showServer(s));
      tr.dataset.session = String(s.id);
      return tr;
    }));
    $("server-empty").hidden = server.length > 0;
    const telemetry = answer.telemetry;
    $("telemetry-sessions").tBodies[0].replaceChildren(...telemetry.map((s) => {
      const tr = row([
        ["started", PW.date(s.started_at_ms)],
        ["driver", driverOf(s.game)],
        ["car", s.game.car_model],
        ["track", s.game.layout ? `${s.game.track} / ${s.game.layout}` : s.game.track],
        ["laps", s.laps],
        ["best", PW.lap(s.best_ms)],
        ["fidelity", fidelity(s.frames, s.missed_steps)],
        ["linked", `${s.linked_laps} / ${s.laps}`],
      ], () => showTelemetry(s));
      tr.dataset.session = s.session_id;
      return tr;
    }));
    $("telemetry-empty").hidden = telemetry.length > 0;
  }

  function head(titles) {
    $("laps-head").replaceChildren(...titles.map(([key, title]) => {
      const th = PW.el("th", null, title);
      th.dataset.col = key;
      return th;
    }));
  }

  function tickBox(session, lap) {
    const key = `${session}:${lap}`;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = key;
    box.checked = ticked.has(key);
    box.addEventListener("click", (e) => e.stopPropagation());
    box.addEventListener("change", () => {
      if (box.checked) ticked.add(key); else ticked.delete(key);
      $("compare").disabled = ticked.size === 0;
    });
    return box;
  }

  function lapLink(session, lap) {
    const a = PW.el("a", "open", "open");
    a.href = PW.url("/lap", { l: `${session}:${lap}` });
    return a;
  }

  function sectors(list) {
    return (list || []).map((ms) => (ms / 1000).toFixed(3)).join(" · ");
  }

  function showLaps(title, rows) {
    $("laps-title").textContent = title;
    $("laps-section").hidden = false;
    $("laps").tBodies[0].replaceChildren(...rows);
  }

  async function showServer(s) {
    const laps = await PW.getJson("/api/session/laps", { server: String(s.id) });
    head([["pick", ""], ["driver", "Driver"], ["car", "Car"], ["lap", "Lap"], ["time", "Time"], ["sectors", "Sectors"],
      ["cuts", "Cuts"], ["telemetry", "Telemetry"], ["fidelity", "Fidelity"], ["open", ""]]);
    showLaps(`${s.name} at ${s.track}, ${PW.date(s.started_at_ms)}`, laps.map((l) => {
      const t = l.telemetry;
      const tr = row([
        ["pick", ""],
        ["driver", l.driver],
        ["car", l.car_model],
        ["lap", l.lap],
        ["time", PW.lap(l.time_ms)],
        ["sectors", sectors(l.sectors)],
        ["cuts", l.cuts],
        ["telemetry", t ? `lap ${t.lap}, ${t.frames} frames` : "none"],
        ["fidelity", t ? fidelity(t.frames, t.missed_steps) : ""],
        ["open", ""],
      ]);
      if (!l.valid) tr.classList.add("invalid");
      if (t) {
        tr.dataset.telemetry = `${t.session_id}:${t.lap}`;
        tr.querySelector('[data-col="pick"]').appendChild(tickBox(t.session_id, t.lap));
        tr.querySelector('[data-col="open"]').appendChild(lapLink(t.session_id, t.lap));
      }
      return tr;
    }));
  }

  async function showTelemetry(s) {
    const laps = await PW.getJson("/api/session/laps", { telemetry: s.session_id });
    head([["pick", ""], ["lap", "Lap"], ["time", "Time"], ["sectors", "Sectors"], ["valid", "Valid"], ["frames", "Frames"],
      ["missed", "Missed steps"], ["fidelity", "Fidelity"], ["server", "Server lap"], ["open", ""]]);
    showLaps(`${driverOf(s.game)} in ${s.game.car_model} at ${s.game.track}`, laps.map((l) => {
      const srv = l.server;
      const tr = row([
        ["pick", ""],
        ["lap", l.lap],
        ["time", PW.lap(l.time_ms)],
        ["sectors", sectors(l.sectors_ms)],
        ["valid", l.invalid.length ? l.invalid.join(", ") : "yes"],
        ["frames", l.frames],
        ["missed", l.missed_steps],
        ["fidelity", fidelity(l.frames, l.missed_steps)],
        ["server", srv ? `${srv.name}, lap ${srv.lap}${srv.cuts ? `, ${srv.cuts} cuts` : ""}` : "not linked"],
        ["open", ""],
      ]);
      if (l.invalid.length) tr.classList.add("invalid");
      tr.dataset.telemetry = `${l.session_id}:${l.lap}`;
      tr.querySelector('[data-col="pick"]').appendChild(tickBox(l.session_id, l.lap));
      tr.querySelector('[data-col="open"]').appendChild(lapLink(l.session_id, l.lap));
      return tr;
    }));
  }

  $("compare").addEventListener("click", () => {
    const q = new URLSearchParams();
    for (const key of ticked) q.append("l", key);
    if (PW.token) q.set("token", PW.token);
    location.href = `/lap?${q.toString()}`;
  });

  load();
})();

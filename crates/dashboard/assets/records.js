// The records page: the leaderboards of /api/records, filtered by the form, the filters kept
// in the page's URL so that a view can be shared.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const form = $("filters");
  let tracks = [];
  let request = 0; // answers to older requests are ignored

  function setStatus(state, text) {
    const s = $("status");
    s.dataset.state = state;
    s.textContent = text;
  }

  // Track and layout travel as one select value: "track\u0001layout" can't be typed by anyone.
  const SEP = "\u0001";
  const comboValue = (t) => `${t.track}${SEP}${t.layout}`;

  function selectedTrack() {
    const [track, layout] = ($("f-track").value || SEP).split(SEP);
    return tracks.find((t) => t.track === track && t.layout === layout) || null;
  }

  function renderCars(checked) {
    const t = selectedTrack();
    const box = $("f-cars");
    box.replaceChildren(PW.el("legend", null, "Cars"));
    for (const c of t ? t.cars : []) {
      const label = PW.el("label", "check");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "car";
      input.value = c.car;
      input.checked = checked.includes(c.car);
      label.append(input, ` ${c.car} (${c.valid_laps}/${c.laps})`);
      box.appendChild(label);
    }
  }

  // The filters as /api/records parameters (and as the page's own URL).
  function filters() {
    const q = new URLSearchParams();
    const t = selectedTrack();
    if (t) {
      q.set("track", t.track);
      if (t.layout) q.set("layout", t.layout);
    }
    const cars = [...form.querySelectorAll("input[name=car]:checked")].map((i) => i.value);
    if (cars.length) q.set("car", cars.join(","));
    if ($("f-session").value) q.set("session", $("f-session").value);
    if ($("f-since").value) q.set("since", $("f-since").value);
    if ($("f-until").value) {
      // The API's `until` is exclusive; the form's is the last day shown.
      const d = new Date(`${$("f-until").value}T00:00:00Z`);
      q.set("until", new Date(d.getTime() + 86400000).toISOString().slice(0, 10));
    }
    if ($("f-ranking").value === "every") q.set("ranking", "every");
    if ($("f-invalid").checked) q.set("invalid", "true");
    if ($("f-limit").value && $("f-limit").value !== "100") q.set("limit", $("f-limit").value);
    return q;
  }

  function applyUrl() {
    const q = new URLSearchParams(location.search);
    const track = q.get("track");
    const layout = q.get("layout") || "";
    const match = tracks.find((t) => t.track === track && t.layout === layout) || tracks[0];
    $("f-track").value = match ? comboValue(match) : "";
    renderCars((q.get("car") || "").split(",").filter(Boolean));
    $("f-session").value = q.get("session") || "";
    $("f-since").value = q.get("since") || "";
    if (q.get("until")) {
      const d = new Date(`${q.get("until").slice(0, 10)}T00:00:00Z`);
      $("f-until").value = new Date(d.getTime() - 86400000).toISOString().slice(0, 10);
    }
    $("f-ranking").value = q.get("ranking") === "every" ? "every" : "best";
    $("f-invalid").checked = q.get("invalid") === "true" || q.get("invalid") === "1";
    $("f-limit").value = q.get("limit") || "100";
  }

  async function load() {
    const q = filters();
    const shown = new URLSearchParams(q);
    if (PW.token) shown.set("token", PW.token);
    history.replaceState(null, "", `${location.pathname}?${shown}`);
    if (!q.get("track")) {
      render([], 0);
      setStatus("offline", "no laps recorded");
      return;
    }
    const mine = ++request;
    setStatus("connecting", "loading…");
    try {
      const answer = await PW.getJson("/api/records", q);
      if (mine !== request) return;
      const sectors = Math.max(0, ...answer.rows.map((r) => r.sectors.length));
      render(answer.rows, sectors);
      setStatus("live", `${answer.rows.length} row${answer.rows.length === 1 ? "" : "s"}`);
    } catch (e) {
      if (mine !== request) return;
      render([], 0);
      setStatus("offline", e.message);
    }
  }

  function render(rows, sectors) {
    const cols = [["position", "Pos"], ["driver", "Driver"], ["car", "Car"], ["time", "Time"], ["gap", "Gap"]];
    for (let i = 0; i < sectors; i++) cols.push([`s${i + 1}`, `S${i + 1}`]);
    cols.push(["cuts", "Cuts"], ["top", "Top km/h"], ["grip", "Grip"], ["session", "Session"], ["date", "Date (UTC)"]);
    $("records-head").replaceChildren(...cols.map(([key, title]) => {
      const th = PW.el("th", null, title);
      th.dataset.col = key;
      return th;
    }));
    const bestSectors = [];
    for (let i = 0; i < sectors; i++) {
      const v = rows.map((r) => r.sectors[i]).filter((x) => x !== undefined);
      bestSectors.push(v.length ? Math.min(...v) : null);
    }
    $("records").tBodies[0].replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.guid = r.guid;
      tr.dataset.car = r.car;
      if (!r.valid) tr.classList.add("invalid");
      const cell = (key, text, className) => {
        const td = PW.el("td", className, text);
        td.dataset.col = key;
        tr.appendChild(td);
        return td;
      };
      cell("position", r.position);
      cell("driver", r.name);
      cell("car", r.car);
      cell("time", PW.lap(r.time_ms), r.position === 1 ? "sb" : "");
      cell("gap", r.position === 1 ? "—" : `+${(r.gap_ms / 1000).toFixed(3)}`);
      for (let i = 0; i < sectors; i++) {
        const s = r.sectors[i];
        cell(`s${i + 1}`, s === undefined ? "" : (s / 1000).toFixed(3), s !== undefined && s === bestSectors[i] ? "sb" : "");
      }
      cell("cuts", r.cuts);
      cell("top", PW.kmh(r.top_speed_kmh));
      cell("grip", r.grip === null ? "" : `${(r.grip * 100).toFixed(1)} %`);
      cell("session", `${r.session_name} (${r.session_type})`);
      cell("date", PW.date(r.finished_at_ms));
      return tr;
    }));
    $("empty").hidden = rows.length > 0;
  }

  async function start() {
    try {
      tracks = await PW.getJson("/api/tracks");
    } catch (e) {
      setStatus("offline", e.status === 503 ? "no records database" : e.message);
      return;
    }
    $("f-track").replaceChildren(...tracks.map((t) => {
      const o = PW.el("option", null, t.layout ? `${t.track} — ${t.layout}` : t.track);
      o.value = comboValue(t);
      return o;
    }));
    applyUrl();
    form.addEventListener("change", (event) => {
      if (event.target.id === "f-track") renderCars([]);
      load();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      load();
    });
    await load();
  }

  start();
})();

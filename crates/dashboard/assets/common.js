// Shared by the dashboard's pages: the access token, JSON requests and time formats.
// Everything from the server is put in the page as text (textContent), never as HTML, so a
// driver named "<script>" is shown as typed.
"use strict";

const PW = (() => {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");

  // A dashboard URL with the page's token, if it has one, added to `query`.
  function url(path, query) {
    const q = new URLSearchParams(query || {});
    if (token) q.set("token", token);
    const s = q.toString();
    return s ? `${path}?${s}` : path;
  }

  async function getJson(path, query) {
    const response = await fetch(url(path, query), { cache: "no-store" });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error ? body.error : `HTTP ${response.status}`;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  // 83456 -> "1:23.456"; null -> "".
  function lap(ms) {
    if (ms === null || ms === undefined) return "";
    const m = Math.floor(ms / 60000);
    const s = ((ms % 60000) / 1000).toFixed(3).padStart(6, "0");
    return m > 0 ? `${m}:${s}` : ((ms % 60000) / 1000).toFixed(3);
  }

  // A gap or interval of the board: {kind: "leader"|"time"|"laps", ...}.
  function gap(g) {
    if (!g) return "";
    if (g.kind === "leader") return "—";
    if (g.kind === "laps") return g.laps === 1 ? "+1 lap" : `+${g.laps} laps`;
    return `+${(g.ms / 1000).toFixed(3)}`;
  }

  function kmh(v) {
    return v === null || v === undefined ? "" : `${Math.round(v)}`;
  }

  // Unix ms -> "2026-12-03 14:05" (UTC, as the records are kept).
  function date(ms) {
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  }

  // A new element with a class and text.
  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // The navigation links keep the token.
  document.addEventListener("DOMContentLoaded", () => {
    for (const a of document.querySelectorAll("a[data-nav]")) a.href = url(a.getAttribute("href"));
  });

  return { token, url, getJson, lap, gap, kmh, date, el };
})();

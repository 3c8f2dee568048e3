// runwatch dashboard: the little that needs a browser. Pages work without it; this adds
// live arrival of new alerts (server-sent events from /api/stream) and ticking "5m ago" times.
"use strict";

(function () {
  const PRIORITIES = ["emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"];

  function ago(ns) {
    const seconds = Math.max(0, Math.floor((Date.now() * 1e6 - ns) / 1e9));
    for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
      if (seconds >= size) return Math.floor(seconds / size) + unit + " ago";
    }
    return seconds + "s ago";
  }

  function tick() {
    for (const el of document.querySelectorAll("time[data-ns]")) {
      el.textContent = ago(Number(el.dataset.ns));
    }
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  // Whether a streamed alert belongs in the list the page shows (its filters are on the table).
  function matches(alert, filters) {
    const priority = alert.priority.toLowerCase();
    if (filters.priority.length && !filters.priority.includes(priority)) return false;
    if (filters.min_priority && PRIORITIES.indexOf(priority) > PRIORITIES.indexOf(filters.min_priority)) return false;
    if (filters.status && filters.status !== alert.status) return false;
    if (filters.rule && filters.rule !== alert.rule) return false;
    if (filters.container && filters.container !== alert.container_id) return false;
    if (filters.tag && !alert.tags.includes(filters.tag)) return false;
    if (filters.image && filters.image !== alert.output_fields["container.image.repository"]) return false;
    if (filters.q) {
      const needle = filters.q.toLowerCase();
      if (!alert.output.toLowerCase().includes(needle) && !alert.rule.toLowerCase().includes(needle)) return false;
    }
    return !filters.until;
  }

  function alertRow(alert) {
    const cls = alert.priority.toLowerCase();
    const row = element("tr", "alert-row is-new p-" + cls + " s-" + alert.status);
    row.dataset.id = alert.id;
    const sev = element("td", "sev");
    sev.append(element("span", "badge p-" + cls, alert.priority));
    const when = element("td", "nowrap");
    const time = element("time", "", ago(alert.time_ns));
    time.dataset.ns = alert.time_ns;
    time.title = alert.time;
    when.append(time);
    const rule = element("td", "rule");
    const link = element("a", "", alert.rule);
    link.href = "/alerts/" + alert.id;
    rule.append(link, element("div", "output", alert.output));
    const where = element("td", "nowrap");
    if (alert.container_id && alert.container_id !== "host") {
      const container = element("a", "container-ref",
        alert.output_fields["container.name"] || alert.container_id);
      container.href = "/containers/" + alert.container_id;
      where.append(container);
    } else {
      where.append(element("span", "muted", "host"));
    }
    const status = element("td");
    status.append(element("span", "status s-" + alert.status, alert.status));
    row.append(sev, when, rule, where, status);
    return row;
  }

  function listen() {
    const table = document.getElementById("alert-rows");
    const banner = document.getElementById("live-banner");
    if (!window.EventSource || (!table && !banner)) return;
    const filters = table ? JSON.parse(table.dataset.filters || "{}") : null;
    const state = document.getElementById("live-state");
    const source = new EventSource("/api/stream");
    let arrived = 0;
    const label = state ? state.textContent : "";
    source.onopen = function () {
      if (!state) return;
      state.classList.add("on");
      state.textContent = filters && filters.live ? "live" : label;
    };
    source.onerror = function () {
      if (state) { state.classList.remove("on"); state.textContent = "reconnecting"; }
    };
    source.addEventListener("alert", function (message) {
      const alert = JSON.parse(message.data);
      if (table && filters && filters.live && matches(alert, filters)) {
        const empty = document.getElementById("no-alerts");
        if (empty) empty.remove();
        table.prepend(alertRow(alert));
        const total = document.getElementById("alert-total");
        if (total) total.textContent = String(Number(total.textContent) + 1);
        return;
      }
      arrived += 1;
      if (banner) {
        banner.hidden = false;
        document.getElementById("live-count").textContent = String(arrived);
      }
    });
    source.addEventListener("lost", function () {
      if (banner) banner.hidden = false;
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 15000);
    listen();
  });
})();

/* Supervisor dashboard, live: Server-Sent Events bring a fresh snapshot (ids, codes, counts
   and times only) whenever something changes; this file puts the numbers in place.

   The page is complete without it (rendered on the server). Markup contract:
   - [data-metric="path"]: a value from the snapshot, read relative to the nearest
     [data-district="code"] (a district, "_all" = force-wide) or [data-scope="force" |
     "list:id"] ancestor, else the snapshot itself; data-as says how to show it.
   - [data-list="name"] + template[data-template-for="name"]: rows keyed by data-row-id;
     new items are cloned from the template, [data-field] filled, [data-href]/[data-action]
     URL patterns get their __field__ placeholders.
   - [data-since] / [data-until]: epoch seconds, re-rendered every second as an age or the
     time left (the server's clock, corrected for this browser's clock).
   No innerHTML with snapshot data: text only (CSP forbids inline script and style anyway). */
(function () {
  "use strict";

  var root = document.querySelector("[data-dashboard]");
  if (!root) { return; }
  var labels = parseJSON(root.getAttribute("data-labels"));
  var names = parseJSON(root.getAttribute("data-names"));
  var status = root.querySelector("[data-live-status]");
  var PRIORITIES = { 1: "emergency", 2: "high", 3: "standard", 4: "advice" };
  var offset = Number(root.getAttribute("data-server-now")) - Date.now() / 1000;
  var retryDelay = 5000;

  function parseJSON(text) {
    try { return JSON.parse(text || "{}") || {}; } catch (e) { return {}; }
  }

  function serverNow() { return Date.now() / 1000 + offset; }

  function humanise(code) {
    var text = code === null || code === undefined ? "" : String(code);
    if (labels[text]) { return labels[text]; }
    text = text.replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function duration(seconds) {
    var s = Math.floor(Math.abs(seconds));
    if (s < 60) { return s + " s"; }
    if (s < 3600) { return Math.floor(s / 60) + " min"; }
    var minutes = Math.floor((s % 3600) / 60);
    return Math.floor(s / 3600) + " h " + (minutes < 10 ? "0" : "") + minutes + " min";
  }

  function lookup(obj, path) {
    return path.split(".").reduce(function (o, key) {
      return o === null || o === undefined ? undefined : o[key];
    }, obj);
  }

  function find(list, key, value) {
    return (list || []).filter(function (item) { return String(item[key]) === value; })[0];
  }

  /* ---- rendering one value ---- */

  function tick(el) {
    var now = serverNow();
    if (el.hasAttribute("data-since")) {
      var since = el.getAttribute("data-since");
      el.textContent = since === "" ? "—" : duration(now - Number(since));
    } else if (el.hasAttribute("data-until")) {
      var until = el.getAttribute("data-until");
      if (until === "") { el.textContent = "—"; return; }
      var left = Number(until) - now;
      el.textContent = left < 0 ? "overdue " + duration(-left) : duration(left);
      el.classList.toggle("countdown--urgent", left < 300);
    }
  }

  function show(el, value, as) {
    var missing = value === null || value === undefined;
    switch (as) {
      case "age":
        el.setAttribute("data-since", missing ? "" : value); tick(el); break;
      case "left":
        el.setAttribute("data-until", missing ? "" : value); tick(el); break;
      case "label":
        el.textContent = missing || value === "" ? "" : humanise(value); break;
      case "priority":
        var name = PRIORITIES[value] || "advice";
        el.textContent = name; el.className = "badge badge--" + name; break;
      case "name":
        el.textContent = missing || value === "" ? "" : (names[value] || value); break;
      case "yesno":
        el.textContent = value ? "Yes" : "No"; break;
      case "state":
        el.textContent = humanise(value); el.setAttribute("data-state", value || ""); break;
      case "choice":  // a form's select follows the value, unless someone is using it
        if (document.activeElement !== el && !missing) { el.value = value; }
        break;
      case "time":
        el.textContent = new Date(Number(value) * 1000).toLocaleString("en-GB", {
          weekday: "short", day: "2-digit", month: "short", hour: "2-digit",
          minute: "2-digit", second: "2-digit" });
        break;
      default:
        el.textContent = missing ? "0" : String(value);
    }
  }

  /* ---- numbers in place ---- */

  function scopeOf(el, snap) {
    var holder = el.parentElement && el.parentElement.closest("[data-district],[data-scope]");
    if (el.hasAttribute("data-district") || el.hasAttribute("data-scope")) { holder = el; }
    if (!holder || !root.contains(holder)) { return snap; }
    var district = holder.getAttribute("data-district");
    if (district !== null) {
      return district === "_all" ? snap.force : find(snap.districts, "district", district);
    }
    var scope = holder.getAttribute("data-scope");
    if (scope === "force") { return snap.force; }
    var parts = scope.split(":");
    return find(snap[parts[0]], "id", parts.slice(1).join(":"));
  }

  function updateMetrics(snap) {
    root.querySelectorAll("[data-metric]").forEach(function (el) {
      if (el.closest("template")) { return; }
      var base = scopeOf(el, snap);
      if (base) { show(el, lookup(base, el.getAttribute("data-metric")), el.getAttribute("data-as")); }
    });
    var anything = false;
    root.querySelectorAll("[data-nonzero]").forEach(function (el) {
      var value = Number(lookup(snap, el.getAttribute("data-nonzero"))) || 0;
      el.hidden = value === 0;
      anything = anything || value > 0;
    });
    root.querySelectorAll("[data-all-clear]").forEach(function (el) { el.hidden = anything; });
  }

  /* ---- lists ---- */

  function fill(pattern, item) {
    return pattern.replace(/__(\w+)__/g, function (_, field) {
      return encodeURIComponent(item[field] === undefined ? "" : item[field]);
    });
  }

  function newRow(template, item) {
    var row = template.content.firstElementChild.cloneNode(true);
    row.setAttribute("data-row-id", item.id);
    row.querySelectorAll("[data-href]").forEach(function (a) {
      a.setAttribute("href", fill(a.getAttribute("data-href"), item));
    });
    row.querySelectorAll("[data-action]").forEach(function (form) {
      form.setAttribute("action", fill(form.getAttribute("data-action"), item));
    });
    row.querySelectorAll("[id]").forEach(function (el) { el.id = el.id + "-" + item.id; });
    row.querySelectorAll("label[for]").forEach(function (el) {
      el.setAttribute("for", el.getAttribute("for") + "-" + item.id);
    });
    if (item.officer_id) {  // nobody is offered a reassignment to the officer who has it
      row.querySelectorAll('select[name="officer_id"] option').forEach(function (option) {
        if (option.value === item.officer_id) { option.remove(); }
      });
    }
    row.classList.add("is-new");
    return row;
  }

  function updateList(name, items) {
    var body = root.querySelector('[data-list="' + name + '"]');
    if (!body) { return; }
    var template = root.querySelector('template[data-template-for="' + name + '"]');
    var rows = {};
    Array.prototype.forEach.call(body.children, function (row) {
      rows[row.getAttribute("data-row-id")] = row;
    });
    var wanted = {};
    items.forEach(function (item) { wanted[item.id] = true; });
    Object.keys(rows).forEach(function (id) { if (!wanted[id]) { rows[id].remove(); } });
    items.forEach(function (item, i) {
      var row = rows[item.id] || (template ? newRow(template, item) : null);
      if (!row) { return; }
      row.querySelectorAll("[data-field]").forEach(function (el) {
        show(el, item[el.getAttribute("data-field")], el.getAttribute("data-as"));
      });
      // an emergency stands out (as the server marks it): an alert, or a waiting case
      row.classList.toggle("row--emergency", Boolean(item.emergency) ||
                           (name === "waiting" && Number(item.priority) === 1));
      if (body.children[i] !== row) { body.insertBefore(row, body.children[i] || null); }
    });
    var empty = root.querySelector('[data-empty-for="' + name + '"]');
    if (empty) { empty.hidden = items.length > 0; }
  }

  function apply(snap) {
    offset = Number(snap.at) - Date.now() / 1000;
    updateMetrics(snap);
    ["alerts", "waiting", "breached", "at_risk", "offers", "dead_letters"].forEach(function (name) {
      updateList(name, snap[name] || []);
    });
  }

  /* ---- the connection ---- */

  function setStatus(state, text) {
    if (!status) { return; }
    status.setAttribute("data-state", state);
    status.textContent = text;
  }

  function connect() {
    if (!window.EventSource) { return; }
    var source = new EventSource(root.getAttribute("data-stream"));
    source.addEventListener("snapshot", function (event) {
      retryDelay = 5000;
      apply(parseJSON(event.data));
      setStatus("live", "Live");
    });
    var planned = false;  // the server ends each stream after a few minutes, on purpose
    source.addEventListener("bye", function () { planned = true; });
    source.addEventListener("open", function () { planned = false; setStatus("live", "Live"); });
    source.addEventListener("error", function () {
      if (planned && source.readyState === EventSource.CONNECTING) { planned = false; return; }
      if (source.readyState === EventSource.CLOSED) {  // refused (e.g. signed out): retry
        setStatus("reconnecting", "Reconnecting…");
        window.setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      } else {
        setStatus("reconnecting", "Reconnecting…");  // EventSource retries by itself
      }
    });
  }

  /* ---- charts: fetched again every minute ---- */

  function refreshCharts() {
    var panel = root.querySelector("[data-charts-panel]");
    var url = root.getAttribute("data-charts");
    if (!panel || !url || !window.fetch) { return; }
    // a refresh, not the supervisor: it must not keep the session alive
    window.fetch(url, { credentials: "same-origin",
                        headers: { Accept: "text/html", "X-Liaison-Background": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var open = panel.querySelector("details[open]") !== null;
        var fresh = new DOMParser().parseFromString(html, "text/html").body;
        panel.replaceChildren.apply(panel, Array.prototype.slice.call(fresh.childNodes));
        var details = panel.querySelector("details");
        if (details && open) { details.open = true; }
      })
      .catch(function () { /* keep the charts we have */ });
  }

  window.setInterval(function () {
    root.querySelectorAll("[data-since],[data-until]").forEach(function (el) {
      if (!el.closest("template")) { tick(el); }
    });
  }, 1000);
  window.setInterval(refreshCharts, 60000);

  /* ---- a link to a part folded away (#officers after setting availability) opens it ---- */

  function openTarget() {
    var id = window.location.hash.slice(1);
    var target = id ? document.getElementById(id) : null;
    var folded = target ? target.closest("details") : null;
    if (folded && !folded.open) { folded.open = true; target.scrollIntoView(); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  connect();
}());

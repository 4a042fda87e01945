/* Officer pages, enhanced: countdowns to offer deadlines (each second, urgent under two
 * minutes, a reload when one runs out) and new offers shown without a reload — pushed by
 * the server (Server-Sent Events, GET /inbox/stream: the offer keys whenever they change,
 * within a second or two), with polling every 15 s only while the stream is down — and,
 * when the officer turns them on, a sound and a browser notification for each new offer
 * (a second, higher tone for emergencies; the notification says what, never who). The pages
 * work without this file. CSP-safe: no inline code, no innerHTML — new offers arrive as a
 * server-rendered, escaped fragment (GET /inbox/offers) parsed with DOMParser. */
(function () {
  "use strict";

  var URGENT_SECONDS = 120;
  var deadlines = new WeakMap();  // countdown element -> {at: local epoch ms, live}
  var leaving = false;

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function format(seconds) {
    if (seconds <= 0) { return "Time up"; }
    var s = Math.floor(seconds);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    return h > 0 ? h + " h " + pad(m) + " min left" : m + ":" + pad(s % 60) + " left";
  }

  // Count from the seconds left when the server rendered it, so a wrong local clock is harmless.
  function track(root) {
    root.querySelectorAll("[data-deadline]").forEach(function (el) {
      if (deadlines.has(el)) { return; }
      var left = parseFloat(el.getAttribute("data-seconds-left"));
      if (isNaN(left)) { left = (Date.parse(el.getAttribute("data-deadline")) - Date.now()) / 1000; }
      if (!isNaN(left)) { deadlines.set(el, {at: Date.now() + left * 1000, live: left > 0}); }
    });
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var d = deadlines.get(el);
      if (!d) { return; }
      var left = (d.at - now) / 1000;
      el.textContent = format(left);
      el.classList.toggle("countdown--urgent", left < URGENT_SECONDS);
      if (left <= 0 && d.live) { d.live = false; expired(el); }
    });
  }

  function expired(el) {
    if (leaving) { return; }
    leaving = true;
    var href = el.getAttribute("data-expire-href");
    if (href) { window.location.assign(href); } else { window.location.reload(); }
  }

  function keys(section) { return section.getAttribute("data-offer-keys") || ""; }

  function replaceRows(body, rows) {
    while (body.firstChild) { body.removeChild(body.firstChild); }
    rows.forEach(function (row) { body.appendChild(row); });
  }

  // Merge the fresh offers in: rows still offered keep their DOM (and anything typed in
  // them), new rows are imported and highlighted, gone rows are dropped.
  function merge(current, fresh) {
    var body = current.querySelector("[data-offers-body]");
    if (!body) { return; }
    var kept = {};
    body.querySelectorAll("[data-offer-key]").forEach(function (row) {
      kept[row.getAttribute("data-offer-key")] = row;
    });
    var rows = [];
    var added = [];
    var fresh_rows = [];
    fresh.querySelectorAll("[data-offers-body] [data-offer-key]").forEach(function (row) {
      var old = kept[row.getAttribute("data-offer-key")];
      if (old) { rows.push(old); return; }
      var node = document.importNode(row, true);
      node.classList.add("offer--new");
      rows.push(node);
      added.push(node.getAttribute("data-reference") || "");
      fresh_rows.push(node);
    });
    replaceRows(body, rows);
    current.setAttribute("data-offer-keys", keys(fresh));
    var count = current.querySelector("[data-offers-count]");
    var freshCount = fresh.querySelector("[data-offers-count]");
    if (count && freshCount) { count.textContent = freshCount.textContent; }
    ["data-offers-empty", "data-offers-table"].forEach(function (name) {
      var a = current.querySelector("[" + name + "]");
      var b = fresh.querySelector("[" + name + "]");
      if (a && b) { a.hidden = b.hidden; }
    });
    track(current);
    tick();
    if (added.length) { announce(added); alert(fresh_rows); }
  }

  // --- sound and notifications, opted into per browser ------------------------------------
  var ALERTS_KEY = "liaison.offer-alerts";
  var audio = null;

  function alertsOn() {
    try { return window.localStorage.getItem(ALERTS_KEY) === "on"; } catch (e) { return false; }
  }

  function tone(freq, start, length) {
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.2, audio.currentTime + start);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + length);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(audio.currentTime + start);
    osc.stop(audio.currentTime + start + length);
  }

  function chime(urgent) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended") { audio.resume(); }
      tone(660, 0, 0.25);
      tone(urgent ? 1320 : 880, 0.3, 0.35);
      if (urgent) { tone(1320, 0.75, 0.35); }
    } catch (e) { /* no sound here: the page and the title still show it */ }
  }

  function alert(rows) {
    if (!alertsOn() || !rows.length) { return; }
    var urgent = rows.some(function (r) { return r.getAttribute("data-priority") === "1"; });
    chime(urgent);
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    rows.forEach(function (row) {
      try {
        var note = new Notification(
          row.getAttribute("data-priority") === "1" ? "Emergency offer" : "New offer",
          {body: row.getAttribute("data-summary") || "", tag: row.getAttribute("data-offer-key"),
           requireInteraction: row.getAttribute("data-priority") === "1"});
        note.onclick = function () { window.focus(); note.close(); };
      } catch (e) { /* some browsers allow notifications only from a service worker */ }
    });
  }

  function showAlertsState(button, note) {
    var on = alertsOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = "Sound and notifications for new offers: " + (on ? "on" : "off");
    if (note) {
      note.textContent = on && "Notification" in window && Notification.permission === "denied"
        ? "This browser blocks notifications from Liaison: only the sound will play." : "";
    }
  }

  function setUpAlerts() {
    var box = document.querySelector("[data-alerts]");
    var button = document.querySelector("[data-alerts-toggle]");
    if (!box || !button || !(window.AudioContext || window.webkitAudioContext
                             || "Notification" in window)) { return; }
    var note = document.querySelector("[data-alerts-note]");
    box.hidden = false;
    showAlertsState(button, note);
    button.addEventListener("click", function () {
      var on = !alertsOn();
      try { window.localStorage.setItem(ALERTS_KEY, on ? "on" : "off"); } catch (e) { return; }
      if (on) {
        chime(false);  // a click is the gesture browsers ask for before a page may play sound
        if ("Notification" in window && Notification.permission === "default") {
          Notification.requestPermission().then(function () { showAlertsState(button, note); });
        }
      }
      showAlertsState(button, note);
    });
  }

  function announce(refs) {
    var live = document.querySelector("[data-offers-announce]");
    if (live) {
      live.textContent = refs.length === 1 ? "New offer: " + refs[0]
        : refs.length + " new offers: " + refs.join(", ");
    }
    if (document.title.indexOf("(new) ") !== 0) { document.title = "(new) " + document.title; }
  }

  // A fresh CSRF token with every poll keeps a long-open inbox's forms working.
  function refreshTokens(doc) {
    var input = doc.querySelector("input[name=csrf_token]");
    if (!input) { return; }
    document.querySelectorAll("input[name=csrf_token]").forEach(function (el) {
      el.value = input.value;
    });
  }

  function update(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("[data-offers]");
    var current = document.querySelector("[data-offers]");
    if (!fresh || !current) { return; }
    refreshTokens(doc);
    if (keys(fresh) !== keys(current)) { merge(current, fresh); }
  }

  var streaming = false;  // the server pushes changes: no need to poll

  function poll(section) {
    var url = section.getAttribute("data-offers-url");
    var every = (parseInt(section.getAttribute("data-poll-seconds"), 10) || 15) * 1000;
    function later() { if (!leaving) { window.setTimeout(tick15, every); } }
    function tick15() { if (streaming) { later(); } else { fetchOffers(later); } }
    function fetchOffers(then) {
      fetch(url, {credentials: "same-origin", cache: "no-store",
                  // a poll, not the officer: it must not keep the session alive
                  headers: {"Accept": "text/html", "X-Liaison-Background": "1"}})
        .then(function (res) {
          if (res.redirected || res.status === 401 || res.status === 403) {
            leaving = true;            // signed out meanwhile: show the sign-in page
            window.location.reload();
            return null;
          }
          return res.ok ? res.text() : null;
        })
        .then(function (html) { if (html) { update(html); } })
        .catch(function () { /* offline for a moment: try again next time */ })
        .then(then || function () {});
    }
    later();
    listen(section, fetchOffers);
  }

  // The push: the server sends the offer keys at once and whenever they change; a change
  // fetches the offers section. EventSource reconnects by itself (the server ends each
  // stream after a few minutes); while it is down, polling takes over.
  function listen(section, fetchOffers) {
    var url = section.getAttribute("data-stream-url");
    if (!url || !window.EventSource) { return; }
    var source = new EventSource(url);
    source.addEventListener("open", function () { streaming = true; });
    source.addEventListener("error", function () { streaming = false; });
    source.addEventListener("snapshot", function (event) {
      streaming = true;
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      var current = document.querySelector("[data-offers]");
      if (current && typeof data.offers === "string" && data.offers !== keys(current)) {
        fetchOffers();
      }
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // One click is enough: stop double submissions (the server refuses repeats anyway).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    window.setTimeout(function () {
      if (event.defaultPrevented) { return; }
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });
  window.addEventListener("focus", function () {
    if (document.title.indexOf("(new) ") === 0) { document.title = document.title.slice(6); }
  });

  setUpAlerts();
  track(document);
  tick();
  window.setInterval(tick, 1000);
  var section = document.querySelector("[data-offers][data-offers-url]");
  if (section) { poll(section); }
}());

// Exit this page (the GOV.UK pattern): the button — a plain link without JavaScript — or
// the Shift key pressed three times in a row within a second leaves for a neutral site,
// replacing this page in the tab's history so that Back does not return here. No single
// key exits: Esc must stay free while someone is typing. The unsent draft is forgotten on
// the server too (a beacon to /exit), as well as its id in the cookie.
(function () {
  "use strict";
  var SHIFTS = 3;
  var WITHIN_MS = 1000;
  var presses = [];

  function leave(event) {
    if (event) { event.preventDefault(); }
    var body = document.body;
    var url = body.getAttribute("data-exit-url") || "https://www.bbc.co.uk/weather";
    var clear = body.getAttribute("data-exit-clear");
    if (clear && navigator.sendBeacon) {
      try { navigator.sendBeacon(clear, new Blob([], { type: "text/plain" })); } catch (e) { /* leave anyway */ }
    }
    body.style.display = "none";
    document.title = "Loading";
    try { window.history.replaceState(null, "", "/"); } catch (e) { /* ignore */ }
    window.location.replace(url);
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Shift") { presses = []; return; }  // any other key breaks the run
    if (event.repeat) { return; }                           // a held Shift is one press
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t < WITHIN_MS; });
    presses.push(now);
    if (presses.length >= SHIFTS) { presses = []; leave(event); }
  });

  // An error summary link moves focus to the question's first input (a checkbox or radio
  // for a grouped question) and scrolls its label or legend into view above the exit bar.
  function focusTarget(event) {
    var id = (event.currentTarget.getAttribute("href") || "").slice(1);
    var input = id && document.getElementById(id);
    if (!input) { return; }
    event.preventDefault();
    var group = input.closest("fieldset");
    var label = document.querySelector("label[for='" + id + "']");
    var shown = (group && group.querySelector("legend")) || label || input;
    shown.scrollIntoView();
    input.focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("quick-exit");
    if (button) { button.addEventListener("click", leave); }
    var links = document.querySelectorAll(".error-summary__list a");
    for (var i = 0; i < links.length; i++) { links[i].addEventListener("click", focusTarget); }
    var summary = document.getElementById("error-summary") || document.getElementById("problem");
    if (summary) { summary.focus(); }
  });
})();

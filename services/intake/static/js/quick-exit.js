// Quick exit: the button (a plain link without JavaScript) or the Escape key leaves for a
// neutral site and replaces this page in the tab's history, so Back does not return here.
(function () {
  "use strict";
  function leave(event) {
    if (event) { event.preventDefault(); }
    var url = document.body.getAttribute("data-exit-url") || "https://www.bbc.co.uk/weather";
    document.body.style.display = "none";
    try { window.history.replaceState(null, "", "/"); } catch (e) { /* ignore */ }
    window.location.replace(url);
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" || event.key === "Esc") { leave(event); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("quick-exit");
    if (button) { button.addEventListener("click", leave); }
    var summary = document.getElementById("error-summary") || document.getElementById("problem");
    if (summary) { summary.focus(); }
  });
})();

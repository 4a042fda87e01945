// Swagger UI for the partner API, served from this host (no CDN, no inline script).
window.addEventListener("load", function () {
  "use strict";
  var el = document.getElementById("swagger-ui-container");
  window.ui = SwaggerUIBundle({ url: el.getAttribute("data-spec-url"), dom_id: "#swagger-ui-container" });
});

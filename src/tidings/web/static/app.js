// The admin page's own script: local times, and the CSRF header on htmx's requests.
// No framework; htmx.min.js is the only other script.
(function () {
  "use strict";

  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });

  // The server writes every instant in UTC; show it in the reader's zone, named on hover.
  function localize(root) {
    var times = root.querySelectorAll("time[data-local]:not([data-localized])");
    Array.prototype.forEach.call(times, function (element) {
      var when = new Date(element.getAttribute("datetime"));
      if (isNaN(when.getTime())) {
        return;
      }
      element.textContent = format.format(when);
      element.title = zone;
      element.setAttribute("data-localized", "");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
  });
  // Rows that htmx swaps in arrive in UTC too.
  document.addEventListener("htmx:load", function (event) {
    localize(event.target.parentNode || event.target);
  });

  // State-changing requests carry the session's CSRF token; forms have it as a field, and
  // this covers any POST htmx makes.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && event.detail.verb !== "get") {
      event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
    }
  });
})();

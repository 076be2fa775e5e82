// The admin page's own script: local times, the CSRF header on htmx's requests, and the
// live tail of a run that is still delivering. No framework; htmx.min.js is the only other
// script.
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

  // A run still delivering: the server sends the live part of its page again whenever it
  // changes (server-sent events), until the run settles or the session ends.
  function follow(region) {
    var url = region.getAttribute("data-live-events");
    if (!url || typeof EventSource === "undefined") {
      return;
    }
    var note = document.getElementById("live-note");
    var source = new EventSource(url);
    function say(text) {
      if (note) {
        note.textContent = text;
      }
    }
    function replace(event) {
      // Messages the reader had opened stay open.
      var open = Array.prototype.map.call(
        region.querySelectorAll("details[id][open]"),
        function (element) { return element.id; }
      );
      // Made by the server's templates, every stored string escaped, like the page itself.
      region.innerHTML = event.data;
      open.forEach(function (id) {
        var details = document.getElementById(id);
        if (details) {
          details.open = true;
        }
      });
      localize(region);
      if (window.htmx) {
        window.htmx.process(region);
      }
    }
    function stop(text) {
      source.close();
      region.removeAttribute("data-live-events");
      say(text);
    }
    source.addEventListener("progress", function (event) {
      replace(event);
      say("This run is still delivering; updated " + new Date().toLocaleTimeString() + ".");
    });
    source.addEventListener("settled", function (event) {
      replace(event);
      stop("The run has finished delivering; this page shows how it ended.");
    });
    source.addEventListener("signed-out", function (event) {
      stop(event.data);
    });
    source.addEventListener("gone", function (event) {
      stop(event.data);
    });
    window.addEventListener("pagehide", function () {
      source.close();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localize(document);
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-events]"), follow);
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

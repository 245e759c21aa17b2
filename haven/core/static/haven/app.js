// Haven's only script besides htmx. It reloads an idle page when the server-side idle timeout has
// passed, so an unattended tablet does not keep showing patient data; the server has already
// ended the session and the reload lands on the login page.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!seconds) { return; }
  var last = Date.now();
  ["keydown", "pointerdown", "scroll"].forEach(function (name) {
    window.addEventListener(name, function () { last = Date.now(); }, { passive: true });
  });
  window.setInterval(function () {
    if (Date.now() - last > (seconds + 5) * 1000) { window.location.reload(); }
  }, 15000);
})();

// Live pages (the board, the session room): an element with data-events opens a Server-Sent
// Events stream; on each event the regions marked data-refresh are fetched again and swapped in.
// A region holding the focus (someone is typing) is refreshed once they leave it, so an update
// never eats what a clinician is entering. The stream reconnects by itself if it drops.
(function () {
  "use strict";
  var root = document.querySelector("[data-events]");
  if (!root || !window.EventSource || !window.htmx) { return; }
  var only = root.getAttribute("data-session");
  var status = document.querySelector("[data-stream-status]");
  var pending = null;
  var waiting = false;

  function say(text) { if (status) { status.textContent = text; } }

  function refreshNow() {
    pending = null;
    document.querySelectorAll("[data-refresh]").forEach(function (el) {
      if (el.contains(document.activeElement) && document.activeElement !== document.body) {
        if (!waiting) {
          waiting = true;
          el.addEventListener("focusout", function again() {
            el.removeEventListener("focusout", again);
            waiting = false;
            window.setTimeout(schedule, 300);
          });
        }
        return;
      }
      window.htmx.ajax("GET", el.getAttribute("data-refresh"), { target: el, swap: "outerHTML" });
    });
  }

  function schedule() {
    if (pending === null) { pending = window.setTimeout(refreshNow, 60); }
  }

  var source = new EventSource(root.getAttribute("data-events"));
  source.addEventListener("open", function () { say("Live."); });
  source.addEventListener("error", function () { say("Reconnecting…"); });
  ["observation", "alert", "presence", "dose", "emergency", "discharge", "setting", "session", "refresh"]
    .forEach(function (kind) {
      source.addEventListener(kind, function (message) {
        var data = {};
        try { data = JSON.parse(message.data); } catch (e) { data = {}; }
        if (only && data.session && data.session !== only) { return; }
        root.setAttribute("data-last-event", kind);
        schedule();
      });
    });
  // Times move on even when nothing is measured: "due" becomes "overdue".
  window.setInterval(schedule, 60000);
})();

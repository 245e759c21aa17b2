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

// The consent page's signature pad. It records the strokes drawn on a <canvas> with a finger,
// a stylus or a mouse (Pointer Events cover all three) and keeps them in the form's hidden input
// as SVG path data, "M x y L x y ...", in CSS pixels: the server stores that text, never an image.
(function () {
  "use strict";

  function round(value) {
    return Math.round(value * 10) / 10;
  }

  // Strokes back from the path text (after the server re-renders the form with an error).
  function parse(text) {
    var strokes = [];
    var tokens = (text || "").trim().split(/[\s,]+/);
    var i = 0;
    while (i < tokens.length) {
      var command = tokens[i];
      var x = parseFloat(tokens[i + 1]);
      var y = parseFloat(tokens[i + 2]);
      if ((command !== "M" && command !== "L") || isNaN(x) || isNaN(y)) { return strokes; }
      if (command === "M" || !strokes.length) { strokes.push([]); }
      strokes[strokes.length - 1].push([x, y]);
      i += 3;
    }
    return strokes;
  }

  function serialise(strokes) {
    return strokes.map(function (stroke) {
      return stroke.map(function (p, n) { return (n ? "L " : "M ") + p[0] + " " + p[1]; }).join(" ");
    }).join(" ");
  }

  function setUp(pad) {
    var canvas = pad.querySelector("canvas");
    var input = pad.querySelector("input[type=hidden]");
    var clear = pad.querySelector("[data-signature-clear]");
    var context = canvas.getContext("2d");
    var strokes = parse(input.value);
    var current = null;

    function paint(stroke) {
      context.beginPath();
      context.moveTo(stroke[0][0], stroke[0][1]);
      // A tap leaves a dot: a segment too short to see would otherwise draw nothing.
      if (stroke.length === 1) { context.lineTo(stroke[0][0] + 0.1, stroke[0][1]); }
      stroke.slice(1).forEach(function (p) { context.lineTo(p[0], p[1]); });
      context.stroke();
    }

    function redraw() {
      context.clearRect(0, 0, canvas.width, canvas.height);
      strokes.forEach(paint);
      pad.classList.toggle("signed", strokes.length > 0);
    }

    // Draw at the screen's real resolution so the line stays sharp on a tablet.
    function resize() {
      var ratio = window.devicePixelRatio || 1;
      var box = canvas.getBoundingClientRect();
      canvas.width = Math.round(box.width * ratio);
      canvas.height = Math.round(box.height * ratio);
      context.setTransform(ratio, 0, 0, ratio, 0, 0);
      context.lineWidth = 2.5;
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#1b1f24";
      redraw();
    }

    function at(event) {
      var box = canvas.getBoundingClientRect();
      var x = Math.min(Math.max(event.clientX - box.left, 0), box.width);
      var y = Math.min(Math.max(event.clientY - box.top, 0), box.height);
      return [round(x), round(y)];
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) { return; }
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      current = [at(event)];
      strokes.push(current);
      redraw();
    });

    canvas.addEventListener("pointermove", function (event) {
      if (!current) { return; }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
      (events.length ? events : [event]).forEach(function (e) { current.push(at(e)); });
      paint(current);
    });

    function end() {
      if (!current) { return; }
      current = null;
      input.value = serialise(strokes);
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);

    clear.addEventListener("click", function () {
      strokes = [];
      current = null;
      input.value = "";
      redraw();
    });

    window.addEventListener("resize", resize);
    resize();
    pad.setAttribute("data-ready", "");  // strokes are recorded from here on
  }

  document.querySelectorAll("[data-signature-pad]").forEach(setUp);
})();

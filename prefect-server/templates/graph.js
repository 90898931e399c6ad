// The run page's task runs drawn on one canvas: a timeline (a bar per run
// from its start to its end) or the dependency graph (columns laid out by
// the server). Only what is in view is drawn, one path per state colour, so
// 10,000 runs pan and zoom smoothly. Drag pans, the wheel zooms, a double
// click fits the whole drawing, a click opens the run.
function prefectRunGraph(url, canvas, info, hover) {
  var LAYER = 200, BOX_W = 160, ROW = 30, BOX_H = 20, BAR_ROW = 24, BAR_H = 18, AXIS = 18;
  var ctx = canvas.getContext("2d");
  var view = "timeline", nodes = [], edges = [], origin = null, byPlace = {}, byStart = [];
  var cam = { x: 0, y: 0, sx: 1, sy: 1 }, fitted = { timeline: false, graph: false };
  var stats = { nodes: 0, edges: 0, visible: 0, draws: [] };
  var colours = {}, loading = false, again = false, lastLoad = 0;

  function colour(state) {
    if (!colours[state]) {
      var name = state === "cancelling" ? "cancelled" : state === "none" ? "pending" : state;
      colours[state] = getComputedStyle(document.documentElement).getPropertyValue("--" + name).trim() || "#888";
    }
    return colours[state];
  }
  // A node: [id, name, state, state_name, start, end, layer, row, subflow].
  function box(i) {
    var n = nodes[i];
    if (view === "graph") return [n[6] * LAYER, n[7] * ROW, BOX_W, BOX_H];
    if (n[4] === null) return null;
    var end = n[5] !== null ? n[5] : Math.max(n[4], Date.now() - origin);
    return [n[4], n.timelineRow * BAR_ROW, Math.max(end - n[4], 0), BAR_H];
  }
  function extent() {
    var maxX = 1, maxY = 1;
    for (var i = 0; i < nodes.length; i++) {
      var b = box(i);
      if (b) { maxX = Math.max(maxX, b[0] + b[2]); maxY = Math.max(maxY, b[1] + b[3]); }
    }
    return [maxX, maxY];
  }
  function size() {
    var ratio = window.devicePixelRatio || 1, width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio)) { canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio); }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return [width, height];
  }
  function fit() {
    var wh = size(), ext = extent(), pad = 12;
    if (view === "timeline") wh[1] -= AXIS;
    cam.sx = (wh[0] - 2 * pad) / ext[0];
    cam.sy = (wh[1] - 2 * pad) / ext[1];
    // Each axis fits on its own: a map of 10,000 runs in one column shows
    // as a strip of state colours, as wide as the columns allow.
    if (view === "graph") { cam.sx = Math.min(cam.sx, 1.5); cam.sy = Math.min(cam.sy, 1.5); }
    else { cam.sy = Math.min(cam.sy, 1); }
    cam.x = -pad / cam.sx; cam.y = -(view === "timeline" ? pad + AXIS : pad) / cam.sy;
    fitted[view] = true;
  }
  function draw() {
    var started = performance.now();
    var wh = size(), w = wh[0], h = wh[1];
    ctx.clearRect(0, 0, w, h);
    if (!nodes.length) {
      ctx.fillStyle = colour("pending"); ctx.font = "13px system-ui";
      ctx.fillText(loading ? "Loading…" : "No task runs.", 12, 24);
      return;
    }
    var x0 = cam.x, y0 = cam.y, x1 = cam.x + w / cam.sx, y1 = cam.y + h / cam.sy;
    var inView = [], groups = {};
    for (var i = 0; i < nodes.length; i++) {
      var b = box(i);
      if (!b || b[0] > x1 || b[0] + b[2] < x0 || b[1] > y1 || b[1] + b[3] < y0) continue;
      inView.push(i);
      (groups[nodes[i][2]] = groups[nodes[i][2]] || []).push(b);
    }
    if (view === "timeline") axis(w, h, x0, x1);
    if (view === "graph") {
      ctx.beginPath();
      for (var e = 0; e < edges.length; e++) {
        var up = nodes[edges[e][0]], down = nodes[edges[e][1]];
        var ax = up[6] * LAYER + BOX_W, ay = up[7] * ROW + BOX_H / 2, bx = down[6] * LAYER, by = down[7] * ROW + BOX_H / 2;
        if (Math.max(ax, bx) < x0 || Math.min(ax, bx) > x1 || Math.max(ay, by) < y0 || Math.min(ay, by) > y1) continue;
        ctx.moveTo((ax - x0) * cam.sx, (ay - y0) * cam.sy);
        ctx.lineTo((bx - x0) * cam.sx, (by - y0) * cam.sy);
      }
      ctx.strokeStyle = colour("pending"); ctx.globalAlpha = 0.45; ctx.lineWidth = 1; ctx.stroke(); ctx.globalAlpha = 1;
    }
    for (var state in groups) {
      ctx.beginPath();
      var list = groups[state];
      for (var k = 0; k < list.length; k++) {
        var r = list[k];
        ctx.rect((r[0] - x0) * cam.sx, (r[1] - y0) * cam.sy, Math.max(r[2] * cam.sx, 1), Math.max(r[3] * cam.sy, 1));
      }
      ctx.fillStyle = colour(state); ctx.fill();
    }
    // Names, once they fit.
    if (BOX_H * cam.sy >= 12 && inView.length <= 2000) {
      var ink = getComputedStyle(canvas).color;
      ctx.font = "12px system-ui"; ctx.textBaseline = "middle";
      for (var j = 0; j < inView.length; j++) {
        var n = nodes[inView[j]], c = box(inView[j]);
        var left = (c[0] - x0) * cam.sx, mid = (c[1] - y0 + c[3] / 2) * cam.sy;
        ctx.fillStyle = n[2] === "scheduled" ? "#222" : "#fff";
        if (view === "timeline" && c[2] * cam.sx < 80) { ctx.fillStyle = ink; left += Math.max(c[2] * cam.sx, 1) + 4; }
        ctx.save(); ctx.beginPath();
        ctx.rect(left, mid - 8, view === "graph" ? BOX_W * cam.sx - 8 : w, 16); ctx.clip();
        ctx.fillText(n[1], left + 4, mid); ctx.restore();
      }
    }
    stats.visible = inView.length;
    stats.draws.push(performance.now() - started);
    if (stats.draws.length > 500) stats.draws.shift();
  }
  // Time since the first start, as a tick's label.
  function label(ms) {
    if (ms === 0) return "0";
    if (Math.abs(ms) < 1000) return ms + " ms";
    if (Math.abs(ms) < 60000) return +(ms / 1000).toFixed(2) + " s";
    if (Math.abs(ms) < 3600000) return +(ms / 60000).toFixed(2) + " m";
    return +(ms / 3600000).toFixed(2) + " h";
  }
  // The timeline's time axis: a tick every 1, 2 or 5 times a power of ten
  // of milliseconds, at least 90 pixels apart, with a faint line down.
  function axis(w, h, x0, x1) {
    var want = 90 / cam.sx, step = Math.pow(10, Math.floor(Math.log10(Math.max(want, 1e-3))));
    if (step * 2 >= want) step *= 2; else if (step * 5 >= want) step *= 5; else step *= 10;
    step = Math.max(1, Math.round(step));
    var ink = getComputedStyle(canvas).color;
    ctx.font = "11px system-ui"; ctx.textBaseline = "top"; ctx.lineWidth = 1;
    ctx.beginPath();
    for (var t = Math.ceil(x0 / step) * step; t <= x1; t += step) {
      var x = Math.round((t - x0) * cam.sx) + 0.5;
      ctx.moveTo(x, AXIS); ctx.lineTo(x, h);
    }
    ctx.strokeStyle = ink; ctx.globalAlpha = 0.12; ctx.stroke(); ctx.globalAlpha = 0.7;
    ctx.fillStyle = ink;
    for (var u = Math.ceil(x0 / step) * step; u <= x1; u += step) ctx.fillText(label(u), (u - x0) * cam.sx + 3, 3);
    ctx.globalAlpha = 1;
  }
  function at(event) {
    var rect = canvas.getBoundingClientRect();
    var wx = cam.x + (event.clientX - rect.left) / cam.sx, wy = cam.y + (event.clientY - rect.top) / cam.sy;
    if (view === "graph") {
      var layer = Math.floor(wx / LAYER), row = Math.floor(wy / ROW);
      if (wx - layer * LAYER > BOX_W || wy - row * ROW > BOX_H) return -1;
      var hit = byPlace[layer + ":" + row];
      return hit === undefined ? -1 : hit;
    }
    var i = byStart[Math.floor(wy / BAR_ROW)];
    if (i === undefined) return -1;
    var b = box(i), slack = 3 / cam.sx;
    return b && wx >= b[0] - slack && wx <= b[0] + b[2] + slack ? i : -1;
  }
  function describe(i) {
    var n = nodes[i];
    var length = n[4] !== null && n[5] !== null ? " · " + (n[5] - n[4]) + " ms" : n[4] !== null ? " · running" : "";
    return n[1] + " · " + n[3] + length + (n[8] ? " · subflow" : "");
  }
  function load() {
    if (loading) { again = true; return; }
    loading = true; lastLoad = Date.now();
    fetch(url).then(function (r) { return r.json(); }).then(function (data) {
      nodes = data.nodes || []; edges = data.edges || [];
      loading = false; // drawn below: an empty run reads "No task runs."
      origin = data.origin ? Date.parse(data.origin) : Date.now();
      byPlace = {}; byStart = [];
      for (var i = 0; i < nodes.length; i++) {
        byPlace[nodes[i][6] + ":" + nodes[i][7]] = i;
        if (nodes[i][4] !== null) byStart.push(i);
      }
      byStart.sort(function (a, b) { return nodes[a][4] - nodes[b][4] || a - b; });
      for (var j = 0; j < byStart.length; j++) nodes[byStart[j]].timelineRow = j;
      stats.nodes = nodes.length; stats.edges = edges.length;
      function count(n, one, many) { return n + " " + (n === 1 ? one : many); }
      info.textContent = count(nodes.length, "run", "runs") + " · " + count(edges.length, "edge", "edges") + " · " +
        count(data.layers || 0, "column", "columns") +
        (data.truncated ? " (the first " + nodes.length + " only)" : "");
      if (!fitted[view]) fit();
      canvas.setAttribute("data-nodes", String(nodes.length));
      draw();
    }).catch(function () { info.textContent = "The graph could not be read."; }).then(function () {
      loading = false;
      if (again) { again = false; setTimeout(load, 1000); }
    });
  }
  // Pan, zoom, fit, hover and open.
  var drag = null, moved = false;
  canvas.addEventListener("mousedown", function (e) { drag = [e.clientX, e.clientY]; moved = false; });
  window.addEventListener("mouseup", function () { drag = null; });
  canvas.addEventListener("mousemove", function (e) {
    if (drag) {
      cam.x -= (e.clientX - drag[0]) / cam.sx; cam.y -= (e.clientY - drag[1]) / cam.sy;
      if (Math.abs(e.clientX - drag[0]) + Math.abs(e.clientY - drag[1]) > 2) moved = true;
      drag = [e.clientX, e.clientY]; draw(); return;
    }
    var i = at(e);
    canvas.style.cursor = i >= 0 ? "pointer" : "grab";
    hover.textContent = i >= 0 ? describe(i) : "";
  });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    var rect = canvas.getBoundingClientRect(), px = e.clientX - rect.left, py = e.clientY - rect.top;
    var factor = Math.exp(-e.deltaY / 500);
    var wx = cam.x + px / cam.sx, wy = cam.y + py / cam.sy;
    cam.sx *= factor; cam.sy *= factor;
    cam.x = wx - px / cam.sx; cam.y = wy - py / cam.sy;
    draw();
  }, { passive: false });
  canvas.addEventListener("dblclick", function () { fit(); draw(); });
  canvas.addEventListener("click", function (e) {
    if (moved) return;
    var i = at(e);
    if (i >= 0) location.href = nodes[i][8] ? "/runs/" + nodes[i][8] : "/task-runs/" + nodes[i][0];
  });
  window.addEventListener("resize", function () { draw(); });
  function show(name) {
    view = name;
    if (!fitted[view]) fit();
    draw();
  }
  load();
  return {
    show: show,
    // Read the graph again (at most once a second).
    reload: function () {
      if (Date.now() - lastLoad < 1000) { if (!again) { again = true; setTimeout(function () { again = false; load(); }, 1000); } return; }
      load();
    },
    stats: stats,
    // Pans and zooms for `frames` animation frames, then calls `done` with
    // the draw times and the frame intervals, in milliseconds.
    measure: function (frames, done) {
      var draws = [], intervals = [], last = null, count = 0;
      function pct(list, p) { var s = list.slice().sort(function (a, b) { return a - b; }); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : 0; }
      function step(now) {
        if (last !== null) intervals.push(now - last);
        last = now;
        if (count++ >= frames) {
          done({ frames: frames, nodes: nodes.length, draw_p50: pct(draws, 0.5), draw_p95: pct(draws, 0.95), draw_max: pct(draws, 1),
                 frame_p50: pct(intervals, 0.5), frame_p95: pct(intervals, 0.95), frame_max: pct(intervals, 1) });
          return;
        }
        // Out and back in, panning: the whole drawing is in view at times.
        var factor = count % 60 < 30 ? 0.97 : 1 / 0.97;
        cam.sx *= factor; cam.sy *= factor; cam.x += 3 / cam.sx;
        var t = performance.now(); draw(); draws.push(performance.now() - t);
        requestAnimationFrame(step);
      }
      requestAnimationFrame(step);
    }
  };
}

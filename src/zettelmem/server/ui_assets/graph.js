/* The graph page's script. It reads the JSON block #graph-data (see ui_graph.py), refines
   the server's starting positions with a force simulation (Barnes-Hut repulsion, springs
   along links, a weak pull to the centre), draws on a canvas, and pans, zooms, finds and
   opens notes by mouse or keyboard. Nothing is loaded from anywhere. */
(function () {
  "use strict";
  var block = document.getElementById("graph-data");
  var canvas = document.getElementById("graph");
  if (!block || !canvas) return;
  var D = JSON.parse(block.textContent);
  var mode = canvas.parentElement.getAttribute("data-mode") || "server";
  var noteUrl = canvas.parentElement.getAttribute("data-note") || "/ui/note/";
  var ctx = canvas.getContext("2d");
  var N = D.ids.length, E = D.edges, M = E.length / 3;
  var X = Float64Array.from(D.x), Y = Float64Array.from(D.y);
  var VX = new Float64Array(N), VY = new Float64Array(N);
  var R = new Float64Array(N);
  var byDegree = [];
  var i;
  for (i = 0; i < N; i++) {
    R[i] = 3 + 1.2 * Math.sqrt(D.degree[i]) + (D.shape[i] === 1 ? 3 : 0);
    byDegree.push(i);
    // A tiny deterministic jitter, so no two notes start on one spot.
    X[i] += ((i * 7919) % 97) / 97 - 0.5; Y[i] += ((i * 104729) % 89) / 89 - 0.5;
  }
  byDegree.sort(function (a, b) { return D.degree[b] - D.degree[a] || a - b; });

  // -- colours, read from the style sheet (the one home of the palette) ---------------
  var css = getComputedStyle(document.documentElement);
  var palette = [];
  for (i = 0; i < 10; i++) palette.push(css.getPropertyValue("--g" + i).trim() || "#1f77b4");
  var other = css.getPropertyValue("--g-other").trim() || "#9aa3ab";
  function colour(n) { var g = D.group[n]; return g >= 0 && g < 10 ? palette[g] : other; }
  var EDGE_STYLE = {
    related: "rgba(110,120,130,0.28)", follows: "rgba(70,100,160,0.30)",
    supersedes: "rgba(190,40,50,0.85)", derived_from: "rgba(130,80,190,0.55)",
    mentions: "rgba(90,150,90,0.45)"
  };

  // -- the simulation ------------------------------------------------------------------
  var links = [], count = new Float64Array(N);
  for (i = 0; i < M; i++) { count[E[3 * i]]++; count[E[3 * i + 1]]++; }
  for (i = 0; i < M; i++) {
    var a = E[3 * i], b = E[3 * i + 1];
    links.push([a, b, 1 / Math.min(count[a], count[b]), count[a] / (count[a] + count[b])]);
  }
  var alpha = 0.6, ALPHA_MIN = 0.004, DECAY = 1 - Math.pow(ALPHA_MIN / alpha, 1 / 260);
  var CHARGE = -90, LINK_LENGTH = 30, GRAVITY = 0.006, CLUSTER = 0.06, FRICTION = 0.6, THETA2 = 0.81;
  var running = N > 0, ticks = 0;
  var cap = 8 * N + 64;
  var qx = new Float64Array(cap), qy = new Float64Array(cap), qs = new Float64Array(cap);
  var qmx = new Float64Array(cap), qmy = new Float64Array(cap), qm = new Float64Array(cap);
  var qkid = new Int32Array(4 * cap), qpt = new Int32Array(cap), qn = 0;
  var stack = new Int32Array(4 * cap);

  function quad(x, y, size) {
    var q = qn++;
    qx[q] = x; qy[q] = y; qs[q] = size; qmx[q] = qmy[q] = qm[q] = 0; qpt[q] = -1;
    qkid[4 * q] = qkid[4 * q + 1] = qkid[4 * q + 2] = qkid[4 * q + 3] = -1;
    return q;
  }
  function child(q, p) {
    var half = qs[q] / 2, right = X[p] >= qx[q] + half ? 1 : 0, low = Y[p] >= qy[q] + half ? 1 : 0;
    var k = 4 * q + right + 2 * low;
    if (qkid[k] < 0) qkid[k] = quad(qx[q] + right * half, qy[q] + low * half, half);
    return qkid[k];
  }
  function weigh(q, p) { qm[q] += 1; qmx[q] += X[p]; qmy[q] += Y[p]; }
  function insert(p) {
    var q = 0, depth = 0;
    for (;;) {
      if (qpt[q] === -1 && qm[q] === 0) { qpt[q] = p; weigh(q, p); return; }
      if (qpt[q] >= 0) {
        if (depth > 40 || qn + 4 >= cap) { weigh(q, p); return; }  // one spot: lump them
        var held = qpt[q]; qpt[q] = -2;
        var c = child(q, held); qpt[c] = held; weigh(c, held);
      }
      weigh(q, p); q = child(q, p); depth++;
    }
  }
  function buildTree() {
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (var n = 0; n < N; n++) {
      if (X[n] < x0) x0 = X[n]; if (X[n] > x1) x1 = X[n];
      if (Y[n] < y0) y0 = Y[n]; if (Y[n] > y1) y1 = Y[n];
    }
    qn = 0; quad(x0 - 1, y0 - 1, Math.max(x1 - x0, y1 - y0) + 2);
    for (n = 0; n < N; n++) insert(n);
  }
  function repel(p) {
    var top = 0; stack[top++] = 0;
    while (top > 0) {
      var q = stack[--top];
      if (qm[q] === 0 || qpt[q] === p) continue;
      var dx = qmx[q] / qm[q] - X[p], dy = qmy[q] / qm[q] - Y[p], d2 = dx * dx + dy * dy;
      if (qpt[q] === -2 && qs[q] * qs[q] >= THETA2 * d2) {
        for (var k = 0; k < 4; k++) if (qkid[4 * q + k] >= 0) stack[top++] = qkid[4 * q + k];
        continue;
      }
      if (d2 < 1) d2 = 1;
      var w = CHARGE * alpha * qm[q] / d2;
      VX[p] += dx * w; VY[p] += dy * w;
    }
  }
  // Each coloured community is drawn towards its centre, so colours read as places.
  var gx = new Float64Array(10), gy = new Float64Array(10), gn = new Float64Array(10);
  function pullTogether() {
    var n, g;
    gx.fill(0); gy.fill(0); gn.fill(0);
    for (n = 0; n < N; n++) {
      g = D.group[n];
      if (g >= 0 && g < 10) { gx[g] += X[n]; gy[g] += Y[n]; gn[g]++; }
    }
    for (n = 0; n < N; n++) {
      g = D.group[n];
      if (g < 0 || g >= 10) continue;
      VX[n] += (gx[g] / gn[g] - X[n]) * CLUSTER * alpha;
      VY[n] += (gy[g] / gn[g] - Y[n]) * CLUSTER * alpha;
    }
  }
  function tick() {
    var n, l;
    buildTree();
    for (n = 0; n < N; n++) repel(n);
    for (var e = 0; e < links.length; e++) {
      l = links[e];
      var s = l[0], t = l[1];
      var dx = X[t] + VX[t] - X[s] - VX[s], dy = Y[t] + VY[t] - Y[s] - VY[s];
      var d = Math.sqrt(dx * dx + dy * dy) || 1;
      var f = (d - LINK_LENGTH) / d * alpha * l[2];
      dx *= f; dy *= f;
      VX[t] -= dx * l[3]; VY[t] -= dy * l[3]; VX[s] += dx * (1 - l[3]); VY[s] += dy * (1 - l[3]);
    }
    pullTogether();
    for (n = 0; n < N; n++) {
      VX[n] -= X[n] * GRAVITY * alpha; VY[n] -= Y[n] * GRAVITY * alpha;
      VX[n] *= FRICTION; VY[n] *= FRICTION;
      X[n] += VX[n]; Y[n] += VY[n];
    }
    alpha *= 1 - DECAY; ticks++;
    if (alpha < ALPHA_MIN) { running = false; api.settled = true; }
  }

  // -- the view: world to screen -------------------------------------------------------
  var s = 1, tx = 0, ty = 0, W = 0, H = 0, dpr = window.devicePixelRatio || 1;
  var userMoved = false, hover = -1, focused = -1, matches = [], dirty = true;
  function resize() {
    var r = canvas.getBoundingClientRect();
    W = Math.max(1, r.width); H = Math.max(1, r.height);
    canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
    if (!userMoved) fit();
    dirty = true;
  }
  function fit() {
    if (!N) return;
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (var n = 0; n < N; n++) {
      x0 = Math.min(x0, X[n] - R[n]); x1 = Math.max(x1, X[n] + R[n]);
      y0 = Math.min(y0, Y[n] - R[n]); y1 = Math.max(y1, Y[n] + R[n]);
    }
    s = Math.min(W / (x1 - x0 + 40), H / (y1 - y0 + 40), 4);
    tx = W / 2 - s * (x0 + x1) / 2; ty = H / 2 - s * (y0 + y1) / 2;
  }
  function zoomAt(factor, sx, sy) {
    var next = Math.max(0.02, Math.min(40, s * factor));
    tx = sx - (sx - tx) * next / s; ty = sy - (sy - ty) * next / s; s = next;
    userMoved = true; dirty = true;
  }
  function centreOn(n) {
    if (s < 1.2) s = 1.2;
    tx = W / 2 - X[n] * s; ty = H / 2 - Y[n] * s; userMoved = true; dirty = true;
  }
  function nodeAt(sx, sy) {
    var wx = (sx - tx) / s, wy = (sy - ty) / s, best = -1, bestD = Infinity;
    for (var n = 0; n < N; n++) {
      var dx = X[n] - wx, dy = Y[n] - wy, d2 = dx * dx + dy * dy;
      var reach = Math.max(R[n], 6 / s);
      if (d2 <= reach * reach && d2 < bestD) { best = n; bestD = d2; }
    }
    return best;
  }

  // -- drawing -------------------------------------------------------------------------
  function drawEdges() {
    for (var k = 0; k < D.kinds.length; k++) {
      ctx.beginPath();
      for (var e = 0; e < M; e++) {
        if (E[3 * e + 2] !== k) continue;
        var a = E[3 * e], b = E[3 * e + 1];
        ctx.moveTo(X[a], Y[a]); ctx.lineTo(X[b], Y[b]);
      }
      ctx.strokeStyle = EDGE_STYLE[D.kinds[k]] || EDGE_STYLE.related;
      ctx.lineWidth = (D.kinds[k] === "supersedes" ? 2 : 1) / s;
      ctx.stroke();
    }
  }
  function drawNodes() {
    var n, groups = {};
    for (n = 0; n < N; n++) {
      if (D.shape[n] !== 0) continue;
      var c = colour(n);
      (groups[c] = groups[c] || []).push(n);
    }
    Object.keys(groups).forEach(function (c) {
      ctx.beginPath();
      groups[c].forEach(function (m) {
        var r = Math.max(R[m], 1.5 / s);
        ctx.moveTo(X[m] + r, Y[m]); ctx.arc(X[m], Y[m], r, 0, 2 * Math.PI);
      });
      ctx.fillStyle = c; ctx.fill();
    });
    for (n = 0; n < N; n++) {
      var r = Math.max(R[n], 2 / s);
      if (D.shape[n] === 1) {  // insight: a diamond with a dark rim
        ctx.beginPath();
        ctx.moveTo(X[n], Y[n] - r * 1.4); ctx.lineTo(X[n] + r * 1.4, Y[n]);
        ctx.lineTo(X[n], Y[n] + r * 1.4); ctx.lineTo(X[n] - r * 1.4, Y[n]); ctx.closePath();
        ctx.fillStyle = colour(n); ctx.fill();
        ctx.lineWidth = 2 / s; ctx.strokeStyle = "#1d2329"; ctx.stroke();
      } else if (D.shape[n] === 2) {  // superseded: hollow and dashed
        ctx.beginPath(); ctx.arc(X[n], Y[n], r, 0, 2 * Math.PI);
        ctx.fillStyle = "#ffffff"; ctx.fill();
        ctx.setLineDash([3 / s, 2 / s]); ctx.lineWidth = 1.5 / s; ctx.strokeStyle = other;
        ctx.stroke(); ctx.setLineDash([]);
      }
    }
  }
  function ring(n, colourName, width) {
    ctx.beginPath(); ctx.arc(X[n], Y[n], Math.max(R[n], 2 / s) + 3 / s, 0, 2 * Math.PI);
    ctx.lineWidth = width / s; ctx.strokeStyle = colourName; ctx.stroke();
  }
  function drawLabels() {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = "12px system-ui, sans-serif"; ctx.textBaseline = "middle";
    var placed = [], wanted = [];
    if (hover >= 0) wanted.push(hover);
    if (focused >= 0) wanted.push(focused);
    matches.slice(0, 20).forEach(function (m) { wanted.push(m); });
    var budget = Math.min(90, Math.round(W * H / 9000));
    for (var k = 0; k < N && wanted.length < budget + 22; k++) wanted.push(byDegree[k]);
    wanted.forEach(function (n, order) {
      var sx = X[n] * s + tx, sy = Y[n] * s + ty;
      if (sx < -50 || sy < -10 || sx > W + 10 || sy > H + 10) return;
      var text = D.labels[n], w = ctx.measureText(text).width + 6;
      var box = [sx + R[n] * s + 2, sy - 8, w, 16];
      var forced = n === hover || n === focused || matches.indexOf(n) >= 0;
      var small = s * R[n] < 2.5 && order > 24;
      if (!forced && (order > budget || small || clash(box, placed))) return;
      placed.push(box);
      ctx.fillStyle = "rgba(255,255,255,0.85)"; ctx.fillRect(box[0], box[1], box[2], box[3]);
      ctx.fillStyle = forced ? "#000" : "#333"; ctx.fillText(text, box[0] + 3, sy);
    });
  }
  function clash(b, placed) {
    for (var k = 0; k < placed.length; k++) {
      var p = placed[k];
      if (b[0] < p[0] + p[2] && p[0] < b[0] + b[2] && b[1] < p[1] + p[3] && p[1] < b[1] + b[3]) {
        return true;
      }
    }
    return false;
  }
  function draw() {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0); ctx.clearRect(0, 0, W, H);
    ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * tx, dpr * ty);
    drawEdges(); drawNodes();
    matches.forEach(function (m) { ring(m, "#f2b705", 3); });
    if (focused >= 0) ring(focused, "#1d2329", 2.5);
    if (hover >= 0) ring(hover, "#1d2329", 1.5);
    drawLabels();
    dirty = false;
  }
  function frame() {
    if (running) {
      var started = performance.now(), done = 0;
      // Layout steps get ~40 ms a frame: a big graph settles sooner for fewer redraws,
      // and the page still answers a drag or a key at every frame.
      do { tick(); done++; } while (running && performance.now() - started < 40);
      api.tickMs = (performance.now() - started) / done;
      if (!userMoved) fit();
      dirty = true;
    }
    if (dirty) { var t0 = performance.now(); draw(); api.drawMs = performance.now() - t0; }
    window.requestAnimationFrame(frame);
  }

  // -- opening a note ------------------------------------------------------------------
  var detail = document.getElementById("detail");
  function open(n) {
    if (n < 0) return;
    if (mode === "server") {
      window.location.href = noteUrl + encodeURIComponent(D.ids[n]);
      return;
    }
    focused = n; dirty = true; showDetail(n);
  }
  function showDetail(n) {
    if (!detail || !D.details) return;
    var d = D.details[n];
    detail.textContent = "";
    function add(tag, text, cls) {
      var el = document.createElement(tag); el.textContent = text;
      if (cls) el.className = cls; detail.appendChild(el); return el;
    }
    add("h2", D.labels[n]);
    add("p", d.content, "content");
    add("p", d.when + " · " + d.scope + " · " + d.source + (d.status !== "active" ? " · " + d.status : ""), "meta");
    if (d.tags.length) add("p", "tags: " + d.tags.join(", "), "meta");
    if (d.keywords.length) add("p", "keywords: " + d.keywords.join(", "), "meta");
    var list = add("ul", "");
    for (var e = 0; e < M; e++) {
      var a = E[3 * e], b = E[3 * e + 1];
      if (a !== n && b !== n) continue;
      var m = a === n ? b : a, li = document.createElement("li");
      var button = document.createElement("button");
      button.className = "link"; button.textContent = D.labels[m];
      button.addEventListener("click", (function (target) {
        return function () { centreOn(target); open(target); };
      })(m));
      li.appendChild(document.createTextNode((a === n ? "→ " : "← ") + D.kinds[E[3 * e + 2]] + " "));
      li.appendChild(button); list.appendChild(li);
    }
    detail.hidden = false;
  }

  // -- mouse and keyboard --------------------------------------------------------------
  var press = null;
  function local(ev) { var r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; }
  canvas.addEventListener("pointerdown", function (ev) {
    var p = local(ev); press = { x: p[0], y: p[1], tx: tx, ty: ty, moved: false };
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener("pointermove", function (ev) {
    var p = local(ev);
    if (press) {
      if (Math.abs(p[0] - press.x) + Math.abs(p[1] - press.y) > 4) press.moved = true;
      if (press.moved) {
        tx = press.tx + p[0] - press.x; ty = press.ty + p[1] - press.y; userMoved = true; dirty = true;
      }
      return;
    }
    var n = nodeAt(p[0], p[1]);
    if (n !== hover) { hover = n; dirty = true; canvas.classList.toggle("pointing", n >= 0); }
  });
  canvas.addEventListener("pointerup", function (ev) {
    var p = local(ev), was = press; press = null;
    if (was && !was.moved) open(nodeAt(p[0], p[1]));
  });
  canvas.addEventListener("pointerleave", function () { if (hover >= 0) { hover = -1; dirty = true; } });
  canvas.addEventListener("wheel", function (ev) {
    ev.preventDefault(); var p = local(ev); zoomAt(Math.exp(-ev.deltaY * 0.0015), p[0], p[1]);
  }, { passive: false });
  canvas.addEventListener("keydown", function (ev) {
    var step = 60, used = true;
    if (ev.key === "ArrowLeft") tx += step; else if (ev.key === "ArrowRight") tx -= step;
    else if (ev.key === "ArrowUp") ty += step; else if (ev.key === "ArrowDown") ty -= step;
    else if (ev.key === "+" || ev.key === "=") zoomAt(1.25, W / 2, H / 2);
    else if (ev.key === "-") zoomAt(0.8, W / 2, H / 2);
    else if (ev.key === "0") { userMoved = false; fit(); }
    else if (ev.key === " ") running = !running && !api.settled;
    else if (ev.key === "n" || ev.key === "p") stepFocus(ev.key === "n" ? 1 : -1);
    else if (ev.key === "Enter" && focused >= 0) open(focused);
    else used = false;
    if (used) { ev.preventDefault(); if (ev.key.indexOf("Arrow") === 0) userMoved = true; dirty = true; }
  });
  // The graph is what the page is for: its keys work from the start, without a click first.
  if (!document.activeElement || document.activeElement === document.body) {
    canvas.focus({ preventScroll: true });
  }
  var focusOrder = -1;
  function stepFocus(step) {
    if (!N) return;
    focusOrder = (focusOrder + step + N) % N; focused = byDegree[focusOrder];
    centreOn(focused); canvas.setAttribute("aria-label", "note: " + D.labels[focused] + " (Enter opens)");
  }
  var find = document.getElementById("find"), labelsList = document.getElementById("graph-labels");
  if (find) {
    find.addEventListener("input", function () {
      var q = find.value.trim().toLowerCase();
      matches = [];
      if (q) for (var n = 0; n < N && matches.length < 200; n++) {
        if (D.labels[n].toLowerCase().indexOf(q) >= 0 || D.ids[n] === q) matches.push(n);
      }
      if (labelsList) {
        labelsList.textContent = "";
        matches.slice(0, 30).forEach(function (m) {
          var o = document.createElement("option"); o.value = D.labels[m]; labelsList.appendChild(o);
        });
      }
      if (matches.length) { focused = matches[0]; centreOn(matches[0]); }
      dirty = true;
    });
    find.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && matches.length) {
        ev.preventDefault();
        var exact = matches.filter(function (m) { return D.labels[m] === find.value; });
        open(exact.length ? exact[0] : matches[0]);
      }
    });
  }
  window.addEventListener("resize", resize);

  // -- what tests and benchmarks read ----------------------------------------------------
  var api = window.memGraph = {
    count: N, settled: N === 0, ticks: function () { return ticks; },
    screenOf: function (id) {
      var n = D.ids.indexOf(id);
      return n < 0 ? null : [X[n] * s + tx, Y[n] * s + ty];
    },
    pause: function () { running = false; api.settled = true; dirty = true; },
    interactiveAt: 0
  };
  resize();
  draw();
  api.interactiveAt = performance.now();
  window.requestAnimationFrame(frame);
})();

(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("page-data").textContent);
  var elements = DATA.elements, nodes = DATA.nodes;
  var FWD = DATA.forward, BWD = DATA.backward;
  var F = FWD.length, LAST = F + BWD.length;
  var svg = document.querySelector("#graph svg");
  var el = function (id) { return document.getElementById(id); };
  var slider = el("slider");
  slider.max = String(LAST);

  // Quiz: backward steps are shown once answered (or given up); the score counts first tries.
  var revealed = DATA.quiz ? 0 : BWD.length;
  var asking = -1, tried = {}, right = 0, asked = 0;
  var current = 0, timer = null, inspected = -1;

  function byId(id) { return id && svg ? svg.querySelector('[id="' + id + '"]') : null; }
  function field(g, word) {  // the text of a record or box that reads "data ..." / "grad ..."
    if (!g) return null;
    var texts = g.querySelectorAll("text"), found = null;
    for (var i = 0; i < texts.length; i++) {
      if (texts[i].textContent.trim().indexOf(word + " ") === 0) found = texts[i];
    }
    return found;
  }
  var shown = elements.map(function (e) {
    var g = byId(e.id);
    return {g: g, data: field(g, "data"), grad: field(g, "grad"), op: byId(e.op_id)};
  });

  // ------------------------------------------------------------ what is known at step k
  function known(k, asked) {  // asked: the quiz waits for the next step's answer
    var computed = Math.min(k, F), done = Math.max(0, k - F);
    var grads = nodes.map(function () { return null; });
    var seeded = done > 0 || Boolean(asked);
    if (seeded) grads[DATA.root_index] = "1.0";  // the seed, dL/dL = 1
    for (var b = 0; b < done; b++) {
      BWD[b].updates.forEach(function (u) { grads[u[0]] = u[1]; });
    }
    return {computed: computed, done: done, seeded: seeded, grads: grads};
  }
  function dataKnown(e, state) {
    return elements[e].leaf || elements[e].computed <= state.computed;
  }
  function gradDone(e, state) {
    return state.seeded && elements[e].complete <= state.done;
  }

  function setText(t, text, classes) {
    if (!t) return;
    t.textContent = text;
    ["unknown", "grad-partial", "grad-known"].forEach(function (c) {
      t.classList.toggle(c, classes.indexOf(c) >= 0);
    });
  }
  function paint(state) {
    elements.forEach(function (e, i) {
      var s = shown[i], dataOk = dataKnown(i, state);
      var data = e.group ? e.data : nodes[e.outputs[0]].data;
      setText(s.data, "data " + (dataOk ? data : "?"), dataOk ? [] : ["unknown"]);
      var grad = e.group ? (gradDone(i, state) ? e.grad : null) : state.grads[e.outputs[0]];
      var cls = grad === null ? ["unknown"] : gradDone(i, state) ? ["grad-known"]
          : ["grad-partial"];
      setText(s.grad, "grad " + (grad === null ? "?" : grad), cls);
    });
  }

  function clearMarks() {
    ["current", "target", "current-op", "active"].forEach(function (cls) {
      var marked = svg ? svg.querySelectorAll("." + cls) : [];
      for (var i = 0; i < marked.length; i++) marked[i].classList.remove(cls);
    });
  }
  function mark(step) {
    var s = shown[step.element];
    if (s.g) s.g.classList.add("current");
    if (s.op) s.op.classList.add("current-op");
    (step.targets || []).forEach(function (t) {
      if (shown[t].g) shown[t].g.classList.add("target");
    });
    step.edges.forEach(function (id) {
      var g = byId(id);
      if (g) g.classList.add("active");
    });
  }

  // ------------------------------------------------------------ one position
  function show(k) {
    k = Math.max(0, Math.min(F + revealed, k));
    current = k;
    closeQuiz();
    var state = known(k);
    paint(state);
    clearMarks();
    var phase = k <= F && F > 0 ? "forward" : "backward";
    if (k === 0) {
      el("formula").textContent = F ? "Start: only the leaves' data is known." :
          "Forward pass: " + DATA.root + " = " + DATA.root_data;
      el("rule").textContent = "All gradients are unknown (?).";
      el("text").textContent = F ? "Next: compute the nodes in order, inputs first." :
          BWD.length ? "Next: start the backward pass with d" + DATA.root + "/d" +
          DATA.root + " = 1." : DATA.root + " is a leaf: d" + DATA.root + "/d" + DATA.root +
          " = 1 and there is nothing to propagate.";
    } else {
      var step = k <= F ? FWD[k - 1] : BWD[k - F - 1];
      mark(step);
      el("formula").textContent = step.formula;
      el("rule").textContent = step.rule;
      el("text").textContent = step.text + (k === LAST ?
          ". Backward pass complete: every gradient is known." : k === F ?
          ". Forward pass complete: " + DATA.root + " = " + DATA.root_data + "." : ".");
    }
    follow(svg ? svg.querySelector(".current") : null);
    document.body.setAttribute("data-step", String(k));
    document.body.setAttribute("data-phase", phase);
    el("counter").textContent = k === 0 ? "start" : k <= F ? "forward " + k + " / " + F :
        "backward " + (k - F) + " / " + BWD.length;
    slider.value = String(k);
    el("back").disabled = k === 0;
    el("reset").disabled = k === 0;
    el("next").disabled = k === LAST;
    if (k === LAST) stop();
    if (DATA.quiz && revealed === BWD.length && BWD.length) {
      el("score").textContent = "Score: " + right + " / " + asked + " right at the first try";
    }
    if (inspected >= 0) inspect(inspected);
  }

  // ------------------------------------------------------------ the quiz
  function number(text) {
    var t = text.trim().replace(/\u2212/g, "-").replace(/,/g, ".");
    if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return null;
    return parseFloat(t);
  }
  function close(x, y) {
    return Math.abs(x - y) <= 1e-9 + DATA.rtol * Math.abs(y);
  }
  function ask(b) {  // the step after the last revealed one, before it is shown
    var step = BWD[b];
    asking = b;
    paint(known(current, true));
    clearMarks();
    mark(step);
    document.body.setAttribute("data-phase", "backward");
    el("counter").textContent = "backward " + (b + 1) + " / " + BWD.length + ": your turn";
    el("formula").textContent = step.quiz.prompt;
    el("rule").textContent = step.rule;
    el("text").textContent = step.quiz.ask;
    el("what").textContent = step.quiz.what;
    el("quiz").hidden = false;
    el("feedback").textContent = "";
    el("feedback").className = "";
    el("answer").value = "";
    el("answer").focus();
    document.body.setAttribute("data-asking", String(b));
  }
  function closeQuiz() {
    asking = -1;
    el("quiz").hidden = true;
    document.body.removeAttribute("data-asking");
  }
  function attempt(b) {  // counts each step once, at its first answer
    if (tried[b]) return false;
    tried[b] = true;
    asked++;
    return true;
  }
  function reveal(b) {
    revealed = Math.max(revealed, b + 1);
    el("feedback").textContent = "";
    show(F + b + 1);
  }
  function check() {
    if (asking < 0) return;
    var q = BWD[asking].quiz, x = number(el("answer").value), fb = el("feedback");
    if (x === null) {
      fb.textContent = "Type a number, such as -2.5 or 0.75.";
      fb.className = "wrong";
      return;
    }
    var first = attempt(asking);
    if (close(x, q.answer)) {
      if (first) right++;
      reveal(asking);
      return;
    }
    var found = q.fallback;
    for (var i = 0; i < q.slips.length; i++) {
      if (close(x, q.slips[i].value)) { found = q.slips[i]; break; }
    }
    fb.className = "wrong";
    fb.textContent = "\u2718 " + found.title + ". " + found.text;
    document.body.setAttribute("data-feedback", found.title);
  }
  el("check").addEventListener("click", check);
  el("answer").addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); check(); }
  });
  el("reveal").addEventListener("click", function () {
    if (asking < 0) return;
    attempt(asking);
    reveal(asking);
  });

  // ------------------------------------------------------------ the inspector
  function row(table, cells) {
    var tr = document.createElement("tr");
    cells.forEach(function (c) {
      var td = document.createElement("td");
      td.textContent = c[0];
      if (c[1]) td.setAttribute("data-field", c[1]);
      tr.appendChild(td);
    });
    table.appendChild(tr);
  }
  function inspect(e) {
    inspected = e;
    var box = el("inspector"), element = elements[e], state = known(current);
    box.textContent = "";
    var title = document.createElement("h2");
    var shut = document.createElement("button");
    shut.type = "button";
    shut.id = "close-inspector";
    shut.textContent = "\u00d7";
    shut.setAttribute("aria-label", "close the inspector");
    shut.style.cssFloat = "right";
    shut.addEventListener("click", function () { inspected = -1; box.hidden = true; });
    box.appendChild(shut);
    title.textContent = element.group ? element.name : "node " + element.name;
    box.appendChild(title);
    box.setAttribute("data-element", element.id);
    var table = document.createElement("table");
    box.appendChild(table);
    var dataOk = dataKnown(e, state);
    var list = element.group ? element.outputs.concat(element.params) : element.outputs;
    list.forEach(function (n) {
      var node = nodes[n];
      var grad = state.grads[n];
      if (element.group) {
        row(table, [[node.name], ["data " + (dataOk ? node.data : "?"), "data"],
                    ["grad " + (grad === null ? "?" : grad), "grad"]]);
        return;
      }
      row(table, [["op"], [node.leaf ? "(a leaf)" : node.op + ": " + element.name + " = " +
                           node.made, "op"]]);
      row(table, [["data"], [dataOk ? node.data : "?", "data"]]);
      row(table, [["grad"], [grad === null ? "?" : grad, "grad"]]);
      node.inputs.forEach(function (inp, k) {
        var shownLocal = dataOk && (!DATA.quiz || inp.step < state.done);
        row(table, [["\u2202" + node.name + "/\u2202" + inp.name + inp.operand],
                    [(inp.formula ? inp.formula + " = " : "") + (shownLocal ? inp.local : "?"),
                     "local-" + k]]);
      });
      if (node.uses.length) {
        node.uses.forEach(function (u, j) {
          var applied = u.step < state.done;
          row(table, [["from " + u.name], [applied ? u.contribution : "?", "use-" + j]]);
        });
        if (node.uses.length > 1) {
          row(table, [["sum of " + node.uses.length + " uses"],
                      [gradDone(e, state) ? grad : "?", "sum"]]);
        }
      }
    });
    box.hidden = false;
  }
  var owner = {};
  elements.forEach(function (e, i) {
    owner[e.id] = i;
    if (e.op_id) owner[e.op_id] = i;
  });
  if (svg) {
    var groups = svg.querySelectorAll("g.node");
    for (var i = 0; i < groups.length; i++) {
      var g = groups[i];
      if (!(g.id in owner)) continue;
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.addEventListener("click", function () { inspect(owner[this.id]); });
      g.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") {
          inspect(owner[this.id]);
          e.preventDefault();
          e.stopPropagation();
        }
      });
    }
  }

  // ------------------------------------------------------------ the graph's size
  // Fitted, the whole graph fills the visible area below the controls (width and height),
  // never beyond its actual size and never with node text under READABLE pixels: a graph
  // too big for that scrolls inside its box, which follows the step. Unfitted: actual size.
  var READABLE = 10;
  var natural = svg ? {w: svg.width.baseVal.value, h: svg.height.baseVal.value} : null;
  var textPx = 14;  // the node text's height at actual size
  if (natural && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
    var sizes = Array.prototype.map.call(
      svg.querySelectorAll("g.node:not([id^=legend]) text"), function (t) {
        return parseFloat(t.getAttribute("font-size")) || 14;
      });
    if (sizes.length) textPx = Math.min.apply(null, sizes) * natural.w / svg.viewBox.baseVal.width;
  }
  function fit() {
    if (!natural) return;
    var box = el("graph"), scale = 1;
    box.style.maxHeight = "";
    if (el("fit").checked) {
      var top = box.getBoundingClientRect().top + window.pageYOffset;
      var room = Math.max(160, window.innerHeight - top - el("legend").offsetHeight - 16);
      scale = Math.min(1, box.clientWidth / natural.w, room / natural.h);
      scale = Math.max(scale, Math.min(1, READABLE / textPx));
      box.style.maxHeight = room + "px";
    }
    svg.style.width = natural.w * scale + "px";
    svg.style.height = natural.h * scale + "px";
    document.body.setAttribute("data-scale", scale.toFixed(3));
  }
  function follow(marked) {  // the step's node in view when the graph scrolls in its box
    var box = el("graph");
    if (!marked || (box.scrollWidth <= box.clientWidth &&
                    box.scrollHeight <= box.clientHeight)) return;
    var r = marked.getBoundingClientRect(), b = box.getBoundingClientRect();
    box.scrollLeft += (r.left + r.width / 2) - (b.left + b.width / 2);
    box.scrollTop += (r.top + r.height / 2) - (b.top + b.height / 2);
  }

  // ------------------------------------------------------------ moving
  function next() {
    if (current < F + revealed) { show(current + 1); return; }
    if (!DATA.quiz || revealed >= BWD.length || asking >= 0) return;
    if (BWD[revealed].quiz) { stop(); ask(revealed); return; }
    revealed++;  // nothing to ask (a folded neuron's step): shown as it is
    show(current + 1);
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    el("play").textContent = "Play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current === LAST) show(0);
    el("play").textContent = "Pause";
    timer = setInterval(function () {
      if (current >= F + revealed) { stop(); next(); } else { show(current + 1); }
    }, 900);
  }

  el("next").addEventListener("click", function () { stop(); next(); });
  el("back").addEventListener("click", function () { stop(); show(current - 1); });
  el("reset").addEventListener("click", function () { stop(); show(0); });
  el("play").addEventListener("click", play);
  el("fit").addEventListener("change", function () { fit(); show(current); });
  window.addEventListener("resize", function () { fit(); show(current); });
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.id === "answer") return;  // typing an answer
    if (e.key === "ArrowRight") { stop(); next(); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { stop(); show(current - 1); e.preventDefault(); }
  });
  fit();
  show(0);
})();

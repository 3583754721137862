"""stepper(): an interactive page that walks through the backward pass one chain-rule step at a time.

The page is one self-contained HTML document: the graph as inline SVG (from ``draw_graph``),
inline CSS and a few lines of vanilla JavaScript, no network. Step 0 is the forward pass with
every gradient unknown (``?``); step k applies ``explain(root).steps[k - 1]``: it highlights the
node being processed and the edge whose contribution is added, shows the formula, and fills in
the gradients known so far. The last step is the finished backward pass.
"""

from __future__ import annotations

import html
import json
import os
import re
from typing import Any, Union

from autograd.display import format_number
from autograd.trace import BackwardTrace, explain
from autograd.value import Value

__all__ = ["stepper", "Stepper"]

PathLike = Union[str, "os.PathLike[str]"]


def _json_for_script(data: Any) -> str:
    """JSON that is safe inside <script>: no "</script>", no "<!--", no JS line separators."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def _svg_element(svg: str) -> str:
    """The <svg> element alone (no XML declaration, doctype or comments before it)."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("draw_graph() returned no <svg> element; cannot build the stepper")
    return svg[start:].strip()


def _finite(x: float) -> float | None:
    return x if x == x and x not in (float("inf"), float("-inf")) else None


def _page_data(trace: BackwardTrace, node_ids: dict[Value, str]) -> dict:
    root = trace.root
    rname = trace.names[root]
    index = {node: i for i, node in enumerate(trace.order)}
    last_into = {root: 0}  # the step after which a node's gradient is complete (1-based)
    seen: dict[tuple[int, int], int] = {}
    steps = []
    for step in trace.steps:
        i, j = index[step.node], index[step.input]
        occurrence = seen.get((i, j), 0)  # x * x: two edges from x into the same op
        seen[(i, j)] = occurrence + 1
        last_into[step.input] = step.index + 1
        steps.append({
            "node": i, "input": j, "occurrence": occurrence,
            # SVG ids of draw_graph: e{i}_{k} is operand k's edge into n{i}op, e{i} the op's out.
            "edge_id": f"e{i}_{step.position}", "out_edge_id": f"e{i}",
            "formula": step.formula,
            "rule": step.rule,
            "op": step.op,
            "text": (f"node {step.node_name} (op {step.op}) passes its gradient "
                     f"d{rname}/d{step.node_name} = {format_number(step.upstream)} back to "
                     f"input {step.input_name}, times the local derivative "
                     f"d{step.node_name}/d{step.input_name} = {format_number(step.local)}"),
            "grad": format_number(step.grad),
            "value": _finite(step.grad),
        })
    nodes = [{
        "id": node_ids.get(node, f"n{i}"),
        "op_id": node_ids.get(node, f"n{i}") + "op",
        "name": trace.names[node],
        "leaf": node.is_leaf,
        "complete": last_into.get(node, 0),
        "grad": format_number(trace.grads[node]),
        "value": _finite(trace.grads[node]),
    } for i, node in enumerate(trace.order)]
    return {"root": rname, "root_data": format_number(root.data), "nodes": nodes,
            "steps": steps, "root_index": index[root], "root_grad": format_number(1.0)}


class Stepper:
    """An interactive backward-pass stepper page; shows inline in Jupyter, ``.save()`` writes it.

    ``html`` is the whole page (a self-contained HTML document), ``trace`` the
    ``BackwardTrace`` it steps through.
    """

    def __init__(self, page: str, trace: BackwardTrace, height: int) -> None:
        self.html = page
        self.trace = trace
        self._height = height

    def save(self, path: PathLike) -> str:
        """Write the page to ``path`` (e.g. ``"backprop.html"``) and return the path."""
        path = os.fspath(path)
        if not path.lower().endswith((".html", ".htm")):
            raise ValueError(f"stepper pages are HTML: save to a .html file, not {path!r}")
        with open(path, "w", encoding="utf-8") as file:
            file.write(self.html)
        return path

    def _repr_html_(self) -> str:
        # An iframe keeps each stepper's ids and scripts apart from the notebook's and from
        # other steppers on the same page; srcdoc needs no file or server (static HTML too).
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width:100%;height:{self._height}px;border:1px solid #ddd" '
                f'sandbox="allow-scripts" title="backward-pass stepper"></iframe>')

    def __repr__(self) -> str:
        return f"<Stepper: {len(self.trace)} chain-rule steps of {self.trace.names[self.trace.root]}>"


def stepper(root: Value, rankdir: str = "LR", max_nodes: int = 500) -> Stepper:
    """An interactive page that steps through ``root``'s backward pass: dL/dx += dL/dy * dy/dx.

    Runs the backward pass (as ``explain(root)`` does, so the ``.grad``s are set like
    ``root.backward()``). Buttons Back / Next / Play / Reset, a slider and the left/right
    arrow keys move between steps; step 0 is the forward pass with all gradients unknown.
    ``rankdir`` and ``max_nodes`` are passed to ``draw_graph``.
    """
    if not isinstance(root, Value):
        raise TypeError(f"stepper() needs the Value to backpropagate from, got "
                        f"{type(root).__name__} {root!r:.40}")
    from autograd.viz import draw_graph

    try:  # refuse a graph too big to draw before the backward pass changes any grad
        draw_graph(root, rankdir=rankdir, max_nodes=max_nodes)
    except ValueError as error:
        raise ValueError(f"stepper() cannot show this graph: {error}. The stepper draws every "
                         "node (it cannot fold modules): step through a smaller expression, "
                         "such as one neuron, or pass stepper(..., max_nodes=...)") from None
    trace = explain(root)
    image = draw_graph(root, rankdir=rankdir, max_nodes=max_nodes)  # now with the new grads
    svg = _svg_element(image.svg())
    node_ids = dict(getattr(image, "node_ids", {}) or {})
    data = _page_data(trace, node_ids)
    match = re.search(r'<svg[^>]*\sheight="([\d.]+)pt"', svg)
    graph_height = float(match.group(1)) * 4 / 3 if match else 400.0
    height = int(min(max(graph_height, 120.0), 700.0)) + 230
    title = f"Backward pass of {trace.names[root]} = {format_number(root.data)}"
    page = (_TEMPLATE
            .replace("__TITLE__", html.escape(title))
            .replace("__SVG__", svg)
            .replace("__DATA__", _json_for_script(data)))
    return Stepper(page, trace, height)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 12px;
         color: #222; background: #fff; }
  h1 { font-size: 1.1em; margin: 0 0 8px 0; }
  #controls { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  #controls button { font: inherit; padding: 3px 10px; border: 1px solid #999;
                     border-radius: 4px; background: #f6f6f6; cursor: pointer; }
  #controls button:disabled { color: #aaa; cursor: default; }
  #slider { flex: 1 1 160px; max-width: 420px; }
  #counter { font-variant-numeric: tabular-nums; min-width: 8em; }
  #explanation { margin: 8px 0; padding: 8px 10px; background: #f7f7fb;
                 border-left: 4px solid #d62728; min-height: 3.6em; }
  #formula { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.05em;
             white-space: pre-wrap; }
  #rule, #text { color: #555; font-size: 0.9em; }
  #graph { overflow: auto; }
  #graph svg { max-width: 100%; height: auto; }
  #graph.actual-size svg { max-width: none; }
  .node.current polygon, .node.current ellipse, .node.current path {
      stroke: #d62728; stroke-width: 3px; }
  .node.target polygon, .node.target ellipse, .node.target path {
      stroke: #ff7f0e; stroke-width: 3px; }
  .node.current-op polygon, .node.current-op ellipse { stroke: #d62728; stroke-width: 2px; }
  .edge.active path { stroke: #d62728; stroke-width: 3px; }
  .edge.active polygon { stroke: #d62728; fill: #d62728; }
  .edge.active text { fill: #d62728; font-weight: bold; }
  text.grad-unknown { fill: #999; }
  text.grad-partial { fill: #ff7f0e; font-weight: bold; }
  text.grad-known { fill: #1f77b4; font-weight: bold; }
  #legend { color: #555; font-size: 0.85em; margin-top: 4px; }
  #legend span { font-weight: bold; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<div id="controls">
  <button id="reset" type="button" title="step 0: forward pass">Reset</button>
  <button id="back" type="button" title="left arrow">&#9664; Back</button>
  <button id="next" type="button" title="right arrow">Next &#9654;</button>
  <button id="play" type="button">Play</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
  <span id="counter"></span>
  <label title="fit the graph to the width, or show it at full size and scroll">
    <input id="fit" type="checkbox" checked> fit width</label>
</div>
<div id="explanation">
  <div id="formula"></div>
  <div id="rule"></div>
  <div id="text"></div>
</div>
<div id="graph">
__SVG__
</div>
<div id="legend">grad: <span style="color:#999">?</span> unknown,
  <span style="color:#ff7f0e">partial sum</span>,
  <span style="color:#1f77b4">complete</span>; red: node being processed and the edge of
  this step's contribution; orange: the input receiving it.</div>
<script>
(function () {
  "use strict";
  var DATA = __DATA__;
  var steps = DATA.steps, nodes = DATA.nodes, last = steps.length;
  var svg = document.querySelector("#graph svg");

  function byTitle(kind) {
    var map = {};
    if (!svg) return map;
    var groups = svg.querySelectorAll("g." + kind);
    for (var i = 0; i < groups.length; i++) {
      var t = groups[i].querySelector("title");
      if (!t) continue;
      var key = t.textContent.replace(/\\s+/g, "");
      (map[key] = map[key] || []).push(groups[i]);
    }
    return map;
  }
  var nodeTitles = byTitle("node"), edgeTitles = byTitle("edge");
  // draw_graph gives every SVG group the DOT id (n3, n3op, e3_0, e3); titles are the fallback.
  function groups(id, titles, title) {
    var g = id && svg ? svg.querySelector('[id="' + id + '"]') : null;
    if (g) return [g];
    return titles[title] || [];
  }
  function nodeGroup(id) { return groups(id, nodeTitles, id); }

  function gradText(g) {  // the record field that shows the grad: the last "grad ..." text
    if (!g) return null;
    var texts = g.querySelectorAll("text"), found = null;
    for (var i = 0; i < texts.length; i++) {
      if (/^\\s*grad\\b/.test(texts[i].textContent)) found = texts[i];
    }
    return found;
  }
  var gradFields = nodes.map(function (n) {
    return gradText(nodeGroup(n.id)[0]);
  });

  var el = function (id) { return document.getElementById(id); };
  var slider = el("slider");
  slider.max = String(last);
  var current = 0, timer = null;

  function setClass(list, cls, on) {
    (list || []).forEach(function (g) { g.classList.toggle(cls, on); });
  }
  function clearMarks() {
    ["current", "target", "current-op", "active"].forEach(function (cls) {
      var marked = svg ? svg.querySelectorAll("." + cls) : [];
      for (var i = 0; i < marked.length; i++) marked[i].classList.remove(cls);
    });
  }

  function show(k) {
    k = Math.max(0, Math.min(last, k));
    current = k;
    // Gradients known after k steps: the root's seed, then each step's running sum.
    var grads = nodes.map(function () { return null; });
    if (k > 0) grads[DATA.root_index] = DATA.root_grad;
    for (var s = 0; s < k; s++) grads[steps[s].input] = steps[s].grad;
    nodes.forEach(function (n, i) {
      var field = gradFields[i];
      if (!field) return;
      var known = grads[i] !== null;
      field.textContent = "grad " + (known ? grads[i] : "?");
      field.classList.toggle("grad-unknown", !known);
      field.classList.toggle("grad-partial", known && k < n.complete);
      field.classList.toggle("grad-known", known && k >= n.complete);
    });
    clearMarks();
    if (k === 0) {
      el("formula").textContent = "Forward pass: " + DATA.root + " = " + DATA.root_data;
      el("rule").textContent = "All gradients are unknown (?).";
      el("text").textContent = last ? "Next: start the backward pass with d" + DATA.root +
          "/d" + DATA.root + " = 1." : DATA.root + " is a leaf: d" + DATA.root + "/d" +
          DATA.root + " = 1 and there is nothing to propagate.";
    } else {
      var st = steps[k - 1], node = nodes[st.node], inp = nodes[st.input];
      setClass(nodeGroup(node.id), "current", true);
      setClass(nodeGroup(node.op_id), "current-op", true);
      setClass(nodeGroup(inp.id), "target", true);
      var edges = groups(st.edge_id, edgeTitles, inp.id + "->" + node.op_id);
      var edge = edges[Math.min(st.occurrence, edges.length - 1)];
      if (edges.length === 1) edge = edges[0];
      if (edge) edge.classList.add("active");
      setClass(groups(st.out_edge_id, edgeTitles, node.op_id + "->" + node.id), "active", true);
      el("formula").textContent = st.formula;
      el("rule").textContent = st.rule ? "rule of " + st.op + ": " + st.rule : "";
      el("text").textContent = st.text + (k === last ?
          ". Backward pass complete: every gradient is known." : ".");
    }
    var mark = svg ? svg.querySelector(".current") : null;
    if (mark && !el("fit").checked && mark.scrollIntoView) {
      mark.scrollIntoView({block: "nearest", inline: "center"});
    }
    document.body.setAttribute("data-step", String(k));
    el("counter").textContent = "step " + k + " / " + last;
    slider.value = String(k);
    el("back").disabled = k === 0;
    el("reset").disabled = k === 0;
    el("next").disabled = k === last;
    if (k === last) stop();
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    el("play").textContent = "Play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current === last) show(0);
    el("play").textContent = "Pause";
    timer = setInterval(function () { show(current + 1); }, 900);
  }

  el("next").addEventListener("click", function () { stop(); show(current + 1); });
  el("back").addEventListener("click", function () { stop(); show(current - 1); });
  el("reset").addEventListener("click", function () { stop(); show(0); });
  el("play").addEventListener("click", play);
  el("fit").addEventListener("change", function () {
    el("graph").classList.toggle("actual-size", !el("fit").checked);
    show(current);
  });
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight") { stop(); show(current + 1); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { stop(); show(current - 1); e.preventDefault(); }
  });
  show(0);
})();
</script>
</body>
</html>
"""

"""stepper(): an interactive page that walks through the forward and the backward pass.

The page is one self-contained HTML document: the graph as inline SVG (from ``draw_graph``),
inline CSS and vanilla JavaScript, no network. Position 0 shows only the leaves' data; each
forward step computes one node (its op and the numbers that give its data); then each
backward step applies one chain-rule step of ``explain(root)``: it highlights the node being
processed and the edge whose contribution is added, shows the formula, and fills in the
gradients known so far. With ``collapse="neuron"`` a folded neuron is computed, and passes
its gradient back, in one step. Clicking a node (or focusing it and pressing Enter) opens
the inspector: the node's op, data, grad, the local derivative of each input, and each
use's contribution to its gradient. With ``quiz=True`` the learner types each contribution
before its step is revealed and a wrong number gets ``Exercise``'s diagnosis.

All numbers and texts are computed here, in Python, and embedded as JSON: the page only
shows them (the quiz compares the typed number with the right one and with the recognised
slips of ``autograd.exercise.contribution_slips``).
"""

from __future__ import annotations

import html
import math
import os
import re
from typing import Optional, Union

from autograd.display import factor, format_number, forward_rule, operand_note
from autograd.exercise import KINDS, contribution_slips
from autograd.trace import BackwardTrace, ChainRuleStep, explain
from autograd.value import Value
from autograd.viz.collapse import Group, fold
from autograd.html_page import HEAD, HtmlPage, json_for_script

__all__ = ["stepper", "Stepper", "QUIZ_RTOL"]

PathLike = Union[str, "os.PathLike[str]"]

#: A quiz answer is right within this relative tolerance: the page shows numbers to 4
#: significant digits, so a product of two of them is good to about 1e-3.
QUIZ_RTOL = 2e-3


def _svg_element(svg: str) -> str:
    """The <svg> element alone (no XML declaration, doctype or comments before it)."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("draw_graph() returned no <svg> element; cannot build the stepper")
    return svg[start:].strip()


class _PageData:
    """The page's data: elements (what the picture draws: a value, or a folded group), the
    forward steps, the backward steps in the order they are shown, and per node what the
    inspector shows. Built from the trace; indices refer to ``trace.order``."""

    def __init__(self, trace: BackwardTrace, node_ids: dict[Value, str],
                 collapse: Optional[str], quiz: bool, forward: bool) -> None:
        self.trace, self.names = trace, trace.names
        self.order = trace.order
        self.index = {node: i for i, node in enumerate(self.order)}
        self.root_name = self.names[trace.root]
        group_of: dict[Value, Group] = fold(self.order, collapse)[0] if collapse else {}
        self.elements: list[dict] = []
        self.element_of: dict[Value, int] = {}
        self._groups: list[Optional[Group]] = []
        by_id: dict[str, int] = {}
        for node in self.order:
            key = node_ids.get(node, f"n{self.index[node]}")  # a folded value: its group's id
            if key not in by_id:
                by_id[key] = len(self.elements)
                self.elements.append(self._element(node, key, group_of.get(node)))
                self._groups.append(group_of.get(node))
            self.element_of[node] = by_id[key]
        # Filled in by _backward_steps: each use of a node and each local derivative, with
        # the backward step that applies it.
        self.uses: dict[Value, list[dict]] = {node: [] for node in self.order}
        self.locals_: dict[tuple[Value, int], dict] = {}
        self.forward = self._forward_steps() if forward else []
        self.backward = self._backward_steps(quiz)

    # ------------------------------------------------------------ elements
    def _element(self, node: Value, key: str, group: Optional[Group]) -> dict:
        if group is None:
            return {"id": key, "op_id": "" if node.is_leaf else key + "op",
                    "name": self.names[node], "group": False, "leaf": node.is_leaf,
                    "outputs": [self.index[node]], "computed": 0, "complete": 0}
        outputs = [self.index[o] for o in group.outputs]
        data = [o.data for o in group.outputs]
        grads = [self.trace.grads[o] for o in group.outputs]
        return {"id": key, "op_id": "", "name": group.name, "group": True, "leaf": False,
                "outputs": outputs, "computed": 0, "complete": 0,
                "data": _span(data), "grad": _span(grads),
                "params": [self.index[m] for m in group.members if m.is_leaf]}

    def _key(self, e: int) -> int:
        """Where an element sits in the order of computation: a group when its last output
        is computed (what other elements read), a value at its own place."""
        return max(self.elements[e]["outputs"])

    # ------------------------------------------------------------ forward
    def _forward_steps(self) -> list[dict]:
        steps = []
        for e in sorted(range(len(self.elements)), key=self._key):
            element = self.elements[e]
            if element["leaf"]:
                continue
            element["computed"] = len(steps) + 1
            group = self._groups[e]
            steps.append(self._forward_group(e, group) if group is not None
                         else self._forward_value(e, self.order[element["outputs"][0]]))
        return steps

    def _forward_value(self, e: int, node: Value) -> dict:
        i, names = self.index[node], self.names
        numbers = {inp: factor(inp.data) for inp in node.inputs}
        formula = (f"{names[node]} = {forward_rule(node, names)} = "
                   f"{forward_rule(node, numbers)} = {format_number(node.data)}")
        inputs = ", ".join(dict.fromkeys(names[inp] for inp in node.inputs))
        return {"element": e,
                "edges": [f"e{i}_{k}" for k in range(len(node.inputs))] + [f"e{i}"],
                "formula": formula, "rule": f"op {node.op} of {inputs}",
                "text": f"Forward pass: {names[node]} is computed from its input"
                        f"{'s' if len(node.inputs) > 1 else ''} {inputs}"}

    def _forward_group(self, e: int, group: Group) -> dict:
        names, members = self.names, set(group.members)
        sources = list(dict.fromkeys(inp for m in group.members for inp in m.inputs
                                     if inp not in members))
        formula = "; ".join(f"{names[o]} = {forward_rule(o, names)} = "
                            f"{format_number(o.data)}" for o in group.outputs)
        params = f"its {group.n_params} parameters and " if group.n_params else ""
        into = self.elements[e]["id"]
        edges = dict.fromkeys(f"{self.elements[self.element_of[inp]]['id']}_{into}"
                              for inp in sources)
        return {"element": e, "edges": list(edges),
                "formula": formula, "rule": f"{len(group.members)} values folded",
                "text": f"Forward pass: {group.name} computes {len(group.outputs)} output"
                        f"{'s' if len(group.outputs) > 1 else ''} from {params}"
                        f"{', '.join(names[inp] for inp in sources) or 'nothing else'}"}

    # ------------------------------------------------------------ backward
    def _backward_steps(self, quiz: bool) -> list[dict]:
        into: dict[int, list[ChainRuleStep]] = {}
        for step in self.trace:
            into.setdefault(self.element_of[step.node], []).append(step)
        remaining = {node: 0 for node in self.order}
        for step in self.trace:
            remaining[step.input] += 1
        running = {node: 0.0 for node in self.order}
        steps: list[dict] = []
        for e in sorted(into, key=self._key, reverse=True):
            chunks = [[s] for s in into[e]] if self._groups[e] is None else [into[e]]
            for chunk in chunks:
                updates = []
                for step in chunk:
                    running[step.input] += step.contribution
                    remaining[step.input] -= 1
                    done = remaining[step.input] == 0
                    # Once complete, the engine's own sum (folding may change the order).
                    value = self.trace.grads[step.input] if done else running[step.input]
                    updates.append([self.index[step.input], format_number(value)])
                    self.uses[step.input].append({
                        "name": step.node_name + operand_note(step.node, step.position),
                        "contribution": format_number(step.contribution),
                        "step": len(steps)})
                    formula = step.rule.partition(" = ")[2]  # "b" of "∂c/∂a = b"
                    self.locals_[(step.node, step.position)] = {
                        "name": step.input_name,
                        "formula": "" if _is_number(formula) else formula,
                        "local": format_number(step.local), "step": len(steps)}
                steps.append(self._backward_step(e, chunk, updates, quiz))
        for e, element in enumerate(self.elements):  # after which step each grad is final
            element["complete"] = max(
                (u["step"] + 1 for o in element["outputs"] for u in self.uses[self.order[o]]),
                default=0)
        return steps

    def _backward_step(self, e: int, chunk: list[ChainRuleStep], updates: list,
                       quiz: bool) -> dict:
        r = self.root_name
        targets = list(dict.fromkeys(self.element_of[s.input] for s in chunk
                                     if self.element_of[s.input] != e))
        if len(chunk) == 1 and self._groups[e] is None:
            (step,) = chunk
            i = self.index[step.node]
            return {"element": e, "targets": targets, "updates": updates,
                    "edges": [f"e{i}_{step.position}", f"e{i}"],
                    "formula": step.formula,
                    "rule": f"rule of {step.op}: {step.rule}" if step.rule else "",
                    "text": (f"node {step.node_name} (op {step.op}) passes its gradient "
                             f"d{r}/d{step.node_name} = {format_number(step.upstream)} back "
                             f"to input {step.input_name}, times the local derivative "
                             f"d{step.node_name}/d{step.input_name} = "
                             f"{format_number(step.local)}"),
                    "quiz": self._quiz(step) if quiz else None}
        group = self._groups[e]
        members = set(group.members)
        outputs = ", ".join(f"d{r}/d{self.names[o]} = {format_number(self.trace.grads[o])}"
                            for o in group.outputs)
        out = [s for s in chunk if s.input not in members]
        params = [m for m in group.members if m.is_leaf]  # in the order they are computed
        parts = []
        if params:
            parts.append("its parameters get " + ", ".join(
                f"d{r}/d{self.names[p]} = {format_number(self.trace.grads[p])}"
                for p in params))
        if out:
            parts.append("its inputs get " + ", ".join(
                f"d{r}/d{s.input_name} += {format_number(s.contribution)}" for s in out))
        return {"element": e, "targets": targets, "updates": updates,
                "edges": [f"{self.elements[t]['id']}_{self.elements[e]['id']}"
                          for t in targets],
                "formula": f"{group.name}: {outputs}",
                "rule": f"{len(chunk)} chain-rule steps inside {group.name}",
                "text": "; ".join(parts) or "nothing flows further back", "quiz": None}

    def _quiz(self, step: ChainRuleStep) -> Optional[dict]:
        """What the quiz asks before this step: the contribution, and the slips it knows."""
        if not (math.isfinite(step.contribution) and math.isfinite(step.upstream)):
            return None
        r, n, i = self.root_name, step.node_name, step.input_name
        slips = contribution_slips(step, r, self.names)
        known = [{"value": slip.value, "title": KINDS[slip.kind], "text": slip.text}
                 for slip in slips[:-1] if math.isfinite(slip.value)]
        return {"answer": step.contribution,
                "prompt": f"d{r}/d{i} += d{r}/d{n} · ∂{n}/∂{i} = {factor(step.upstream)} · ? "
                          f"= ?",
                "slips": known,
                "fallback": {"title": KINDS[slips[-1].kind], "text": slips[-1].text}}

    # ------------------------------------------------------------ the inspector
    def nodes(self) -> list[dict]:
        found = []
        for node in self.order:
            inputs = [self.locals_[(node, k)] for k in range(len(node.inputs))
                      if (node, k) in self.locals_]
            found.append({"name": self.names[node], "op": node.op, "leaf": node.is_leaf,
                          "data": format_number(node.data),
                          "element": self.element_of[node],
                          "made": forward_rule(node, self.names),
                          "inputs": [{**inp, "operand": operand_note(node, k)}
                                     for k, inp in enumerate(inputs)],
                          "uses": self.uses[node]})
        return found

    def as_json(self, quiz: bool) -> dict:
        root = self.trace.root
        return {"root": self.root_name, "root_data": format_number(root.data),
                "root_index": self.index[root], "quiz": quiz, "rtol": QUIZ_RTOL,
                "elements": self.elements, "nodes": self.nodes(),
                "forward": self.forward, "backward": self.backward}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _span(values: list[float]) -> str:
    """One number, or the range ``min … max`` of several (a layer's outputs)."""
    if len(values) == 1:
        return format_number(values[0])
    return f"{format_number(min(values))} … {format_number(max(values))}"


class Stepper(HtmlPage):
    """An interactive forward/backward-pass stepper page; shows inline in Jupyter, ``.save()``
    writes it.

    ``html`` is the whole page (a self-contained HTML document), ``trace`` the
    ``BackwardTrace`` it steps through.
    """

    kind = "stepper pages"
    title = "backward-pass stepper"

    def __init__(self, page: str, trace: BackwardTrace, height: int) -> None:
        super().__init__(page)
        self.trace = trace
        self.height = height

    def __repr__(self) -> str:
        return (f"<Stepper: {len(self.trace)} chain-rule steps of "
                f"{self.trace.names[self.trace.root]}>")


def stepper(root: Value, rankdir: str = "LR", max_nodes: int = 500, *,
            collapse: Optional[str] = None, quiz: bool = False,
            forward: bool = True) -> Stepper:
    """An interactive page that steps through ``root``'s forward pass, then its backward pass:
    dL/dx += dL/dy * dy/dx, one chain-rule step at a time.

    Its steps are ``explain(root)``'s, computed on the side: no ``.grad`` changes. Buttons
    Back / Next / Play / Reset, a slider and the left/right arrow keys move between steps; clicking a node (or Tab to it and Enter) inspects it.
    ``forward=False`` starts at the end of the forward pass. ``collapse`` ("neuron",
    "layer", any scope kind) folds as ``draw_graph`` does, and a folded group takes one step.
    ``quiz=True`` asks for each contribution before its step is shown (right within
    ``QUIZ_RTOL``; the edges then show no local derivatives) and keeps the score.
    ``rankdir`` and ``max_nodes`` are passed to ``draw_graph``.
    """
    if not isinstance(root, Value):
        raise TypeError(f"stepper() needs the Value to backpropagate from, got "
                        f"{type(root).__name__} {root!r:.40}")
    from autograd.viz import draw_graph

    options = dict(rankdir=rankdir, max_nodes=max_nodes, collapse=collapse, show_local=not quiz)
    try:  # refuse a graph too big to draw before the backward pass changes any grad
        draw_graph(root, **options)
    except ValueError as error:
        raise ValueError(f"stepper() cannot show this graph: {error}; or step through a "
                         "smaller expression") from None
    trace = explain(root)
    image = draw_graph(root, **options, grads=trace.grads)  # the page shows the trace's
    svg = _svg_element(image.svg())
    data = _PageData(trace, dict(image.node_ids), collapse, quiz, forward).as_json(quiz)
    match = re.search(r'<svg[^>]*\sheight="([\d.]+)pt"', svg)
    graph_height = float(match.group(1)) * 4 / 3 if match else 400.0
    height = int(min(max(graph_height, 120.0), 700.0)) + 300
    kind = "Quiz" if quiz else "Forward and backward pass" if forward else "Backward pass"
    title = f"{kind} of {trace.names[root]} = {format_number(root.data)}"
    page = (_TEMPLATE
            .replace("__TITLE__", html.escape(title))
            .replace("__SVG__", svg)
            .replace("__DATA__", json_for_script(data)))
    return Stepper(page, trace, height)


_TEMPLATE = HEAD + """  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 12px;
         color: #222; background: #fff; }
  h1 { font-size: 1.1em; margin: 0 0 8px 0; }
  #controls { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  button { font: inherit; padding: 3px 10px; border: 1px solid #999;
           border-radius: 4px; background: #f6f6f6; cursor: pointer; }
  button:disabled { color: #aaa; cursor: default; }
  #slider { flex: 1 1 160px; max-width: 420px; }
  #counter { font-variant-numeric: tabular-nums; min-width: 10em; }
  #explanation { margin: 8px 0; padding: 8px 10px; background: #f7f7fb;
                 border-left: 4px solid #d62728; min-height: 3.6em; }
  body[data-phase="forward"] #explanation { border-left-color: #1f77b4; }
  body[data-phase="forward"] .edge text { visibility: hidden; }  /* locals: for backward */
  #formula { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.05em;
             white-space: pre-wrap; }
  #rule, #text { color: #555; font-size: 0.9em; }
  #quiz { margin-top: 6px; }
  #quiz input { font: inherit; width: 9em; }
  #feedback { margin-top: 4px; font-size: 0.92em; }
  #feedback.wrong { color: #a11; } #feedback.right { color: #1a7f1a; }
  #score { font-weight: bold; }
  #inspector { margin: 8px 0; padding: 8px 10px; border: 1px solid #bbb; border-radius: 4px;
               background: #fffdf5; font-size: 0.92em; }
  #inspector h2 { font-size: 1em; margin: 0 0 4px 0; }
  #inspector table { border-collapse: collapse; }
  #inspector td { padding: 1px 8px 1px 0; font-variant-numeric: tabular-nums; }
  #graph { overflow: auto; }
  #graph svg { max-width: 100%; height: auto; }
  #graph.actual-size svg { max-width: none; }
  #graph g.node { cursor: pointer; }
  #graph g.node:focus { outline: none; }  /* keyboard focus: the outline below */
  #graph g.node:focus-visible polygon, #graph g.node:focus-visible ellipse {
      stroke: #9467bd; stroke-width: 3px; }
  .node.current polygon, .node.current ellipse, .node.current path {
      stroke: #d62728; stroke-width: 3px; }
  .node.target polygon, .node.target ellipse, .node.target path {
      stroke: #ff7f0e; stroke-width: 3px; }
  .node.current-op polygon, .node.current-op ellipse { stroke: #d62728; stroke-width: 2px; }
  .edge.active path { stroke: #d62728; stroke-width: 3px; }
  .edge.active polygon { stroke: #d62728; fill: #d62728; }
  .edge.active text { fill: #d62728; font-weight: bold; }
  text.unknown { fill: #999; }
  text.grad-partial { fill: #ff7f0e; font-weight: bold; }
  text.grad-known { fill: #1f77b4; font-weight: bold; }
  #legend { color: #555; font-size: 0.85em; margin-top: 4px; }
  #legend span { font-weight: bold; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<div id="controls">
  <button id="reset" type="button" title="the start: only the leaves are known">Reset</button>
  <button id="back" type="button" title="left arrow">&#9664; Back</button>
  <button id="next" type="button" title="right arrow">Next &#9654;</button>
  <button id="play" type="button">Play</button>
  <input id="slider" type="range" min="0" max="0" value="0" aria-label="step">
  <span id="counter"></span>
  <label title="fit the graph to the width, or show it at full size and scroll">
    <input id="fit" type="checkbox" checked> fit width</label>
  <span id="score"></span>
</div>
<div id="explanation">
  <div id="formula"></div>
  <div id="rule"></div>
  <div id="text"></div>
  <form id="quiz" hidden autocomplete="off">
    <label>contribution = <input id="answer" type="text" inputmode="decimal"
      aria-label="the contribution"></label>
    <button id="check" type="submit">Check</button>
    <button id="reveal" type="button">Show me</button>
    <div id="feedback" aria-live="polite"></div>
  </form>
</div>
<div id="inspector" hidden aria-live="polite"></div>
<div id="graph">
__SVG__
</div>
<div id="legend">data and grad: <span style="color:#999">?</span> not yet known,
  <span style="color:#ff7f0e">partial sum</span>,
  <span style="color:#1f77b4">complete</span>; red: the node of this step and its edges;
  orange: the inputs receiving a contribution. Click a node (or Tab to it, Enter) to inspect
  it.</div>
<script>
(function () {
  "use strict";
  var DATA = __DATA__;
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
    var marked = svg ? svg.querySelector(".current") : null;
    if (marked && !el("fit").checked && marked.scrollIntoView) {
      marked.scrollIntoView({block: "nearest", inline: "center"});
    }
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
    var t = text.trim().replace(/\\u2212/g, "-").replace(/,/g, ".");
    if (!/^[-+]?(\\d+\\.?\\d*|\\.\\d+)(e[-+]?\\d+)?$/i.test(t)) return null;
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
    el("text").textContent = "Your turn: type the contribution this step adds.";
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
  el("quiz").addEventListener("submit", function (e) {
    e.preventDefault();
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
    fb.textContent = "\\u2718 " + found.title + ". " + found.text;
    document.body.setAttribute("data-feedback", found.title);
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
    shut.textContent = "\\u00d7";
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
        row(table, [["\\u2202" + node.name + "/\\u2202" + inp.name + inp.operand],
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
  el("fit").addEventListener("change", function () {
    el("graph").classList.toggle("actual-size", !el("fit").checked);
    show(current);
  });
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.id === "answer") return;  // typing an answer
    if (e.key === "ArrowRight") { stop(); next(); e.preventDefault(); }
    else if (e.key === "ArrowLeft") { stop(); show(current - 1); e.preventDefault(); }
  });
  show(0);
})();
</script>
</body>
</html>
"""

"""stepper(): an interactive page that walks through the forward and the backward pass.

The page is one self-contained HTML document, no network: the graph as inline SVG (from
``draw_graph``) and the package files ``stepper.html``, ``stepper.css`` and ``stepper.js``
(vanilla JavaScript), which reads the data computed here as JSON (``fill_page``).
Position 0 shows only the leaves' data; each forward step computes one node (its op and the
numbers that give its data); then each backward step applies one chain-rule step of
``explain(root)``: it highlights the node being processed and the edge whose contribution is
added, shows the formula, and fills in the gradients known so far. With
``collapse="neuron"`` a folded neuron is computed in one step before anything uses its
outputs, and passes its gradients back in one step once those of all its outputs are
complete. Clicking a node (or focusing it and pressing Enter) opens the inspector: the
node's op, data, grad, the local derivative of each input, and each use's contribution to
its gradient. With ``quiz=True`` the learner types each contribution before its step is
revealed and a wrong number gets ``Exercise``'s diagnosis; folded, it asks each box for one
parameter's gradient and never for a target's.

All numbers and texts are computed here, in Python, and embedded as JSON: the page only
shows them (the quiz compares the typed number with the right one and with the recognised
slips of ``autograd.exercise.contribution_slips``).
"""

from __future__ import annotations

import heapq
import math
import os
import re
from typing import Iterator, Optional, Union

from autograd.display import factor, format_number, forward_rule, operand_note
from autograd.exercise import KINDS, contribution_slips
from autograd.trace import BackwardTrace, ChainRuleStep, explain
from autograd.value import Value
from autograd.viz.collapse import Group, fold
from autograd.html_page import HtmlPage, fill_page

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
        self.folded = collapse is not None
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
        self.sequence = self._sequence()
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

    def _sequence(self) -> list[int]:
        """The elements in an order of computation: each after every element it reads, so a
        folded box computes all its outputs before anything uses one of them (Kahn's
        algorithm on the graph of elements; ties go to the earliest in ``order``). Read
        backwards, it is an order of the backward pass: a box comes after every element
        that uses one of its outputs, when their gradients are complete."""
        n = len(self.elements)
        reads: list[set[int]] = [set() for _ in range(n)]
        for node in self.order:
            e = self.element_of[node]
            reads[e].update(self.element_of[inp] for inp in node.inputs)
            reads[e].discard(e)
        readers: list[list[int]] = [[] for _ in range(n)]
        for e, sources in enumerate(reads):
            for source in sources:
                readers[source].append(e)
        waiting = [len(sources) for sources in reads]
        first = [min(element["outputs"]) for element in self.elements]
        ready = [(first[e], e) for e in range(n) if not waiting[e]]
        heapq.heapify(ready)
        sequence = []
        while ready:
            _, e = heapq.heappop(ready)
            sequence.append(e)
            for reader in readers[e]:
                waiting[reader] -= 1
                if not waiting[reader]:
                    heapq.heappush(ready, (first[reader], reader))
        if len(sequence) < n:  # a box feeds itself through a value outside it (rare)
            loop = next(self.elements[e]["name"] for e in range(n) if waiting[e]
                        and self._groups[e] is not None)
            raise ValueError(f"{loop} reads a value computed from one of its own outputs "
                             "outside it, so it cannot be one step; step this graph with "
                             "collapse=None or a smaller collapse level")
        return sequence

    # ------------------------------------------------------------ forward
    def _forward_steps(self) -> list[dict]:
        steps = []
        for e in self.sequence:
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
        asked: set[str] = set()  # the quiz's prompts so far: nothing is asked twice
        for e in reversed(self.sequence):
            if e not in into:  # a leaf: nothing to pass back
                continue
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
                steps.append(self._backward_step(e, chunk, updates))
                if quiz:
                    steps[-1]["quiz"] = self._question(e, chunk, asked)
        for e, element in enumerate(self.elements):  # after which step each grad is final
            element["complete"] = max(
                (u["step"] + 1 for o in element["outputs"] for u in self.uses[self.order[o]]),
                default=0)
        return steps

    def _backward_step(self, e: int, chunk: list[ChainRuleStep], updates: list) -> dict:
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
                             f"∂{step.node_name}/∂{step.input_name} = "
                             f"{format_number(step.local)}"),
                    "quiz": None}
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

    def _question(self, e: int, chunk: list[ChainRuleStep], asked: set[str]
                  ) -> Optional[dict]:
        """What the quiz asks before this step is shown, or None: one step's contribution;
        a folded box's gradient of one parameter (its bias if it has one) or, without
        parameters, what it passes to one input. Folded, the gradient of a value that is
        not learned (a target, a constant of the loss) is not asked; nothing is asked twice."""
        group = self._groups[e]
        if group is None:
            (step,) = chunk
            if self.folded and step.input.is_leaf and not _is_parameter(step.input):
                return None
            question = self._contribution_question(step)
        else:
            question = next((q for q in self._group_questions(group, chunk)
                             if q["prompt"] not in asked), None)
        if question is None or question["prompt"] in asked:
            return None
        asked.add(question["prompt"])
        return question

    def _contribution_question(self, step: ChainRuleStep) -> Optional[dict]:
        """The contribution ``upstream · local`` of one step, and the slips it knows."""
        if not (math.isfinite(step.contribution) and math.isfinite(step.upstream)):
            return None
        r, n, i = self.root_name, step.node_name, step.input_name
        slips = contribution_slips(step, r, self.names)
        known = [{"value": slip.value, "title": KINDS[slip.kind], "text": slip.text}
                 for slip in slips[:-1] if math.isfinite(slip.value)]
        return {"answer": step.contribution, "what": "contribution",
                "ask": "Your turn: type the contribution this step adds.",
                "prompt": f"d{r}/d{i} += d{r}/d{n} · ∂{n}/∂{i} = {factor(step.upstream)} · ? "
                          f"= ?",
                "slips": known,
                "fallback": {"title": KINDS[slips[-1].kind], "text": slips[-1].text}}

    def _group_questions(self, group: Group, chunk: list[ChainRuleStep]) -> Iterator[dict]:
        """What a folded box may ask, best first: the gradient of one of its parameters (the
        sum of what each use of it passes back; its bias first), or what it passes back to one
        of its inputs. With collapse="example" boxes share parameters, so the quiz takes the
        first question no other box has asked."""
        members = set(group.members)
        params = [m for m in group.members if _is_parameter(m)]
        if params:
            params.sort(key=lambda p: p.scope.name != "b")  # stable: the bias, then the rest
            via = f"through the {group.name} (click it: each output's data and gradient)"
            targets = params
        else:
            targets = list(dict.fromkeys(s.input for s in chunk if s.input not in members))
            via = f"by the {group.name}"
        for target in targets:
            question = self._group_question(group, chunk, target, via)
            if question is not None:
                yield question

    def _group_question(self, group: Group, chunk: list[ChainRuleStep], target: Value,
                        via: str) -> Optional[dict]:
        """The question of a folded box about ``target``: its gradient, or the box's share."""
        r, name = self.root_name, group.name
        members = set(group.members)
        parts = [s for s in chunk if s.input is target]
        answer = math.fsum(s.contribution for s in parts)
        if not math.isfinite(answer):
            return None
        t = self.names[target]
        # every use is inside this box (with collapse="example" another box uses it too)
        whole = target in members and len(parts) == sum(s.input is target for s in self.trace)
        grad = f"d{r}/d{t}"
        slips = [{"value": -answer, "title": KINDS["sign_slip"],
                  "text": f"Right size, wrong sign: check the signs of the local derivatives "
                          f"on the way from the outputs to {t}."}]
        if len(parts) > 1:
            slips += [{"value": s.contribution, "title": KINDS["missing_contribution"],
                       "text": f"That is what one use of {t} ({s.node_name}) passes back: "
                               f"{grad} adds the contributions of all its {len(parts)} uses "
                               f"(one per example)."} for s in parts]
        return {"answer": answer, "what": grad if whole else "contribution",
                "ask": f"Your turn: type {grad}{'' if whole else ' (what is added to it)'} "
                       f"{via}.",
                "prompt": f"{grad} {'=' if whole else '+='} "
                          f"Σ d{r}/d(output) · ∂(output)/∂{t} = ?",
                "slips": [slip for slip in slips if math.isfinite(slip["value"])
                          and abs(slip["value"] - answer) > QUIZ_RTOL * abs(answer)],
                "fallback": {"title": f"not {grad}",
                             "text": f"Inside the {name}, {grad} sums, over the box's "
                                     f"outputs, d{r}/d(output) · ∂(output)/∂{t}: follow each "
                                     f"output back to {t} with the chain rule."}}

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


def _is_parameter(node: Value) -> bool:
    """A leaf that training changes (an ``nn`` module's weight or bias)."""
    return node.is_leaf and node.scope is not None and node.scope.kind == "parameter"


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
    ``QUIZ_RTOL``; the edges then show no local derivatives) and keeps the score; folded,
    each box asks for one parameter's gradient (its bias's) and the gradients of targets and
    constants are not asked. The quiz works wherever the page is shown (a saved file,
    Jupyter's sandboxed output, the playground).
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
    page = fill_page("autograd.viz", "stepper", title, data, svg=svg)
    return Stepper(page, trace, height)

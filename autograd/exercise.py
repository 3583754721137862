"""Exercise: backpropagate by hand and be told where and how an answer went wrong.

The learner gives gradients (and, if they like, forward values) by name::

    ex = Exercise(L)
    ex.check({"a": 6.0, "b": -4.0})        # or set a.grad ... by hand, then ex.check_grads()

and gets ✔ or ✘ per node and, for the first wrong gradient in backward order, a diagnosis
found by comparing the answer with the true chain-rule steps (``explain``'s replay, which
touches no ``.grad``). The gradient of a node x is the sum over its uses:

    dL/dx = sum over each edge x -> c of  dL/dc · ∂c/∂x   (upstream · local)

so a wrong answer is recognised by what it equals instead:

* ``missing_contribution``: the sum over only some of x's uses ("x is used twice");
* ``upstream_forgotten``: a local derivative ∂c/∂x alone, without the upstream dL/dc;
* ``sign_slip``: the right size with the wrong sign (of the total or of one contribution);
* ``wrong_forward``: the rule evaluated with a wrong forward value: the learner's own (given
  as ``data=``), or a neighbour's (tanh's ``1 - x·x`` instead of ``1 - out·out``);
* ``wrong_local``: anything else: the answer does not follow from the local derivative, whose
  op and rule the diagnosis names.

The same texts serve the stepper's quiz (``stepper(root, quiz=True)``): ``contribution_slips``
gives them for one chain-rule step.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from itertools import combinations
from numbers import Real
from typing import Any, Iterable, Mapping, Optional, Union

from autograd.backprop import graph_lock, topological_order
from autograd.display import (factor, format_number, forward_rule, node_names, operand_note,
                              times)
from autograd.symbolic import Sym
from autograd.trace import ChainRuleStep, _replay
from autograd.value import Value

__all__ = ["Exercise", "Report", "Mark", "Diagnosis", "Slip", "contribution_slips", "KINDS"]

#: Each kind of diagnosis and how the report titles it.
KINDS = {
    "wrong_local": "wrong local derivative",
    "missing_contribution": "missing contribution",
    "upstream_forgotten": "upstream gradient forgotten",
    "sign_slip": "sign slip",
    "wrong_forward": "wrong forward value",
}

NodeRef = Union[str, Value]


@dataclass(frozen=True)
class Slip:
    """A wrong answer recognised by the number it equals: ``value``, of ``kind``, with ``text``
    saying what happened (``value`` None for the ``wrong_local`` that catches the rest)."""
    kind: str
    value: Optional[float]
    text: str


@dataclass(frozen=True)
class Mark:
    """One line of a report: ``dL/d{name}`` (``what="grad"``) or ``{name}`` (``what="data"``),
    the learner's ``answer`` (None: not answered) and whether it is right (``ok``)."""
    name: str
    what: str
    answer: Optional[float]
    ok: Optional[bool]


@dataclass(frozen=True)
class Diagnosis:
    """Why the first wrong answer is wrong: its ``kind`` (a key of ``KINDS``) and ``text``."""
    kind: str
    name: str
    what: str
    answer: float
    text: str


class Report:
    """The result of ``Exercise.check``: ``marks`` per node, ``diagnosis`` of the first wrong
    one (None if none is wrong); ``passed`` when every asked gradient is answered and right
    and every given forward value is right. ``str`` in the REPL, HTML in Jupyter."""

    def __init__(self, root_name: str, marks: list[Mark], diagnosis: Optional[Diagnosis]) -> None:
        self.root_name = root_name
        self.marks = marks
        self.diagnosis = diagnosis

    @property
    def passed(self) -> bool:
        return all(m.ok for m in self.marks)

    def _label(self, mark: Mark) -> str:
        return f"d{self.root_name}/d{mark.name}" if mark.what == "grad" else mark.name

    def _summary(self) -> str:
        grads = [m for m in self.marks if m.what == "grad"]
        right = sum(1 for m in grads if m.ok)
        missing = sum(1 for m in grads if m.answer is None)
        parts = [f"{right} of {len(grads)} gradients right"]
        if len(grads) - right - missing:
            parts.append(f"{len(grads) - right - missing} wrong")
        if missing:
            parts.append(f"{missing} not answered")
        data = [m for m in self.marks if m.what == "data"]
        if data:
            parts.append(f"{sum(1 for m in data if m.ok)} of {len(data)} forward values right")
        return ", ".join(parts) + (": all done." if self.passed else ".")

    def _lines(self) -> list[tuple[str, str, str]]:
        """(symbol, what, answer) per mark."""
        rows = []
        for m in self.marks:
            symbol = "·" if m.answer is None else "✔" if m.ok else "✘"
            answer = "(no answer)" if m.answer is None else format_number(m.answer)
            rows.append((symbol, self._label(m), answer))
        return rows

    def _diagnosis_title(self) -> str:
        d = self.diagnosis
        label = f"d{self.root_name}/d{d.name}" if d.what == "grad" else d.name
        return f"✘ {label} = {format_number(d.answer)}: {KINDS[d.kind]}."

    def __str__(self) -> str:
        rows = self._lines()
        width = max((len(what) for _, what, _ in rows), default=0)
        lines = [self._summary()]
        for symbol, what, answer in rows:
            equals = "  " if symbol == "·" else " ="
            lines.append(f"  {symbol} {what.ljust(width)}{equals} {answer}")
        if self.diagnosis is not None:
            lines += [self._diagnosis_title(), "  " + self.diagnosis.text]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape  # names are user text
        colour = {"✔": "#2ca02c", "✘": "#d62728", "·": "#999999"}
        rows = "".join(
            f'<tr><td style="color:{colour[symbol]};font-weight:bold">{symbol}</td>'
            f"<td>{esc(what)}</td><td style=\"text-align:right\">{esc(answer)}</td></tr>"
            for symbol, what, answer in self._lines())
        diagnosis = ""
        if self.diagnosis is not None:
            diagnosis = (f'<p style="border-left:4px solid #d62728;padding-left:8px">'
                         f"<b>{esc(self._diagnosis_title())}</b><br>"
                         f"{esc(self.diagnosis.text)}</p>")
        return (f'<div class="chainrule-exercise"><p>{esc(self._summary())}</p>'
                f"<table>{rows}</table>{diagnosis}</div>")


class Exercise:
    """Backpropagate ``root`` by hand: ``check`` answers, ``hint`` and ``solution`` per node.

    ``ask``: the nodes (names or Values) whose gradient dL/dnode the learner is to find;
    default every node except the root and the unnamed constants. An answer is right within
    ``abs(answer - true) <= atol + rtol * abs(true)`` (relative 1e-6 by default). Nothing here
    changes the graph or any ``.grad``.
    """

    def __init__(self, root: Value, ask: Optional[Iterable[NodeRef]] = None,
                 rtol: float = 1e-6, atol: float = 1e-12) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"Exercise() needs the Value to backpropagate from, got "
                            f"{type(root).__name__} {root!r:.40}")
        for what, tol in (("rtol", rtol), ("atol", atol)):
            if isinstance(tol, bool) or not isinstance(tol, Real) or not tol >= 0:
                raise ValueError(f"Exercise({what}=...) must be a number >= 0, got {tol!r}")
        self.root, self.rtol, self.atol = root, float(rtol), float(atol)
        with graph_lock:
            self.order = topological_order(root)
            self.names = node_names(self.order)
            self.steps, self.grads = _replay(root, self.order, self.names)
        self._by_name = {name: node for node, name in self.names.items()}
        self._into: dict[Value, list[ChainRuleStep]] = {node: [] for node in self.order}
        for step in self.steps:
            self._into[step.input].append(step)
        self.root_name = self.names[root]
        if ask is None:
            asked = [n for n in self.order if n is not root
                     and not (n.is_leaf and not n.label and n.scope is None)]
        else:
            asked = [self._node(ref, "ask") for ref in ask]
        wanted = set(asked)
        self.ask = [n for n in reversed(self.order) if n in wanted]  # backward order

    # ------------------------------------------------------------ looking nodes up
    def _node(self, ref: NodeRef, where: str) -> Value:
        if isinstance(ref, Value):
            if ref not in self._into:
                raise ValueError(f"{where}: {ref!r} is not a node of the graph of "
                                 f"{self.root_name}")
            return ref
        if isinstance(ref, str):
            node = self._by_name.get(ref)
            if node is None:
                import difflib

                close = difflib.get_close_matches(ref, list(self._by_name), n=3)
                hint = f"; did you mean {', '.join(map(repr, close))}?" if close else (
                    f"; the nodes are {', '.join(map(repr, list(self._by_name)[:12]))}"
                    + (" ..." if len(self._by_name) > 12 else ""))
                raise KeyError(f"{where}: no node named {ref!r} in the graph of "
                               f"{self.root_name}{hint}")
            return node
        raise TypeError(f"{where}: name a node by its name (a str) or give the Value, got "
                        f"{type(ref).__name__} {ref!r:.40}")

    def _answers(self, given: Optional[Mapping[NodeRef, Any]], where: str) -> dict[Value, float]:
        if given is None:
            return {}
        if not isinstance(given, Mapping):
            raise TypeError(f"{where} takes a dict {{name: number}}, got {type(given).__name__}")
        found = {}
        for ref, number in given.items():
            node = self._node(ref, where)
            if isinstance(number, bool) or not isinstance(number, Real):
                raise TypeError(f"{where}: the answer for {self.names[node]!r} must be a "
                                f"number, got {type(number).__name__} {number!r:.40}")
            found[node] = float(number)
        return found

    # ------------------------------------------------------------ checking
    def close(self, answer: float, true: float) -> bool:
        """Whether ``answer`` is ``true`` within the tolerance (nan only matches nan)."""
        if math.isnan(answer) or math.isnan(true):
            return math.isnan(answer) and math.isnan(true)
        if math.isinf(answer) or math.isinf(true):
            return answer == true
        return abs(answer - true) <= self.atol + self.rtol * abs(true)

    def check(self, grads: Optional[Mapping[NodeRef, Any]] = None,
              data: Optional[Mapping[NodeRef, Any]] = None) -> Report:
        """Check gradients ``{name: dL/dnode}`` and forward values ``{name: data}``.

        Every asked node gets a mark (answered or not); so does every other node answered.
        The diagnosis is for the first wrong gradient in backward order, else for the first
        wrong forward value.
        """
        grad_answers = self._answers(grads, "check(grads)")
        data_answers = self._answers(data, "check(data)")
        marks: list[Mark] = []
        diagnosis: Optional[Diagnosis] = None
        for node in self.order:  # forward values first, in the order they are computed
            if node in data_answers:
                answer = data_answers[node]
                ok = self.close(answer, node.data)
                marks.append(Mark(self.names[node], "data", answer, ok))
        wrong_data = {n: a for n, a in data_answers.items() if not self.close(a, n.data)}
        asked = set(self.ask)
        for node in reversed(self.order):
            if node not in grad_answers and node not in asked:
                continue
            answer = grad_answers.get(node)
            ok = None if answer is None else self.close(answer, self.grads[node])
            marks.append(Mark(self.names[node], "grad", answer, ok))
            if ok is False and diagnosis is None:
                kind, text = self._diagnose_grad(node, answer, wrong_data)
                diagnosis = Diagnosis(kind, self.names[node], "grad", answer, text)
        if diagnosis is None:
            for node in self.order:
                if node in wrong_data:
                    diagnosis = Diagnosis("wrong_forward", self.names[node], "data",
                                          wrong_data[node], self._forward_text(node))
                    break
        return Report(self.root_name, marks, diagnosis)

    def check_grads(self) -> Report:
        """Check the ``.grad`` that the learner set on each asked node by hand."""
        return self.check({node: node.grad for node in self.ask})

    # ------------------------------------------------------------ diagnoses
    def _diagnose_grad(self, node: Value, answer: float,
                       wrong_data: dict[Value, float]) -> tuple[str, str]:
        true = self.grads[node]
        for slip in self._grad_slips(node, wrong_data):
            if slip.value is None:
                return slip.kind, slip.text
            if self.close(answer, slip.value) and not self.close(slip.value, true):
                return slip.kind, slip.text
        raise AssertionError("the last slip catches every answer")  # pragma: no cover

    def _grad_slips(self, node: Value, wrong_data: dict[Value, float]) -> list[Slip]:
        """Every recognisable wrong value of dL/dnode, most specific first; the last catches
        the rest."""
        r, x = self.root_name, self.names[node]
        edges = self._into[node]
        true = self.grads[node]
        if not edges:
            return [Slip("wrong_local", None, f"d{r}/d{r} = 1: the backward pass starts with "
                                              f"the output's gradient with respect to itself.")]
        slips: list[Slip] = []
        if wrong_data:  # the learner's forward values, carried through both passes
            shown = sorted(wrong_data, key=self.order.index)
            slips.append(Slip("wrong_forward", self._grads_with(wrong_data)[node], (
                "Your answer follows from your forward value"
                + ("s " if len(shown) > 1 else " ")
                + ", ".join(f"{self.names[n]} = {format_number(wrong_data[n])}" for n in shown)
                + ", but " + ", ".join(f"{self.names[n]} = {format_number(n.data)}"
                                       for n in shown)
                + ": fix the forward pass first, then this gradient.")))
        k = len(edges)
        if k > 1:
            uses = _uses(edges, self.names)
            for size in range(k - 1, 0, -1):
                if k > 12 and size not in (1, k - 1):
                    continue  # 2^k subsets: only the likely ones for a node used very often
                for kept in combinations(range(k), size):
                    missing = [edges[i] for i in range(k) if i not in kept]
                    slips.append(Slip("missing_contribution",
                                      sum(edges[i].contribution for i in kept), (
                        f"{x} is used {times(k)} ({uses}), so d{r}/d{x} is the sum of {k} "
                        f"contributions, one per use; yours has {size}. Add the one"
                        f"{'s' if len(missing) > 1 else ''} through "
                        + ", ".join(_through(s) for s in missing) + ".")))
            terms = " + ".join(_term(s, r) for s in edges)
            slips.append(Slip("upstream_forgotten", sum(s.local for s in edges),
                              f"That is the sum of the local derivatives alone: each "
                              f"contribution is an upstream gradient times a local derivative, "
                              f"d{r}/d{x} = {terms}."))
            slips.append(Slip("sign_slip", -true,
                              f"Right size, wrong sign: check the sign of each of the {k} "
                              f"contributions, d{r}/d{x} = {terms}."))
        for step in edges:  # one contribution wrong, the others right
            rest = true - step.contribution
            prefix = f"In the contribution through {_through(step)}: " if k > 1 else ""
            for slip in contribution_slips(step, r, self.names):
                if slip.value is not None:
                    slips.append(Slip(slip.kind, rest + slip.value, prefix + slip.text))
        if k == 1:
            slips.append(contribution_slips(edges[0], r, self.names)[-1])
        else:
            slips.append(Slip("wrong_local", None,
                              f"{x} is used {times(k)}: d{r}/d{x} = "
                              + " + ".join(_term(s, r) for s in edges)
                              + ". Check each local derivative: "
                              + "; ".join(_rule_with_values(s, self.names) for s in edges)
                              + "."))
        return slips

    def _grads_with(self, data: Mapping[Value, float]) -> dict[Value, float]:
        """The gradients of a backward pass done right on the learner's forward pass: the
        given ``data``, and every other node computed from its inputs as given."""
        values: dict[Value, float] = {}
        for node in self.order:
            if node in data or node.is_leaf:
                values[node] = data.get(node, node.data)
                continue
            args = [values[inp] for inp in node.inputs] + _param(node)
            try:
                values[node] = float(node.rule.forward(*args))
            except (ArithmeticError, ValueError):
                values[node] = math.nan
        grads = {node: 0.0 for node in self.order}
        grads[self.root] = 1.0
        for node in reversed(self.order):
            if node.is_leaf:
                continue
            args = [values[inp] for inp in node.inputs] + [values[node]] + _param(node)
            try:
                locals_ = node.rule.derivatives(*args)
            except (ArithmeticError, ValueError):
                locals_ = (math.nan,) * len(node.inputs)
            for inp, local in zip(node.inputs, locals_):
                if local is not None:
                    grads[inp] += grads[node] * float(local)
        return grads

    def _forward_text(self, node: Value) -> str:
        if node.is_leaf:
            return (f"{self.names[node]} is a leaf: its value is given, "
                    f"{format_number(node.data)}.")
        numbers = {inp: factor(inp.data) for inp in node.inputs}
        return (f"{self.names[node]} = {forward_rule(node, self.names)} with "
                + ", ".join(f"{self.names[i]} = {format_number(i.data)}"
                            for i in dict.fromkeys(node.inputs))
                + f": recompute {forward_rule(node, numbers)}.")

    # ------------------------------------------------------------ help
    def hint(self, name: NodeRef) -> str:
        """The formula for dL/dnode without its numbers: upstream · local, summed over uses."""
        node = self._node(name, "hint")
        r, x = self.root_name, self.names[node]
        edges = self._into[node]
        if not edges:
            return f"d{r}/d{r} = 1: the backward pass starts here."
        terms = " + ".join(_term(s, r) for s in edges)
        made = "; ".join(
            f"{s.node_name} = {forward_rule(s.node, self.names)}"
            + (f", so {s.rule}" if s.rule else "")
            for s in dict((s.node, s) for s in edges).values())
        used = (f"{x} is used {times(len(edges))}: add one term per use. "
                if len(edges) > 1 else "")
        return f"{used}d{r}/d{x} = {terms}, where {made}."

    def solution(self, name: NodeRef) -> str:
        """The worked step for dL/dnode: the formula, its numbers and the result."""
        node = self._node(name, "solution")
        r, x = self.root_name, self.names[node]
        edges = self._into[node]
        if not edges:
            return f"d{r}/d{r} = 1.0"
        formula = " + ".join(_term(s, r) for s in edges)
        numbers = " + ".join(f"{factor(s.upstream)} · {factor(s.local)}" for s in edges)
        sums = (" = " + " + ".join(factor(s.contribution) for s in edges)
                if len(edges) > 1 else "")
        return (f"d{r}/d{x} = {formula} = {numbers}{sums} = "
                f"{format_number(self.grads[node])}")

    # ------------------------------------------------------------ display
    def _rows(self) -> list[tuple[str, str, str, str]]:
        asked = set(self.ask)
        return [(self.names[n], forward_rule(n, self.names) or "(leaf)",
                 format_number(n.data), f"d{self.root_name}/d{self.names[n]} = ?"
                 if n in asked else "") for n in self.order]

    def __str__(self) -> str:
        rows = self._rows()
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"Exercise: backpropagate {self.root_name} = "
                 f"{format_number(self.root.data)} by hand ({len(self.ask)} gradients asked)"]
        for name, rule, data, asked in rows:
            made = f"= {rule}" if rule != "(leaf)" else "  (leaf)"
            lines.append(f"  {name.ljust(widths[0])} {made.ljust(widths[1] + 2)}  "
                         f"data {data.rjust(widths[2])}   {asked}".rstrip())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<Exercise: {len(self.ask)} gradients of {self.root_name} = "
                f"{format_number(self.root.data)} to find>")

    def _repr_html_(self) -> str:
        esc = html.escape
        body = "".join(f"<tr><td>{esc(name)}</td><td>{esc(rule)}</td>"
                       f'<td style="text-align:right">{esc(data)}</td>'
                       f"<td>{esc(asked)}</td></tr>" for name, rule, data, asked in self._rows())
        title = (f"Backpropagate {self.root_name} = {format_number(self.root.data)} by hand: "
                 f"{len(self.ask)} gradients asked")
        return (f'<table class="chainrule-exercise"><caption>{esc(title)}</caption>'
                f"<thead><tr><th>node</th><th>computed as</th><th>data</th><th>find</th>"
                f"</tr></thead><tbody>{body}</tbody></table>")


# ---------------------------------------------------------------- one chain-rule step

def contribution_slips(step: ChainRuleStep, root_name: str,
                       names: dict[Value, str]) -> list[Slip]:
    """The recognisable wrong values of one contribution ``upstream · local``, most specific
    first, and last the ``wrong_local`` that catches the rest (``value`` None).

    Shared by ``Exercise`` and the stepper's quiz, so both say the same.
    """
    r, n, i = root_name, step.node_name, step.input_name
    upstream = f"d{r}/d{n} = {format_number(step.upstream)}"
    rule = step.rule or f"∂{n}/∂{i}"
    slips = [
        Slip("upstream_forgotten", step.local,
             f"That is the local derivative {rule} alone: the chain rule multiplies it by the "
             f"upstream gradient {upstream}."),
        Slip("sign_slip", -step.contribution,
             f"Right size, wrong sign: check the sign of the local derivative {rule} and of "
             f"the upstream gradient {upstream}."),
    ]
    for slot, wrong, source in _swapped_values(step):
        local = _local_with(step, {slot: wrong})
        slips.append(Slip("wrong_forward", step.upstream * local,
                          f"The rule {rule} is right, but it was evaluated with "
                          f"{names[slot]} = {format_number(wrong)}, which is {names[source]}'s "
                          f"value; here {names[slot]} = {format_number(slot.data)}."))
    slips.append(Slip("wrong_local", None,
                      f"Check the local derivative of the {step.op!r} node: "
                      f"{_rule_with_values(step, names)}; then multiply it by the upstream "
                      f"gradient {upstream}."))
    return slips


def _slots(step: ChainRuleStep) -> list[Value]:
    """The nodes whose data the local-derivative rule reads: the inputs, then the output."""
    return [*step.node.inputs, step.node]


def _reads(step: ChainRuleStep) -> list[Value]:
    """The nodes whose data appear in the step's local derivative (all slots if unknown)."""
    node = step.node
    symbolic = node.rule.symbolic(node.op_param)
    if symbolic.local_grads is None:
        return _slots(step)
    used = _symbols(symbolic.local_grads[step.position])
    named = dict(zip(symbolic.inputs, node.inputs))
    named["out"] = node
    return [v for sym, v in named.items() if sym in used]


def _symbols(sym: Any) -> set[str]:
    if not isinstance(sym, Sym):
        return set()
    if sym.kind == "name":
        return {sym.args[0]}
    found: set[str] = set()
    for arg in sym.args:
        found |= _symbols(arg)
    return found


def _param(node: Value) -> list[float]:
    """The op's constant parameter as the rules' last argument (``x ** 3``), if it has one."""
    return [node.op_param] if node.rule.has_param else []


def _local_with(step: ChainRuleStep, data: Mapping[Value, float]) -> float:
    """The step's local derivative with some nodes' data replaced (nan if the rule fails)."""
    node = step.node
    args: list[Any] = [data.get(v, v.data) for v in _slots(step)] + _param(node)
    try:
        local = node.rule.derivatives(*args)[step.position]
    except (ArithmeticError, ValueError, TypeError):
        return math.nan
    return 0.0 if local is None else float(local)


def _swapped_values(step: ChainRuleStep) -> list[tuple[Value, float, Value]]:
    """(slot, wrong data, where it came from): each value the rule reads, replaced by the value
    of another node of the step (an input's value where the output's belongs ...)."""
    slots = list(dict.fromkeys(_slots(step)))
    read = _reads(step)
    return [(slot, other.data, other) for slot in read for other in slots
            if other is not slot and other.data != slot.data]


def _rule_with_values(step: ChainRuleStep, names: dict[Value, str]) -> str:
    rule = step.rule or f"∂{step.node_name}/∂{step.input_name} (the op's rule)"
    values = ", ".join(f"{names[v]} = {format_number(v.data)}"
                       for v in dict.fromkeys(_reads(step)))
    return f"{rule}, with {values}" if values else rule


def _through(step: ChainRuleStep) -> str:
    """``c``, or ``c (operand 2)`` for one of the two uses in ``c = x * x``."""
    return f"{step.node_name}{operand_note(step.node, step.position)}"


def _term(step: ChainRuleStep, root_name: str) -> str:
    """The step's term of the chain rule: ``dL/dc · ∂c/∂x``."""
    return (f"d{root_name}/d{step.node_name} · ∂{step.node_name}/∂{step.input_name}"
            f"{operand_note(step.node, step.position)}")


def _uses(steps: list[ChainRuleStep], names: dict[Value, str]) -> str:
    """``by c = x·y, by d = x + z``: where a node is used."""
    return ", ".join(f"by {_through(s)} = {forward_rule(s.node, names)}" for s in steps)

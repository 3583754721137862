"""Exercise: backpropagate by hand and be told where and how an answer went wrong.

The learner gives gradients (and, if they like, forward values) by name::

    ex = Exercise(L)
    ex.check({"a": 6.0, "b": -4.0})        # or set a.grad ... by hand, then ex.check_grads()

and gets ✔ or ✘ per node. An answer is right when it agrees with the true gradient to the
digits every tool prints (4 significant digits, see ``Exercise.tolerance``), or with what
follows from the learner's own right answers of the nodes it feeds (the numbers they
carried). A wrong answer that follows from the learner's own *wrong* answer of a node it
feeds is marked so ("follows from your dL/dz"): one early slip is one slip. The first wrong
answer in backward order that does not follow from another gets a diagnosis, found by
comparing the answer with the true chain-rule steps (``explain``'s replay, which touches no
``.grad``). The gradient of a node x is the sum over its uses:

    dL/dx = sum over each edge x -> c of  dL/dc · ∂c/∂x   (upstream · local)

so a wrong answer is recognised by what it equals instead:

* ``missing_contribution``: the sum over only some of x's uses ("x is used twice");
* ``upstream_forgotten``: a local derivative ∂c/∂x alone, without the upstream dL/dc;
* ``value_for_grad``: a node's value where its gradient belongs (x's own value, or the
  value of c instead of dL/dc as the upstream factor);
* ``mean_forgotten``: n times the gradient, the 1/n of a mean ``s · (1/n)`` left out;
* ``sign_slip``: the right size with the wrong sign (of the total or of one contribution);
* ``wrong_forward``: the rule evaluated with a wrong forward value: the learner's own (given
  as ``data=``), or a neighbour's (tanh's ``1 - x·x`` instead of ``1 - out·out``);
* ``close``: none of those, but within ``CLOSE`` (5%) of the true value: an arithmetic or
  rounding slip, the method is right;
* ``wrong_local``: anything else: with the upstream right, what is left is the local
  derivative, whose op and rule the diagnosis names.

The same texts serve the stepper's quiz (``stepper(root, quiz=True)``): ``contribution_slips``
gives them for one chain-rule step.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from itertools import combinations
from numbers import Real
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Union

from autograd.backprop import graph_lock, topological_order
from autograd.display import (factor, format_number, forward_rule, node_names, operand_note,
                              times)
from autograd.lookup import NameIndex
from autograd.symbolic import Sym
from autograd.trace import ChainRuleStep, _replay
from autograd.value import Value

__all__ = ["Exercise", "Report", "Mark", "Diagnosis", "Slip", "contribution_slips", "KINDS",
           "CLOSE"]

#: Each kind of diagnosis and how the report titles it.
KINDS = {
    "wrong_local": "wrong local derivative",
    "missing_contribution": "missing contribution",
    "upstream_forgotten": "upstream gradient forgotten",
    "value_for_grad": "a value used instead of a gradient",
    "mean_forgotten": "the 1/n of a mean forgotten",
    "sign_slip": "sign slip",
    "wrong_forward": "wrong forward value",
    "close": "close: an arithmetic or rounding slip",
}

#: A wrong answer within this fraction of the true value, and no other slip, is ``close``.
CLOSE = 0.05

#: How many uses of a node the report lists before "... and 3,996 more".
SHOWN_USES = 6

NodeRef = Union[str, Value]

#: A recognisable wrong value: (kind, value, the text saying what happened, made on demand:
#: a node used 4,000 times has 8,000 candidates and only one is ever shown).
Candidate = tuple[str, float, Callable[[], str]]


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
    the learner's ``answer`` (None: not answered) and whether it is right (``ok``);
    ``follows``: for a wrong gradient that is right given the learner's own wrong answers of
    the nodes it feeds, their names (else empty)."""
    name: str
    what: str
    answer: Optional[float]
    ok: Optional[bool]
    follows: tuple[str, ...] = ()


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
    one that does not follow from another (None if none is wrong); ``passed`` when every
    asked gradient is answered and right and every given forward value is right. ``str`` in
    the REPL, HTML in Jupyter."""

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
        wrong = len(grads) - right - missing
        parts = [f"{right} of {len(grads)} gradients right"]
        if wrong:
            following = [m for m in grads if m.follows]
            text = f"{wrong} wrong"
            if following:
                first = [self._label(m) for m in grads if m.ok is False and not m.follows]
                text += (f" ({len(following)} of them follow from your "
                         f"{_listed(first, 'earlier answers')}: fix "
                         f"{'it' if len(first) == 1 else 'those'} first)")
            parts.append(text)
        if missing:
            parts.append(f"{missing} not answered")
        data = [m for m in self.marks if m.what == "data"]
        if data:
            parts.append(f"{sum(1 for m in data if m.ok)} of {len(data)} forward values right")
        return ", ".join(parts) + (": all done." if self.passed else ".")

    def _lines(self) -> list[tuple[str, str, str, str]]:
        """(symbol, what, answer, note) per mark."""
        rows = []
        for m in self.marks:
            symbol = "·" if m.answer is None else "✔" if m.ok else "✘"
            answer = "(no answer)" if m.answer is None else format_number(m.answer)
            note = (f"follows from your "
                    f"{_listed([f'd{self.root_name}/d{n}' for n in m.follows], 'answers')}"
                    if m.follows else "")
            rows.append((symbol, self._label(m), answer, note))
        return rows

    def _diagnosis_title(self) -> str:
        d = self.diagnosis
        label = f"d{self.root_name}/d{d.name}" if d.what == "grad" else d.name
        return f"✘ {label} = {format_number(d.answer)}: {KINDS[d.kind]}."

    def __str__(self) -> str:
        rows = self._lines()
        width = max((len(what) for _, what, _, _ in rows), default=0)
        lines = [self._summary()]
        for symbol, what, answer, note in rows:
            equals = "  " if symbol == "·" else " ="
            lines.append(f"  {symbol} {what.ljust(width)}{equals} {answer}"
                         + (f"   ({note})" if note else ""))
        if self.diagnosis is not None:
            lines += [self._diagnosis_title(), "  " + self.diagnosis.text]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape  # names are user text
        colour = {"✔": "#2ca02c", "✘": "#d62728", "·": "#999999"}
        rows = "".join(
            f'<tr><td style="color:{colour[symbol]};font-weight:bold">{symbol}</td>'
            f"<td>{esc(what)}</td><td style=\"text-align:right\">{esc(answer)}</td>"
            f'<td style="color:#666666">{esc(note)}</td></tr>'
            for symbol, what, answer, note in self._lines())
        diagnosis = ""
        if self.diagnosis is not None:
            diagnosis = (f'<p style="border-left:4px solid #d62728;padding-left:8px">'
                         f"<b>{esc(self._diagnosis_title())}</b><br>"
                         f"{esc(self.diagnosis.text)}</p>")
        return (f'<div class="chainrule-exercise"><p>{esc(self._summary())}</p>'
                f"<table>{rows}</table>{diagnosis}</div>")


def _listed(names: list[str], many: str) -> str:
    """``dL/dz``, ``dL/dz and dL/dw``, or for more than three ``4 earlier answers``."""
    if len(names) > 3:
        return f"{len(names)} {many}"
    return " and ".join(names) if len(names) < 3 else f"{names[0]}, {names[1]} and {names[2]}"


class Exercise:
    """Backpropagate ``root`` by hand: ``check`` answers, ``hint`` and ``solution`` per node.

    ``ask``: the nodes (names or Values) whose gradient dL/dnode the learner is to find;
    default every node except the root and the unnamed constants. An answer is right when it
    agrees with the true value to ``digits`` significant digits, the precision every tool
    prints (see ``tolerance``); ``digits=None`` and ``rtol``/``atol`` check to a relative or
    absolute tolerance instead. Nothing here changes the graph or any ``.grad``.
    """

    def __init__(self, root: Value, ask: Optional[Iterable[NodeRef]] = None,
                 digits: Optional[int] = 4, rtol: float = 0.0, atol: float = 1e-12) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"Exercise() needs the Value to backpropagate from, got "
                            f"{type(root).__name__} {root!r:.40}")
        for what, tol in (("rtol", rtol), ("atol", atol)):
            if isinstance(tol, bool) or not isinstance(tol, Real) or not tol >= 0:
                raise ValueError(f"Exercise({what}=...) must be a number >= 0, got {tol!r}")
        if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int)
                                   or not 1 <= digits <= 17):
            raise ValueError(f"Exercise(digits=...) must be an int from 1 to 17 (significant "
                             f"digits) or None, got {digits!r}")
        self.root, self.digits, self.rtol, self.atol = root, digits, float(rtol), float(atol)
        with graph_lock:
            self.order = topological_order(root)
            self.names = node_names(self.order)
            self.steps, self.grads = _replay(root, self.order, self.names)
        self.root_name = self.names[root]
        self._index = NameIndex(self.names, self.root_name)
        self._position = {node: i for i, node in enumerate(self.order)}
        self._into: dict[Value, list[ChainRuleStep]] = {node: [] for node in self.order}
        self._out_of: dict[Value, list[ChainRuleStep]] = {node: [] for node in self.order}
        for step in self.steps:
            self._into[step.input].append(step)
            self._out_of[step.node].append(step)
        self._without_mean: dict[Value, dict[Value, float]] = {}
        if ask is None:
            asked = [n for n in self.order if n is not root and not _constant(n)]
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
            return self._index.find(ref, where)
        raise TypeError(f"{where}: name a node by its name (a str) or give the Value, got "
                        f"{type(ref).__name__} {ref!r:.40}")

    def _answers(self, given: Optional[Mapping[NodeRef, Any]], where: str) -> dict[Value, float]:
        if given is None:
            return {}
        if not isinstance(given, Mapping):
            raise TypeError(f"{where} takes a dict {{name: number}}, got {type(given).__name__}")
        found: dict[Value, float] = {}
        for ref, number in given.items():
            node = self._node(ref, where)
            name = self.names[node]
            if isinstance(number, bool) or not isinstance(number, Real):
                use = " (give its .data)" if isinstance(number, Value) else ""
                raise TypeError(f"{where}: the answer for {name!r} must be a number{use}, got "
                                f"{type(number).__name__} {number!r:.40}")
            try:
                answer = float(number)
            except OverflowError:
                raise ValueError(f"{where}: the answer for {name!r} is {str(number):.40}..., "
                                 f"too large for a float (beyond ±1.8e308): give a number "
                                 f"the tools can print") from None
            if math.isnan(answer):
                raise ValueError(f"{where}: the answer for {name!r} is nan, not a number: "
                                 f"give the number you found")
            if node in found and found[node] != answer:
                raise ValueError(f"{where}: {name!r} is answered twice, "
                                 f"{format_number(found[node])} and {format_number(answer)}")
            found[node] = answer
        return found

    # ------------------------------------------------------------ checking
    def tolerance(self, true: float) -> float:
        """How far an answer may be from ``true`` and still be right.

        ``atol + max(rtol·|true|, unit)``, where ``unit`` is one unit in the ``digits``-th
        significant digit of ``true``: ``10^(floor(log10 |true|) - digits + 1)``, 0 for
        ``true = 0`` (then only ``atol``, 1e-12, so float noise such as 1e-17 passes as 0).
        With 4 digits, 0.1402 is right for 0.14024 (off by 0.4 of a unit, as printing
        rounds) and for 0.14031 (by 0.7: a product of rounded numbers is off by that much);
        0.1398 is not. Signs count: -0.1402 is never right for 0.14024.
        """
        unit = 0.0
        if self.digits is not None and true != 0.0 and math.isfinite(true):
            unit = 10.0 ** (math.floor(math.log10(abs(true))) - self.digits + 1)
        # (1 + 1e-9): a decimal printed at exactly one unit is not lost to binary rounding
        return self.atol + max(self.rtol * abs(true), unit * (1.0 + 1e-9))

    def close(self, answer: float, true: float) -> bool:
        """Whether ``answer`` is ``true`` within ``tolerance(true)`` (infinities only equal
        themselves; nan matches nan)."""
        if math.isnan(answer) or math.isnan(true):
            return math.isnan(answer) and math.isnan(true)
        if math.isinf(answer) or math.isinf(true):
            return answer == true
        return abs(answer - true) <= self.tolerance(true)

    def check(self, grads: Optional[Mapping[NodeRef, Any]] = None,
              data: Optional[Mapping[NodeRef, Any]] = None) -> Report:
        """Check gradients ``{name: dL/dnode}`` and forward values ``{name: data}``.

        Every asked node gets a mark (answered or not); so does every other node answered.
        The diagnosis is for the first wrong gradient in backward order that does not follow
        from another wrong answer, else for the first wrong forward value.
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
        right, follows = self._grade(grad_answers)
        asked = set(self.ask)
        for node in reversed(self.order):
            if node not in grad_answers and node not in asked:
                continue
            answer = grad_answers.get(node)
            ok = None if answer is None else right[node]
            sources = tuple(self.names[n] for n in follows.get(node, ()))
            marks.append(Mark(self.names[node], "grad", answer, ok, sources))
            if ok is False and not sources and diagnosis is None:
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

    def _grade(self, answers: Mapping[Value, float]
               ) -> tuple[dict[Value, bool], dict[Value, list[Value]]]:
        """Whether each answer is right, and for a wrong one that follows from the learner's
        own wrong answers, those answers (nearest first).

        One backward pass in two streams: ``carried``, the gradients that follow from the
        learner's right answers (the numbers they carry on, rounded as printed), and
        ``yours``, from all their answers, right or wrong. An answer is right when it agrees
        with the true gradient or with ``carried``; a wrong one follows when it agrees with
        ``yours`` and some wrong answer feeds it (through unanswered nodes).
        """
        carried = {node: 0.0 for node in self.order}
        carried[self.root] = 1.0
        yours = dict(carried)
        came_from: dict[Value, list[Value]] = {}  # the wrong answers a gradient carries
        right: dict[Value, bool] = {}
        follows: dict[Value, list[Value]] = {}
        for node in reversed(self.order):
            sources = came_from.get(node, [])
            if node in answers:
                answer = answers[node]
                ok = right[node] = (self.close(answer, self.grads[node])
                                    or self.close(answer, carried[node]))
                if not ok and sources and self.close(answer, yours[node]):
                    follows[node] = sources
                up_carried = answer if ok else carried[node]
                up_yours = answer
                sources = [] if ok else [node]
            else:
                up_carried, up_yours = carried[node], yours[node]
            for step in self._out_of[node]:
                if step.local != 0.0:  # (0: no gradient flows, not even inf · 0)
                    carried[step.input] += up_carried * step.local
                    yours[step.input] += up_yours * step.local
                if sources:
                    known = came_from.setdefault(step.input, [])
                    known.extend(n for n in sources if n not in known)
        return right, follows

    # ------------------------------------------------------------ diagnoses
    def _diagnose_grad(self, node: Value, answer: float,
                       wrong_data: dict[Value, float]) -> tuple[str, str]:
        true = self.grads[node]
        for kind, value, text in self._candidates(node, wrong_data):
            if self._recognises(answer, value, true):
                return kind, text()
        if math.isfinite(true) and abs(answer - true) <= CLOSE * abs(true):
            r, x = self.root_name, self.names[node]
            precision = (f"to {self.digits} significant digits" if self.digits
                         else "within the tolerance")
            return "close", (
                f"Within {_percent(abs(answer - true) / abs(true))} of d{r}/d{x}, but not "
                f"equal to it {precision}: the method is right, a number went astray. Redo "
                f"the arithmetic with the numbers as printed (ex.solution({x!r}) shows the "
                f"step worked out).")
        return "wrong_local", self._catch_all(node)

    def _recognises(self, answer: float, value: float, true: float) -> bool:
        """The answer is this wrong value: it agrees with it, nearer to it than to the truth,
        and the value itself is not (nearly) the true one."""
        if not math.isfinite(value) or self.close(value, true):
            return False
        return self.close(answer, value) and abs(answer - value) < abs(answer - true)

    def _candidates(self, node: Value, wrong_data: dict[Value, float]) -> Iterator[Candidate]:
        """Every recognisable wrong value of dL/dnode, most specific first."""
        r, x = self.root_name, self.names[node]
        edges = self._into[node]
        true = self.grads[node]
        if not edges:
            return
        if wrong_data:  # the learner's forward values, carried through both passes
            yield ("wrong_forward", self._grads_with(wrong_data)[node],
                   lambda: self._carried_forward_text(wrong_data))
        for mean, position, n in self._means():
            without = self._grads_without_mean(mean, position)
            if without[node] != true:
                yield ("mean_forgotten", without[node],
                       lambda mean=mean, n=n: self._mean_text(node, mean, n))
        k = len(edges)
        if k > 1:
            yield from self._missing_contributions(node)
            terms = lambda: " + ".join(_term(s, r) for s in edges)  # noqa: E731
            yield ("upstream_forgotten", math.fsum(s.local for s in edges),
                   lambda: f"That is the sum of the local derivatives alone: each "
                           f"contribution is an upstream gradient times a local derivative, "
                           f"d{r}/d{x} = {terms()}.")
            yield ("sign_slip", -true,
                   lambda: f"Right size, wrong sign: check the sign of each of the {k} "
                           f"contributions, d{r}/d{x} = {terms()}.")
            yield ("value_for_grad", math.fsum(s.node.data * s.local for s in edges),
                   lambda: f"That multiplies each local derivative by the value of the node "
                           f"it feeds instead of that node's gradient: d{r}/d{x} = {terms()}.")
        for step in edges:  # one contribution wrong, the others right
            rest = true - step.contribution
            prefix = f"In the contribution through {_through(step)}: " if k > 1 else ""
            for kind, value, text in _contribution_candidates(step, r, self.names):
                yield (kind, rest + value,
                       lambda text=text, prefix=prefix: prefix + text())
        # the node's own value last: the least specific of the explanations
        yield ("value_for_grad", node.data,
               lambda: f"That is {x}'s value, {x} = {format_number(node.data)}, from the "
                       f"forward pass. Its gradient d{r}/d{x} is how fast {r} changes with "
                       f"{x}: upstream · local, summed over {x}'s uses (ex.hint({x!r})).")

    def _missing_contributions(self, node: Value) -> Iterator[Candidate]:
        """The sums over only some of the node's uses: every subset for up to 12 uses, else
        all uses but one and one use alone (2^k subsets would never end)."""
        edges = self._into[node]
        k = len(edges)
        if k <= 12:
            for size in range(k - 1, 0, -1):
                for kept in combinations(range(k), size):
                    left_out = [i for i in range(k) if i not in kept]
                    yield ("missing_contribution", math.fsum(edges[i].contribution for i in kept),
                           lambda left_out=left_out: self._missing_text(node, left_out))
            return
        total = self.grads[node]
        for i in range(k):
            yield ("missing_contribution", total - edges[i].contribution,
                   lambda i=i: self._missing_text(node, [i]))
        for i in range(k):
            yield ("missing_contribution", edges[i].contribution,
                   lambda i=i: self._missing_text(node, [j for j in range(k) if j != i]))

    def _missing_text(self, node: Value, left_out: list[int]) -> str:
        r, x = self.root_name, self.names[node]
        edges = self._into[node]
        k = len(edges)
        missing = [edges[i] for i in left_out]
        through = ", ".join(_through(s) for s in missing[:SHOWN_USES]) + (
            f" and {len(missing) - SHOWN_USES:,} more" if len(missing) > SHOWN_USES else "")
        return (f"{x} is used {times(k)} ({_uses(edges, self.names)}), so d{r}/d{x} is the sum "
                f"of {k:,} contributions, one per use; yours has {k - len(missing):,}. Add the "
                f"one{'s' if len(missing) > 1 else ''} through {through}.")

    def _catch_all(self, node: Value) -> str:
        r, x = self.root_name, self.names[node]
        edges = self._into[node]
        if not edges:
            return (f"d{r}/d{r} = 1: the backward pass starts with the output's gradient with "
                    f"respect to itself.")
        if len(edges) == 1:
            return _contribution_catch_all(edges[0], r, self.names)
        return (f"{x} is used {times(len(edges))}: d{r}/d{x} = "
                + " + ".join(_term(s, r) for s in edges[:SHOWN_USES])
                + (" + ..." if len(edges) > SHOWN_USES else "")
                + ". Check each local derivative: "
                + "; ".join(_rule_with_values(s, self.names) for s in edges[:SHOWN_USES])
                + (" ..." if len(edges) > SHOWN_USES else "") + ".")

    def _carried_forward_text(self, wrong_data: dict[Value, float]) -> str:
        shown = sorted(wrong_data, key=self._position.__getitem__)
        return ("Your answer follows from your forward value"
                + ("s " if len(shown) > 1 else " ")
                + ", ".join(f"{self.names[n]} = {format_number(wrong_data[n])}" for n in shown)
                + ", but " + ", ".join(f"{self.names[n]} = {format_number(n.data)}"
                                       for n in shown)
                + ": fix the forward pass first, then this gradient.")

    # ------------------------------------------------------------ means
    def _means(self) -> list[tuple[Value, int, int]]:
        """The nodes that take a mean of a sum, ``s · (1/n)`` or ``s / n`` with n >= 2 an
        unnamed constant, as (node, position of s, n); the three nearest the output."""
        found = []
        for node in reversed(self.order):
            inputs = node.inputs
            if node.op == "*":
                for position, c in enumerate(inputs):
                    n = _whole(1.0 / c.data) if _constant(c) and c.data else None
                    if n is not None and inputs[1 - position].op == "+":
                        found.append((node, 1 - position, n))
                        break
            elif node.op == "/" and _constant(inputs[1]) and inputs[0].op == "+":
                n = _whole(inputs[1].data)
                if n is not None:
                    found.append((node, 0, n))
            if len(found) == 3:
                break
        return found

    def _grads_without_mean(self, mean: Value, position: int) -> dict[Value, float]:
        """The gradients of a backward pass in which ``mean``'s 1/n is left out (its local
        derivative by s taken as 1)."""
        grads = self._without_mean.get(mean)
        if grads is None:
            grads = {node: 0.0 for node in self.order}
            grads[self.root] = 1.0
            for step in self.steps:
                local = 1.0 if step.node is mean and step.position == position else step.local
                if local != 0.0:
                    grads[step.input] += grads[step.node] * local
            self._without_mean[mean] = grads
        return grads

    def _mean_text(self, node: Value, mean: Value, n: int) -> str:
        r, x, m = self.root_name, self.names[node], self.names[mean]
        shown = {v: factor(v.data) if _constant(v) else self.names[v] for v in mean.inputs}
        return (f"That is {n} times d{r}/d{x}: {m} = {forward_rule(mean, shown)} is a "
                f"mean over {n} terms, and its 1/{n} = {format_number(1.0 / n)} multiplies "
                f"every gradient that flows back through it. Yours leaves it out.")

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
    return ([Slip(kind, value, text()) for kind, value, text in
             _contribution_candidates(step, root_name, names)]
            + [Slip("wrong_local", None, _contribution_catch_all(step, root_name, names))])


def _contribution_candidates(step: ChainRuleStep, root_name: str,
                             names: dict[Value, str]) -> Iterator[Candidate]:
    r, n = root_name, step.node_name
    upstream = f"d{r}/d{n} = {format_number(step.upstream)}"
    rule = step.rule or f"∂{n}/∂{step.input_name}"
    yield ("upstream_forgotten", step.local,
           lambda: f"That is the local derivative {rule} alone: the chain rule multiplies it "
                   f"by the upstream gradient {upstream}.")
    yield ("sign_slip", -step.contribution,
           lambda: f"Right size, wrong sign: check the sign of the local derivative {rule} "
                   f"and of the upstream gradient {upstream}.")
    for slot, wrong, source in _swapped_values(step):
        local = _local_with(step, {slot: wrong})
        yield ("wrong_forward", step.upstream * local,
               lambda slot=slot, wrong=wrong, source=source:
               f"The rule {rule} is right, but it was evaluated with {names[slot]} = "
               f"{format_number(wrong)}, which is {names[source]}'s value; here "
               f"{names[slot]} = {format_number(slot.data)}.")
    yield ("value_for_grad", step.node.data * step.local,
           lambda: f"That multiplies the local derivative {rule} by {n}'s value, "
                   f"{n} = {format_number(step.node.data)}: the chain rule multiplies it by "
                   f"{n}'s gradient, the upstream {upstream}.")


def _contribution_catch_all(step: ChainRuleStep, root_name: str,
                            names: dict[Value, str]) -> str:
    upstream = f"d{root_name}/d{step.node_name} = {format_number(step.upstream)}"
    return (f"Check the local derivative of the {step.op!r} node: "
            f"{_rule_with_values(step, names)}; then multiply it by the upstream gradient "
            f"{upstream}.")


def _constant(node: Value) -> bool:
    """A number written into the expression (``x * 0.25``): a leaf with no label or scope."""
    return node.is_leaf and not node.label and node.scope is None


def _whole(x: float) -> Optional[int]:
    """``x`` as a whole number n >= 2 (the n of a mean), else None."""
    if not math.isfinite(x) or x < 1.5:
        return None
    n = round(x)
    return n if abs(x - n) <= 1e-9 * n else None


def _percent(fraction: float) -> str:
    """``0.8%``, ``3%``: how far off, in the words of a teacher."""
    return f"{fraction:.1%}" if fraction < 0.01 else f"{fraction:.0%}"
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
    """``by c = x·y, by d = x + z``: where a node is used (the first few of many)."""
    shown = ", ".join(f"by {_through(s)} = {forward_rule(s.node, names)}"
                      for s in steps[:SHOWN_USES])
    more = len(steps) - SHOWN_USES
    return shown + (f" and {more:,} more" if more > 0 else "")

"""explain(): the backward pass written out as the chain-rule steps it applies, one per edge.

Backpropagation visits the nodes in reverse topological order; at each node it multiplies the
node's gradient (the *upstream* gradient, dL/dnode) by the local derivative of the node with
respect to each input (from the op table), and adds that *contribution* into the input's
gradient:

    dL/dinput += dL/dnode * ∂node/∂input

``explain(root)`` computes these steps on the side, with the engine's own chain-rule step, and
returns them as data, as an aligned text table (``str``) and as an HTML table (Jupyter). It
only looks: no node's ``.grad`` changes (call ``root.backward()`` to set them).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Iterator

from autograd.backprop import backward_order, chain_rule_step, graph_lock, topological_order
from autograd.display import factor, format_number, local_rules, node_names
from autograd.value import Value

__all__ = ["explain", "BackwardTrace", "ChainRuleStep"]

DOT = "\u00b7"  # the multiplication dot of the formulas


@dataclass(frozen=True, eq=False)
class ChainRuleStep:
    """One application of the chain rule: ``dL/d input += dL/d node * d node/d input``.

    Fields:
        index: position in the backward pass (0 for the first step).
        node: the Value being processed (its gradient is final when it is processed).
        input: the input of ``node`` that receives the contribution.
        position: which operand of ``node`` ``input`` is (0 for the first).
        op: the operation that made ``node`` ("*", "tanh", "**2", ...).
        node_name, input_name: display names (``autograd.display.node_names``: labels, names
            from scopes, ``mul1``, ``const1`` ... for unlabelled nodes).
        upstream: dL/d node, the gradient flowing into ``node`` from the output.
        local: d node / d input, from the op table's local-derivative rule.
        rule: that rule in the graph's names, e.g. ``∂c/∂a = b`` ("" if it has no formula).
        contribution: ``upstream * local``, what this step adds to the input's gradient
            (0.0 where the rule says no gradient flows, as relu for x <= 0).
        grad: dL/d input in this pass after adding the contribution (the running sum).
        formula: the step written out, e.g. ``dL/da += dL/dc · ∂c/∂a = 2.0 · 3.0 = 6.0``: the
            total derivatives d, the local one ∂ (as in ``rule``).
    """

    index: int
    node: Value
    input: Value
    position: int
    op: str
    node_name: str
    input_name: str
    upstream: float
    local: float
    rule: str
    contribution: float
    grad: float
    formula: str


class BackwardTrace:
    """The chain-rule steps of one backward pass, in the order they were applied.

    ``steps`` is a list of ``ChainRuleStep``; ``len(trace)``, iteration and indexing go over it.
    ``names`` maps every node of the graph to its display name, ``order`` is the
    topological order (inputs first, root last), and ``grads`` maps every node to
    dL/d node as computed in this pass.
    """

    def __init__(self, root: Value, order: list[Value], names: dict[Value, str],
                 steps: list[ChainRuleStep], grads: dict[Value, float]) -> None:
        self.root = root
        self.order = order
        self.names = names
        self.steps = steps
        self.grads = grads

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[ChainRuleStep]:
        return iter(self.steps)

    def __getitem__(self, i: int) -> ChainRuleStep:
        return self.steps[i]

    def __repr__(self) -> str:
        return (f"<BackwardTrace of {self.names[self.root]} = "
                f"{format_number(self.root.data)}: {len(self.steps)} steps>")

    # ------------------------------------------------------------ tables
    _HEADER = ("#", "node", "op", "input", "local rule", "upstream", "local", "contribution",
               "grad", "chain rule")
    _NUMERIC = {0, 5, 6, 7, 8}

    def _rows(self) -> list[tuple[str, ...]]:
        return [(str(s.index + 1), s.node_name, s.op, s.input_name, s.rule,
                 format_number(s.upstream), format_number(s.local),
                 format_number(s.contribution), format_number(s.grad), s.formula)
                for s in self.steps]

    def _title(self) -> str:
        name = self.names[self.root]
        return (f"backward pass of {name} = {format_number(self.root.data)}: "
                f"{len(self.steps)} chain-rule step{'' if len(self.steps) == 1 else 's'}, "
                f"d{name}/d{name} = 1.0")

    def _note(self) -> str:
        """A line when the ``.grad`` a learner reads differs from this pass's gradient (leaves
        that added up several ``backward()`` calls), so the table is never taken for it."""
        grads = [node.grad for node in self.order]
        if not any(grads):  # backward() has not run: the table is what it would compute
            return ""
        differ = [self.names[node] for node, grad in zip(self.order, grads)
                  if not _same(grad, self.grads[node])]
        if not differ:
            return ""
        shown = ", ".join(differ[:5]) + (" ..." if len(differ) > 5 else "")
        return (f"note: the .grad of {shown} differs from this pass's gradient (leaves add up "
                "every backward() call; zero_grad() resets them)")

    def __str__(self) -> str:
        rows = [self._HEADER] + self._rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(self._HEADER))]
        lines = [self._title()] + [note for note in [self._note()] if note]
        for row in rows:
            cells = [cell.rjust(w) if i in self._NUMERIC else cell.ljust(w)
                     for i, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  ".join(cells).rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape  # labels are user text: never markup
        head = "".join(f"<th>{esc(h)}</th>" for h in self._HEADER)
        body = []
        for row in self._rows():
            cells = "".join(
                f'<td style="text-align:{"right" if i in self._NUMERIC else "left"}">'
                f"{esc(cell)}</td>" for i, cell in enumerate(row))
            body.append(f"<tr>{cells}</tr>")
        caption = "<br>".join(esc(line) for line in (self._title(), self._note()) if line)
        return (f'<table class="chainrule-trace"><caption>{caption}</caption>'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def explain(root: Value) -> BackwardTrace:
    """The chain-rule steps of ``root.backward()``: dL/dx += dL/dy * dy/dx, computed on the side.

    One step per (node, input) edge, in the order the engine applies them: nodes outputs first
    as ``backward()`` takes them (``autograd.backprop.backward_order``), each node's inputs in
    operand order. The local derivatives come from the op's row through
    ``autograd.backprop.chain_rule_step``, the step the engine takes, so a step's ``grad`` (the
    running sum within this pass) ends at exactly what ``backward()`` sets. Looking changes nothing: no node's ``.grad`` is touched, before or after
    ``backward()`` (leaves that accumulated several passes hold their sum).
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain() needs the Value to backpropagate from, got "
                        f"{type(root).__name__} {root!r:.40}")
    with graph_lock:  # one consistent graph while the steps are replayed
        order = topological_order(root)
        names = node_names(order)
        steps, grads = _replay(root, order, names)
    return BackwardTrace(root, order, names, steps, grads)


def _replay(root: Value, order: list[Value],
            names: dict[Value, str]) -> tuple[list[ChainRuleStep], dict[Value, float]]:
    """The steps of a backward pass from ``root``, computed without touching any ``.grad``
    (so a rule that fails leaves every gradient as it was)."""
    root_name = names[root]
    grads: dict[Value, float] = {root: 1.0}
    steps: list[ChainRuleStep] = []
    for node in backward_order(root):
        upstream = grads.get(node, 0.0)
        rules = local_rules(node, names)
        for position, (inp, local, contribution) in enumerate(chain_rule_step(node, upstream)):
            if contribution is None:  # no gradient flows through this input here
                local = contribution = 0.0
            elif inp in grads:
                grads[inp] += contribution
            else:  # the first contribution is the sum as it is, as in backward()
                grads[inp] = contribution
            running = grads.get(inp, 0.0)
            n, i = names[node], names[inp]
            formula = (f"d{root_name}/d{i} += d{root_name}/d{n} {DOT} ∂{n}/∂{i} = "
                       f"{factor(upstream)} {DOT} {factor(local)} = "
                       f"{format_number(contribution)}")
            steps.append(ChainRuleStep(len(steps), node, inp, position, node.op, n, i, upstream,
                                       local, rules[position], contribution, running,
                                       formula))
    for node in order:
        grads.setdefault(node, 0.0)  # reached by no step (its consumers pass nothing back)
    return steps, grads

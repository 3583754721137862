"""explain(): the backward pass written out as the chain-rule steps it applies, one per edge.

Backpropagation visits the nodes in reverse topological order; at each node it multiplies the
node's gradient (the *upstream* gradient, dL/dnode) by the local derivative of the node with
respect to each input (from the op table), and adds that *contribution* into the input's
gradient:

    dL/dinput += dL/dnode * dnode/dinput

``explain(root)`` runs the engine's backward pass and returns these steps as data, as an aligned
text table (``str``) and as an HTML table (Jupyter).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Iterator

from autograd.backprop import backward, local_grads, topological_order
from autograd.names import node_names
from autograd.value import Value

__all__ = ["explain", "BackwardTrace", "Step", "format_number"]

DOT = "\u00b7"  # the multiplication dot of the formulas


def format_number(x: float) -> str:
    """A number as a teacher writes it: 6 significant digits, integers as ``6.0``."""
    try:
        return repr(float(format(x, ".6g")))
    except (TypeError, ValueError):
        return str(x)


def _factor(x: float) -> str:
    """A factor of a product: negative numbers in parentheses, ``2.0 · (-3.0)``."""
    text = format_number(x)
    return f"({text})" if text.startswith("-") else text


@dataclass(frozen=True, eq=False)
class Step:
    """One application of the chain rule: ``dL/d input += dL/d node * d node/d input``.

    Fields:
        index: position in the backward pass (0 for the first step).
        node: the Value being processed (its gradient is final when it is processed).
        input: the input of ``node`` that receives the contribution.
        position: which operand of ``node`` ``input`` is (0 for the first).
        op: the operation that made ``node`` ("*", "tanh", "**2", ...).
        node_name, input_name: display names (labels, or a, b, c ... for unlabelled nodes).
        upstream: dL/d node, the gradient flowing into ``node`` from the output.
        local: d node / d input, from the op table's local-derivative rule.
        contribution: ``upstream * local``, what this step adds to the input's gradient.
        grad: dL/d input in this pass after adding the contribution (the running sum).
        formula: the step written out, e.g. ``dL/da += dL/dc · dc/da = 2.0 · 3.0 = 6.0``.
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
    contribution: float
    grad: float
    formula: str


class BackwardTrace:
    """The chain-rule steps of one backward pass, in the order they were applied.

    ``steps`` is a list of ``Step``; ``len(trace)``, iteration and indexing go over it.
    ``names`` maps every node of the graph to its display name, ``order`` is the
    topological order (inputs first, root last), and ``grads`` maps every node to
    dL/d node as computed in this pass.
    """

    def __init__(self, root: Value, order: list[Value], names: dict[Value, str],
                 steps: list[Step], grads: dict[Value, float]) -> None:
        self.root = root
        self.order = order
        self.names = names
        self.steps = steps
        self.grads = grads

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __getitem__(self, i: int) -> Step:
        return self.steps[i]

    def __repr__(self) -> str:
        return (f"<BackwardTrace of {self.names[self.root]} = "
                f"{format_number(self.root.data)}: {len(self.steps)} steps>")

    # ------------------------------------------------------------ tables
    _HEADER = ("#", "node", "op", "input", "upstream", "local", "contribution", "grad",
               "chain rule")
    _NUMERIC = {0, 4, 5, 6, 7}

    def _rows(self) -> list[tuple[str, ...]]:
        return [(str(s.index + 1), s.node_name, s.op, s.input_name,
                 format_number(s.upstream), format_number(s.local),
                 format_number(s.contribution), format_number(s.grad), s.formula)
                for s in self.steps]

    def _title(self) -> str:
        name = self.names[self.root]
        return (f"backward pass of {name} = {format_number(self.root.data)}: "
                f"{len(self.steps)} chain-rule steps, d{name}/d{name} = 1.0")

    def __str__(self) -> str:
        rows = [self._HEADER] + self._rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(self._HEADER))]
        lines = [self._title()]
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
        return (f'<table class="chainrule-trace"><caption>{esc(self._title())}</caption>'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def explain(root: Value) -> BackwardTrace:
    """Run ``root.backward()`` and return its chain-rule steps: dL/dx += dL/dy * dy/dx.

    One step per (node, input) edge, in the order the engine applies them: nodes in reverse
    topological order, each node's inputs in operand order. The local derivatives come from
    the op table (``autograd.backprop.local_grads``), the same rule the engine uses. The
    ``.grad`` of every node is set exactly as ``root.backward()`` sets it (intermediate nodes
    reset, leaves accumulate); a step's ``grad`` is the running sum within this pass.
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain() needs the Value to backpropagate from, got "
                        f"{type(root).__name__} {root!r:.40}")
    order = topological_order(root)
    names = node_names(order)
    root_name = names[root]
    grads: dict[Value, float] = {node: 0.0 for node in order}
    grads[root] = 1.0
    steps: list[Step] = []
    # Replay the pass first (it changes nothing), then let the engine set the .grads: if a
    # rule fails, no gradient is left half-updated.
    for node in reversed(order):
        if node.is_leaf:
            continue
        upstream = grads[node]
        try:
            locals_ = local_grads(node)
        except (ArithmeticError, ValueError) as error:
            raise type(error)(f"{error} (in the backward pass through the {node.op!r} node "
                              f"{names[node]!r} with input data "
                              f"{[v.data for v in node.inputs]})") from error
        for position, (inp, local) in enumerate(zip(node.inputs, locals_)):
            contribution = upstream * local
            grads[inp] += contribution
            n, i = names[node], names[inp]
            formula = (f"d{root_name}/d{i} += d{root_name}/d{n} {DOT} d{n}/d{i} = "
                       f"{_factor(upstream)} {DOT} {_factor(local)} = "
                       f"{format_number(contribution)}")
            steps.append(Step(len(steps), node, inp, position, node.op, n, i, upstream,
                              local, contribution, grads[inp], formula))
    backward(root)
    return BackwardTrace(root, order, names, steps, grads)

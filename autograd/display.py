"""How graphs are shown to people: one name per node, one way to write a number, rule text.

Traces, pictures, the stepper and the command line all use these, so a learner sees the same
name and the same digits for the same number everywhere.
"""

from __future__ import annotations

import math
import string
from typing import Iterable

from autograd.symbolic import to_text
from autograd.value import Value

__all__ = ["node_names", "format_number", "local_rules"]


def node_names(order: Iterable[Value]) -> dict[Value, str]:
    """A name for every node: its label if set, else a, b, c, ... (then v27, v28, ...).

    Automatic names skip those the user already chose as labels, so every name in one
    graph is unique as long as the labels are.
    """
    nodes = list(order)
    taken = {node.label for node in nodes if node.label}
    automatic = (name for name in _candidates() if name not in taken)
    return {node: node.label or next(automatic) for node in nodes}


def _candidates() -> Iterable[str]:
    yield from string.ascii_lowercase
    n = len(string.ascii_lowercase)
    while True:
        n += 1
        yield f"v{n}"


def format_number(x: float) -> str:
    """A number as a teacher writes it: 4 significant digits, at least one decimal.

    ``6.0``, ``-0.7071``, ``138.8``, ``0.001``; e-notation below 1e-4 and from 1e6 up
    (``1e-07``, ``1.235e+06``); ``inf``, ``nan``; never ``-0.0``.
    """
    x = float(x)
    if not math.isfinite(x):
        return repr(x)
    if x == 0.0:
        return "0.0"
    magnitude = abs(x)
    if not 1e-4 <= magnitude < 1e6:
        return f"{x:.4g}"
    decimals = max(1, 3 - math.floor(math.log10(magnitude)))
    text = f"{x:.{decimals}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def local_rules(node: Value, names: dict[Value, str]) -> list[str]:
    """The local derivative of ``node`` by each input as a formula in the graph's names.

    ``["∂c/∂a = b", "∂c/∂b = a"]`` for ``c = a * b``; ``""`` for an input whose rule can't be
    read symbolically (a user's op whose rule branches in Python).
    """
    rule = node.rule
    if rule is None:
        return []
    symbolic = rule.symbolic(node.op_param)
    inputs = node.inputs
    if symbolic.local_grads is None:
        return [""] * len(inputs)
    rename = {sym: names[inp] for sym, inp in zip(symbolic.inputs, inputs)}
    rename["out"] = names[node]
    return [f"∂{names[node]}/∂{names[inp]} = {to_text(local, rename)}"
            for inp, local in zip(inputs, symbolic.local_grads)]

"""Short display names for the nodes of a graph, shared by traces, pictures and the stepper."""

from __future__ import annotations

import string
from typing import Iterable

from autograd.value import Value

__all__ = ["node_names"]


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

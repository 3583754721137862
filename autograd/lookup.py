"""Finding a node by the name a learner reads, as ``Exercise`` and ``paths`` take it.

A name is the node's display name (``autograd.display.node_names``). A label that several
nodes share is refused, never resolved to one of them silently: the message lists the names
the tools show for each of them.
"""

from __future__ import annotations

import difflib
from collections import defaultdict

from autograd.value import Value

__all__ = ["NameIndex"]


class NameIndex:
    """The nodes of one graph by display name, and the labels that several nodes share."""

    def __init__(self, names: dict[Value, str], root_name: str) -> None:
        self.root_name = root_name
        self.by_name = {name: node for node, name in names.items()}
        labelled: dict[str, list[str]] = defaultdict(list)
        for node, name in names.items():
            if node.label:
                labelled[node.label].append(name)
        #: label -> the display names of the nodes that carry it, for labels on 2+ nodes
        self.shared = {label: shown for label, shown in labelled.items() if len(shown) > 1}

    def find(self, name: str, where: str) -> Value:
        """The node called ``name``; KeyError if none is, ValueError if several are."""
        shown = self.shared.get(name)
        if shown is not None:
            raise ValueError(
                f"{where}: {name!r} is ambiguous: {len(shown)} nodes of the graph of "
                f"{self.root_name} are labelled {name!r}, shown as "
                f"{', '.join(map(repr, shown))}. Give the Value itself instead of its name, "
                f"or give the nodes different labels")
        node = self.by_name.get(name)
        if node is not None:
            return node
        known = list(self.by_name)
        close = difflib.get_close_matches(name, known, n=3)
        hint = (f"; did you mean {', '.join(map(repr, close))}?" if close else
                f"; the nodes are {', '.join(map(repr, known[:12]))}"
                + (" ..." if len(known) > 12 else ""))
        raise KeyError(f"{where}: no node named {name!r} in the graph of {self.root_name}{hint}")

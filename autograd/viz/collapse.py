"""Folding the nodes an ``nn`` module made into one group per neuron or per layer.

The ``nn`` modules tag Values with ``_scope``, the tuple of owning modules outermost first:
a parameter leaf and every output of a Neuron/Layer/MLP call carry e.g. ``(mlp, layer,
neuron)``; the intermediate nodes of a call are untagged. A group is then everything "behind"
a tagged output that only feeds that group: walking the graph from the output towards the
inputs, untagged nodes join while all their consumers are in the group; other tagged outputs
and labelled input leaves stay outside. Parameters always join their owning group, and so
does a node computed from one group alone (the ``p * p`` of an L2 penalty).

Long sums (``sum()`` of many terms: a loss over a batch, an L2 penalty) fold too, into one
"sum of N terms" node: a chain of ``+`` nodes in which each running total is used only by
the next ``+``.
"""

from __future__ import annotations

from typing import Any, Optional

from autograd.value import Value

__all__ = ["Group", "fold", "LEVELS"]

LEVELS = ("neuron", "layer")


class Group:
    """The Values one module call made, drawn as a single summary node."""

    __slots__ = ("key", "modules", "kind", "path", "outputs", "members", "n_params", "n_terms",
                 "index")

    def __init__(self, key: int, modules: tuple, kind: str = "") -> None:
        self.key = key                    # id() of the module (a dict key only, never shown)
        self.modules = modules            # the module and its owners, outermost first
        # "neuron", "layer", ... or "sum" for a folded sum (which has no module)
        self.kind = kind or type(modules[-1]).__name__.lower()
        self.path = ""                    # "L1.N3": set by fold()
        self.outputs: list[Value] = []    # tagged outputs, in topological order
        self.members: list[Value] = []    # every folded Value, in topological order
        self.n_params = 0
        self.n_terms = 0                  # for a folded sum: how many terms it adds
        self.index = 0                    # topological index of the first output (the DOT id)

    @property
    def name(self) -> str:
        """What the picture calls this group, e.g. ``neuron L1.N3`` or ``sum of 337 terms``."""
        if self.kind == "sum":
            return f"sum of {self.n_terms} terms"
        return f"{self.kind} {self.path}"


def _scope(node: Value) -> Optional[tuple]:
    scope = getattr(node, "_scope", None)
    return scope if isinstance(scope, tuple) and scope else None


def _modules_at(scope: tuple, level: str) -> tuple:
    # A neuron is the innermost module; a layer is the one around it (if there is one).
    if level == "layer" and len(scope) > 1:
        return scope[:-1]
    return scope


def _owner(scope: tuple, level: str) -> tuple[int, tuple]:
    """The key of the group a scope belongs to, and the modules down to that group's module.

    Keyed by the module alone: a hidden layer's outputs carry ``(layer, neuron)`` while its
    parameters carry ``(mlp, layer, neuron)``, and both belong to the same neuron.
    """
    modules = _modules_at(scope, level)
    return id(modules[-1]), modules


def fold(order: list[Value], level: str) -> tuple[dict[Value, Group], list[Group]]:
    """Which group (if any) each Value of ``order`` folds into, and the groups in order.

    ``order`` is ``topological_order(root)``; ``level`` is ``"neuron"`` or ``"layer"``.
    """
    index = {node: i for i, node in enumerate(order)}
    consumers: dict[Value, list[Value]] = {node: [] for node in order}
    for node in order:
        for inp in node.inputs:
            consumers[inp].append(node)

    groups: dict[tuple, Group] = {}
    group_of: dict[Value, Group] = {}
    root = order[-1]
    # Consumers before inputs, so a node's consumers are decided when the node is.
    for node in reversed(order):
        scope = _scope(node)
        if scope is not None and node._rule is not None:          # an output of a module call
            key, modules = _owner(scope, level)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key, modules)
            elif len(modules) > len(group.modules):
                group.modules = modules
            group_of[node] = group
            group.outputs.append(node)
        elif scope is not None:                                    # a parameter
            key, modules = _owner(scope, level)
            group = groups.get(key)
            if group is not None:
                group_of[node] = group
                group.n_params += 1
                if len(modules) > len(group.modules):   # the fullest path names the group
                    group.modules = modules
        elif node is not root and not (node._rule is None and node.label):
            users = consumers[node]
            first = group_of.get(users[0]) if users else None
            if first is None or any(group_of.get(u) is not first for u in users):
                continue
            # A leaf constant joins only if private to one node (the 0 that starts a sum);
            # data fed to many neurons stays visible.
            if node._rule is None and len(users) > 1:
                continue
            group_of[node] = first

    for node in order:  # inputs first, so a function of a function of a group joins too
        if node is root or node in group_of or node._rule is None or _scope(node) is not None:
            continue
        owners = {group_of.get(inp) for inp in node.inputs}
        if len(owners) == 1 and None not in owners:
            group_of[node] = owners.pop()

    sums = _fold_sums(order, consumers, group_of)
    for node in order:
        group = group_of.get(node)
        if group is not None:
            group.members.append(node)
    ordered = sorted([*groups.values(), *sums], key=lambda g: index[min(g.outputs, key=index.get)])
    for group in ordered:
        group.outputs.sort(key=index.get)
        group.index = index[group.outputs[0]]
    _name_groups(ordered)
    return group_of, ordered


def _fold_sums(order: list[Value], consumers: dict[Value, list[Value]],
               group_of: dict[Value, Group], min_terms: int = 4) -> list[Group]:
    """Fold each chain ``((t1 + t2) + t3) + ...`` of at least ``min_terms`` terms into a group.

    Python's ``sum()`` builds exactly that chain (starting from a constant 0): the running
    total is the first operand of the next ``+`` and has no other use.
    """
    def running_total(node: Value) -> Value | None:
        total = node.inputs[0] if node.op == "+" else None
        if (total is not None and total.op == "+" and total not in group_of
                and consumers[total] == [node]):
            return total
        return None

    sums = []
    taken: set[Value] = set()
    for head in reversed(order):  # outputs first: each chain is found from its last +
        if head.op != "+" or head in group_of or head in taken:
            continue
        chain = [head]
        while (total := running_total(chain[-1])) is not None:
            chain.append(total)
        if len(chain) + 1 < min_terms:
            continue
        group = Group(id(head), (), kind="sum")
        group.outputs.append(head)
        for node in chain:
            taken.add(node)
            group_of[node] = group
        for node in chain:
            for inp in node.inputs:
                if group_of.get(inp) is group:
                    continue
                if inp._rule is None and not inp.label and consumers[inp] == [node]:
                    group_of[inp] = group  # the 0 that starts sum(), private to the chain
                else:
                    group.n_terms += 1
        sums.append(group)
    return sums


_LETTERS = {"layer": "L", "neuron": "N", "mlp": "M"}


def _name_groups(groups: list[Group]) -> None:
    """Give each group a path such as ``L1.N3`` from its position inside its parent modules.

    The position comes from the parent's ``layers``/``neurons`` list when it has one, else
    from the order in which the groups appear in the graph.
    """
    seen: dict[tuple, dict[int, int]] = {}   # parent key -> child id -> 1-based position

    def position(parent: Any, parent_key: tuple, child: Any) -> int:
        for attr in ("layers", "neurons", "modules", "children"):
            seq = getattr(parent, attr, None) if parent is not None else None
            if isinstance(seq, (list, tuple)):
                for i, item in enumerate(seq):
                    if item is child:
                        return i + 1
        siblings = seen.setdefault(parent_key, {})
        return siblings.setdefault(id(child), len(siblings) + 1)

    for group in groups:
        if group.kind == "sum":
            continue
        parts = []
        mods = group.modules
        start = 1 if len(mods) > 1 else 0    # the outermost module (the MLP) needs no number
        for k in range(start, len(mods)):
            parent = mods[k - 1] if k > 0 else None
            letter = _LETTERS.get(type(mods[k]).__name__.lower(), type(mods[k]).__name__[:1])
            parent_key = tuple(id(m) for m in mods[:k])
            parts.append(f"{letter}{position(parent, parent_key, mods[k])}")
        group.path = ".".join(parts)

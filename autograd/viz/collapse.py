"""Folding the nodes that one scope (an ``nn`` neuron, a layer ...) made into one group.

Values say where they were made through ``Value.scope`` (an ``autograd.Scope``: a kind such
as ``neuron``, a name such as ``N3``, a parent). ``collapse="neuron"`` groups by the nearest
scope of kind ``neuron``, and so on for any kind a library declares. A parameter leaf and
every output of a module call carry a scope; the intermediate nodes of a call carry none. A
group is then everything "behind" a tagged output that only feeds that group: walking the
graph from the output towards the inputs, untagged nodes join while all their consumers are
in the group; other tagged outputs and labelled input leaves stay outside. Parameters always
join their owning group, and so does a node computed from one group alone (the ``p * p`` of
an L2 penalty).

Long sums (``sum()`` of many terms: a loss over a batch, an L2 penalty) fold too, into one
"sum of N terms" node: a chain of ``+`` nodes in which each running total is used only by
the next ``+``.
"""

from __future__ import annotations

from typing import Optional

from autograd.display import VALUE_KINDS
from autograd.value import Scope, Value

__all__ = ["Group", "fold", "scope_kinds"]


class Group:
    """The Values one scope made, drawn as a single summary node."""

    __slots__ = ("scope", "kind", "path", "outputs", "members", "n_params", "n_terms", "index")

    def __init__(self, scope: Optional[Scope], kind: str = "") -> None:
        self.scope = scope                # the scope folded (None for a folded sum)
        # "neuron", "layer", ... or "sum" / "examples" (folded without a scope)
        self.kind = kind or (scope.kind if scope is not None else "")
        self.path = scope.path if scope is not None else ""   # "L1.N3"
        self.outputs: list[Value] = []    # tagged outputs, in topological order
        self.members: list[Value] = []    # every folded Value, in topological order
        self.n_params = 0
        self.n_terms = 0                  # a folded sum's terms, or the examples folded
        self.index = 0                    # topological index of the first output (the DOT id)

    @property
    def name(self) -> str:
        """What the picture calls this group, e.g. ``neuron L1.N3`` or ``sum of 337 terms``."""
        if self.kind == "sum":
            return f"sum of {self.n_terms} terms"
        if self.kind == "examples":
            return f"examples 2 … {self.n_terms + 1} (× {self.n_terms})"
        return f"{self.kind} {self.path}".rstrip()


def scope_kinds(order: list[Value]) -> set[str]:
    """Every kind of scope that some node of ``order`` was made in (its own or a parent)."""
    kinds: set[str] = set()
    seen: set[int] = set()
    for node in order:
        scope = node.scope
        while scope is not None and id(scope) not in seen:
            seen.add(id(scope))
            kinds.add(scope.kind)
            scope = scope.parent
    return kinds


def fold(order: list[Value], level: str) -> tuple[dict[Value, Group], list[Group]]:
    """Which group (if any) each Value of ``order`` folds into, and the groups in order.

    ``order`` is ``topological_order(root)``; ``level`` is a scope kind (``"neuron"``,
    ``"layer"`` ...): each Value goes with the nearest scope of that kind it was made in.
    ``level="example"`` keeps the first example of a batch loss (folded by neuron) and folds
    every other example into one group (see ``batch_examples``).
    """
    index = {node: i for i, node in enumerate(order)}
    consumers: dict[Value, list[Value]] = {node: [] for node in order}
    for node in order:
        for inp in node.inputs:
            consumers[inp].append(node)

    group_of: dict[Value, Group] = {}
    extra: list[Group] = []
    if level == "example":
        level = "neuron"
        examples = batch_examples(order, consumers)
        if len(examples) > 1:
            rest = Group(None, kind="examples")
            rest.n_terms = len(examples) - 1
            for term, private in examples[1:]:
                rest.outputs.append(term)
                for node in private:
                    group_of[node] = rest
            extra.append(rest)
    pinned = set(group_of)

    groups: dict[Scope, Group] = {}
    root = order[-1]
    # Consumers before inputs, so a node's consumers are decided when the node is.
    for node in reversed(order):
        if node in pinned:
            continue
        scope = node.scope.find(level) if node.scope is not None else None
        if scope is not None and not node.is_leaf:                # an output of a module call
            group = groups.get(scope)
            if group is None:
                group = groups[scope] = Group(scope)
            group_of[node] = group
            group.outputs.append(node)
        elif scope is not None:                                    # a parameter
            group = groups.get(scope)
            if group is not None:
                group_of[node] = group
                group.n_params += 1
        elif node.scope is None and node is not root and not (node.is_leaf and node.label):
            users = consumers[node]
            first = group_of.get(users[0]) if users else None
            if first is None or any(group_of.get(u) is not first for u in users):
                continue
            # A leaf constant joins only if private to one node (the 0 that starts a sum);
            # data fed to many neurons stays visible.
            if node.is_leaf and len(users) > 1:
                continue
            group_of[node] = first

    for node in order:  # inputs first, so a function of a function of a group joins too
        if node is root or node in group_of or node.is_leaf or node.scope is not None:
            continue
        owners = {group_of.get(inp) for inp in node.inputs}
        if len(owners) == 1 and None not in owners:
            group_of[node] = owners.pop()

    sums = _fold_sums(order, consumers, group_of)
    for node in order:
        group = group_of.get(node)
        if group is not None:
            group.members.append(node)
    ordered = sorted([*groups.values(), *sums, *extra],
                     key=lambda g: index[min(g.outputs, key=index.get)])
    for group in ordered:
        group.outputs.sort(key=index.get)
        group.index = index[group.outputs[0]]
    return group_of, ordered


def batch_examples(order: list[Value],
                   consumers: dict[Value, list[Value]]) -> list[tuple[Value, list[Value]]]:
    """The examples of a batch loss: for each term of its batch sum, the term and the nodes
    that only it computes from (its inputs, its forward pass through the model), in order.

    The batch sum is the chain ``t1 + t2 + ...`` (Python's ``sum()``, a mean's numerator)
    whose terms run a model (have a module's output among their private nodes) and, of those,
    the one with the most terms. Parameters, used by every example, belong to none. Empty
    if there is no such sum.
    """
    index = {node: i for i, node in enumerate(order)}
    best: list[tuple[Value, list[Value]]] = []
    seen: set[Value] = set()
    for head in reversed(order):
        if head.op != "+" or head in seen:
            continue
        terms, node = [], head
        while node.op == "+":
            seen.add(node)
            terms.append(node.inputs[1])
            total = node.inputs[0]
            if total.op != "+" or consumers[total] != [node]:
                terms.append(total)
                break
            node = total
        terms = [t for t in reversed(terms) if not t.is_leaf]   # the 0 that starts sum()
        if len(terms) < 2 or len(terms) <= len(best):
            continue
        examples = _private_nodes(terms)
        if all(any(n.scope is not None and n.scope.kind not in VALUE_KINDS for n in private)
               for _, private in examples):
            best = [(term, sorted(private, key=index.get)) for term, private in examples]
    return best


def _private_nodes(terms: list[Value]) -> list[tuple[Value, list[Value]]]:
    """For each term, the nodes reached (towards the inputs) from it and from no other term."""
    SHARED = -1
    owner: dict[Value, int] = {}
    for k, term in enumerate(terms):
        stack = [term]
        while stack:
            node = stack.pop()
            mark = owner.get(node)
            if mark == k or mark == SHARED:
                continue
            owner[node] = k if mark is None else SHARED
            stack.extend(node.inputs)
    private: list[list[Value]] = [[] for _ in terms]
    for node, k in owner.items():
        if k != SHARED:
            private[k].append(node)
    return list(zip(terms, private))


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
        group = Group(None, kind="sum")
        group.outputs.append(head)
        for node in chain:
            taken.add(node)
            group_of[node] = group
        for node in chain:
            for inp in node.inputs:
                if group_of.get(inp) is group:
                    continue
                if inp.is_leaf and not inp.label and consumers[inp] == [node]:
                    group_of[inp] = group  # the 0 that starts sum(), private to the chain
                else:
                    group.n_terms += 1
        sums.append(group)
    return sums

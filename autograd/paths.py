"""paths(): the multivariable chain rule made visible, one path from x to the output at a time.

dL/dx is a sum over every path from x to L of the product of the local derivatives along
it. Backprop never lists the paths (it sums them node by node, which is why it is fast);
this does, for small graphs, so a learner sees why a node used twice gets two terms:

    x is used twice: 2 paths, (-2.0) + 6.0 = 4.0

The number of paths grows exponentially with depth when nodes are shared, so ``paths``
counts them first and refuses above ``max_paths``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Iterator, Union

from autograd.backprop import graph_lock, topological_order
from autograd.display import factor, format_number, node_names, operand_note, times
from autograd.lookup import NameIndex
from autograd.trace import ChainRuleStep, _replay
from autograd.value import Value

__all__ = ["paths", "GradientPath", "GradientPaths"]


@dataclass(frozen=True)
class GradientPath:
    """One path from x to the output: ``steps`` are the chain-rule steps along it (x's edge
    first), ``nodes`` the nodes from x to the output, ``product`` the product of the local
    derivatives (0.0 through an edge where no gradient flows)."""
    steps: tuple[ChainRuleStep, ...]
    nodes: tuple[str, ...]
    product: float

    def formula(self) -> str:
        """``x → c → L: ∂c/∂x · ∂L/∂c = 3.0 · (-2.0) = -6.0``."""
        if not self.steps:
            return f"{self.nodes[0]}: the output itself, 1.0"
        rules = " · ".join(f"∂{s.node_name}/∂{s.input_name}{operand_note(s.node, s.position)}"
                           for s in self.steps)
        numbers = " · ".join(factor(s.local) for s in self.steps)
        return (f"{' → '.join(self.nodes)}: {rules} = {numbers} = "
                f"{format_number(self.product)}")


class GradientPaths:
    """Every path from ``x`` to ``root``; their products sum to ``grad`` = d root / d x."""

    def __init__(self, root_name: str, x_name: str, found: list[GradientPath],
                 grad: float) -> None:
        self.root_name, self.x_name = root_name, x_name
        self.paths = found
        self.grad = grad

    @property
    def total(self) -> float:
        """The sum of the paths' products (equal to ``grad`` up to rounding)."""
        return math.fsum(p.product for p in self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[GradientPath]:
        return iter(self.paths)

    def __getitem__(self, i: int) -> GradientPath:
        return self.paths[i]

    def summary(self) -> str:
        """``x is used twice: 2 paths, (-2.0) + 6.0 = 4.0 = dL/dx``."""
        r, x, n = self.root_name, self.x_name, len(self.paths)
        if n == 0:
            return f"{x} does not reach {r}: no path, d{r}/d{x} = 0.0"
        terms = " + ".join(factor(p.product) for p in self.paths)
        head = f"{n} path{'s' if n > 1 else ''}"
        uses = len({(p.steps[0].node, p.steps[0].position) for p in self.paths if p.steps})
        if uses > 1:
            head = f"{x} is used {times(uses)}: " + head
        return f"{head}, {terms} = {format_number(self.grad)} = d{r}/d{x}"

    def __str__(self) -> str:
        return "\n".join([self.summary()] + [f"  {p.formula()}" for p in self.paths])

    __repr__ = __str__  # the REPL shows the paths themselves (there are at most max_paths)

    def _repr_html_(self) -> str:
        esc = html.escape  # names are user text
        rows = "".join(f"<li><code>{esc(p.formula())}</code></li>" for p in self.paths)
        return (f'<div class="chainrule-paths"><p>{esc(self.summary())}</p>'
                f"<ol>{rows}</ol></div>")


def paths(root: Value, x: Union[Value, str], max_paths: int = 1000) -> GradientPaths:
    """Every path from ``x`` to ``root`` with its local derivatives and their product:
    d root/dx = sum over paths of prod over its edges of d out/d in.

    ``x`` is a Value or a node's name (as ``explain`` shows it; a label that several nodes
    share is refused). Refuses with ValueError when there are more than ``max_paths`` paths
    (they grow exponentially with depth: counted up to the limit, so a count of thousands of
    digits is never formed). Touches no ``.grad``.
    """
    if not isinstance(root, Value):
        raise TypeError(f"paths() needs the output Value first, got {type(root).__name__} "
                        f"{root!r:.40}")
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 1:
        raise ValueError(f"max_paths must be a positive int, got {max_paths!r}")
    with graph_lock:
        order = topological_order(root)
        names = node_names(order)
        node = _find(x, names, root)
        r = names[root]
        name = names.get(node) or node.label or "x"
        position = {v: i for i, v in enumerate(order)}
        if node not in position:
            return GradientPaths(r, name, [], 0.0)
        # Count first (the paths from x into each node), so a huge number is refused at once.
        count = _count_paths(order, node, position, max_paths)
        if count[root] > max_paths:
            raise ValueError(
                f"{name} reaches {r} along {_how_many(order, node, position)} paths, more than "
                f"max_paths={max_paths}: the number of paths multiplies at every shared "
                f"node. Backprop sums them node by node instead: see explain({r}); or pass "
                f"a larger max_paths")
        steps, grads = _replay(root, order, names)
    uses: dict[Value, list[ChainRuleStep]] = {v: [] for v in order}
    for step in steps:
        if count[step.input]:
            uses[step.input].append(step)
    # The product from the output down, in the order backprop multiplies.
    found = [GradientPath(tuple(chain), tuple([name] + [s.node_name for s in chain]),
                          math.prod(s.local for s in reversed(chain)))
             for chain in _walk(node, root, uses)]
    return GradientPaths(r, name, found, grads[node])


def _count_paths(order: list[Value], start: Value, position: dict[Value, int],
                 max_paths: int) -> dict[Value, int]:
    """How many paths lead from ``start`` into each node, counted up to ``max_paths + 1``
    (beyond it the exact number, which can have thousands of digits, is never needed)."""
    cap = max_paths + 1
    count = {v: 0 for v in order}
    count[start] = 1
    for v in order[position[start] + 1:]:
        count[v] = min(cap, sum(count[inp] for inp in v.inputs))
    return count


def _how_many(order: list[Value], start: Value, position: dict[Value, int]) -> str:
    """The number of paths from ``start`` to the output in words: exact up to 10^15
    (``1,099,511,627,776``), else its power of ten (``about 10^4,515``), counted in
    logarithms so no huge number is ever formed."""
    exact = _count_paths(order, start, position, 10 ** 15)[order[-1]]
    if exact <= 10 ** 15:
        return f"{exact:,}"
    log10 = {v: -math.inf for v in order}  # log10 of the number of paths into v
    log10[start] = 0.0
    for v in order[position[start] + 1:]:
        logs = [log10[inp] for inp in v.inputs if log10[inp] > -math.inf]
        if logs:
            top = max(logs)
            log10[v] = top + math.log10(math.fsum(10.0 ** (x - top) for x in logs))
    return f"about 10^{math.floor(log10[order[-1]]):,}"


def _walk(start: Value, root: Value,
          uses: dict[Value, list[ChainRuleStep]]) -> Iterator[list[ChainRuleStep]]:
    """Every chain of steps from ``start`` up to ``root``, depth first, iteratively."""
    stack: list[tuple[Value, list[ChainRuleStep]]] = [(start, [])]
    while stack:
        node, chain = stack.pop()
        if node is root:
            yield chain
            continue
        for step in reversed(uses[node]):  # reversed: popped in the order of the uses
            stack.append((step.node, chain + [step]))


def _find(x: Union[Value, str], names: dict[Value, str], root: Value) -> Value:
    if isinstance(x, Value):
        return x  # a Value outside the graph has no path: 0 paths
    if isinstance(x, str):
        return NameIndex(names, names[root]).find(x, "paths()")
    raise TypeError(f"paths(): x must be a Value or a node's name, got {type(x).__name__} "
                    f"{x!r:.40}")

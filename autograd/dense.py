"""Dense layers in a traced scalar graph: m weighted sums over the same n inputs.

A layer built from scalar Values is m neurons, each ``z_j = b_j + w_j0 x_0 + ... + w_j,n-1 x_n-1``
over the same inputs ``x``. For a batch ``X`` (rows x n) that is one matrix product, and its
backward pass is two more::

    forward:   Z = X @ W.T + b        H = act(Z)           (act applied element by element)
    backward:  dZ = dH * act'(Z)      dW = dZ.T @ X        db = dZ.sum(0)        dX = dZ @ W

``find_dense_layers`` finds these groups from the graph's structure alone, so it does not
assume that the graph came from an ``nn`` model: a sum qualifies when every term but an
optional first one (the bias) is a weight times a value that differs from row to row, the
weights and the bias are leaves read by nothing else, and the partial sums and products are
read by nothing else either. Sums over the same inputs, in the same order, form one layer.
The compiler (``autograd.compiler``) writes each layer as the three lines above and
everything else node by node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from autograd import ops
from autograd.ops import Op
from autograd.value import Value

__all__ = ["DenseLayer", "find_dense_layers"]


@dataclass
class DenseLayer:
    """``H = act(X @ W.T + b)`` in a graph: which nodes play which part."""

    inputs: list[Value]                 # x_0 .. x_{n-1}, read by every neuron
    weights: list[list[Value]]          # W[j][i], leaves
    biases: Optional[list[Value]]       # b_j, leaves; None for sums without a bias
    sums: list[Value]                   # z_j
    activation: Optional[Value] = None  # one of the act(z_j) nodes (its op for all), or None
    outputs: list[Value] = field(default_factory=list)  # act(z_j), or z_j without act
    inner: set[Value] = field(default_factory=set)       # partial sums and products (and z_j
    # when an activation follows): never computed one by one

    @property
    def nodes(self) -> set[Value]:
        """Every node the layer computes (its outputs included)."""
        return self.inner | set(self.outputs)

    @property
    def leaves(self) -> list[Value]:
        """The weights row by row, then the biases: the layer's parameters."""
        flat = [w for row in self.weights for w in row]
        return flat + (self.biases or [])


def find_dense_layers(order: Sequence[Value], varies: set[Value], count: dict[Value, int],
                      keep: set[Value], vectorizable: Callable[[Op, Any], bool]
                      ) -> list[DenseLayer]:
    """The dense layers of a graph given inputs-first (``order``), in order of appearance.

    ``varies``: the nodes that differ from row to row; ``count[node]``: how many times the
    graph reads it; ``keep``: nodes read from outside the graph (outputs, extras), which must
    stay single values; ``vectorizable(op, param)``: whether an activation can run on a
    matrix.
    """
    def private(node: Value) -> bool:  # read once, inside the sum it belongs to
        return count.get(node, 0) == 1 and node not in keep

    def parameter(node: Value) -> bool:
        return node.is_leaf and node not in varies and private(node)

    consumer: dict[Value, Value] = {}
    for node in order:
        for inp in node.inputs:
            consumer[inp] = node
    groups: dict[tuple[tuple[Value, ...], bool], list[tuple[Value, list, Any, set]]] = {}
    claimed: set[Value] = set()
    for node in reversed(order):  # a sum's last addition is met before its partial sums
        if node in claimed or node.rule is not ops.ADD:
            continue
        found = _weighted_sum(node, private, parameter, varies)
        if found is None:
            continue
        inputs, weights, bias, inner = found
        claimed |= inner
        groups.setdefault((inputs, bias is not None), []).append((node, weights, bias, inner))
    position = {node: k for k, node in enumerate(order)}
    layers = []
    for (inputs, has_bias), members in groups.items():
        if len(members) * len(inputs) < 2:
            continue  # b + w x: nothing to gain
        members.sort(key=lambda member: position[member[0]])
        sums = [z for z, _, _, _ in members]
        layer = DenseLayer(list(inputs), [w for _, w, _, _ in members],
                           [b for _, _, b, _ in members] if has_bias else None, sums,
                           outputs=sums, inner=set().union(*(m[3] for m in members)))
        after = [consumer.get(z) for z in sums]
        first = after[0]
        if (first is not None and first.rule is not None and first.rule.arity == 1
                and all(private(z) for z in sums)
                and all(a is not None and a.rule is first.rule and a.op_param == first.op_param
                        for a in after)
                and vectorizable(first.rule, first.op_param)):
            layer.activation = first
            layer.outputs = after
            layer.inner |= set(sums)
        layers.append(layer)
    layers.sort(key=lambda layer: position[layer.outputs[0]])
    return layers


def _weighted_sum(z: Value, private: Callable[[Value], bool], parameter: Callable[[Value], bool],
                  varies: set[Value]) -> Optional[tuple[tuple[Value, ...], list, Any, set]]:
    """``z = ((b + w0 x0) + w1 x1) + ...`` (or without ``b``): (xs, ws, b or None, the
    partial sums and products), or None if ``z`` is not such a sum."""
    terms, inner, link = [], set(), z
    while True:  # down the chain of additions, last term first
        first, term = link.inputs
        terms.append(term)
        if first.rule is ops.ADD and private(first):
            inner.add(first)
            link = first
            continue
        terms.append(first)
        break
    terms.reverse()
    bias = terms[0] if parameter(terms[0]) else None
    xs, ws = [], []
    for term in terms[1:] if bias is not None else terms:
        if term.rule is not ops.MUL or not private(term):
            return None
        a, b = term.inputs
        if parameter(a) and b in varies:
            ws.append(a)
            xs.append(b)
        elif parameter(b) and a in varies:
            ws.append(b)
            xs.append(a)
        else:
            return None
        inner.add(term)
    return tuple(xs), ws, bias, inner

"""Graph algorithms of reverse mode: topological order, the backward pass and grad().

The chain rule at one node is ``input.grad += upstream * local`` for each input, where
``upstream`` is the node's gradient and ``local`` comes from its op's row (``ops.py``).
``chain_rule_step`` is that step written plainly; ``grad()``, ``explain()`` and
``Value._backward()`` use it. ``backward()`` runs the same arithmetic in one optimised loop,
``_propagate``, checked bit for bit against ``chain_rule_step`` for every op
(tests/test_backprop.py).

Everything here is iterative, so a graph a million nodes deep works (no RecursionError).
Graph walks write visit marks on the nodes (no visited set to build: see ``_walk``), so
walks and backward passes are serialised by one lock: several threads may share a graph and
each gets the serial result.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Sequence, Union

from autograd.modes import AnomalyError, anomaly_enabled, first_non_finite, ieee, no_grad
from autograd import ops
from autograd.value import Value, _const, _to_float, describe_inputs

__all__ = ["topological_order", "backward", "grad", "local_grads", "chain_rule_step",
           "no_grad", "graph_lock"]

#: Held by every graph walk and backward pass (re-entrant: a walk inside a pass is fine).
graph_lock = threading.RLock()

# Each walk takes two fresh mark numbers: "seen" (inputs being visited) and "done" (emitted),
# stored on the nodes, so no visited-set is built.
_marks = itertools.count(1, 2)


def _check_root(root: Any, where: str) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"{where} needs a Value, got {type(root).__name__} {root!r:.40}")


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, inputs before outputs, ``root`` last (depth-first)."""
    _check_root(root, "topological_order()")
    with graph_lock:
        return _walk(root, prepare=False)[0]


def _walk(root: Value, prepare: bool) -> tuple[list[Value], list[Value], list[float]]:
    """The one graph walk: depth-first from ``root``, iterative, each node visited once.

    Returns every node inputs-first (leaves included) when ``prepare`` is False. When it is
    True it readies a backward pass instead: the op nodes in the same relative order, each
    grad reset to 0 as it is emitted, and the leaves apart, their grads set aside (reset to 0,
    the old values returned in the third list, to be added back after the pass).

    Visit marks live on the nodes (two fresh numbers per walk, "seen" and "done"), so no set
    of visited nodes is built; ``graph_lock`` keeps two walks from mixing their marks. Every
    branch of the loop ends in ``continue``: Python 3.11 specialises a loop only on plain
    backward jumps, and without them this walk ran unspecialised for the first seven calls
    of every process (twice as many instructions; bench/README.md).
    """
    seen = next(_marks)
    done = seen + 1
    order: list[Value] = []
    leaves: list[Value] = []
    previous: list[float] = []
    emit, found, save = order.append, leaves.append, previous.append
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = stack[-1]
        mark = node._mark
        if mark == seen:  # its inputs are all emitted
            pop()
            node._mark = done
            if prepare:
                node.grad = 0.0
            emit(node)
            continue
        if mark == done:  # reached again through another consumer
            pop()
            continue
        rule = node._rule
        if rule is None:  # a leaf
            pop()
            node._mark = done
            if prepare:
                found(node)
                save(node.grad)
                node.grad = 0.0
            else:
                emit(node)
            continue
        node._mark = seen
        # Push in reverse so inputs are visited in operand order; spelled out for one and two
        # inputs (no tuple per node).
        a = node._a
        if rule.arity == 2:
            b = node._b
            if b._mark != done:
                push(b)
        elif type(a) is tuple:
            for inp in reversed(a[1:]):
                if inp._mark != done:
                    push(inp)
            a = a[0]
        if a._mark != done:
            push(a)
            continue
    return order, leaves, previous


# ---------------------------------------------------------------- one chain-rule step

def local_grads(node: Value, create_graph: bool = False) -> tuple:
    """The local derivatives d node / d input_i from the node's op row (None: no gradient flows).

    Floats by default; with ``create_graph=True`` the rule is evaluated on the input Values,
    so the result is itself differentiable. At a singular point (``sqrt'(0) = 0.5 / 0``) the
    rule is evaluated again with IEEE-754 arithmetic, giving PyTorch's float64 value (inf).
    """
    rule = node._rule
    if rule is None:
        return ()
    inputs = node.inputs
    args: list = list(inputs) if create_graph else [v.data for v in inputs]
    args.append(node if create_graph else node.data)
    if rule.has_param:
        args.append(node._b)
    try:
        return rule.derivatives(*args)
    except (ArithmeticError, ValueError) as error:
        try:
            return _at_singular_point(rule, args, create_graph)
        except (ArithmeticError, ValueError):
            _add_context(error, node)
            raise error from None


def _at_singular_point(rule: ops.Op, args: list, create_graph: bool) -> tuple:
    """The rule evaluated on Values with IEEE-754 results (1/0 = inf), as floats or Values."""
    arity = rule.arity
    with ieee():
        if create_graph:
            return rule.derivatives(*args)
        values = [_const(x) for x in args[:arity + 1]] + args[arity + 1:]
        with no_grad():
            found = rule.derivatives(*values)
    return tuple(d.data if isinstance(d, Value) else d for d in found)


def _add_context(error: BaseException, node: Value) -> None:
    """Say where in the backward pass ``error`` happened, keeping its type (PEP 678 note)."""
    if hasattr(error, "add_note"):
        error.add_note(f"in the backward pass through the {node.op!r} node "
                       f"({describe_inputs(node.inputs)})")


def chain_rule_step(node: Value, upstream: Any, create_graph: bool = False) -> list[tuple]:
    """One node's step of backprop: ``(input, local, upstream * local)`` for each input.

    ``local`` is d node / d input from the op's row; the contribution is None where no
    gradient flows (the rule said None: relu at x <= 0, x ** 0), so that not even
    ``inf * 0`` is added there. With ``create_graph=True`` locals and contributions are
    Values (derivatives of derivatives).
    """
    found = []
    for inp, local in zip(node.inputs, local_grads(node, create_graph)):
        if local is None:
            contribution = None
        elif create_graph and type(local) is float and local == 1.0:
            contribution = upstream  # the same number; no node for "* 1"
        else:
            contribution = upstream * local
        found.append((inp, local, contribution))
    if anomaly_enabled() and not create_graph:
        _check_contributions(node, upstream, found)
    return found


def _check_contributions(node: Value, upstream: float, found: list[tuple]) -> None:
    operands = [upstream, node.data, *(v.data for v in node.inputs)]
    for k, (_inp, local, contribution) in enumerate(found):
        if contribution is not None and first_non_finite(contribution, operands):
            raise AnomalyError(
                f"the backward pass made {contribution} at the {node.op!r} node "
                f"({describe_inputs(node.inputs)}): upstream gradient {upstream} times local "
                f"derivative {local} for input {k + 1}: the first non-finite gradient")


# ---------------------------------------------------------------- backward()

def backward(root: Value, grad: float = 1.0) -> None:
    """Set ``node.grad = d root / d node`` for every node of the graph (see ``Value.backward``).

    Leaves accumulate: their contributions are summed within the pass, then added to ``.grad``
    (so two passes give exactly twice the gradient). Intermediate nodes are reset each pass.
    If a rule fails, every leaf keeps the gradient it had.
    """
    _check_root(root, "backward()")
    seed = _to_float(grad, "backward(grad)")
    with graph_lock:
        if root._rule is None:  # a leaf: d root / d root = 1
            root.grad += seed
            return
        order, leaves, previous = _walk(root, prepare=True)
        root.grad = seed
        try:
            if anomaly_enabled():
                _propagate_checked(order)
            else:
                _propagate(order)
        except BaseException:
            for leaf, old in zip(leaves, previous):  # leave the leaves as they were
                leaf.grad = old
            raise
        for leaf, old in zip(leaves, previous):
            leaf.grad = old + leaf.grad


def _propagate(order: list[Value]) -> None:
    """The chain rule over ``order`` in reverse: input.grad += upstream * local, optimised.

    ``order`` holds op nodes only (no leaves), inputs before outputs, as ``_walk`` gives.
    The common ops are spelled out (the engine's hottest loop); each line computes exactly
    what ``chain_rule_step`` computes from the op's row, which tests/test_backprop.py checks
    op by op. Every other op, and a spelled-out op that hits a singular point
    (``x ** -0.5`` at 0), goes through ``chain_rule_step``; then the loop carries on.
    """
    add, mul, sub, powc, relu, tanh = ops.ADD, ops.MUL, ops.SUB, ops.POWC, ops.RELU, ops.TANH
    neg, exp, sigmoid, div = ops.NEG, ops.EXP, ops.SIGMOID, ops.DIV
    remaining = reversed(order)
    node = None
    while True:
        try:
            for node in remaining:
                rule = node._rule
                g = node.grad
                if rule is add:
                    node._a.grad += g
                    node._b.grad += g
                elif rule is mul:
                    a = node._a
                    b = node._b
                    a.grad += g * b.data
                    b.grad += g * a.data
                elif rule is powc:
                    a = node._a
                    p = node._b
                    q = p - 1.0  # ops._pow_const inlined: x**2 and x**1 build no power
                    if q == 1.0:
                        a.grad += g * (p * a.data)
                    elif q == 0.0:
                        a.grad += g * p
                    elif p != 0.0:  # x**0 = 1 is flat: no gradient flows
                        a.grad += g * (p * a.data ** q)
                elif rule is relu:
                    if node.data != 0.0:  # x <= 0 gives 0: no gradient flows; nan flows
                        node._a.grad += g
                elif rule is tanh:
                    t = node.data
                    node._a.grad += g * (1.0 - t * t)
                elif rule is sub:
                    node._a.grad += g
                    node._b.grad -= g
                elif rule is neg:
                    node._a.grad -= g
                elif rule is exp:
                    node._a.grad += g * node.data
                elif rule is sigmoid:
                    s = node.data
                    node._a.grad += g * (s * (1.0 - s))
                elif rule is div:
                    b = node._b
                    node._a.grad += g * (1.0 / b.data)
                    b.grad += g * (-node.data / b.data)
                else:
                    _apply(node)
            return
        except (ArithmeticError, ValueError):
            if rule is not powc and rule is not div:
                raise  # from chain_rule_step, which said where
            # x ** -0.5 at 0, or / after its divisor's data was set to 0, raised before adding
            # anything: the step through the row gives the IEEE value (inf), as PyTorch.
            _apply(node)


def _apply(node: Value) -> None:
    for inp, _local, contribution in chain_rule_step(node, node.grad):
        if contribution is not None:
            inp.grad += contribution


def _propagate_checked(order: list[Value]) -> None:
    """``_propagate`` through ``chain_rule_step`` for every node, which checks each
    contribution inside ``detect_anomaly()``."""
    for node in reversed(order):
        _apply(node)


# ---------------------------------------------------------------- grad()

def grad(output: Value, inputs: Union[Value, Sequence[Value]], grad_output: Any = 1.0,
         create_graph: bool = False) -> list:
    """d output / d input for each input, as a list (like ``torch.autograd.grad``).

    Does not touch any ``.grad``. Inputs that ``output`` does not depend on get 0.0. With
    ``create_graph=True`` the entries are Values built from the local-derivative rules, so
    they can be differentiated again: ``grad(grad(y, [x], create_graph=True)[0], [x])`` is
    d2y/dx2.
    """
    _check_root(output, "grad(output)")
    targets = [inputs] if isinstance(inputs, Value) else list(inputs)
    for i, x in enumerate(targets):
        if not isinstance(x, Value):
            raise TypeError(f"grad(inputs): entry {i} is {type(x).__name__} {x!r:.40}, "
                            "not a Value; pass the Values to differentiate with respect to")
    if create_graph:
        seed: Any = grad_output if isinstance(grad_output, Value) else _const(
            _to_float(grad_output, "grad(grad_output)"))
    else:
        seed = _to_float(grad_output, "grad(grad_output)")
    grads: dict[Value, Any] = {output: seed}
    for node in reversed(topological_order(output)):
        upstream = grads.get(node)
        if upstream is None or node._rule is None:
            continue
        for inp, _local, contribution in chain_rule_step(node, upstream, create_graph):
            if contribution is None:
                continue
            previous = grads.get(inp)
            grads[inp] = contribution if previous is None else previous + contribution
    zero = _const(0.0) if create_graph else 0.0
    return [grads.get(x, zero) for x in targets]

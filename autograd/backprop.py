"""Graph algorithms of reverse mode: topological order, the backward pass and grad().

The chain rule at one node is ``input.grad += upstream * local`` for each input, where
``upstream`` is the node's gradient and ``local`` comes from its op's row (``ops.py``).
``chain_rule_step`` is that step written plainly; ``grad()``, ``explain()`` and
``Value._backward()`` use it. ``backward()`` runs the same arithmetic in one optimised loop,
``_propagate``, checked bit for bit against ``chain_rule_step`` for every op
(tests/test_backprop.py).

Everything here is iterative, so a graph a million nodes deep works (no RecursionError).
``backward()`` orders the graph by the depth each node records when it is made (see
``_prepare``), marking the nodes it has reached through their grads, so passes are serialised
by one lock: several threads may share a graph and each gets the serial result.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence, Union

from autograd.modes import AnomalyError, anomaly_enabled, first_non_finite, ieee, no_grad
from autograd import ops
from autograd.value import DEEP, NO_GRAPH, Value, _const, _to_float, describe_inputs

__all__ = ["topological_order", "backward_order", "backward", "grad", "local_grads",
           "chain_rule_step", "no_grad", "graph_lock"]

#: Held by every backward pass, and by the tools that read a graph's gradients
#: (re-entrant: a tool inside a pass is fine).
graph_lock = threading.RLock()


def _check_root(root: Any, where: str) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"{where} needs a Value, got {type(root).__name__} {root!r:.40}")


def _check_has_graph(root: Value, where: str) -> None:
    """Refuse a result computed inside no_grad(), as PyTorch does ("does not require grad"):
    it has no graph, so no gradient would reach the values it was computed from."""
    if getattr(root, "_a", None) is NO_GRAPH:
        raise RuntimeError(f"{where}: this Value (data {root.data!r}) was computed inside "
                           "no_grad(), so it has no graph and no gradient would reach the "
                           "values it was computed from; compute it outside the no_grad block")


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, inputs before outputs, ``root`` last (depth-first, in
    operand order: ``a * b + c`` gives a, b, a*b, c, the sum). Reads the graph, writes nothing."""
    _check_root(root, "topological_order()")
    order: list[Value] = []
    expanded: set[Value] = set()  # its inputs are being visited
    emitted: set[Value] = set()
    stack = [root]
    while stack:
        node = stack[-1]
        if node in emitted:  # reached again through another consumer
            stack.pop()
            continue
        if node in expanded or node._rule is None:  # its inputs are all emitted, or a leaf
            stack.pop()
            emitted.add(node)
            order.append(node)
            continue
        expanded.add(node)
        stack.extend(inp for inp in reversed(node.inputs) if inp not in emitted)
    return order


def _prepare(root: Value, zero: float) -> tuple[list[Value], list[Value], list[float]]:
    """Ready a backward pass from ``root``: its op nodes outputs first, each grad reset to 0,
    and its leaves with their grads set aside (reset to 0, the old values returned in the third
    list, to be added back after the pass).

    The order comes from the depth each node recorded when it was made (``Value._depth``): an
    input is shallower than its node, so taking the nodes deepest first gives every node after
    all its consumers, with no walk to sort them. ``levels[d]`` collects the nodes of depth d
    as their consumers reach them; a level is complete when every deeper one has been read.
    Depths stop counting at DEEP: a graph over 256 ops deep is ordered by a depth-first walk
    instead (``_depth_first``), whose order follows the order the nodes were made in; on long
    graphs that touches memory more locally than taking a level at a time.

    A node reached in this pass holds this pass's ``zero`` as its grad (a fresh float ``0.0``,
    told apart from every other zero by ``is``), so no visited set is built.
    """
    top = root._depth
    if top == DEEP:
        return _depth_first(root, zero)
    levels: list[list[Value]] = [[] for _ in range(top + 1)]
    leaves = levels[0]
    previous: list[float] = []
    save = previous.append
    root.grad = zero
    levels[top].append(root)
    order: list[Value] = []
    for depth in range(top, 0, -1):
        level = levels[depth]
        for node in level:
            a = node._a
            if node._rule.arity == 2:
                b = node._b
                if b.grad is not zero:
                    d = b._depth
                    if d == 0:  # a leaf
                        save(b.grad)
                    b.grad = zero
                    levels[d].append(b)
            elif type(a) is tuple:
                _reach(a[:0:-1], zero, levels, save)
                a = a[0]
            if a.grad is not zero:
                d = a._depth
                if d == 0:
                    save(a.grad)
                a.grad = zero
                levels[d].append(a)
        order += level
    return order, leaves, previous


def _reach(inputs: Sequence[Value], zero: float, levels: list[list[Value]], save: Any) -> None:
    """``_prepare``'s step for each of ``inputs``: the hot loop spells it out for one and two
    inputs, this serves ops of three or more."""
    for x in inputs:
        if x.grad is not zero:
            d = x._depth
            if d == 0:
                save(x.grad)
            x.grad = zero
            levels[d].append(x)


def _depth_first(root: Value, zero: float) -> tuple[list[Value], list[Value], list[float]]:
    """``_prepare`` for a graph over DEEP ops deep: the op nodes in reverse depth-first
    postorder from ``root``, the leaves met on the way with their grads set aside. Two marks
    in the grads: ``seen`` (inputs being visited) and ``zero`` (ordered, or a leaf met).

    Every branch of the loop ends in ``continue``: Python 3.11 specialises a loop only on plain
    backward jumps, and without them this walk ran unspecialised for the first seven calls of
    every process (twice as many instructions; bench/README.md).
    """
    seen = float(0)
    post: list[Value] = []
    leaves: list[Value] = []
    previous: list[float] = []
    emit, found, save = post.append, leaves.append, previous.append
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = stack[-1]
        g = node.grad
        if g is seen:  # its inputs are all ordered
            pop()
            node.grad = zero
            emit(node)
            continue
        if g is zero:  # reached again through another consumer
            pop()
            continue
        rule = node._rule
        if rule is None:  # a leaf
            pop()
            found(node)
            save(g)
            node.grad = zero
            continue
        node.grad = seen
        # Push in reverse so inputs are visited in operand order; spelled out for one and two
        # inputs (no tuple per node).
        a = node._a
        if rule.arity == 2:
            b = node._b
            if b.grad is not zero:
                push(b)
        elif type(a) is tuple:
            for x in a[:0:-1]:
                if x.grad is not zero:
                    push(x)
            a = a[0]
        if a.grad is not zero:
            push(a)
            continue
        continue
    post.reverse()
    return post, leaves, previous


def backward_order(root: Value) -> list[Value]:
    """The op nodes of ``root``'s graph in the order ``backward()`` applies the chain rule to
    them: outputs first, each after all its consumers. Reads the graph, writes nothing.

    ``_prepare`` computes the same order with marks in the grads, for speed; this is it written
    plainly, with sets. ``explain()`` and ``grad()`` follow it, so that their sums are
    ``backward()``'s to the last bit (tests/test_backprop.py checks the two agree).
    """
    _check_root(root, "backward_order()")
    if root._rule is None:
        return []
    top = root._depth
    if top == DEEP:  # as _depth_first
        return [node for node in reversed(topological_order(root)) if node._rule is not None]
    levels: list[list[Value]] = [[] for _ in range(top + 1)]
    reached: set[Value] = set()

    def reach(x: Value) -> None:
        if x not in reached:
            reached.add(x)
            levels[x._depth].append(x)

    order: list[Value] = []
    reach(root)
    for depth in range(top, 0, -1):
        for node in levels[depth]:
            for x in reversed(node.inputs):
                reach(x)
        order += levels[depth]
    return order


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
    for k, (inp, local) in enumerate(zip(node.inputs, local_grads(node, create_graph))):
        if local is None:
            contribution = None
        elif type(local) is ops.Quotient:  # ops.over: divide last, upstream * n / d
            contribution = upstream * local.numerator / local.denominator
        elif create_graph and type(local) is float and local == 1.0:
            contribution = upstream  # the same number; no node for "* 1"
        elif create_graph and ops.is_over(node._rule, k, node.op_param):
            contribution = upstream * local._a / local._b   # the node n / d that over made
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
    If a rule fails, every leaf keeps the gradient it had. A result computed inside
    ``no_grad()`` has no graph and is refused (RuntimeError), as in PyTorch.
    """
    _check_root(root, "backward()")
    seed = _to_float(grad, "backward(grad)")
    with graph_lock:
        if root._rule is None:  # a leaf: d root / d root = 1
            _check_has_graph(root, "backward()")
            root.grad += seed
            return
        zero = float(0)  # this pass's zero: a fresh float, told apart from others by `is`
        order, leaves, previous = _prepare(root, zero)
        root.grad = seed
        try:
            if anomaly_enabled():
                _propagate_checked(order, zero)
            else:
                _propagate(order, zero)
        except BaseException:
            for leaf, old in zip(leaves, previous):  # leave the leaves as they were
                leaf.grad = old
            raise
        for leaf, old in zip(leaves, previous):
            leaf.grad = old + leaf.grad


def _propagate(order: list[Value], zero: float) -> None:
    """The chain rule over ``order``: input.grad += upstream * local, optimised.

    ``order`` holds op nodes only (no leaves), outputs before inputs, as ``_prepare`` gives,
    each with this pass's ``zero`` as its grad. A node's first contribution becomes its grad
    as it is (``0.0 + c`` is ``c``), so most nodes get no float of their own: in a chain of
    sums every node shares its consumer's gradient object. The common ops are spelled out (the
    engine's hottest loop); each line computes exactly what ``chain_rule_step`` computes from
    the op's row, which tests/test_backprop.py checks op by op. Every other op, and a
    spelled-out op that hits a singular point (``x ** -0.5`` at 0), goes through
    ``chain_rule_step``; then the loop carries on.
    """
    add, mul, sub, powc, relu, tanh = ops.ADD, ops.MUL, ops.SUB, ops.POWC, ops.RELU, ops.TANH
    neg, exp, sigmoid, div = ops.NEG, ops.EXP, ops.SIGMOID, ops.DIV
    remaining = iter(order)
    node = None
    while True:
        try:
            for node in remaining:
                rule = node._rule
                g = node.grad
                if g is zero:  # nothing reached it: pass on a 0.0 that is not the mark
                    g = 0.0
                a = node._a
                if rule is add:
                    if a.grad is zero:
                        a.grad = g
                    else:
                        a.grad += g
                    b = node._b
                    if b.grad is zero:
                        b.grad = g
                    else:
                        b.grad += g
                elif rule is mul:
                    b = node._b
                    if a.grad is zero:
                        a.grad = g * b.data
                    else:
                        a.grad += g * b.data
                    if b.grad is zero:
                        b.grad = g * a.data
                    else:
                        b.grad += g * a.data
                elif rule is relu:
                    if node.data != 0.0:  # x <= 0 gives 0: no gradient flows; nan flows
                        if a.grad is zero:
                            a.grad = g
                        else:
                            a.grad += g
                else:  # the other spelled-out ops; most give one input the contribution c
                    if rule is powc:
                        p = node._b
                        q = p - 1.0  # ops._pow_const inlined: x**2 and x**1 build no power
                        if q == 1.0:
                            c = g * (p * a.data)
                        elif q == 0.0:
                            c = g * p
                        elif p != 0.0:
                            c = g * (p * a.data ** q)
                        else:  # x**0 = 1 is flat: no gradient flows
                            continue
                    elif rule is tanh:
                        t = node.data
                        c = g * (1.0 - t * t)
                    elif rule is sub:
                        if a.grad is zero:
                            a.grad = g
                        else:
                            a.grad += g
                        b = node._b
                        if b.grad is zero:
                            b.grad = -g
                        else:
                            b.grad -= g
                        continue
                    elif rule is div:
                        b = node._b
                        c = g / b.data  # g * 1.0 / b (ops.over): divide last
                        d = g * (-node.data / b.data)
                        if a.grad is zero:
                            a.grad = c
                        else:
                            a.grad += c
                        if b.grad is zero:
                            b.grad = d
                        else:
                            b.grad += d
                        continue
                    elif rule is neg:
                        c = -g
                    elif rule is exp:
                        c = g * node.data
                    elif rule is sigmoid:
                        t = node.data
                        c = g * (t * (1.0 - t))
                    else:
                        _apply(node, zero)
                        continue
                    if a.grad is zero:
                        a.grad = c
                    else:
                        a.grad += c
            return
        except (ArithmeticError, ValueError):
            if rule is not powc and rule is not div:
                raise  # from chain_rule_step, which said where
            # x ** -0.5 at 0, or / after its divisor's data was set to 0, raised before adding
            # anything: the step through the row gives the IEEE value (inf), as PyTorch.
            _apply(node, zero)


def _apply(node: Value, zero: float) -> None:
    """One node's chain-rule step through its op's row, into the inputs' grads."""
    for inp, _local, contribution in chain_rule_step(node, node.grad):
        if contribution is None:
            continue
        if inp.grad is zero:
            inp.grad = contribution
        else:
            inp.grad += contribution


def _propagate_checked(order: list[Value], zero: float) -> None:
    """``_propagate`` through ``chain_rule_step`` for every node, which checks each
    contribution inside ``detect_anomaly()``."""
    for node in order:
        _apply(node, zero)


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
    _check_has_graph(output, "grad(output)")
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
    zero = _const(0.0) if create_graph else 0.0
    grads: dict[Value, Any] = {output: seed}
    for node in backward_order(output):
        # A node no contribution reached passes 0 on, as in backward() (and PyTorch: so
        # 0 * inf makes nan there too).
        upstream = grads.get(node, zero)
        for inp, _local, contribution in chain_rule_step(node, upstream, create_graph):
            if contribution is None:
                continue
            previous = grads.get(inp)
            grads[inp] = contribution if previous is None else previous + contribution
    return [grads.get(x, zero) for x in targets]

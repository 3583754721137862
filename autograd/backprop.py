"""Graph algorithms of reverse mode: topological order, the backward pass, grad(), no_grad.

Everything here is iterative, so a graph a million nodes deep works (no RecursionError).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, Callable, Sequence, TypeVar, Union

from autograd import ops
from autograd import value as _value
from autograd.value import Value, _const, _to_float

__all__ = ["topological_order", "backward", "grad", "local_grads", "no_grad"]

F = TypeVar("F", bound=Callable[..., Any])

# Each walk takes two fresh mark numbers: "seen" (inputs being visited) and "done" (emitted),
# stored on the nodes, so no visited-set is built.
_marks = itertools.count(1, 2)


def _check_root(root: Any, where: str) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"{where} needs a Value, got {type(root).__name__} {root!r:.40}")


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, inputs before outputs, ``root`` last (depth-first)."""
    _check_root(root, "topological_order()")
    seen = next(_marks)
    done = seen + 1
    order: list[Value] = []
    emit = order.append
    stack = [root]
    push, pop = stack.append, stack.pop
    while stack:
        node = stack[-1]
        mark = node._mark
        if mark == done:
            pop()
        elif mark == seen:  # its inputs are all emitted
            pop()
            node._mark = done
            emit(node)
        else:
            node._mark = seen
            rule = node._rule
            if rule is None:
                continue
            # Push in reverse so inputs are visited in operand order.
            if rule.arity == 2:
                if node._b._mark != done:
                    push(node._b)
                if node._a._mark != done:
                    push(node._a)
            elif type(node._a) is tuple:
                for inp in reversed(node._a):
                    if inp._mark != done:
                        push(inp)
            elif node._a._mark != done:
                push(node._a)
    return order


def local_grads(node: Value, create_graph: bool = False) -> tuple:
    """The local derivatives d node / d input_i from the node's op rule.

    Floats by default; with ``create_graph=True`` the rule is evaluated on the input Values,
    so the result is itself differentiable.
    """
    rule = node._rule
    if rule is None:
        return ()
    inputs = node.inputs
    if create_graph:
        args: list = list(inputs)
        args.append(node)
    else:
        args = [v.data for v in inputs]
        args.append(node.data)
    if rule.has_param:
        args.append(node._b)
    return rule.derivatives(*args)


def backward(root: Value, grad: float = 1.0) -> None:
    """Set ``node.grad = d root / d node`` for every node of the graph (see ``Value.backward``).

    Leaves accumulate: their contributions are summed within the pass, then added to ``.grad``
    (so two passes give exactly twice the gradient). Intermediate nodes are reset each pass.
    """
    _check_root(root, "backward()")
    seed = _to_float(grad, "backward(grad)")
    if root._rule is None:  # a leaf: d root / d root = 1
        root.grad += seed
        return
    order, leaves, previous = _prepare(root)
    root.grad = seed
    try:
        _propagate(order)
    except Exception:
        for leaf, old in zip(leaves, previous):  # leave the leaves as they were
            leaf.grad = old
        raise
    for leaf, old in zip(leaves, previous):
        leaf.grad = old + leaf.grad


def _prepare(root: Value) -> tuple[list[Value], list[Value], list[float]]:
    """One depth-first walk that readies a backward pass from ``root`` (an op node).

    Returns the op nodes in topological order (the same relative order as
    ``topological_order``) with their grads reset to 0, the leaves with their grads set
    aside (reset to 0, old values returned in ``previous``). Leaves are handled where they
    are found instead of going through the stack: they are a tenth of a typical graph.
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
            node.grad = 0.0
            emit(node)
        elif mark == done:
            pop()
        else:
            node._mark = seen
            # Push in reverse so inputs are visited in operand order; spelled out for one
            # and two inputs (no tuple per node).
            a = node._a
            if node._rule.arity == 2:
                b = node._b
                if b._mark != done:
                    if b._rule is None:
                        b._mark = done
                        found(b)
                        save(b.grad)
                        b.grad = 0.0
                    else:
                        push(b)
            elif type(a) is tuple:
                for inp in reversed(a[1:]):
                    if inp._mark != done:
                        if inp._rule is None:
                            inp._mark = done
                            found(inp)
                            save(inp.grad)
                            inp.grad = 0.0
                        else:
                            push(inp)
                a = a[0]
            if a._mark != done:
                if a._rule is None:
                    a._mark = done
                    found(a)
                    save(a.grad)
                    a.grad = 0.0
                else:
                    push(a)
    return order, leaves, previous


def _propagate(order: list[Value]) -> None:
    """First-order chain rule over ``order`` in reverse: input.grad += upstream * local.

    ``order`` holds op nodes only (no leaves), inputs before outputs, as ``_prepare`` gives.

    The common ops are spelled out here (the engine's hottest loop); each line computes
    exactly the op table's local derivative, which tests/test_backprop.py checks op by op.
    Every other op goes through the table.
    """
    add, mul, sub, powc, relu, tanh = ops.ADD, ops.MUL, ops.SUB, ops.POWC, ops.RELU, ops.TANH
    neg, exp, sigmoid, div = ops.NEG, ops.EXP, ops.SIGMOID, ops.DIV
    node = None
    try:
        for node in reversed(order):
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
                elif p != 0.0:  # x**0 = 1 is flat: no gradient (and no 1/0 at x = 0)
                    a.grad += g * (p * a.data ** q)
            elif rule is relu:
                if node.data > 0.0:
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
                for inp, local in zip(node.inputs, local_grads(node)):
                    inp.grad += g * local
    except (ArithmeticError, ValueError) as error:
        raise type(error)(f"{error} (in the backward pass through the {node.op!r} node with "
                          f"input data {[v.data for v in node.inputs]})") from error


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
        for inp, local in zip(node.inputs, local_grads(node, create_graph)):
            if create_graph and not isinstance(local, Value):
                if local == 0.0:
                    continue  # adds nothing; avoids building dead nodes
                contribution = upstream if local == 1.0 else upstream * local
            else:
                contribution = upstream * local
            previous = grads.get(inp)
            grads[inp] = contribution if previous is None else previous + contribution
    zero = _const(0.0) if create_graph else 0.0
    return [grads.get(x, zero) for x in targets]


class no_grad:
    """Inside ``with no_grad():`` (or a function decorated with ``@no_grad``) ops build no graph:
    they return constant Values with no inputs. Per thread; nests.
    """

    def __new__(cls, func: Any = None) -> Any:
        instance = super().__new__(cls)
        return instance if func is None else instance(func)

    def __enter__(self) -> "no_grad":
        _value._enter_no_grad()
        return self

    def __exit__(self, *exc: object) -> None:
        _value._exit_no_grad()

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def without_grad(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return func(*args, **kwargs)

        return without_grad  # type: ignore[return-value]

"""Forward mode from the same op rows: jvp() and jacobian(), forward or reverse.

Reverse mode (backprop) carries d output / d node from the output back to the leaves:
``input.grad += upstream * local``. Forward mode carries d node / d input the other way, from
the leaves to the outputs, with the same local derivatives of the op table::

    tangent(node) = sum_i  local_i * tangent(input_i),   local_i = d node / d input_i

This is forward-mode accumulation over the graph: ``f`` runs once on Values (building the
graph as usual), then tangents are pushed through the graph in topological order, inputs
before outputs, each node's locals taken from its op's row (``backprop.local_grads``). Dual numbers
compute exactly these sums, each while its node is built; here they are computed just after.
No op has a tangent rule of its own, so an op added with ``register_op`` works at once.

What each mode costs, for ``f`` of n inputs and m outputs with Jacobian ``J`` (m x n):

- one forward-mode sweep gives ``J v`` (a column for ``v = e_j``): the Jacobian takes n sweeps;
- one backward pass gives ``u^T J`` (a row for ``u = e_i``): the Jacobian takes m passes.

Each sweep or pass does one chain-rule product per edge of the graph (a local derivative, a
multiply and an add), about twice the ops of the forward pass (most ops have two inputs).
For a loss (m = 1) one backward pass gives the whole gradient, however many parameters:
that is why networks are trained in reverse mode.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Callable, Sequence, Union

from autograd.backprop import grad, local_grads
from autograd.modes import AnomalyError, anomaly_enabled, recording
from autograd.value import Value, _to_float, describe_inputs

__all__ = ["jvp", "jacobian"]

Number = Union[int, float]
#: One number, or one per input (a list or tuple).
Inputs = Union[Number, Value, Sequence[Union[Number, Value]]]


def jvp(f: Callable[..., Any], primals: Inputs,
        tangents: Union[Number, Sequence[Number]]) -> tuple[Any, Any]:
    """``(f(x), J v)``: the value of ``f`` at ``x = primals`` and its derivative in direction
    ``v = tangents``, ``J v = sum_j  d f / d x_j * v_j``, by one forward-mode sweep.

    ``f`` takes one Value per primal (``f(*xs)``) and returns a Value or a list of Values. The
    primals are numbers (a Value gives its data: it is not used or changed); the tangents have
    the same shape: one number for one number, a list as long as the list. The result has
    the shape of ``f``'s: two floats, or two lists of floats (``torch.autograd.functional.jvp``
    in float64). Cost: one evaluation of ``f`` and one sweep over its graph, whatever the
    number of outputs; with one tangent per unit vector, n sweeps give the whole Jacobian.
    No ``.grad`` changes; inside ``no_grad()`` the graph of ``f`` is still built (and dropped).
    """
    leaves, many_inputs = _leaves("jvp", "primals", primals)
    directions = _tangents(tangents, many_inputs, len(leaves))
    outputs, many_outputs = _evaluate("jvp", f, leaves)
    sweep = _ForwardSweep(outputs, leaves)
    derivative = sweep.push(directions)
    value = [out.data for out in outputs]
    return (value, derivative) if many_outputs else (value[0], derivative[0])


def jacobian(f: Callable[..., Any], inputs: Inputs, mode: str = "reverse") -> Any:
    """The Jacobian ``J[i][j] = d f_i / d x_j`` of ``f`` at ``inputs``, as lists of floats.

    ``f`` takes one Value per input and returns a Value or a list of Values. The shape follows
    ``torch.autograd.functional.jacobian``: a list of inputs and a list of outputs give a
    list of m rows of n floats; one output (a Value) gives one row, ``[d f / d x_j]``; one
    input (a number, not a list) gives one column, ``[d f_i / d x]``; both give one float.

    ``mode="reverse"``: one backward pass per output, m passes, each a row ``e_i^T J``.
    ``mode="forward"``: one forward-mode sweep per input, n sweeps, each a column ``J e_j``.
    Both evaluate ``f`` once; each sweep or pass does one multiply-add per edge of the graph
    (forward mode evaluates the local derivatives once, for all its sweeps). So for n inputs
    and m outputs forward mode is the cheaper when n < m, reverse mode when m < n (a loss:
    m = 1). The numbers agree (sums of the same products, added in another order).
    No ``.grad`` changes; inside ``no_grad()`` the graph of ``f`` is still built (and dropped).
    """
    if mode not in ("reverse", "forward"):
        raise ValueError(f"jacobian: mode must be 'reverse' or 'forward', got {mode!r}")
    leaves, many_inputs = _leaves("jacobian", "inputs", inputs)
    outputs, many_outputs = _evaluate("jacobian", f, leaves)
    if mode == "reverse":
        rows = [grad(out, leaves) if leaves else [] for out in outputs]
    else:
        sweep = _ForwardSweep(outputs, leaves)
        columns = [sweep.push([1.0 if k == j else 0.0 for k in range(len(leaves))])
                   for j in range(len(leaves))]
        rows = [[column[i] for column in columns] for i in range(len(outputs))]
    if not many_inputs:
        rows = [row[0] for row in rows]
    return rows if many_outputs else rows[0]


# ---------------------------------------------------------------- the sweep

class _ForwardSweep:
    """The graph of ``outputs`` prepared once for forward-mode sweeps from ``leaves``.

    Only nodes that depend on a leaf carry a tangent; each keeps the pairs
    ``(input, d node / d input)`` of its inputs that carry one (a ``None`` local: no
    derivative flows there, as in the backward pass, so not even ``inf * 0`` is added).
    """

    def __init__(self, outputs: list[Value], leaves: list[Value]) -> None:
        self.outputs = outputs
        self.leaves = leaves
        carries = set(leaves)
        self.rows: list[tuple[Value, list[tuple[Value, Any]]]] = []
        for node in _order(outputs):
            if node in carries or not any(inp in carries for inp in node.inputs):
                continue  # a leaf, or a node made of constants only: its tangent is 0
            pairs = [(inp, local) for inp, local in zip(node.inputs, local_grads(node))
                     if inp in carries and local is not None]
            if pairs:
                carries.add(node)
                self.rows.append((node, pairs))

    def push(self, directions: list[float]) -> list[float]:
        """``J v`` for ``v = directions``: tangent(node) = sum_i local_i * tangent(input_i)."""
        tangent: dict[Value, float] = dict(zip(self.leaves, directions))
        check = anomaly_enabled()
        for node, pairs in self.rows:
            total = 0.0
            for inp, local in pairs:
                total += local * tangent[inp]
            if check and not math.isfinite(total):
                _anomaly(node, pairs, tangent, total)
            tangent[node] = total
        return [tangent.get(out, 0.0) for out in self.outputs]


def _order(outputs: list[Value]) -> list[Value]:
    """Every node the outputs depend on, once, inputs before outputs: one depth-first walk
    for all outputs together (a node shared by many outputs is visited once)."""
    order: list[Value] = []
    seen: set[Value] = set()
    stack: list[tuple[Value, bool]] = [(out, False) for out in reversed(outputs)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((inp, False) for inp in reversed(node.inputs) if inp not in seen)
    return order


def _anomaly(node: Value, pairs: list[tuple[Value, Any]], tangent: dict[Value, float],
             total: float) -> None:
    if all(math.isfinite(tangent[inp]) for inp, _local in pairs):  # the first non-finite one
        locals_ = ", ".join(repr(local) for _inp, local in pairs)
        raise AnomalyError(
            f"the forward-mode sweep made the tangent {total} at the {node.op!r} node "
            f"({describe_inputs(node.inputs)}): local derivatives {locals_} times finite "
            "tangents: the first non-finite tangent")


# ---------------------------------------------------------------- checking what was given

def _is_one(x: Any) -> bool:
    """One number (or Value), rather than a sequence of them."""
    return isinstance(x, (Real, Value, str, bytes)) or not hasattr(x, "__iter__")


def _leaves(where: str, name: str, given: Any) -> tuple[list[Value], bool]:
    """Fresh leaves holding the numbers given, and whether a sequence was given."""
    many = not _is_one(given)
    items = list(given) if many else [given]
    leaves = []
    for j, x in enumerate(items):
        what = f"{where}: {name}[{j}]" if many else f"{where}: {name}"
        leaves.append(Value(x.data if isinstance(x, Value) else _to_float(x, what)))
    return leaves, many


def _tangents(given: Any, many: bool, n: int) -> list[float]:
    if many == _is_one(given):
        wanted = f"a list of {n} numbers" if many else "one number"
        raise TypeError(f"jvp: tangents must have the shape of the primals ({wanted}), got "
                        f"{type(given).__name__} {given!r:.40}")
    items = list(given) if many else [given]
    if len(items) != n:
        raise ValueError(f"jvp: {n} primals but {len(items)} tangents; give one tangent "
                         "(a direction component) per primal")
    return [_to_float(t, f"jvp: tangents[{j}]" if many else "jvp: tangents")
            for j, t in enumerate(items)]


def _evaluate(where: str, f: Callable[..., Any], leaves: list[Value]) -> tuple[list[Value], bool]:
    """``f(*leaves)`` with its graph recorded, as a list of outputs, and whether f gave a list."""
    if not callable(f):
        raise TypeError(f"{where}: f must be a function of Values, got {f!r:.40}")
    with recording():
        result = f(*leaves)
    if isinstance(result, Value):
        return [result], False
    if isinstance(result, (list, tuple)):
        for i, out in enumerate(result):
            if not isinstance(out, Value):
                raise TypeError(f"{where}: f returned a list whose entry {i} is "
                                f"{type(out).__name__} {out!r:.40}, not a Value; build every "
                                "output from the Values f receives")
        return list(result), True
    raise TypeError(f"{where}: f must return a Value or a list of Values, got "
                    f"{type(result).__name__} {result!r:.40}; build the result from the "
                    "Values f receives")

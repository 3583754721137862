"""class Value: one scalar in a computational graph, with its data, grad and how it was made."""

from __future__ import annotations

import math
import threading
from numbers import Real
from typing import Any, Iterable, Union

from autograd.ops import (ABS, ADD, COS, DIV, EXP, LEAKY_RELU, LOG, MUL, NEG, POW, POWC, RELU,
                          SIGMOID, SIN, SOFTPLUS, SQRT, SUB, TANH, Op, _exp, _pow)

Number = Union[int, float]
Operand = Union["Value", int, float]

_new = object.__new__

# ---------------------------------------------------------------- grad mode (no_grad)
# Per-thread depth of no_grad blocks, plus a process-wide count of open blocks so that the
# common case (no block open anywhere) costs one global read per op.
_grad_mode = threading.local()
_no_grad_blocks = 0
_no_grad_lock = threading.Lock()


def _grad_disabled() -> bool:
    return getattr(_grad_mode, "depth", 0) > 0


def _enter_no_grad() -> None:
    global _no_grad_blocks
    with _no_grad_lock:
        _grad_mode.depth = getattr(_grad_mode, "depth", 0) + 1
        _no_grad_blocks += 1


def _exit_no_grad() -> None:
    global _no_grad_blocks
    with _no_grad_lock:
        _grad_mode.depth -= 1
        _no_grad_blocks -= 1


# ---------------------------------------------------------------- conversions

def _to_float(x: Any, where: str) -> float:
    """A real number as a Python float, or a TypeError that names what was given."""
    if type(x) is float:
        return x
    if isinstance(x, Real) and not isinstance(x, Value):
        return float(x)
    if isinstance(x, Value):
        hint = "use the Value itself, or v.detach() for a constant copy of its data"
    elif isinstance(x, str):
        hint = f"convert the text first, e.g. Value(float({x!r}))"
    elif isinstance(x, complex):
        hint = "chainrule differentiates real functions only"
    elif x is None:
        hint = "give a number such as 0.0"
    else:
        hint = "give an int, a float or a numpy scalar"
    text = repr(x)
    if len(text) > 40:
        text = text[:37] + "..."
    raise TypeError(f"{where} must be a real number, got {type(x).__name__} {text}; {hint}")


def _const(data: float) -> "Value":
    """A leaf holding a constant that appeared in an expression (the 2 in 2 * x)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._rule = None
    out._mark = 0
    return out


def _operand(x: Any) -> "Value | None":
    """The other operand of an arithmetic operator as a Value, or None if it is not a number."""
    if type(x) is float:  # first: isinstance(x, Real) is an ABC check, ~10x slower
        return _const(x)
    if isinstance(x, Value):
        return x
    if isinstance(x, Real):
        return _const(float(x))
    return None


def _node1(rule: Op, data: float, a: "Value") -> "Value":
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._mark = 0
    if _no_grad_blocks and _grad_disabled():
        out._rule = None
    else:
        out._rule = rule
        out._a = a
    return out


def _node2(rule: Op, data: float, a: "Value", b: Any) -> "Value":
    """A node with two inputs, or one input and a constant parameter ``b`` (POWC, LEAKY_RELU)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._mark = 0
    if _no_grad_blocks and _grad_disabled():
        out._rule = None
    else:
        out._rule = rule
        out._a = a
        out._b = b
    return out


def apply_op(op: Op, args: Iterable[Any]) -> "Value":
    """Build the node ``op(*args)``: forward on the inputs' data, inputs recorded in order."""
    inputs = []
    for i, x in enumerate(args):
        v = _operand(x)
        if v is None:
            _to_float(x, f"argument {i + 1} of {op.name}()")
        inputs.append(v)
    data = op.forward(*(v.data for v in inputs))
    data = _to_float(data, f"the forward rule of op {op.name!r} returned a value that")
    if op.arity == 1:
        return _node1(op, data, inputs[0])
    if op.arity == 2:
        return _node2(op, data, inputs[0], inputs[1])
    return _node1(op, data, tuple(inputs))  # three or more inputs: one tuple in _a


def _format_exponent(p: float) -> str:
    return str(int(p)) if p == int(p) and abs(p) < 1e15 else repr(p)


class Value:
    """A scalar that remembers how it was computed, so that gradients can flow back to it.

    ``data`` is the number, ``grad`` is d(output)/d(this value) after ``backward()``,
    ``inputs`` the Values it was computed from and ``op`` the operation ("" for a leaf).
    """

    # _rule: the Op that made this node (None for a leaf). _a, _b: its inputs, or for ops with
    # a constant parameter the input and the parameter. _mark: visit mark of graph walks.
    # _label and _scope are left unset until used, so a node costs nothing for them.
    __slots__ = ("data", "grad", "_rule", "_a", "_b", "_mark", "_label", "_scope")

    # numpy scalars on the left (np.float64(2) * v) defer to Value's reflected operators
    # instead of building an object array.
    __array_ufunc__ = None

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = data if type(data) is float else _to_float(data, "Value(data)")
        self.grad = 0.0
        self._rule = None
        self._mark = 0
        if label:
            self.label = label

    # ------------------------------------------------------------ graph structure
    @property
    def inputs(self) -> tuple["Value", ...]:
        """The Values this one was computed from, in operand order (empty for a leaf)."""
        rule = self._rule
        if rule is None:
            return ()
        if rule.arity == 2:
            return (self._a, self._b)
        a = self._a  # one input, or a tuple of three or more
        return a if type(a) is tuple else (a,)

    @property
    def op(self) -> str:
        """The operation that made this Value: "+", "*", "**2", "tanh" ... ("" for a leaf)."""
        rule = self._rule
        if rule is None:
            return ""
        if rule is POWC:
            return "**" + _format_exponent(self._b)
        return rule.name

    @property
    def label(self) -> str:
        """A name for pictures and traces ("" when not set)."""
        return getattr(self, "_label", "")

    @label.setter
    def label(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"label must be a str, got {type(text).__name__} {text!r}")
        self._label = text

    @property
    def is_leaf(self) -> bool:
        """True for Values made directly (inputs, parameters, constants), not by an op."""
        return self._rule is None

    # micrograd compatibility: its lecture code reads _prev and _op and calls _backward().
    @property
    def _prev(self) -> set["Value"]:
        return set(self.inputs)

    @property
    def _op(self) -> str:
        return self.op

    def _backward(self) -> None:
        """Apply this node's chain-rule step: input.grad += d(self)/d(input) * self.grad."""
        from autograd.backprop import local_grads

        upstream = self.grad
        for inp, local in zip(self.inputs, local_grads(self)):
            inp.grad += local * upstream

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other: Operand) -> "Value":
        if type(other) is not Value:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _node2(ADD, self.data + other.data, self, other)

    def __radd__(self, other: Operand) -> "Value":
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(ADD, other.data + self.data, other, self)

    def __sub__(self, other: Operand) -> "Value":
        if type(other) is not Value:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _node2(SUB, self.data - other.data, self, other)

    def __rsub__(self, other: Operand) -> "Value":
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(SUB, other.data - self.data, other, self)

    def __mul__(self, other: Operand) -> "Value":
        if type(other) is not Value:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _node2(MUL, self.data * other.data, self, other)

    def __rmul__(self, other: Operand) -> "Value":
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(MUL, other.data * self.data, other, self)

    def __truediv__(self, other: Operand) -> "Value":
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(DIV, DIV.forward(self.data, other.data), self, other)

    def __rtruediv__(self, other: Operand) -> "Value":
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(DIV, DIV.forward(other.data, self.data), other, self)

    def __pow__(self, other: Operand) -> "Value":
        if isinstance(other, Value):
            return _node2(POW, _pow(self.data, other.data), self, other)
        if not isinstance(other, Real):
            return NotImplemented
        p = float(other)
        return _node2(POWC, _pow(self.data, p), self, p)

    def __rpow__(self, other: Operand) -> "Value":
        base = _operand(other)
        if base is None:
            return NotImplemented
        return _node2(POW, _pow(base.data, self.data), base, self)

    def __neg__(self) -> "Value":
        return _node1(NEG, -self.data, self)

    def __pos__(self) -> "Value":
        return self

    def __abs__(self) -> "Value":
        return _node1(ABS, abs(self.data), self)

    # ------------------------------------------------------------ functions
    def relu(self) -> "Value":
        """relu(x) = max(0, x); d/dx = 1 if x > 0 else 0."""
        x = self.data
        return _node1(RELU, x if x > 0.0 else 0.0, self)

    def leaky_relu(self, slope: float = 0.01) -> "Value":
        """x if x > 0 else slope * x; d/dx = 1 if x > 0 else slope."""
        slope = _to_float(slope, "leaky_relu(slope)")
        return _node2(LEAKY_RELU, LEAKY_RELU.forward(self.data, slope), self, slope)

    def tanh(self) -> "Value":
        """tanh(x); d/dx = 1 - tanh(x)^2."""
        return _node1(TANH, math.tanh(self.data), self)

    def sigmoid(self) -> "Value":
        """sigma(x) = 1 / (1 + e^-x), stable for any x; d/dx = sigma(x)(1 - sigma(x))."""
        return _node1(SIGMOID, SIGMOID.forward(self.data), self)

    def exp(self) -> "Value":
        """e^x; d/dx = e^x. Raises OverflowError above x = 709.78."""
        return _node1(EXP, _exp(self.data), self)

    def log(self) -> "Value":
        """Natural logarithm; d/dx = 1/x. Raises ValueError for x <= 0."""
        return _node1(LOG, LOG.forward(self.data), self)

    def sqrt(self) -> "Value":
        """sqrt(x); d/dx = 1 / (2 sqrt(x)). Raises ValueError for x < 0."""
        return _node1(SQRT, SQRT.forward(self.data), self)

    def sin(self) -> "Value":
        """sin(x); d/dx = cos(x)."""
        return _node1(SIN, math.sin(self.data), self)

    def cos(self) -> "Value":
        """cos(x); d/dx = -sin(x)."""
        return _node1(COS, math.cos(self.data), self)

    def softplus(self) -> "Value":
        """softplus(x) = log(1 + e^x), stable for any x; d/dx = sigma(x)."""
        return _node1(SOFTPLUS, SOFTPLUS.forward(self.data), self)

    # ------------------------------------------------------------ conversion and backprop
    def item(self) -> float:
        """The data as a Python float."""
        return self.data

    def __float__(self) -> float:
        return self.data

    def __format__(self, spec: str) -> str:
        # f"{loss:.4f}" formats the number; f"{loss}" shows the repr.
        return format(self.data, spec) if spec else repr(self)

    def detach(self) -> "Value":
        """A new leaf with the same data and no history: gradients do not flow through it."""
        return _const(self.data)

    def backward(self, grad: Number = 1.0) -> None:
        """Backpropagate from this Value: every node it depends on gets ``grad = d self / d node``.

        Iterative (no recursion limit). Like PyTorch, gradients of leaves accumulate across
        calls (two calls give twice the gradient: reset with ``x.grad = 0.0`` or a model's
        ``zero_grad()``), while each call resets and recomputes the gradients of
        intermediate nodes.
        """
        from autograd.backprop import backward

        backward(self, grad)

    def __repr__(self) -> str:
        label = getattr(self, "_label", "")
        extra = f", label={label!r}" if label else ""
        return f"Value(data={self.data}, grad={self.grad}{extra})"

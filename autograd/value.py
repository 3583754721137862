"""class Value: one scalar in a computational graph, with its data, grad and how it was made.

How ``c = a * b`` works, from the operator to the gradient
----------------------------------------------------------

1. ``a * b`` calls ``Value.__mul__``, which computes the forward value ``a.data * b.data`` and
   records a new node: ``c.data``, ``c.grad = 0.0``, the op's row (``ops.MUL``) and the two
   inputs. That is all a node holds; ``c.inputs == (a, b)`` and ``c.op == "*"``.
2. The row ``ops.MUL`` is the op written once, as a forward rule and a local-derivative rule::

       MUL = Op("*", lambda a, b: a * b, lambda a, b, out: (b, a))

   i.e. dc/da = b and dc/db = a.
3. ``c.backward()`` (``autograd.backprop``) orders the graph from ``c`` back to its leaves and
   applies one chain-rule step per node, outputs first: each input's gradient gets
   ``upstream * local``, here ``a.grad += c.grad * b.data`` and ``b.grad += c.grad * a.data``.
   ``explain(c)`` prints exactly these steps; ``draw_graph(c)`` draws them.

Why a node stores its op and inputs instead of a ``_backward`` closure (as micrograd does):
a closure per node makes a reference cycle (node -> closure -> node) and several more objects
for the garbage collector to track. In micrograd the cyclic collector then costs more than
the arithmetic: dropping a 20,000-node graph leaves ~128,000 objects for ``gc.collect()``,
about 695 bytes per node. A Value here is one GC-tracked object with fixed ``__slots__``
(about 140 bytes with its two floats), freed by reference counting the moment the last
reference goes, and the backward pass dispatches on the op's row (bench/README.md has the
measurements; tests/test_perf_guard.py guards them).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Iterable, Optional, Union

from autograd import ops
from autograd.modes import (OPEN, AnomalyError, anomaly_enabled, first_non_finite, grad_enabled,
                            ieee_enabled)
from autograd.ops import (ABS, ADD, COS, DIV, EXP, LEAKY_RELU, LOG, MUL, NEG, POW, POWC, RELU,
                          SIGMOID, SIN, SOFTPLUS, SQRT, SUB, TANH, Op, _exp, _pow,
                          _pow_values)

__all__ = ["Value", "Scope", "apply_op"]

Number = Union[int, float]
Operand = Union["Value", int, float]

_new = object.__new__

#: ``_a`` of a node that an op built inside ``no_grad()``: a leaf (no inputs, no op) that
#: ``backward()`` can tell from a constant (``Value(3.0)``, ``detach()`` leave ``_a`` unset),
#: at no cost per node (the slot exists anyway).
NO_GRAPH: Any = type("NoGraph", (), {"__slots__": (), "__repr__": lambda self: "NO_GRAPH"})()


# ---------------------------------------------------------------- conversions

def _to_float(x: Any, where: str) -> float:
    """A real number as a Python float, or a TypeError that names what was given."""
    if type(x) is float:
        return x
    if isinstance(x, Real) and not isinstance(x, Value):
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{where} is {_short(x)}, too large for a float (the largest "
                                "is about 1.8e308)") from None
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
    raise TypeError(f"{where} must be a real number, got {type(x).__name__} {_short(x)}; {hint}")


def _short(x: Any) -> str:
    try:
        text = repr(x)
    except ValueError:  # an int too long to print
        text = f"<{type(x).__name__} of {x.bit_length()} bits>"
    return text if len(text) <= 40 else text[:37] + "..."


def _const(data: float) -> "Value":
    """A leaf holding a constant that appeared in an expression (the 2 in 2 * x)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._rule = None
    out._depth = 0
    return out


def _operand(x: Any) -> "Value | None":
    """The other operand of an arithmetic operator as a Value, or None if it is not a number."""
    if type(x) is float:  # first: isinstance(x, Real) is an ABC check, ~10x slower
        return _const(x)
    if isinstance(x, Value):
        return x
    if isinstance(x, Real):
        return _const(_to_float(x, "an operand"))
    return None


# ---------------------------------------------------------------- building nodes

#: The deepest depth a node records: an op node's depth is 1 + its deepest input's, up to
#: DEEP. ``_DEEPER[d]`` is ``min(d + 1, DEEP)``, as one lookup; the tuple holds each depth's
#: int once, so a node's depth costs no memory.
DEEP = 256
_DEEPER = tuple(range(1, DEEP + 1)) + (DEEP,)


def _node2(rule: Op, data: float, a: "Value", b: "Value") -> "Value":
    """A node with two inputs: ``data`` computed by ``rule`` from ``a`` and ``b``.

    This, ``_node1`` and ``_node_n`` are the only places nodes are made; spelled out, with
    no tuple of inputs: they run once per op of every forward pass. Each records the node's
    depth, by which ``backward()`` orders the graph (autograd.backprop._prepare).
    """
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    da = a._depth
    db = b._depth
    out._depth = _DEEPER[da if da > db else db]
    out._rule = rule
    out._a = a
    out._b = b
    if OPEN[0]:  # a no_grad or detect_anomaly block is open somewhere
        _special(out)
    return out


def _node1(rule: Op, data: float, a: "Value", param: Optional[float] = None) -> "Value":
    """A node with one input ``a`` (``param``: the constant p of x ** p, leaky_relu's slope)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._depth = _DEEPER[a._depth]
    out._rule = rule
    out._a = a
    out._b = param
    if OPEN[0]:
        _special(out)
    return out


def _node_n(rule: Op, data: float, inputs: tuple["Value", ...]) -> "Value":
    """A node with three or more inputs, kept as one tuple in ``_a``."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._depth = _DEEPER[max(v._depth for v in inputs)]
    out._rule = rule
    out._a = inputs
    out._b = None
    if OPEN[0]:
        _special(out)
    return out


def _special(out: "Value") -> None:
    """no_grad: the node keeps no history; detect_anomaly: a non-finite result raises."""
    # (A rule evaluated at a singular point makes inf on purpose: the backward pass checks it.)
    if anomaly_enabled() and not ieee_enabled() and not math.isfinite(out.data):
        inputs = out.inputs
        if first_non_finite(out.data, [v.data for v in inputs]):
            raise AnomalyError(f"the forward pass made {out.data} at the {out.op!r} node "
                               f"({describe_inputs(inputs)}): the first non-finite value")
    if not grad_enabled():
        out._rule = None
        out._depth = 0
        out._a = NO_GRAPH   # a leaf, but not a constant: backward() refuses it
        out._b = None


def describe_inputs(inputs: Iterable["Value"]) -> str:
    """``input data 2.0 (x), 0.0``: the inputs of a node for an error message."""
    parts = [f"{v.data!r}" + (f" ({v.label})" if v.label else "") for v in inputs]
    return "input data " + ", ".join(parts) if parts else "no inputs"


def apply_op(op: Op, args: Iterable[Any]) -> "Value":
    """Build the node ``op(*args)``: forward on the inputs' data, inputs recorded in order."""
    inputs = []
    for i, x in enumerate(args):
        v = _operand(x)
        if v is None:
            _to_float(x, f"argument {i + 1} of {op.name}()")
        inputs.append(v)
    try:
        data = op.forward(*(v.data for v in inputs))
    except (ArithmeticError, ValueError) as error:
        _name_the_op(error, op.name, inputs)
        raise
    data = _to_float(data, f"the forward rule of op {op.name!r} returned a value that")
    if op.arity == 1:
        return _node1(op, data, inputs[0])
    if op.arity == 2:
        return _node2(op, data, inputs[0], inputs[1])
    return _node_n(op, data, tuple(inputs))


def _name_the_op(error: BaseException, name: str, inputs: list["Value"]) -> None:
    """Add where an error happened to its message, keeping its type (PEP 678 notes)."""
    if hasattr(error, "add_note"):
        error.add_note(f"in the forward pass of the {name!r} op ({describe_inputs(inputs)})")


def _format_exponent(p: float) -> str:
    if math.isfinite(p) and p == int(p) and abs(p) < 1e15:
        return str(int(p))
    return repr(p)


class Scope:
    """Where a node was made: a named region of a graph (an nn neuron, a layer, a time step).

    ``kind`` says what it is (``"neuron"``, ``"layer"``, ``"step"`` ...), ``name`` how it is
    called inside its ``parent`` (``"N3"``); ``path`` joins the names from the outermost
    (``"L1.N3"``). Pictures fold a scope into one box (``draw_graph(collapse="neuron")``),
    traces name nodes by it. Any library can make scopes; nn makes one per module.
    """

    __slots__ = ("kind", "name", "parent", "owner", "__weakref__")

    def __init__(self, kind: str, name: str = "", parent: Optional["Scope"] = None,
                 owner: Any = None) -> None:
        self.kind = kind
        self.name = name
        self.parent = parent
        self.owner = owner        # the object that made the scope (an nn Module), if any

    @property
    def path(self) -> str:
        """The names from the outermost scope to this one, joined by dots (``L1.N3``)."""
        names = [s.name for s in self.chain() if s.name]
        return ".".join(names)

    def chain(self) -> list["Scope"]:
        """This scope and its parents, outermost first."""
        found = []
        scope: Optional[Scope] = self
        while scope is not None:
            found.append(scope)
            scope = scope.parent
        return found[::-1]

    def find(self, kind: str) -> Optional["Scope"]:
        """The nearest scope of ``kind``, this one or a parent (None if there is none)."""
        scope: Optional[Scope] = self
        while scope is not None and scope.kind != kind:
            scope = scope.parent
        return scope

    def __repr__(self) -> str:
        return f"Scope({self.kind!r}, {self.path!r})"


class Value:
    """A scalar that remembers how it was computed, so that gradients can flow back to it.

    ``data`` is the number and ``grad`` is d(output)/d(this value) after ``backward()``;
    ``inputs`` are the Values it was computed from and ``op`` the operation ("" for a leaf).
    Arithmetic (``+ - * / **``, unary ``-``, ``abs``) and the methods below build new Values.
    ``==`` is identity (Values go in sets and dicts); ``< <= > >=`` compare ``data``.
    """

    # Slots, not a __dict__: one small object per node (the values are help() texts).
    # _label and _scope are left unset until used, so that a node costs nothing for them.
    __slots__ = {
        "data": "The number (a float).",
        "grad": "d(output)/d(this value), set by backward() (leaves accumulate across passes).",
        "_rule": "The op's row in the op table (None for a leaf).",
        "_a": "The first input (a tuple of all inputs for an op of three or more).",
        "_b": "The second input, or the constant parameter of x ** p and leaky_relu.",
        "_depth": "0 for a leaf, else 1 + its deepest input's depth, up to DEEP (256): "
                  "backward() orders the graph by it.",
        "_label": "The label, once set.",
        "_scope": "The Scope the node was made in, once set.",
    }

    # numpy scalars on the left (np.float64(2) * v) defer to Value's reflected operators
    # instead of building an object array.
    __array_ufunc__ = None

    def __init__(self, data: Number, label: str = "") -> None:
        """A leaf Value: ``data`` is a real number (stored as a float), ``grad`` starts at 0."""
        self.data = data if type(data) is float else _to_float(data, "Value(data)")
        self.grad = 0.0
        self._rule = None
        self._depth = 0
        if label:
            self.label = label

    # ------------------------------------------------------------ the node's public API
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
    def rule(self) -> Optional[Op]:
        """The op's row in the op table (``ops.MUL`` ...), None for a leaf."""
        return self._rule

    @property
    def op_param(self) -> Optional[float]:
        """The constant parameter of the op: the p of ``x ** p``, leaky_relu's slope; else None."""
        rule = self._rule
        return self._b if rule is not None and rule.has_param else None

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
            raise TypeError(f"label must be a str, got {type(text).__name__} {text!r:.40}")
        self._label = text

    @property
    def scope(self) -> Optional[Scope]:
        """Where this node was made (an ``nn`` module call ...): a ``Scope``, or None."""
        return getattr(self, "_scope", None)

    @scope.setter
    def scope(self, scope: Optional[Scope]) -> None:
        if scope is not None and not isinstance(scope, Scope):
            raise TypeError(f"scope must be an autograd.Scope or None, got "
                            f"{type(scope).__name__}")
        self._scope = scope

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
        from autograd.backprop import chain_rule_step

        for inp, _local, contribution in chain_rule_step(self, self.grad):
            inp.grad += contribution

    # ------------------------------------------------------------ arithmetic
    # Each operator computes the forward value and records the node; + - * and unary - write
    # their forward rule inline (a function call per op would cost ~15% of a forward pass;
    # tests check them against the rows).

    def __add__(self, other: Operand) -> "Value":
        """self + other; d/dself = 1, d/dother = 1."""
        if type(other) is not Value:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _node2(ADD, self.data + other.data, self, other)

    def __radd__(self, other: Operand) -> "Value":
        """other + self."""
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(ADD, other.data + self.data, other, self)

    def __sub__(self, other: Operand) -> "Value":
        """self - other; d/dself = 1, d/dother = -1."""
        if type(other) is not Value:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _node2(SUB, self.data - other.data, self, other)

    def __rsub__(self, other: Operand) -> "Value":
        """other - self."""
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(SUB, other.data - self.data, other, self)

    def __mul__(self, other: Operand) -> "Value":
        """self * other; d/dself = other, d/dother = self."""
        if type(other) is not Value:
            other = _operand(other)
            if other is None:
                return NotImplemented
        return _node2(MUL, self.data * other.data, self, other)

    def __rmul__(self, other: Operand) -> "Value":
        """other * self."""
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(MUL, other.data * self.data, other, self)

    def __truediv__(self, other: Operand) -> "Value":
        """self / other; d/dself = 1/other, d/dother = -self/other^2. Raises for other = 0."""
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(DIV, DIV.forward(self.data, other.data), self, other)

    def __rtruediv__(self, other: Operand) -> "Value":
        """other / self."""
        other = _operand(other)
        if other is None:
            return NotImplemented
        return _node2(DIV, DIV.forward(other.data, self.data), other, self)

    def __pow__(self, other: Operand) -> "Value":
        """self ** p; d/dself = p self^(p-1), and for a Value p: d/dp = self^p log(self)."""
        kind = type(other)
        if kind is int or kind is float:  # first: the ABC check below costs ~400 ns
            p = float(other)
        elif isinstance(other, Value):
            return _node2(POW, _pow_values(self.data, other.data), self, other)
        elif isinstance(other, Real):
            p = _to_float(other, "the exponent")
        else:
            return NotImplemented
        return _node1(POWC, _pow(self.data, p), self, p)

    def __rpow__(self, other: Operand) -> "Value":
        """other ** self, e.g. 2 ** x; d/dself = 2^x log(2)."""
        base = _operand(other)
        if base is None:
            return NotImplemented
        return _node2(POW, _pow_values(base.data, self.data), base, self)

    def __neg__(self) -> "Value":
        """-self; d/dself = -1."""
        return _node1(NEG, -self.data, self)

    def __pos__(self) -> "Value":
        """+self is self."""
        return self

    def __abs__(self) -> "Value":
        """|self|; d/dself = sign(self) (0 at 0)."""
        return _node1(ABS, abs(self.data), self)

    # Comparisons look at the numbers (no graph): rules branch with them, ops.where(x > 0, ...).
    def __lt__(self, other: Operand) -> bool:
        """self.data < other's data (a bool: no graph, no gradient)."""
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        """self.data <= other's data (a bool: no graph, no gradient)."""
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        """self.data > other's data (a bool: no graph, no gradient)."""
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        """self.data >= other's data (a bool: no graph, no gradient)."""
        return self.data >= _data(other)

    # ------------------------------------------------------------ functions
    def relu(self) -> "Value":
        """relu(x) = max(0, x); d/dx = 1 if x > 0 else 0. relu(nan) is nan."""
        x = self.data
        return _node1(RELU, 0.0 if x <= 0.0 else x, self)  # RELU's forward, inline

    def leaky_relu(self, slope: float = 0.01) -> "Value":
        """x if x > 0 else slope * x; d/dx = 1 if x > 0 else slope."""
        slope = _to_float(slope, "leaky_relu(slope)")
        return _node1(LEAKY_RELU, LEAKY_RELU.forward(self.data, slope), self, slope)

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
        """sqrt(x); d/dx = 1 / (2 sqrt(x)) (inf at 0). Raises ValueError for x < 0."""
        return _node1(SQRT, SQRT.forward(self.data), self)

    def sin(self) -> "Value":
        """sin(x); d/dx = cos(x)."""
        return _node1(SIN, SIN.forward(self.data), self)

    def cos(self) -> "Value":
        """cos(x); d/dx = -sin(x)."""
        return _node1(COS, COS.forward(self.data), self)

    def softplus(self) -> "Value":
        """softplus(x) = log(1 + e^x), stable for any x; d/dx = sigma(x)."""
        return _node1(SOFTPLUS, SOFTPLUS.forward(self.data), self)

    # ------------------------------------------------------------ conversion and backprop
    def item(self) -> float:
        """The data as a Python float."""
        return self.data

    def __float__(self) -> float:
        """float(v) is v.data."""
        return self.data

    def __format__(self, spec: str) -> str:
        """f"{loss:.4f}" formats the number; f"{loss}" shows the repr."""
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
        """Value(data=..., grad=...), with the label when set."""
        label = getattr(self, "_label", "")
        extra = f", label={label!r}" if label else ""
        return f"Value(data={self.data}, grad={self.grad}{extra})"


def _data(x: Any) -> float:
    if isinstance(x, Value):
        return x.data
    return _to_float(x, "the other side of the comparison")


def _as_value(x: Any, name: str) -> Value:
    v = _operand(x)
    if v is None:
        _to_float(x, f"the argument of {name}()")
    return v


def _builder(op: Op) -> Any:
    """The function that builds a built-in op from a Value or a number: its Value method
    (``tanh`` -> ``Value.tanh``), or the op applied directly for a row without one."""
    method = getattr(Value, "__abs__" if op.name == "abs" else op.name, None)

    def build(*args: Any) -> Value:
        if method is None:
            return apply_op(op, args)
        return method(_as_value(args[0], op.name), *args[1:])

    build.__name__ = build.__qualname__ = op.name
    build.__doc__ = f"The built-in op {op.name!r} of a Value or a number."
    return build


# Every built-in op with a function name, for the expression language, nn and ops.lookup.
for _op in ops.BUILTIN.values():
    if _op.name.isidentifier() and _op.name != "neg":
        ops.FUNCTIONS[_op.name] = _builder(_op)
del _op

"""The op table: every operation is one row, a forward rule on floats and a local-derivative rule.

The local-derivative rule ``local_grads(*inputs, out)`` returns ``d out / d input_i`` for each
input. It is written only with operators and the functions of this module (``exp``, ``log``,
``where`` ...), which accept three kinds of operand:

- floats: the rule gives numbers, the fast first-order backward pass;
- Values: the rule builds the graph of the derivative itself, which is how
  ``grad(..., create_graph=True)`` gives second and higher derivatives;
- symbols (``autograd.symbolic.Sym``): the rule gives its own formula, printed as the
  Python code that ``autograd.compile`` writes and as the math that ``explain()``, the stepper
  and the pictures show.

So adding an op is adding a row, and every tool derives from it. A branch is an expression,
``where(x > 0, 1.0, slope)``, never a Python ``if``. A quotient is written ``over(n, d)``
where the chain rule must divide last, as PyTorch does (``upstream / x``, not
``upstream * (1 / x)``, which overflows for a subnormal x). ``None`` as a derivative means
that no gradient flows through that input at that point (a structural zero, as for relu at
x <= 0): it contributes nothing, not even ``0 * inf``, as in PyTorch.

Ops with a constant parameter (``x ** 3``, ``leaky_relu(x, 0.1)``) receive it as the last
argument of both rules: ``forward(a, p)`` and ``local_grads(a, out, p)``.
"""

from __future__ import annotations

import builtins
import inspect
import math
import threading
from numbers import Real
from typing import Any, Callable, NamedTuple, Optional

from autograd import symbolic
from autograd.modes import ieee_enabled
from autograd.symbolic import NoSymbolicForm, Sym

__all__ = [
    "Op", "OPS", "register_op", "unregister_op", "lookup",
    "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "softplus", "relu",
    "leaky_relu", "abs", "sign", "where", "is_zero", "over", "Quotient",
]


class Symbolic(NamedTuple):
    """An op's rules evaluated on symbols: its inputs' names, its forward and local derivatives.

    ``forward`` is None when the forward rule is not an expression of the inputs (a checked
    float function such as ``log``); ``local_grads`` is None when the rule can't be read
    symbolically (a user's rule with a Python ``if``).
    """
    inputs: tuple[str, ...]
    forward: Optional[Sym]
    local_grads: Optional[tuple[Sym, ...]]


class Op:
    """One differentiable operation: ``forward`` on floats, ``local_grads`` on floats or Values.

    ``arity`` is the number of Value inputs (a constant parameter is not one).
    """

    __slots__ = ("name", "forward", "local_grads", "arity", "has_param", "_symbolic")

    def __init__(self, name: str, forward: Callable[..., float], local_grads: Callable[..., tuple],
                 arity: Optional[int] = None, has_param: bool = False) -> None:
        self.name = name
        self.forward = forward
        self.local_grads = local_grads
        self.has_param = has_param
        # local_grads(*inputs, out[, param]): everything but out and the parameter is an input.
        self.arity = arity if arity is not None else _arity(name, local_grads) - 1 - has_param
        self._symbolic: dict[Any, Symbolic] = {}

    def derivatives(self, *args: Any) -> tuple:
        """``local_grads(*args)``, checked to give one derivative per input (user rules err)."""
        result = self.local_grads(*args)
        if not isinstance(result, (tuple, list)) or len(result) != self.arity:
            raise TypeError(
                f"the local_grads rule of op {self.name!r} must return a tuple with one "
                f"derivative per input ({self.arity}), got {result!r}")
        return tuple(result)

    def symbolic(self, param: Any = None) -> Symbolic:
        """The rules evaluated on symbols (cached; per parameter value for ``x ** p``)."""
        found = self._symbolic.get(param)
        if found is None:
            found = self._symbolic[param] = self._evaluate_symbolically(param)
        return found

    def _evaluate_symbolically(self, param: Any) -> Symbolic:
        names = (("x",) if self.arity == 1 else ("a", "b") if self.arity == 2
                 else tuple(f"x{i + 1}" for i in range(self.arity)))
        inputs = [Sym("name", n) for n in names]
        if self.has_param:  # a number for one node's rule, else the symbol p
            inputs.append(Sym("name", "p") if param is None else param)
        try:
            forward = symbolic.lift(symbolic.evaluate(self.forward, *inputs))
            if not isinstance(forward, Sym) or forward.kind == "none":
                forward = None
        except NoSymbolicForm:
            forward = None
        args = inputs[:self.arity] + [Sym("name", "out")] + inputs[self.arity:]
        try:
            local_syms: Optional[tuple] = tuple(
                symbolic.lift(d) for d in symbolic.evaluate(self.derivatives, *args))
            if any(not isinstance(d, Sym) for d in local_syms):
                local_syms = None
        except NoSymbolicForm:
            local_syms = None
        return Symbolic(names, forward, local_syms)

    def __repr__(self) -> str:
        return f"Op({self.name!r}, arity={self.arity})"


def _arity(name: str, rule: Callable) -> int:
    """How many positional arguments ``rule`` takes (no defaults, no *args)."""
    try:
        params = list(inspect.signature(rule).parameters.values())
    except (TypeError, ValueError):
        raise TypeError(f"op {name!r}: cannot read the signature of its rule; pass a def or "
                        "lambda with named arguments, or give arity=") from None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise TypeError(f"op {name!r}: its rules must take a fixed number of arguments "
                        "(no *args), or give arity=")
    return sum(1 for p in params if p.default is p.empty
               and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _is_number(x: Any) -> bool:
    return type(x) is float or type(x) is int or isinstance(x, Real)


# ---------------------------------------------------------------- forward rules on floats
# Each checks its domain, so that bad math fails at the op that caused it and names it.
# Inside the backward pass (modes.ieee) they give IEEE-754 values instead: 1/0 = inf.

def _num(x: float) -> str:
    return repr(float(x))


def _div(a: float, b: float) -> float:
    if b == 0.0:
        if ieee_enabled():
            return (math.copysign(math.inf, a) * math.copysign(1.0, b)
                    if a == a and a != 0.0 else math.nan)
        raise ZeroDivisionError(f"division by zero in {_num(a)} / {_num(b)}: the divisor is zero")
    return a / b


def _is_odd_integer(b: float) -> bool:
    return math.isfinite(b) and b == int(b) and int(b) % 2 == 1


def _pow(a: float, b: float) -> float:
    if a == 0.0 and b < 0.0:
        if ieee_enabled():  # (-0) ** -0.5 as PyTorch computes it: 1 / sqrt(-0) = -inf
            return (math.copysign(math.inf, a) if _is_odd_integer(b) or b == -0.5
                    else math.inf)
        raise ZeroDivisionError(
            f"{_base(a)} ** {_num(b)}: zero cannot be raised to a negative power (1/0)")
    if a < 0.0 and math.isfinite(b) and b != int(b):
        if ieee_enabled():
            return math.nan
        raise ValueError(
            f"{_base(a)} ** {_num(b)}: a negative base to a non-integer power is not a real "
            "number; use abs(x) ** p or an integer exponent")
    try:
        return a ** b
    except OverflowError:
        if ieee_enabled():
            return -math.inf if a < 0.0 and _is_odd_integer(b) else math.inf
        raise OverflowError(
            f"{_base(a)} ** {_num(b)} overflows a float (the largest is about 1.8e308)") from None


def _pow_values(a: float, b: float) -> float:
    """a ** b for a Value exponent: C's pow, as PyTorch's tensor ** tensor. It differs from
    ``_pow`` (x ** a constant, where PyTorch computes x ** -0.5 as 1 / sqrt(x)) only at -0:
    (-0) ** -0.5 is +inf here, so d(a ** b)/da at a = -0, b = 0.5 is +inf as in PyTorch."""
    if b == -0.5 and a == 0.0 and ieee_enabled():
        return math.inf
    return _pow(a, b)


def _base(a: float) -> str:
    return f"({_num(a)})" if a < 0.0 else _num(a)  # (-8.0) ** 0.5, not -8.0 ** 0.5


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        if ieee_enabled():
            return math.inf
        raise OverflowError(
            f"exp({_num(a)}) overflows a float (exp(x) is finite only for x <= 709.78); "
            "scale the input down or use a stable form such as softplus or log-sum-exp") from None


def _log(a: float) -> float:
    if a <= 0.0:
        if ieee_enabled():
            return -math.inf if a == 0.0 else math.nan
        raise ValueError(f"log({_num(a)}) is undefined: log needs a positive number")
    return math.log(a)


def _sqrt(a: float) -> float:
    if a < 0.0:
        if ieee_enabled():
            return math.nan
        raise ValueError(f"sqrt({_num(a)}) is undefined: sqrt needs a number >= 0")
    return math.sqrt(a)


def _periodic(name: str, function: Callable[[float], float]) -> Callable[[float], float]:
    def checked(a: float) -> float:
        try:
            return function(a)
        except ValueError:  # only at +-inf
            if ieee_enabled():
                return math.nan
            raise ValueError(f"{name}({_num(a)}) is undefined: {name} needs a finite "
                             "number") from None

    checked.__name__ = checked.__qualname__ = f"_{name}"
    checked.__doc__ = f"math.{name} that names itself when its input is infinite."
    return checked


_sin = _periodic("sin", math.sin)
_cos = _periodic("cos", math.cos)


def _sigmoid(a: float) -> float:
    # Two branches so that exp never overflows: sigmoid(-1000) is 0.0, sigmoid(1000) is 1.0.
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _softplus(a: float) -> float:
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|), finite for every finite float.
    return (a if a > 0.0 else 0.0) + math.log1p(math.exp(-a if a > 0.0 else a))


def _sign(a: float) -> float:
    return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)  # sign(nan) = 0, as PyTorch


# ---------------------------------------------------------------- float-or-Value functions
# Used in local-derivative rules (built-in and user-registered) and by users directly.
# Each takes a float, a Value or a symbol (Value and Sym have the same methods).

def exp(x):
    """e^x for a float or a Value."""
    return _exp(float(x)) if _is_number(x) else x.exp()


def log(x):
    """Natural logarithm of a float or a Value."""
    return _log(float(x)) if _is_number(x) else x.log()


def sqrt(x):
    """Square root of a float or a Value."""
    return _sqrt(float(x)) if _is_number(x) else x.sqrt()


def sin(x):
    """sin(x) for a float or a Value."""
    return _sin(float(x)) if _is_number(x) else x.sin()


def cos(x):
    """cos(x) for a float or a Value."""
    return _cos(float(x)) if _is_number(x) else x.cos()


def tanh(x):
    """tanh(x) for a float or a Value."""
    return math.tanh(x) if _is_number(x) else x.tanh()


def sigmoid(x):
    """sigma(x) = 1 / (1 + e^-x) for a float or a Value."""
    return _sigmoid(float(x)) if _is_number(x) else x.sigmoid()


def softplus(x):
    """log(1 + e^x) for a float or a Value."""
    return _softplus(float(x)) if _is_number(x) else x.softplus()


def relu(x):
    """max(0, x) for a float or a Value (relu(nan) is nan)."""
    return RELU.forward(float(x)) if _is_number(x) else x.relu()


def leaky_relu(x, slope: float = 0.01):
    """x if x > 0 else slope * x, for a float or a Value."""
    return LEAKY_RELU.forward(float(x), slope) if _is_number(x) else x.leaky_relu(slope)


def abs(x):  # noqa: A001 - ops.abs mirrors the builtin for floats and Values
    """|x| for a float or a Value."""
    return builtins.abs(float(x)) if _is_number(x) else x.__abs__()


def sign(x) -> Any:
    """The sign of x as a constant (-1.0, 0.0 or 1.0; 0.0 for nan): the derivative of |x|."""
    if _is_number(x):
        return _sign(float(x))
    if isinstance(x, Sym):
        return x.call("sign")
    return _sign(x.data)


def where(condition: Any, if_true: Any, if_false: Any) -> Any:
    """``if_true if condition else if_false``: the branch of a rule, as an expression.

    The condition compares data (``x > 0``: no gradient flows through a comparison); on
    symbols it is kept as a formula, so compiled code and pictures show the branch.
    """
    if isinstance(condition, Sym):
        return symbolic.where(condition, if_true, if_false)
    return if_true if condition else if_false


def is_zero(x: Any) -> Any:
    """``x == 0`` on the data (Values compare by identity, so rules use this)."""
    if _is_number(x):
        return x == 0.0
    if isinstance(x, Sym):
        return Sym("==", x, symbolic.lift(0.0))
    return x.data == 0.0


class Quotient(float):
    """A local derivative n / d (a float) that remembers n and d, made by ``over``."""

    __slots__ = ("numerator", "denominator")


def over(numerator, denominator):
    """``numerator / denominator`` as a local derivative that the chain rule applies dividing
    last: ``upstream * numerator / denominator``, PyTorch's order. (``upstream * (1 / x)``
    is inf for a subnormal x, 1 / 1e-310 overflowing, where ``upstream / x`` is finite.)

    Floats give a ``Quotient``, Values the node n / d, symbols the formula (shown as n/d)."""
    if isinstance(numerator, Sym) or isinstance(denominator, Sym):
        return Sym("over", symbolic.lift(numerator), symbolic.lift(denominator))
    if _is_number(numerator) and _is_number(denominator):
        quotient = Quotient(numerator / denominator)   # x / 0 raises, as 1.0 / x does
        quotient.numerator, quotient.denominator = numerator, denominator
        return quotient
    return numerator / denominator


def is_over(op: "Op", position: int, param: Any = None) -> bool:
    """Whether the op's local derivative for input ``position`` is an ``over(n, d)``: then,
    on Values, the node n / d whose inputs the chain rule divides with."""
    found = op.symbolic(param).local_grads
    return found is not None and found[position].kind == "over"


def _pow_const(a, p: float):
    """a ** p without building a node when p is 0 or 1 (keeps higher derivatives finite at 0)."""
    if p == 0.0:
        return 1.0
    if p == 1.0:
        return a
    return a ** p


# ---------------------------------------------------------------- the table
# name              forward (floats)    local derivatives d out / d input_i
ADD = Op("+",        lambda a, b: a + b, lambda a, b, out: (1.0, 1.0))
SUB = Op("-",        lambda a, b: a - b, lambda a, b, out: (1.0, -1.0))
MUL = Op("*",        lambda a, b: a * b, lambda a, b, out: (b, a))
DIV = Op("/",        _div,               lambda a, b, out: (over(1.0, b), -out / b))
# a ** b: none to a at 0 ** 0 (where b a^(b-1) would be 0 * inf), none to b at 0 ** (b >= 0);
# b / a at b = 0, which is 0 also where a^-1 overflows (a subnormal), as PyTorch's 0.
POW = Op("**",       _pow_values,        lambda a, b, out: (where(is_zero(a) & is_zero(b), None,
                                                                  where(is_zero(b), b / a,
                                                                        b * a ** (b - 1.0))),
                                                            where(is_zero(a) & (b >= 0.0), None,
                                                                  out * log(a))))
POWC = Op("**",      _pow,               lambda a, out, p: (None if p == 0.0 else
                                                            p * _pow_const(a, p - 1.0),),
          has_param=True)
NEG = Op("neg",      lambda a: -a,       lambda a, out: (-1.0,))
ABS = Op("abs",      builtins.abs,       lambda a, out: (sign(a),))
# relu(nan) is nan (NaN is never masked); no gradient flows for x <= 0 (as PyTorch).
RELU = Op("relu",    lambda a: where(a <= 0.0, 0.0, a),
                                         lambda a, out: (where(a <= 0.0, None, 1.0),))
LEAKY_RELU = Op("leaky_relu", lambda a, slope: where(a > 0.0, a, slope * a),
                                         lambda a, out, slope: (where(a > 0.0, 1.0, slope),),
                has_param=True)
TANH = Op("tanh",    math.tanh,          lambda a, out: (1.0 - out * out,))
SIGMOID = Op("sigmoid", _sigmoid,        lambda a, out: (out * (1.0 - out),))
EXP = Op("exp",      _exp,               lambda a, out: (out,))
LOG = Op("log",      _log,               lambda a, out: (over(1.0, a),))
SQRT = Op("sqrt",    _sqrt,              lambda a, out: (0.5 / out,))
SIN = Op("sin",      _sin,               lambda a, out: (cos(a),))
COS = Op("cos",      _cos,               lambda a, out: (-sin(a),))
SOFTPLUS = Op("softplus", _softplus,     lambda a, out: (sigmoid(a),))

#: The built-in ops by name: every row above ("**" is Value ** Value; POWC, x ** constant,
#: shares its name and is reached through the ** operator only).
BUILTIN: dict[str, Op] = {row.name: row for row in list(globals().values())
                          if isinstance(row, Op) and row is not POWC}

#: Every op by name: the built-in ones and those added by ``register_op``.
OPS: dict[str, Op] = dict(BUILTIN)
#: The function that builds each op from Values and numbers (``OPS[name]`` -> ``FUNCTIONS``).
FUNCTIONS: dict[str, Callable[..., Any]] = {}
_registry_lock = threading.Lock()


def lookup(name: str) -> Callable[..., Any]:
    """The function that builds the op ``name`` (``lookup("tanh")(x)`` is ``x.tanh()``)."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        known = ", ".join(sorted(n for n in FUNCTIONS if n.isidentifier()))
        raise KeyError(f"no op named {name!r}; known: {known}, or add one with "
                       "register_op") from None


# ---------------------------------------------------------------- user ops

def register_op(name: str, forward: Callable[..., float], local_grads: Callable[..., tuple],
                arity: Optional[int] = None, replace: bool = False) -> Callable[..., Any]:
    """Declare a new op from a forward rule on floats and its local derivatives.

    ``forward(*floats) -> float``; ``local_grads(*inputs, out) -> tuple`` with one entry
    ``d out / d input_i`` per input, written with operators and the functions of
    ``autograd.ops`` so that it works on floats, Values and symbols (then the op has second
    and higher derivatives, compiled code and its formula in pictures). ``arity`` (the number
    of inputs) is read from ``local_grads`` unless given. Returns a function of Values and
    numbers that builds the node; the op is then known by name everywhere: ``ops.lookup``,
    the command line's expressions, ``MLP(..., activation=name)`` for a one-input op.
    Registering a name that exists with other rules is an error unless ``replace=True``
    (running the same definition again, as a notebook cell, is fine).

    >>> swish = register_op("swish", lambda x: x / (1 + math.exp(-x)),
    ...                     lambda x, out: (ops.sigmoid(x) + out * (1 - ops.sigmoid(x)),))
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError(f"register_op: name must be a non-empty str, got {name!r}")
    for what, fn in (("forward", forward), ("local_grads", local_grads)):
        if not callable(fn):
            raise TypeError(f"register_op({name!r}): {what} must be callable, got {fn!r}")
    if arity is not None and (isinstance(arity, bool) or not isinstance(arity, int)
                              or arity < 1):
        raise ValueError(f"register_op({name!r}): arity must be a positive int, got {arity!r}")
    if arity is None:
        arity = _arity(name, local_grads) - 1
        if arity < 1:
            raise TypeError(f"register_op({name!r}): local_grads must take at least one input "
                            "and then out, as local_grads(x, out)")
    if name in BUILTIN:
        raise ValueError(f"register_op: {name!r} is a built-in op and can't be replaced; "
                         "choose another name")
    op = Op(name, forward, local_grads, arity)

    from autograd.value import apply_op

    def build(*args: Any) -> Any:
        if len(args) != arity:
            raise TypeError(f"{name}() takes {arity} argument(s), got {len(args)}")
        return apply_op(op, args)

    build.__name__ = build.__qualname__ = name if name.isidentifier() else "op"
    build.__doc__ = f"The registered op {name!r} of {arity} input(s)."
    build.op = op  # type: ignore[attr-defined]
    with _registry_lock:
        old = OPS.get(name)
        if old is not None and not replace and not _same_rules(old, forward, local_grads):
            raise ValueError(f"register_op: an op named {name!r} is already registered; pass "
                             "replace=True to replace it, or choose another name")
        OPS[name] = op
        FUNCTIONS[name] = build
    return build


def _same_rules(op: Op, forward: Callable, local_grads: Callable) -> bool:
    """Whether ``op`` was registered from the same definitions (a notebook cell run again)."""
    def same(f: Callable, g: Callable) -> bool:
        if f is g:
            return True
        code_f, code_g = getattr(f, "__code__", None), getattr(g, "__code__", None)
        if code_f is None or code_f != code_g or f.__defaults__ != g.__defaults__:
            return False
        cells_f, cells_g = f.__closure__ or (), g.__closure__ or ()
        try:
            return [c.cell_contents for c in cells_f] == [c.cell_contents for c in cells_g]
        except ValueError:  # an empty cell
            return False

    return same(op.forward, forward) and same(op.local_grads, local_grads)


def unregister_op(name: str) -> None:
    """Forget the registered op ``name`` (built-in ops stay)."""
    if name in BUILTIN:
        raise ValueError(f"unregister_op: {name!r} is a built-in op")
    with _registry_lock:
        if OPS.pop(name, None) is None:
            raise KeyError(f"no registered op named {name!r}")
        FUNCTIONS.pop(name, None)

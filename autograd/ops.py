"""The op table: every operation is a forward rule on floats and a local-derivative rule.

The local-derivative rule ``local_grads(*inputs, out)`` returns ``d out / d input_i`` for
each input. It is written only with operators and the functions of this module (``exp``,
``log``, ``sin`` ...), which accept floats and Values alike. Evaluated on floats it gives
first-order backprop; evaluated on Values it builds the graph of the derivative itself,
which is how ``grad(..., create_graph=True)`` gives second and higher derivatives.

Ops with a constant parameter (``x ** 3``, ``leaky_relu(x, 0.1)``) receive it as the last
argument of both rules: ``forward(a, p)`` and ``local_grads(a, out, p)``.
"""

from __future__ import annotations

import builtins
import inspect
import math
from numbers import Real
from typing import Any, Callable

__all__ = [
    "Op", "OPS", "register_op",
    "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "softplus", "relu",
    "leaky_relu", "abs", "sign",
]


class Op:
    """One differentiable operation: ``forward`` on floats, ``local_grads`` on floats or Values."""

    __slots__ = ("name", "forward", "local_grads", "arity", "has_param", "formula")

    def __init__(self, name: str, forward: Callable[..., float], local_grads: Callable[..., tuple],
                 arity: int, has_param: bool = False, formula: str = "") -> None:
        self.name = name
        self.forward = forward
        self.local_grads = local_grads
        self.arity = arity            # number of Value inputs (a constant parameter is not one)
        self.has_param = has_param
        self.formula = formula        # the derivative rule in words, for pictures and traces

    def derivatives(self, *args: Any) -> tuple:
        """``local_grads(*args)``, checked to give one derivative per input (user rules err)."""
        result = self.local_grads(*args)
        if not isinstance(result, (tuple, list)) or len(result) != self.arity:
            raise TypeError(
                f"the local_grads rule of op {self.name!r} must return a tuple with one "
                f"derivative per input ({self.arity}), got {result!r}")
        return tuple(result)

    def __repr__(self) -> str:
        return f"Op({self.name!r}, arity={self.arity})"


def _is_number(x: Any) -> bool:
    return type(x) is float or type(x) is int or isinstance(x, Real)


# ---------------------------------------------------------------- forward rules on floats
# Each checks its domain so that bad math fails at the op that caused it, naming it.

def _num(x: float) -> str:
    return repr(float(x))


def _div(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"division by zero in {_num(a)} / {_num(b)}: the divisor is zero")
    return a / b


def _pow(a: float, b: float) -> float:
    base = f"({_num(a)})" if a < 0.0 else _num(a)  # (-8.0) ** 0.5, not -8.0 ** 0.5
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError(
            f"{base} ** {_num(b)}: zero cannot be raised to a negative power (1/0)")
    if a < 0.0 and b != int(b):
        raise ValueError(
            f"{base} ** {_num(b)}: a negative base to a non-integer power is not a real "
            "number; use abs(x) ** p or an integer exponent")
    try:
        return a ** b
    except OverflowError:
        raise OverflowError(
            f"{base} ** {_num(b)} overflows a float (the largest is about 1.8e308)") from None


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        raise OverflowError(
            f"exp({_num(a)}) overflows a float (exp(x) is finite only for x <= 709.78); "
            "scale the input down or use a stable form such as softplus or log-sum-exp") from None


def _log(a: float) -> float:
    if a <= 0.0:
        raise ValueError(f"log({_num(a)}) is undefined: log needs a positive number")
    return math.log(a)


def _sqrt(a: float) -> float:
    if a < 0.0:
        raise ValueError(f"sqrt({_num(a)}) is undefined: sqrt needs a number >= 0")
    return math.sqrt(a)


def _sigmoid(a: float) -> float:
    # Two branches so that exp never overflows: sigmoid(-1000) is 0.0, sigmoid(1000) is 1.0.
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _softplus(a: float) -> float:
    # log(1 + e^a) = max(a, 0) + log1p(e^-|a|), finite for every float.
    return (a if a > 0.0 else 0.0) + math.log1p(math.exp(-a if a > 0.0 else a))


def _relu(a: float) -> float:
    return a if a > 0.0 else 0.0


def _leaky_relu(a: float, slope: float) -> float:
    return a if a > 0.0 else slope * a


def _sign(a: float) -> float:
    return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)


# ---------------------------------------------------------------- float-or-Value functions
# Used in local-derivative rules (built-in and user-registered) and by users directly.

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
    return math.sin(x) if _is_number(x) else x.sin()


def cos(x):
    """cos(x) for a float or a Value."""
    return math.cos(x) if _is_number(x) else x.cos()


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
    """max(0, x) for a float or a Value."""
    return _relu(float(x)) if _is_number(x) else x.relu()


def leaky_relu(x, slope: float = 0.01):
    """x if x > 0 else slope * x, for a float or a Value."""
    return _leaky_relu(float(x), slope) if _is_number(x) else x.leaky_relu(slope)


def abs(x):  # noqa: A001 - ops.abs mirrors the builtin for floats and Values
    """|x| for a float or a Value."""
    return builtins.abs(float(x)) if _is_number(x) else x.__abs__()


def sign(x) -> float:
    """The sign of x as a constant float (-1.0, 0.0 or 1.0): the derivative of |x|."""
    return _sign(float(x) if _is_number(x) else x.data)


def _data(x) -> float:
    return x if _is_number(x) else x.data


def _pow_const(a, p: float):
    """a ** p without building a node when p is 0 or 1 (keeps higher derivatives finite at 0)."""
    if p == 0.0:
        return 1.0
    if p == 1.0:
        return a
    return a ** p


def _pow_base_grad(a, b):
    # d(a^b)/da = b a^(b-1). At a == b == 0 that is 0 * (1/0): a^0 = 1 is flat there (as PyTorch).
    if _data(b) == 0.0 and _data(a) == 0.0:
        return 0.0
    return b * a ** (b - 1.0)


def _log_for_pow(a):
    # d(a^b)/db = a^b log(a). At a == 0 the product is 0 (as PyTorch); for a < 0 it is undefined.
    value = _data(a)
    if value > 0.0:
        return log(a)
    return 0.0 if value == 0.0 else math.nan


# ---------------------------------------------------------------- the table
# name           forward (floats)          local derivatives d out / d input_i
ADD = Op("+",    lambda a, b: a + b,        lambda a, b, out: (1.0, 1.0), 2,
         formula="d(a+b)/da = 1, d(a+b)/db = 1")
SUB = Op("-",    lambda a, b: a - b,        lambda a, b, out: (1.0, -1.0), 2,
         formula="d(a-b)/da = 1, d(a-b)/db = -1")
MUL = Op("*",    lambda a, b: a * b,        lambda a, b, out: (b, a), 2,
         formula="d(a*b)/da = b, d(a*b)/db = a")
DIV = Op("/",    _div,                      lambda a, b, out: (1.0 / b, -out / b), 2,
         formula="d(a/b)/da = 1/b, d(a/b)/db = -a/b^2")
POW = Op("**",   _pow,                      lambda a, b, out: (_pow_base_grad(a, b),
                                                               out * _log_for_pow(a)), 2,
         formula="d(a^b)/da = b a^(b-1), d(a^b)/db = a^b log(a)")
POWC = Op("**",  _pow,                      lambda a, out, p: (
                     p * _pow_const(a, p - 1.0) if p != 0.0 else 0.0,), 1,  # x**0 = 1: flat
          has_param=True, formula="d(x^p)/dx = p x^(p-1)")
NEG = Op("neg",  lambda a: -a,              lambda a, out: (-1.0,), 1, formula="d(-x)/dx = -1")
ABS = Op("abs",  builtins.abs,              lambda a, out: (sign(a),), 1,
         formula="d|x|/dx = sign(x)")
RELU = Op("relu", _relu,                    lambda a, out: (1.0 if _data(a) > 0.0 else 0.0,), 1,
          formula="d relu(x)/dx = 1 if x > 0 else 0")
LEAKY_RELU = Op("leaky_relu", _leaky_relu,  lambda a, out, slope: (
                    1.0 if _data(a) > 0.0 else slope,), 1, has_param=True,
                formula="d/dx = 1 if x > 0 else slope")
TANH = Op("tanh", math.tanh,                lambda a, out: (1.0 - out * out,), 1,
          formula="d tanh(x)/dx = 1 - tanh(x)^2")
SIGMOID = Op("sigmoid", _sigmoid,           lambda a, out: (out * (1.0 - out),), 1,
             formula="d sigma(x)/dx = sigma(x) (1 - sigma(x))")
EXP = Op("exp",  _exp,                      lambda a, out: (out,), 1, formula="d e^x/dx = e^x")
LOG = Op("log",  _log,                      lambda a, out: (1.0 / a,), 1,
         formula="d log(x)/dx = 1/x")
SQRT = Op("sqrt", _sqrt,                    lambda a, out: (0.5 / out,), 1,
          formula="d sqrt(x)/dx = 1 / (2 sqrt(x))")
SIN = Op("sin",  math.sin,                  lambda a, out: (cos(a),), 1,
         formula="d sin(x)/dx = cos(x)")
COS = Op("cos",  math.cos,                  lambda a, out: (-sin(a),), 1,
         formula="d cos(x)/dx = -sin(x)")
SOFTPLUS = Op("softplus", _softplus,        lambda a, out: (sigmoid(a),), 1,
              formula="d softplus(x)/dx = sigma(x)")

#: Every built-in op by name ("**" is the Value ** Value form; POWC the constant exponent).
OPS: dict[str, Op] = {op.name: op for op in (
    ADD, SUB, MUL, DIV, POW, NEG, ABS, RELU, LEAKY_RELU, TANH, SIGMOID, EXP, LOG, SQRT,
    SIN, COS, SOFTPLUS)}


# ---------------------------------------------------------------- user ops

def register_op(name: str, forward: Callable[..., float],
                local_grads: Callable[..., tuple]) -> Callable[..., Any]:
    """Declare a new op from a forward rule on floats and its local derivatives.

    ``forward(*floats) -> float``; ``local_grads(*inputs, out) -> tuple`` with one entry
    ``d out / d input_i`` per input, written with operators and the functions of
    ``autograd.ops`` so that it works on floats and Values (then the op has second and
    higher derivatives too). Returns a function of Values and numbers that builds the node.

    >>> swish = register_op("swish", lambda x: x / (1 + math.exp(-x)),
    ...                     lambda x, out: (ops.sigmoid(x) + out * (1 - ops.sigmoid(x)),))
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"register_op: name must be a non-empty str, got {name!r}")
    for what, fn in (("forward", forward), ("local_grads", local_grads)):
        if not callable(fn):
            raise TypeError(f"register_op({name!r}): {what} must be callable, got {fn!r}")
    arity = _positional_arity(name, forward)
    op = Op(name, forward, local_grads, arity)

    from autograd.value import apply_op

    def build(*args: Any) -> Any:
        if len(args) != arity:
            raise TypeError(f"{name}() takes {arity} argument(s) ({_params(forward)}), "
                            f"got {len(args)}")
        return apply_op(op, args)

    build.__name__ = name
    build.__qualname__ = name
    build.__doc__ = f"The registered op {name!r}: forward {_params(forward)} -> float."
    build.op = op  # type: ignore[attr-defined]
    return build


def _params(fn: Callable) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(...)"


def _positional_arity(name: str, forward: Callable) -> int:
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        raise TypeError(f"register_op({name!r}): cannot read the signature of forward; "
                        "pass a def or lambda with named arguments") from None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise TypeError(f"register_op({name!r}): forward must take a fixed number of "
                        "arguments (no *args), one per input")
    arity = sum(1 for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    if arity == 0:
        raise TypeError(f"register_op({name!r}): forward must take at least one input")
    return arity

"""The op rules read as text: evaluate a rule on symbols and print it as code or as math.

Every op is a forward rule and a local-derivative rule (``autograd.ops``), written with
operators and the functions of ``autograd.ops``. Those functions accept floats (the fast
backward pass) and Values (``create_graph=True``); here is the third kind of operand, a
``Sym``: evaluating ``MUL.local_grads(Sym("a"), Sym("b"), Sym("out"))`` gives the expressions
``b`` and ``a`` instead of numbers. Printed as Python they are the code that
``autograd.compile`` writes; printed as math they are the rule that ``explain()``, the
stepper and the pictures show. So a rule is written once, and every tool reads that one row.

A branch inside a rule is an expression, ``ops.where(x > 0, 1.0, slope)``, never a Python
``if``: comparing a ``Sym`` gives a condition, and ``bool()`` of a condition is an error.
A rule that can't be read symbolically (a user's rule with a Python ``if`` on its inputs, or
a call of some other library) still works everywhere: compiled code then calls the rule
itself, and the pictures show the numbers without the formula.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional

__all__ = ["Sym", "NoSymbolicForm", "to_code", "to_text", "evaluate"]


class NoSymbolicForm(TypeError):
    """A rule branched in Python or called something that does not accept symbols."""


# Precedence of each kind of expression, as Python parses it (higher binds tighter).
_WHERE, _COMPARE, _AND, _SUM, _PRODUCT, _UNARY, _POWER, _ATOM = range(8)
# "over" is a quotient that the chain rule divides by last (ops.over): written as "/".
_BINARY_PRECEDENCE = {"+": _SUM, "-": _SUM, "*": _PRODUCT, "/": _PRODUCT, "over": _PRODUCT,
                      "**": _POWER}
_TEXT_OPERATORS = {"+": " + ", "-": " - ", "*": "·", "/": "/", "over": "/", "**": "^"}
_TEXT_COMPARE = {">": ">", ">=": "≥", "<": "<", "<=": "≤", "==": "="}


class Sym:
    """A symbolic number: a name (``a``, ``out``), a constant, or an expression of them.

    ``kind`` is one of ``name``, ``const``, ``none`` (no gradient flows), ``+ - * / **``,
    ``over`` (a quotient the chain rule divides by last, ``ops.over``),
    ``neg``, ``call`` (a function of ``autograd.ops``), a comparison ``> >= < <= ==``,
    ``&`` (both conditions) or ``where``; ``args`` are its operands (for ``call``: the function's name, then its
    arguments).
    """

    __slots__ = ("kind", "args")

    def __init__(self, kind: str, *args: Any) -> None:
        self.kind = kind
        self.args = args

    # ------------------------------------------------------------ building expressions
    def _binary(self, kind: str, other: Any, reflected: bool = False) -> "Sym":
        other = lift(other)
        if other is NotImplemented:
            return NotImplemented
        return Sym(kind, other, self) if reflected else Sym(kind, self, other)

    def __add__(self, other: Any) -> "Sym":
        return self._binary("+", other)

    def __radd__(self, other: Any) -> "Sym":
        return self._binary("+", other, True)

    def __sub__(self, other: Any) -> "Sym":
        return self._binary("-", other)

    def __rsub__(self, other: Any) -> "Sym":
        return self._binary("-", other, True)

    def __mul__(self, other: Any) -> "Sym":
        return self._binary("*", other)

    def __rmul__(self, other: Any) -> "Sym":
        return self._binary("*", other, True)

    def __truediv__(self, other: Any) -> "Sym":
        return self._binary("/", other)

    def __rtruediv__(self, other: Any) -> "Sym":
        return self._binary("/", other, True)

    def __pow__(self, other: Any) -> "Sym":
        return self._binary("**", other)

    def __rpow__(self, other: Any) -> "Sym":
        return self._binary("**", other, True)

    def __neg__(self) -> "Sym":
        return Sym("neg", self)

    def __pos__(self) -> "Sym":
        return self

    def __gt__(self, other: Any) -> "Sym":
        return self._binary(">", other)

    def __ge__(self, other: Any) -> "Sym":
        return self._binary(">=", other)

    def __lt__(self, other: Any) -> "Sym":
        return self._binary("<", other)

    def __le__(self, other: Any) -> "Sym":
        return self._binary("<=", other)

    def __and__(self, other: Any) -> "Sym":
        return self._binary("&", other)

    def __rand__(self, other: Any) -> "Sym":
        return self._binary("&", other, True)

    def __bool__(self) -> bool:
        raise NoSymbolicForm("a rule branched on its inputs with a Python `if`; write the "
                             "branch as ops.where(condition, value_if_true, value_if_false)")

    def __eq__(self, other: Any) -> bool:  # type: ignore[override]
        raise NoSymbolicForm("a rule compared its inputs with ==; use ops.where with < or >")

    __ne__ = __eq__
    __hash__ = None  # type: ignore[assignment]

    def __float__(self) -> float:
        raise NoSymbolicForm("a rule converted a symbolic input to float")

    # The methods of Value that the functions of autograd.ops call (ops.exp(x) -> x.exp()).
    def call(self, function: str, *more: Any) -> "Sym":
        return Sym("call", function, self, *(lift(m) for m in more))

    def exp(self) -> "Sym":
        return self.call("exp")

    def log(self) -> "Sym":
        return self.call("log")

    def sqrt(self) -> "Sym":
        return self.call("sqrt")

    def sin(self) -> "Sym":
        return self.call("sin")

    def cos(self) -> "Sym":
        return self.call("cos")

    def tanh(self) -> "Sym":
        return self.call("tanh")

    def sigmoid(self) -> "Sym":
        return self.call("sigmoid")

    def softplus(self) -> "Sym":
        return self.call("softplus")

    def relu(self) -> "Sym":
        return self.call("relu")

    def leaky_relu(self, slope: Any = 0.01) -> "Sym":
        return self.call("leaky_relu", slope)

    def __abs__(self) -> "Sym":
        return self.call("abs")

    def __repr__(self) -> str:
        return f"Sym({to_text(self)!r})"


NONE = Sym("none")  # "no gradient flows": a structural zero (relu for x <= 0, x ** 0)


def lift(x: Any) -> Any:
    """An operand as a Sym: numbers become constants, None the structural zero."""
    if isinstance(x, Sym):
        return x
    if x is None:
        return NONE
    if isinstance(x, bool):
        return NotImplemented
    if isinstance(x, (int, float)):
        return Sym("const", float(x))
    try:
        return Sym("const", float(x))  # numpy scalars and other reals
    except (TypeError, ValueError):
        return NotImplemented


def where(condition: Sym, if_true: Any, if_false: Any) -> Sym:
    """``if_true if condition else if_false`` as an expression."""
    return Sym("where", condition, lift(if_true), lift(if_false))


def evaluate(rule: Callable[..., Any], *args: Any) -> Any:
    """``rule(*args)`` on symbols; raises NoSymbolicForm if the rule can't be read that way."""
    try:
        return rule(*args)
    except NoSymbolicForm:
        raise
    except (TypeError, AttributeError, ValueError, ArithmeticError) as error:
        # math.tanh(Sym), float(Sym), a branch on a comparison ... : not symbolic
        raise NoSymbolicForm(f"{type(error).__name__}: {error}") from None


# ---------------------------------------------------------------- printing

def _precedence(sym: Sym) -> int:
    kind = sym.kind
    if kind in _BINARY_PRECEDENCE:
        return _BINARY_PRECEDENCE[kind]
    if kind == "neg":
        return _UNARY
    if kind == "const" and (sym.args[0] < 0 or math.copysign(1.0, sym.args[0]) < 0):
        return _UNARY
    if kind in _TEXT_COMPARE:
        return _COMPARE
    if kind == "&":
        return _AND
    if kind == "where":
        return _WHERE
    return _ATOM


def _operands(sym: Sym, show: Callable[[Sym], str], text: bool = False) -> tuple[str, str]:
    """The two operands of a binary expression, parenthesised where Python needs it.

    A right operand of the same precedence keeps its parentheses: floating-point ``a + (b + c)``
    is not ``a + b + c``, and the code must compute exactly what the rule computes.
    """
    left, right = sym.args
    mine = _precedence(sym)
    left_text, right_text = show(left), show(right)
    if sym.kind == "**":  # right-associative, and binds tighter than a unary minus on its left
        if _precedence(left) <= mine:
            left_text = f"({left_text})"
        if _precedence(right) < _UNARY or (text and _precedence(right) == _UNARY):
            right_text = f"({right_text})"
    else:
        if _precedence(left) < mine:
            left_text = f"({left_text})"
        # Text writes a·(-2), not a·-2; Python reads a * -2.0 the same way.
        if _precedence(right) <= mine or (text and _precedence(right) == _UNARY):
            right_text = f"({right_text})"
    return left_text, right_text


def _code_constant(x: float) -> str:
    if math.isfinite(x):
        return repr(x)
    return "_nan" if math.isnan(x) else ("_inf" if x > 0 else "(-_inf)")


#: The function that vectorized code calls for each operator (numpy's ufunc of that name:
#: calling it directly skips the operator's dispatch, a third of the time on small arrays).
VECTOR_OPERATORS = {"+": "add", "-": "subtract", "*": "multiply", "/": "true_divide",
                    "over": "true_divide",
                    "**": "power", "neg": "negative", ">": "greater", ">=": "greater_equal",
                    "<": "less", "<=": "less_equal", "==": "equal", "&": "logical_and"}


def to_code(sym: Sym, names: Mapping[str, str], vector: bool = False) -> str:
    """Python source of ``sym`` with each name replaced by ``names[name]``.

    Scalar code writes operators and a condition as ``a if c else b``, and calls each
    function as ``_name(x)``; vectorized code (``vector=True``, arrays of many rows) calls a
    function for everything: ``_multiply(a, b)``, ``_where(c, a, b)``, the same ``_name(x)``
    bound to numpy's functions. The structural zero is ``0.0``.
    """
    def show(s: Sym) -> str:
        kind = s.kind
        if vector and kind in VECTOR_OPERATORS:
            return f"_{VECTOR_OPERATORS[kind]}({', '.join(show(a) for a in s.args)})"
        if kind == "name":
            return names[s.args[0]]
        if kind == "const":
            return _code_constant(s.args[0])
        if kind == "none":
            return "0.0"
        if kind == "neg":
            inner = show(s.args[0])
            return f"-{inner}" if _precedence(s.args[0]) >= _UNARY else f"-({inner})"
        if kind == "call":
            function, *args = s.args
            return f"_{function}({', '.join(show(a) for a in args)})"
        if kind == "where":
            condition, if_true, if_false = s.args
            if vector:
                return f"_where({show(condition)}, {show(if_true)}, {show(if_false)})"
            parts = [show(if_true), show(condition), show(if_false)]
            parts = [f"({p})" if _precedence(a) <= _WHERE else p
                     for p, a in zip(parts, (if_true, condition, if_false))]
            return f"{parts[0]} if {parts[1]} else {parts[2]}"
        left, right = _operands(s, show)
        return f"{left} {'/' if kind == 'over' else kind} {right}"

    return show(sym)


def _text_constant(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return str(int(x)) if x or math.copysign(1.0, x) > 0 else "-0"
    return repr(x)


def to_text(sym: Sym, names: Optional[Mapping[str, str]] = None) -> str:
    """``sym`` as a teacher writes it: ``1 - out·out``, ``b·a^(b - 1)``, ``1 if x > 0 else 0``.

    ``names`` renames the symbols (``{"a": "w0", "out": "z"}``); others keep their names.
    """
    names = names or {}

    def show(s: Sym) -> str:
        kind = s.kind
        if kind == "name":
            return names.get(s.args[0], s.args[0])
        if kind == "const":
            x = s.args[0]
            return _text_constant(x) if math.isfinite(x) else repr(x)
        if kind == "none":
            return "0"
        if kind == "neg":
            inner = show(s.args[0])
            return f"-{inner}" if _precedence(s.args[0]) >= _UNARY else f"-({inner})"
        if kind == "call":
            function, *args = s.args
            return f"{function}({', '.join(show(a) for a in args)})"
        if kind == "where":
            condition, if_true, if_false = s.args
            parts = [show(if_true), show(condition), show(if_false)]
            parts = [f"({p})" if _precedence(a) <= _WHERE else p
                     for p, a in zip(parts, (if_true, condition, if_false))]
            return f"{parts[0]} if {parts[1]} else {parts[2]}"
        left, right = _operands(s, show, text=True)
        if kind in _TEXT_COMPARE:
            return f"{left} {_TEXT_COMPARE[kind]} {right}"
        if kind == "&":
            return f"{left} and {right}"
        return f"{left}{_TEXT_OPERATORS[kind]}{right}"

    return show(sym)

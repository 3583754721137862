"""A safe expression language for the command line: ``tanh(x * w + b) ** 2`` -> a Value graph.

Parsed with Python's ``ast`` and a whitelist (numbers, variable names, ``+ - * / **``, unary
``+``/``-``, parentheses, calls of the known functions); nothing is ever ``eval``-ed. Every
problem, from a syntax error to ``log(0)``, is an ``ExpressionError`` with a one-line message.
"""

from __future__ import annotations

import ast
import math
from typing import Callable, Mapping

from autograd.value import Value

__all__ = ["ExpressionError", "FUNCTIONS", "parse", "variables", "evaluate", "parse_assignment"]

MAX_LENGTH = 2000   # characters
MAX_DEPTH = 100     # nesting of the syntax tree

#: The functions an expression may call, with how many arguments each takes.
FUNCTIONS: dict[str, tuple[Callable[..., Value], tuple[int, ...]]] = {
    "tanh": (Value.tanh, (1,)), "relu": (Value.relu, (1,)), "exp": (Value.exp, (1,)),
    "log": (Value.log, (1,)), "sqrt": (Value.sqrt, (1,)), "sin": (Value.sin, (1,)),
    "cos": (Value.cos, (1,)), "sigmoid": (Value.sigmoid, (1,)), "abs": (Value.__abs__, (1,)),
    "softplus": (Value.softplus, (1,)), "leaky_relu": (Value.leaky_relu, (1, 2)),
}

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_UNARY = {ast.UAdd: "+", ast.USub: "-"}
_WHAT = {   # what to call a construct that is not allowed
    ast.Attribute: "attribute access (a.b)", ast.Subscript: "subscripts (a[i])",
    ast.Lambda: "lambda", ast.Compare: "comparisons", ast.BoolOp: "and/or",
    ast.IfExp: "if/else", ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts",
    ast.Set: "sets", ast.JoinedStr: "f-strings", ast.NamedExpr: "assignment (:=)",
    ast.ListComp: "comprehensions", ast.GeneratorExp: "generators", ast.Starred: "*args",
    ast.Await: "await", ast.Slice: "slices",
}


class ExpressionError(ValueError):
    """A command-line expression or variable assignment that cannot be evaluated."""


def _where(node: ast.AST) -> str:
    col = getattr(node, "col_offset", None)
    return f" at column {col + 1}" if col is not None else ""


def parse(text: str) -> ast.Expression:
    """The checked syntax tree of ``text``; raises ExpressionError for anything off the list."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty; write one such as 'x * y + 1'")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is "
                              f"{MAX_LENGTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        col = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(f"syntax error{col}: {error.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression is nested too deeply or cannot be read") from None
    _check(tree)
    return tree


def _check(tree: ast.Expression) -> None:
    stack = [(tree.body, 1)]
    while stack:            # iterative, so a deep tree cannot overflow Python's stack
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ExpressionError(f"{value!r:.40}{_where(node)} is not a number; only "
                                      "numbers, variables and the known functions are allowed")
            try:
                finite = math.isfinite(float(value))
            except OverflowError:
                finite = False
            if not finite:
                raise ExpressionError(f"the number{_where(node)} is too large for a float")
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise ExpressionError(f"{node.id}{_where(node)} is a function: call it, as in "
                                      f"{node.id}(x)")
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise ExpressionError(f"the operator{_where(node)} is not allowed; use "
                                      "+ - * / **")
            stack.append((node.right, depth + 1))
            stack.append((node.left, depth + 1))
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                raise ExpressionError(f"the operator{_where(node)} is not allowed; use + - * / **")
            stack.append((node.operand, depth + 1))
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in FUNCTIONS:
                shown = name if name is not None else ast.unparse(node.func)[:40]
                raise ExpressionError(f"unknown function {shown!r}{_where(node)}; known: "
                                      f"{', '.join(FUNCTIONS)}")
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise ExpressionError(f"{name}(){_where(node)} takes plain arguments only")
            counts = FUNCTIONS[name][1]
            if len(node.args) not in counts:
                wanted = " or ".join(str(c) for c in counts)
                raise ExpressionError(f"{name}(){_where(node)} takes {wanted} argument(s), "
                                      f"got {len(node.args)}")
            if name == "leaky_relu" and len(node.args) == 2 and _number(node.args[1]) is None:
                raise ExpressionError("the slope of leaky_relu(x, slope) must be a number")
            for arg in reversed(node.args):
                stack.append((arg, depth + 1))
        else:
            what = _WHAT.get(type(node), type(node).__name__)
            raise ExpressionError(f"{what}{_where(node)} is not allowed in an expression")


def _number(node: ast.AST) -> "float | None":
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sign * float(node.value)
    return None


def variables(tree: ast.Expression) -> list[str]:
    """The variable names of a parsed expression, in order of first appearance."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]
    names.sort(key=lambda n: (n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in names))


def parse_assignment(text: str) -> tuple[str, float]:
    """``"x=2.5"`` -> ``("x", 2.5)``."""
    name, sep, number = text.partition("=")
    name, number = name.strip(), number.strip()
    if not sep or not name:
        raise ExpressionError(f"{text!r:.60} is not an assignment; give variables as name=number, "
                              "e.g. x=2")
    if not name.isidentifier():
        raise ExpressionError(f"{name!r:.60} is not a variable name (letters, digits, _)")
    if name in FUNCTIONS:
        raise ExpressionError(f"{name!r} is a function name; choose another variable name")
    try:
        value = float(number)
    except ValueError:
        raise ExpressionError(f"{name}={number!r:.40}: the value is not a number") from None
    if not math.isfinite(value):
        raise ExpressionError(f"{name}={number}: the value must be a finite number")
    return name, value


def evaluate(text: str, values: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """Build the graph of ``text`` with each variable a labelled leaf Value.

    Returns the output Value and the leaves by name. Every variable must have a value and
    every value must be used.
    """
    tree = parse(text)
    names = variables(tree)
    missing = [n for n in names if n not in values]
    if missing:
        raise ExpressionError(f"no value for {', '.join(missing)}: add "
                              f"{' '.join(n + '=...' for n in missing)}")
    extra = [n for n in values if n not in names]
    if extra:
        raise ExpressionError(f"{', '.join(extra)} given but not used in the expression")
    leaves = {n: Value(float(values[n]), label=n) for n in names}
    try:
        out = _build(tree.body, leaves)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise ExpressionError(f"cannot evaluate: {error}") from None
    if not isinstance(out, Value):          # a constant expression such as "2 * 3"
        out = Value(float(out))
    return out, leaves


def _build(node: ast.AST, leaves: Mapping[str, Value]):
    # Depth is bounded by parse(), so recursion is safe here.
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _build(node.operand, leaves)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _build(node.left, leaves), _build(node.right, leaves)
        if not isinstance(left, Value) and not isinstance(right, Value):
            left = Value(left)      # numbers go through the engine too, for its error messages
        op = type(node.op)
        if op is ast.Add:
            return left + right
        if op is ast.Sub:
            return left - right
        if op is ast.Mult:
            return left * right
        if op is ast.Div:
            return left / right
        return left ** right
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    function = FUNCTIONS[node.func.id][0]
    x = _build(node.args[0], leaves)
    if not isinstance(x, Value):
        x = Value(x)
    if len(node.args) == 2:
        return function(x, _number(node.args[1]))
    return function(x)

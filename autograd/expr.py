"""A safe expression language for the command line: ``tanh(x * w + b) ** 2`` -> a Value graph.

The grammar is Python's, cut down to numbers (as ``float`` reads them), variable names,
``+ - * / **`` (Python's precedence: ``-x**2`` is ``-(x**2)``, ``**`` groups to the right),
unary ``+``/``-``, parentheses and calls of the known functions. Nothing is ever ``eval``-ed.
The text is read by a small operator-precedence parser into Python ``ast`` nodes; ``ast.parse``
is not used because its tree builder recurses once per term, so a sum of a few thousand terms
raises RecursionError. Nothing here recurses: a flat sum of 10,000 terms works, and real
nesting (parentheses, calls, signs, ``**`` chains) is limited to MAX_DEPTH levels. A name is
taken as typed (Python would read ``ℌ`` as ``H``), so it matches its assignment ``ℌ=1`` and
labels its leaf. Every problem, from a syntax error to ``log(0)``, is an ExpressionError with
a one-line message that names the column.
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import re
from typing import Callable, Iterator, Mapping, NamedTuple, Optional

from autograd import ops
from autograd.value import Value

__all__ = ["ExpressionError", "FUNCTIONS", "parse", "variables", "evaluate", "parse_assignment"]

MAX_LENGTH = 100_000   # characters
MAX_DEPTH = 100        # levels of real nesting; a chain such as x + x + ... + x is one level

class Function(NamedTuple):
    """A function an expression may call: its builder, how many arguments it takes (a
    constant parameter such as leaky_relu's slope may follow the inputs), how many are inputs."""
    build: Callable[..., Value]
    counts: tuple[int, ...]
    inputs: int


class _Functions(Mapping):
    """Every op of ``autograd.ops`` with a function name, built-in or added by ``register_op``,
    read from the registry at each use: a registered op can be called in expressions."""

    def __getitem__(self, name: str) -> Function:
        if not isinstance(name, str) or not name.isidentifier() or name not in ops.FUNCTIONS:
            raise KeyError(name)
        op = ops.OPS[name]
        counts = (op.arity, op.arity + 1) if op.has_param else (op.arity,)
        return Function(ops.FUNCTIONS[name], counts, op.arity)

    def __iter__(self) -> Iterator[str]:
        return (name for name in list(ops.FUNCTIONS) if name.isidentifier())

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: The functions an expression may call, by name.
FUNCTIONS: Mapping[str, Function] = _Functions()

# Binding strength: a sum holds products, a product holds signed factors, a sign holds powers.
_BINARY = {"+": (1, ast.Add), "-": (1, ast.Sub), "*": (2, ast.Mult), "/": (2, ast.Div),
           "**": (4, ast.Pow)}
_UNARY = {"+": ast.UAdd, "-": ast.USub}
_APPLY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.Pow: operator.pow}
_SIGN = 3           # binding strength of a unary sign
_POWER = 4          # ** is the one right-associative operator

_USE = "use + - * / **"
_ONLY = "only numbers, variables, + - * / ** and the known functions are allowed"
_ASSIGN = "give each variable its value after the expression, as x=2"
_NOT_ALLOWED = {    # a Python token that is not in the language: what it is, what to do instead
    "^": ("the operator ^", "use ** for powers, as in x**2"),
    "//": ("the operator //", "use / for division"),
    **{op: (f"the operator {op}", _USE) for op in ("%", "@", "<<", ">>", "&", "|", "~")},
    **{op: (f"the comparison {op}", _USE) for op in ("<", ">", "<=", ">=", "==", "!=")},
    "=": ("an assignment (=)", _ASSIGN), ":=": ("an assignment (:=)", _ASSIGN),
    ".": ("attribute access (a.b)", _ONLY),
    "[": ("a subscript (a[i])", _ONLY), "]": ("a subscript (a[i])", _ONLY),
    "{": ("a brace", _ONLY), "}": ("a brace", _ONLY), "'": ("a string", _ONLY),
    '"': ("a string", _ONLY),
}
_LOOKALIKES = {"−": "-", "–": "-", "×": "*", "·": "*", "∙": "*", "÷": "/"}

_LEXEME = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>\.?\d(?:[eE][-+]?\d|[\w.])*)   # swallows 2x, 1j and 1.2.3 whole, to name them
  | (?P<name>[^\W\d]\w*)
  | (?P<op>\*\*|//|<<|>>|<=|>=|==|!=|:=|[-+*/(),%@&|^~<>=.\[\]{}'"])
  | (?P<char>.)
""", re.VERBOSE | re.DOTALL)


class ExpressionError(ValueError):
    """A command-line expression or variable assignment that cannot be evaluated."""


class _Token(NamedTuple):
    kind: str       # number, name, op, char or end
    text: str
    col: int        # 0-based, in the stripped text


class _Group:
    """An open parenthesis on the operator stack; ``name`` is set when it opens a call."""

    __slots__ = ("name", "col", "args")

    def __init__(self, name: Optional[str], col: int) -> None:
        self.name, self.col, self.args = name, col, 0


class _Operand(NamedTuple):
    node: ast.expr
    depth: int              # levels of real nesting inside, this node included
    chain: Optional[int]    # binding strength of an unparenthesised BinOp, which a chain extends


def _tokens(source: str) -> Iterator[_Token]:
    for match in _LEXEME.finditer(source):
        if match.lastgroup != "space":
            yield _Token(match.lastgroup, match.group(), match.start())
    yield _Token("end", "", len(source))


def _located(node: ast.expr, col: int) -> ast.expr:
    node.lineno, node.col_offset = 1, col        # variables() lists names by position
    return node


def parse(text: str) -> ast.Expression:
    """The syntax tree of ``text`` (only numbers, names, + - * / **, signs and known calls)."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("the expression is empty; write one such as 'x * y + 1'")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is "
                              f"{MAX_LENGTH}")
    source = text.strip()       # columns count from the first character that is not blank
    tokens = _tokens(source)    # lazily: the first bad token ends the reading
    following = next(tokens)
    operators: list = []        # pending (strength, op, col) and open _Groups
    operands: list[_Operand] = []
    groups = 0                  # parentheses open at this point, calls included
    expect_operand = True
    while True:
        token, following = following, next(tokens, following)   # "end" comes last, and again
        kind, lexeme, col = token
        where = f"at column {col + 1}"
        value = _check_token(token, where)
        if expect_operand:
            if kind == "number":
                operands.append(_Operand(_located(ast.Constant(value=value), col), 1, None))
                expect_operand = False
            elif kind == "name" and following.text == "(":
                if lexeme not in FUNCTIONS:
                    raise ExpressionError(f"unknown function {lexeme!r} {where}"
                                          f"{_did_you_mean(lexeme, FUNCTIONS)}; known: "
                                          f"{', '.join(FUNCTIONS)}")
                groups = _open(operators, _Group(lexeme, col), groups)
                following = next(tokens)            # past the "(" (an "end" follows it)
            elif kind == "name":
                if lexeme in FUNCTIONS:
                    raise ExpressionError(f"{lexeme} {where} is a function: call it, as in "
                                          f"{lexeme}(x)")
                name = _located(ast.Name(id=lexeme, ctx=ast.Load()), col)
                operands.append(_Operand(name, 1, None))
                expect_operand = False
            elif lexeme == "(":
                groups = _open(operators, _Group(None, col), groups)
            elif lexeme in _UNARY:
                _push(operators, (_SIGN, lexeme, col))
            else:
                group = operators[-1] if operators else None
                if lexeme == ")" and isinstance(group, _Group) and group.name and not group.args:
                    _check_arguments(group, 0)                  # tanh()
                found = "the expression ends" if kind == "end" else f"found {lexeme!r}"
                raise ExpressionError(f"syntax error {where}: expected a number, a variable "
                                      f"or '(', {found}")
        elif lexeme in _BINARY:
            strength = _BINARY[lexeme][0]
            while (operators and not isinstance(operators[-1], _Group)
                   and (operators[-1][0] > strength
                        or operators[-1][0] == strength != _POWER)):
                _reduce(operators, operands)
            _push(operators, (strength, lexeme, col))
            expect_operand = True
        elif lexeme in (")", ","):
            group = _close(operators, operands)
            if group is None or (lexeme == "," and group.name is None):
                raise ExpressionError(f"syntax error {where}: "
                                      + ("a comma only separates the arguments of a function"
                                         if lexeme == "," else "')' has no matching '('"))
            group.args += 1
            if lexeme == ",":
                operators.append(group)
                expect_operand = True
                continue
            groups -= 1
            if group.name is None:       # (x + y) is an operand: a chain cannot go on through it
                operands.append(operands.pop()._replace(chain=None))
            else:
                operands.append(_call(group, operands))
        elif kind == "end":
            group = _close(operators, operands)
            if group is not None:
                opened = "(" if group.name is None else group.name + "("
                raise ExpressionError(f"syntax error at column {group.col + 1}: {opened!r} "
                                      "is never closed")
            (result,) = operands
            return ast.Expression(body=result.node)
        else:
            raise ExpressionError(f"syntax error {where}: an operator such as + - * / ** is "
                                  f"missing before {lexeme!r}")


def _check_token(token: _Token, where: str) -> Optional[float]:
    """Refuse a token that is not in the language; the value of a number."""
    kind, text, _ = token
    if kind == "char":
        hint = f"; did you mean {_LOOKALIKES[text]!r}?" if text in _LOOKALIKES else ""
        raise ExpressionError(f"unexpected character {text!r} {where}{hint}")
    if kind == "op" and text in _NOT_ALLOWED:
        what, instead = _NOT_ALLOWED[text]
        raise ExpressionError(f"{what} {where} is not allowed in an expression; {instead}")
    if kind == "name":
        if keyword.iskeyword(text):
            raise ExpressionError(f"{text!r} {where} is a Python keyword, not allowed in an "
                                  f"expression; {_ONLY}")
        if not text.isidentifier():
            raise ExpressionError(f"{text!r} {where} is not a name (letters, digits, _)")
    if kind == "number":
        try:
            value = float(text)
        except ValueError:
            product = re.fullmatch(r"(\d+\.?\d*)([^\W\d]\w*)", text)
            if product and product[2] in ("j", "J"):
                hint = " (complex numbers are not supported)"
            elif product:
                hint = f" (write {product[1]}*{product[2]} for a product)"
            else:
                hint = ""
            raise ExpressionError(f"{text!r:.40} {where} is not a number{hint}") from None
        if not math.isfinite(value):
            raise ExpressionError(f"the number {text:.40} {where} is too large for a float")
        return value
    return None


def _reduce(operators: list, operands: list[_Operand]) -> None:
    """Apply the operator on top of the stack to its operands."""
    strength, op, col = operators.pop()
    right = operands.pop()
    if strength == _SIGN:
        operands.append(_deeper(_located(ast.UnaryOp(op=_UNARY[op](), operand=right.node), col),
                                right.depth + 1))
        return
    left = operands.pop()
    extends_chain = left.chain == strength != _POWER     # x + y + z nests in ast, not in text
    node = _located(ast.BinOp(left=left.node, op=_BINARY[op][1](), right=right.node),
                    left.node.col_offset)
    depth = max(left.depth + (0 if extends_chain else 1), right.depth + 1)
    operands.append(_deeper(node, depth, chain=strength))


def _push(operators: list, entry) -> None:
    # Every entry but a parenthesis adds a level to the finished tree (it takes the entries
    # above it as its operand), and at most MAX_DEPTH parentheses are open: so a long stack
    # is too deep already, and 10,000 minus signs are refused without reading them all.
    if len(operators) >= 2 * MAX_DEPTH:
        raise _too_deep()
    operators.append(entry)


def _open(operators: list, group: _Group, groups: int) -> int:
    """Push an open parenthesis; the new count of open ones."""
    if groups >= MAX_DEPTH:
        raise _too_deep()
    _push(operators, group)
    return groups + 1


def _close(operators: list, operands: list[_Operand]) -> Optional[_Group]:
    """Reduce up to the innermost open parenthesis and pop it (None: there is none)."""
    while operators and not isinstance(operators[-1], _Group):
        _reduce(operators, operands)
    return operators.pop() if operators else None


def _deeper(node: ast.expr, depth: int, chain: Optional[int] = None) -> _Operand:
    if depth > MAX_DEPTH:
        raise _too_deep()
    return _Operand(node, depth, chain)


def _too_deep() -> ExpressionError:
    return ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep "
                           "(parentheses, calls, signs or powers inside one another); "
                           "a long chain such as x + x + ... + x is fine")


def _check_arguments(group: _Group, count: int) -> None:
    counts = FUNCTIONS[group.name][1]
    if count not in counts:
        wanted = " or ".join(str(c) for c in counts)
        raise ExpressionError(f"{group.name}() at column {group.col + 1} takes {wanted} "
                              f"argument{'s' if counts[-1] > 1 else ''}, got {count}")


def _call(group: _Group, operands: list[_Operand]) -> _Operand:
    _check_arguments(group, group.args)
    args = operands[-group.args:]
    del operands[-group.args:]
    inputs = FUNCTIONS[group.name].inputs
    if any(_number(a.node) is None for a in args[inputs:]):  # leaky_relu(x, slope)
        raise ExpressionError(f"the last argument of {group.name}() at column {group.col + 1} "
                              f"is a constant and must be a number, as in {group.name}"
                              f"({', '.join(['x'] * inputs)}, 0.1)")
    func = _located(ast.Name(id=group.name, ctx=ast.Load()), group.col)
    node = _located(ast.Call(func=func, args=[a.node for a in args], keywords=[]), group.col)
    return _deeper(node, max(a.depth for a in args) + 1)


def _did_you_mean(name: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _number(node: ast.AST) -> "float | None":
    sign = 1.0
    while isinstance(node, ast.UnaryOp):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    return sign * node.value if isinstance(node, ast.Constant) else None


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
    if keyword.iskeyword(name):
        raise ExpressionError(f"{name!r} is a Python keyword; choose another variable name")
    if name in FUNCTIONS:
        raise ExpressionError(f"{name!r} is a function name; choose another variable name")
    try:
        value = float(number)
    except ValueError:
        raise ExpressionError(f"{name}={number!r:.40}: the value is not a number") from None
    if not math.isfinite(value):
        raise ExpressionError(f"{name}={number!r:.40}: the value must be a finite number")
    return name, value


def evaluate(text: str, values: Mapping[str, float]) -> tuple[Value, dict[str, Value]]:
    """Build the graph of ``text`` with each variable a labelled leaf Value.

    Returns the output Value and the leaves by name. Every variable must have a value and
    every value must be used.
    """
    tree = parse(text)
    names = variables(tree)
    missing = [n for n in names if n not in values]
    extra = [n for n in values if n not in names]
    if missing:
        raise ExpressionError(f"no value for {', '.join(missing)}: add "
                              f"{' '.join(n + '=...' for n in missing)}"
                              f"{_did_you_mean(missing[0], extra)}")
    if extra:
        raise ExpressionError(f"{', '.join(extra)} given but not used in the expression")
    leaves = {n: Value(float(values[n]), label=n) for n in names}
    try:
        out = _graph(tree.body, leaves)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise ExpressionError(f"cannot evaluate: {error}") from None
    if not isinstance(out, Value):          # a constant expression such as "2 * 3"
        out = Value(float(out))
    return out, leaves


def _operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.Call):     # inputs; a constant parameter after them is a number
        return node.args[:FUNCTIONS[node.func.id].inputs]
    return []


def _graph(tree: ast.expr, leaves: Mapping[str, Value]):
    """The Value (or float) of a parsed expression: operands first, with a stack, no recursion."""
    results: list = []
    todo = [(tree, False)]
    while todo:
        node, operands_done = todo.pop()
        if isinstance(node, ast.Constant):
            results.append(float(node.value))
        elif isinstance(node, ast.Name):
            results.append(leaves[node.id])
        elif not operands_done:
            todo.append((node, True))
            todo.extend((operand, False) for operand in reversed(_operands(node)))
        else:
            count = len(_operands(node))
            args = results[-count:]
            del results[-count:]
            results.append(_apply(node, *args))
    return results[0]


def _apply(node: ast.expr, *args):
    if isinstance(node, ast.UnaryOp):
        return -args[0] if isinstance(node.op, ast.USub) else args[0]
    if isinstance(node, ast.BinOp):
        left, right = args
        if not isinstance(left, Value) and not isinstance(right, Value):
            left = Value(left)      # numbers go through the engine too, for its error messages
        return _APPLY[type(node.op)](left, right)
    function = FUNCTIONS[node.func.id]
    inputs = [x if isinstance(x, Value) else Value(x) for x in args]
    return function.build(*inputs, *(_number(a) for a in node.args[function.inputs:]))

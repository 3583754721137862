"""How graphs are shown to people: one name per node, one way to write a number, rule text.

Traces, pictures, the stepper and the command line all use these, so a learner sees the same
name and the same digits for the same number everywhere.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable

from autograd.symbolic import to_text
from autograd.value import Scope, Value

__all__ = ["node_names", "format_number", "factor", "forward_rule", "local_rules", "times",
           "operand_note", "VALUE_KINDS"]


#: Kinds of scope that name one value by their path (a parameter ``L1.N3.w0``, a model input
#: ``x0``, a named result such as ``loss``). Any other kind is a module: a node carrying its
#: scope is that module's output, ``L1.N3.out``.
VALUE_KINDS = frozenset({"parameter", "input", "value"})


#: The word that names an unlabelled node made by an op: ``mul1``, ``add2``, ``pow1``.
OP_WORDS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}


def node_names(order: Iterable[Value]) -> dict[Value, str]:
    """A name for every node, unique in the graph: its label; else one derived from its
    scope; else what it is, the op and a number (``mul1``, ``tanh2``; ``const1`` for a
    number).

    A label is the learner's own name and is kept; a label that several nodes share is
    numbered from its second node in topological order: ``a``, ``a#2``, ``a#3``. Derived
    names (only computed here, when a trace or a picture asks): a node whose scope is of a
    ``VALUE_KINDS`` kind is called by the scope's path (``L1.N3.w0``, ``x0``, ``loss``,
    nn's loss parts ``err``, ``sq``, ``sum``); a node carrying a module's scope is its output,
    ``L1.N3.out``; and a module may name the other nodes of the call that made an output: if
    the scope's ``owner`` has a method ``local_names(output) -> {node: "z"}``, those are
    ``L1.N3.z``. A derived name that several nodes get (one per example of a batch) is
    numbered in topological order: ``L1.N3.out[1]``, ``L1.N3.out[2]``. Automatic names are
    never a single letter and skip every name already used, so no automatic name can be
    taken for a learner's variable.
    """
    nodes = list(order)
    derived = _names_from_scopes(nodes)
    labels = Counter(node.label for node in nodes if node.label)
    taken = set(labels)
    count = Counter(derived[node] for node in nodes if node in derived and not node.label)
    numbered: Counter = Counter()
    seen: Counter = Counter()
    names: dict[Value, str] = {}
    for node in nodes:
        label = node.label
        if label:
            seen[label] += 1
            name = label
            if seen[label] > 1:    # a label used again: a#2, a#3 ...
                while f"{label}#{seen[label]}" in taken:
                    seen[label] += 1
                name = f"{label}#{seen[label]}"
                taken.add(name)
            names[node] = name
            continue
        name = derived.get(node)
        if name is not None and (count[name] > 1 or name in taken):
            numbered[name] += 1
            name = f"{name}[{numbered[name]}]"
        if name is not None:
            names[node] = name
    used = taken | set(names.values())
    automatic: Counter = Counter()
    for node in nodes:
        if node not in names:
            word = _word(node)
            automatic[word] += 1
            while f"{word}{automatic[word]}" in used:
                automatic[word] += 1
            names[node] = f"{word}{automatic[word]}"
    return {node: names[node] for node in nodes}


def _word(node: Value) -> str:
    """What an unlabelled node is: ``const`` for a leaf, else its op as a word (``mul``,
    ``tanh``; a registered op's name, made of letters, digits and ``_``)."""
    if node.is_leaf:
        return "const"
    op = node.rule.name
    word = OP_WORDS.get(op) or "".join(c for c in op if c.isalnum() or c == "_")
    return word if word[:1].isalpha() else f"op{word}" if word else "op"


def _names_from_scopes(nodes: list[Value]) -> dict[Value, str]:
    """The names that the scopes of ``nodes`` give (before numbering repeats)."""
    paths: dict[int, str] = {}

    def path_of(scope: Scope) -> str:
        path = paths.get(id(scope))
        if path is None:
            path = paths[id(scope)] = scope.path
        return path

    own: dict[Value, str] = {}
    inner: dict[Value, str] = {}
    for node in nodes:
        scope = node.scope
        if scope is None:
            continue
        path = path_of(scope)
        if scope.kind in VALUE_KINDS:
            own[node] = path or scope.kind
            continue
        own[node] = f"{path}.out" if path else "out"
        local_names = getattr(scope.owner, "local_names", None)
        if local_names is not None and not node.is_leaf:
            for part, local in local_names(node).items():
                inner.setdefault(part, f"{path}.{local}" if path else local)
    # A node's own scope wins over the name its module gives it.
    return {**{node: name for node, name in inner.items() if node.scope is None}, **own}


def format_number(x: float) -> str:
    """A number as a teacher writes it: 4 significant digits, at least one decimal.

    ``6.0``, ``-0.7071``, ``138.8``, ``0.001``; e-notation below 1e-4 and from 1e6 up
    (``1e-07``, ``1.235e+06``); ``inf``, ``nan``; never ``-0.0``.
    """
    x = float(x)
    if not math.isfinite(x):
        return repr(x)
    if x == 0.0:
        return "0.0"
    magnitude = abs(x)
    if not 1e-4 <= magnitude < 1e6:
        return f"{x:.4g}"
    decimals = max(1, 3 - math.floor(math.log10(magnitude)))
    text = f"{x:.{decimals}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def factor(x: float) -> str:
    """A number as a factor of a product: negative numbers in parentheses, ``(-3.0)``."""
    text = format_number(x)
    return f"({text})" if text.startswith("-") else text


def forward_rule(node: Value, names: dict[Value, str]) -> str:
    """How ``node`` is computed from its inputs, in the given names: ``a·b``, ``tanh(x)``.

    ``names`` maps each input to its text: its name, or ``factor(input.data)`` for the
    numbers (``2.0·(-3.0)``). ``""`` for a leaf.
    """
    rule = node.rule
    if rule is None:
        return ""
    args = [names[inp] for inp in node.inputs]
    symbolic = rule.symbolic(node.op_param)
    if symbolic.forward is not None:
        return to_text(symbolic.forward, dict(zip(symbolic.inputs, args)))
    op = node.op
    if rule.arity == 2 and op in ("/", "**"):
        return f"{args[0]}{'/' if op == '/' else '^'}{args[1]}"
    if op.startswith("**"):                     # x ** 3, a constant power
        return f"{args[0]}^{op[2:]}"
    if rule.has_param:                          # leaky_relu(x, 0.01)
        args.append(format_number(node.op_param))
    return f"{op}({', '.join(args)})"


def local_rules(node: Value, names: dict[Value, str]) -> list[str]:
    """The local derivative of ``node`` by each input as a formula in the graph's names.

    ``["∂c/∂a = b", "∂c/∂b = a"]`` for ``c = a * b``; ``""`` for an input whose rule can't be
    read symbolically (a user's op whose rule branches in Python).
    """
    rule = node.rule
    if rule is None:
        return []
    symbolic = rule.symbolic(node.op_param)
    inputs = node.inputs
    if symbolic.local_grads is None:
        return [""] * len(inputs)
    rename = {sym: names[inp] for sym, inp in zip(symbolic.inputs, inputs)}
    rename["out"] = names[node]
    return [f"∂{names[node]}/∂{names[inp]} = {to_text(local, rename)}"
            for inp, local in zip(inputs, symbolic.local_grads)]


def times(k: int) -> str:
    """How often: ``once``, ``twice``, ``3 times``."""
    return {1: "once", 2: "twice"}.get(k, f"{k} times")


def operand_note(node: Value, position: int) -> str:
    """`` (operand 2)`` when the input at ``position`` is used twice by ``node`` (``x * x``)."""
    inputs = node.inputs
    return f" (operand {position + 1})" if inputs.count(inputs[position]) > 1 else ""

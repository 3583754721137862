"""compile(): trace a scalar function once and turn forward + backward into straight-line Python.

A graph of a fixed shape (one sample through a model and its loss) is the same at every step,
so the work of building and walking Value objects can be done once. ``compile`` runs ``fn`` on
Values, takes the traced graph in topological order and writes one line of float code per node
for the forward pass, then the chain rule in reverse order for the backward pass, using each
op's local-derivative rule from a small code template per op of ``autograd.ops``.

What the generated code reads:

- inputs: the positions of ``example_inputs``, given again at every call;
- every other leaf of the traced graph (a model's parameters, constants such as the 2 in
  ``2 * x``): read from its Value object at call time (its current ``.data``), so parameters
  updated by an optimizer are picked up without tracing again. Their gradients accumulate into
  ``.grad``, exactly as ``backward()`` does, so ``zero_grad`` and the optimizers work unchanged.

Branches inside ops (relu, abs, leaky_relu, the sign-dependent derivatives) are written as
conditional expressions, so they are right for every input. Python ``if``s *inside fn* that
look at ``.data`` are not ops: they are taken once, at trace time (as in ``torch.jit.trace``).
When the generated code hits a floating-point error (log of 0, division by zero, overflow ...)
the call is replayed through the engine, which raises its own error message; nothing is left
half-changed. Only what the output depends on is traced and run: an op whose result the
output ignores is dead code, and its domain errors do not happen.
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import math
import re
from typing import Any, Callable, Iterable, Sequence

from autograd import ops
from autograd.backprop import topological_order
from autograd.names import node_names
from autograd.ops import Op
from autograd.value import Value, _grad_disabled, _to_float

__all__ = ["compile", "CompiledFunction", "TEMPLATES"]

# ---------------------------------------------------------------- code templates, one per op
# forward expression, then the local derivative d out / d input_i for each input.
# {a} and {b} are the inputs, {out} the node itself, {p} the constant parameter (x ** p,
# leaky_relu's slope). Each expression computes exactly what the op table computes on floats
# (tests/test_compiler.py checks every one against backprop.local_grads).
TEMPLATES: dict[Op, tuple[str, tuple[str, ...]]] = {
    ops.ADD: ("{a} + {b}", ("1.0", "1.0")),
    ops.SUB: ("{a} - {b}", ("1.0", "-1.0")),
    ops.MUL: ("{a} * {b}", ("{b}", "{a}")),
    ops.DIV: ("{a} / {b}", ("1.0 / {b}", "-{out} / {b}")),
    ops.POW: ("_pow({a}, {b})", ("0.0 if {a} == 0.0 and {b} == 0.0 else {b} * {a} ** ({b} - 1.0)",
                                 "{out} * _log_for_pow({a})")),
    ops.NEG: ("-{a}", ("-1.0",)),
    ops.ABS: ("abs({a})", ("1.0 if {a} > 0.0 else (-1.0 if {a} < 0.0 else 0.0)",)),
    ops.RELU: ("{a} if {a} > 0.0 else 0.0", ("1.0 if {out} > 0.0 else 0.0",)),
    ops.LEAKY_RELU: ("{a} if {a} > 0.0 else {p} * {a}", ("1.0 if {a} > 0.0 else {p}",)),
    ops.TANH: ("tanh({a})", ("1.0 - {out} * {out}",)),
    ops.SIGMOID: ("sigmoid({a})", ("{out} * (1.0 - {out})",)),
    ops.EXP: ("exp({a})", ("{out}",)),
    ops.LOG: ("log({a})", ("1.0 / {a}",)),
    ops.SQRT: ("sqrt({a})", ("0.5 / {out}",)),
    ops.SIN: ("sin({a})", ("cos({a})",)),
    ops.COS: ("cos({a})", ("-sin({a})",)),
    ops.SOFTPLUS: ("softplus({a})", ("sigmoid({a})",)),
}
# x ** p with a constant p is written per p (see _powc): its template depends on the number.

# The functions the generated code calls. math's functions raise a plain ValueError or
# OverflowError exactly where the engine's checked versions raise theirs; the call is then
# replayed through the engine for its message. Negative ** fractional gives a complex number
# in Python instead of an error, so those powers go through the engine's _pow.
NAMESPACE: dict[str, Any] = {
    "exp": math.exp, "log": math.log, "sqrt": math.sqrt, "tanh": math.tanh,
    "sin": math.sin, "cos": math.cos, "sigmoid": ops._sigmoid, "softplus": ops._softplus,
    "abs": builtins.abs, "type": builtins.type, "float": builtins.float,
    "_pow": ops._pow, "_log_for_pow": ops._log_for_pow, "_to_float": _to_float,
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LITERAL = re.compile(r"-?[0-9.]+(e[-+]?[0-9]+)?\Z")


def _literal(x: float) -> str:
    """A float as Python source (repr, or float('inf') / float('nan'))."""
    return repr(x) if math.isfinite(x) else f"float({repr(x)!r})"


def _powc(p: float) -> tuple[str, tuple[str, ...]]:
    """The template of x ** p for one constant p: d/dx = p x^(p-1), with x^0 = 1 and x^1 = x
    (and 0 for p = 0: x^0 = 1 is flat, even at x = 0)."""
    if math.isfinite(p) and p == int(p):
        forward = "{a} ** " + _literal(p)  # Python raises for 0 ** -n and overflow, like _pow
    else:
        forward = "_pow({a}, " + _literal(p) + ")"
    q = p - 1.0
    if p == 0.0:
        local = "0.0"
    elif q == 0.0:
        local = _literal(p * 1.0)
    elif q == 1.0:
        local = _literal(p) + " * {a}"
    else:
        local = _literal(p) + " * {a} ** " + (f"({_literal(q)})" if q < 0 else _literal(q))
    return forward, (local,)


# ---------------------------------------------------------------- names

def _identifiers(order: list[Value], reserved: set[str]) -> dict[Value, str]:
    """A distinct Python identifier per node: its label (made valid) or an automatic name."""
    names = {}
    taken = set(reserved)
    for node, name in node_names(order).items():
        name = re.sub(r"\W", "_", name)
        if not name or name[0].isdigit() or name[0] == "_":
            name = "v_" + name.lstrip("_")
        base, n = name, 1
        while name in taken or keyword.iskeyword(name):
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[node] = name
    return names


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _is_simple(expr: str) -> bool:
    return bool(_IDENTIFIER.match(expr) or _LITERAL.match(expr))


def _contribution(upstream: str, local: str) -> tuple[str, str]:
    """(sign, expression) of upstream * local, written the way the engine computes it."""
    if local == "1.0":
        return "+", upstream
    if local == "-1.0":
        return "-", upstream
    if local == "0.0":  # no gradient flows (x ** 0): the engine adds nothing
        return "+", "0.0"
    m = re.fullmatch(r"1\.0 if (.+) else 0\.0", local)
    if m:  # relu: the engine adds the upstream gradient or nothing
        return "+", f"{upstream} if {m.group(1)} else 0.0"
    return "+", f"{upstream} * {local}" if _is_simple(local) else f"{upstream} * ({local})"


# ---------------------------------------------------------------- code generation

class _Generator:
    """Writes the source of one function ``_compiled(_rows, _seed)`` for a traced graph."""

    def __init__(self, order: list[Value], root: Value, inputs: list[Value], fn_name: str,
                 extras: list[Value], extras_listed: bool):
        self.order, self.root, self.inputs, self.fn_name = order, root, inputs, fn_name
        self.extras, self.extras_listed = extras, extras_listed
        self.namespace: dict[str, Any] = dict(NAMESPACE)
        reserved = set(NAMESPACE)
        self.name = _identifiers(order + [x for x in inputs if x not in set(order)], reserved)
        taken = set(reserved) | set(self.name.values())
        input_set = set(inputs)
        in_graph = set(order)
        self.leaves = [n for n in order if n._rule is None and n not in input_set]
        # How many chain-rule contributions each node receives (the engine adds them in order).
        self.count: dict[Value, int] = {}
        for node in order:
            for inp in node.inputs:
                self.count[inp] = self.count.get(inp, 0) + 1
        self.dname = {n: _fresh("d_" + self.name[n], taken) for n in order}
        for x in inputs:
            if x not in in_graph:
                self.dname[x] = _fresh("d_" + self.name[x], taken)
        # Accumulators of the leaves' .grad across the rows of a batch.
        self.gname = {n: _fresh("grad_" + self.name[n], taken) for n in self.leaves}
        self.custom: dict[Op, str] = {}
        self.lines: list[str] = []

    def emit(self, line: str, indent: int = 1) -> None:
        self.lines.append("    " * indent + line)

    def template(self, node: Value) -> tuple[str, tuple[str, ...]]:
        rule = node._rule
        if rule is ops.POWC:
            return _powc(node._b)
        found = TEMPLATES.get(rule)
        if found is not None:
            return found
        return self.custom_template(rule)

    def custom_template(self, rule: Op) -> tuple[str, tuple[str, ...]]:
        """A registered op: call its own forward and local_grads rules through the namespace."""
        if rule not in self.custom:
            base = re.sub(r"\W", "_", rule.name).strip("_") or "op"
            stem = _fresh("_" + base, set(self.namespace))
            self.namespace[stem] = _checked_forward(rule)
            self.namespace[stem + "_local_grads"] = rule.derivatives
            self.custom[rule] = stem
        stem = self.custom[rule]
        args = ", ".join("{%s}" % k for k in _slots(rule.arity))
        forward = f"{stem}({args})"
        local = f"{stem}_local_grads({args}, {{out}})"
        return forward, tuple(f"{local}[{i}]" for i in range(rule.arity))

    def fill(self, text: str, node: Value) -> str:
        slots = dict(zip(_slots(len(node.inputs)), (self.name[v] for v in node.inputs)))
        slots["out"] = self.name[node]
        if node._rule is not None and node._rule.has_param:
            slots["p"] = _literal(node._b)
        return text.format(**slots)

    def source(self, signature: str) -> str:
        name, dname, gname = self.name, self.dname, self.gname
        inputs = [name[x] for x in self.inputs]
        emit = self.emit
        self.lines = ["def _compiled(_rows, _seed, _extras=None):",
                      f'    """{signature} and its gradient, summed over _rows '
                      '(generated by autograd.compile)."""']
        if self.leaves:
            emit("# leaves that are not inputs: their current .data; gradients add into .grad")
        for i, leaf in enumerate(self.leaves):
            emit(f"{name[leaf]} = _leaves[{i}].data  # {leaf.data!r} when traced")
        for i, leaf in enumerate(self.leaves):
            emit(f"{gname[leaf]} = _leaves[{i}].grad")
        emit("_total = 0.0")
        target = ", ".join(inputs) + ("," if len(inputs) == 1 else "")
        emit(f"for {target} in _rows:" if inputs else "for _ in _rows:")
        for i, x in enumerate(inputs):
            emit(f"{x} = {x} if type({x}) is float else "
                 f"_to_float({x}, {f'input {i} ({x})'!r})", 2)
        emit("# forward: one line per node", 2)
        for node in self.order:
            if node._rule is not None:
                emit(f"{name[node]} = {self.fill(self.template(node)[0], node)}", 2)
        emit("# backward: the chain rule from the output back to every leaf", 2)
        emit(f"{dname[self.root]} = _seed", 2)
        seen: set[Value] = set()
        leaf_set = set(self.leaves)
        for node in reversed(self.order):
            if node._rule is None:
                continue
            upstream = dname[node]
            locals_ = self.template(node)[1]
            if locals_ and "_local_grads(" in locals_[0]:
                call = self.fill(locals_[0].rsplit("[", 1)[0], node)
                local_var = f"_local_{name[node]}"
                emit(f"{local_var} = {call}", 2)
                locals_ = tuple(f"{local_var}[{i}]" for i in range(len(locals_)))
            for inp, local in zip(node.inputs, locals_):
                sign, expr = _contribution(upstream, self.fill(local, node))
                if inp in leaf_set and self.count[inp] == 1 and inp is not self.root:
                    emit(f"{gname[inp]} {sign}= {expr}", 2)  # one contribution: straight in
                elif inp in seen:
                    emit(f"{dname[inp]} {sign}= {expr}", 2)
                elif sign == "+" and expr == upstream and self.count[inp] == 1:
                    seen.add(inp)  # passed on unchanged (through +): reuse the name, no copy
                    emit(f"# {dname[inp]} = {upstream}: the same number, not copied", 2)
                    dname[inp] = upstream
                else:
                    seen.add(inp)
                    emit(f"{dname[inp]} = {expr if sign == '+' else '-' + expr}", 2)
        for x in self.inputs:
            if x not in seen and x is not self.root:
                emit(f"{dname[x]} = 0.0", 2)
        for leaf in self.leaves:
            if leaf is self.root or self.count.get(leaf, 0) > 1:
                emit(f"{gname[leaf]} += {dname[leaf]}", 2)
        emit(f"_total += {name[self.root]}", 2)
        if self.extras:
            values = ", ".join(name[v] for v in self.extras)
            emit("if _extras is not None:", 2)
            emit(f"_extras.append({f'[{values}]' if self.extras_listed else values})", 3)
        for i, leaf in enumerate(self.leaves):
            emit(f"_leaves[{i}].grad = {gname[leaf]}")
        grads = ", ".join(dname[x] for x in self.inputs)
        emit(f"return _total, ({grads}{',' if len(inputs) == 1 else ''})")
        return "\n".join(self.lines) + "\n"


def _slots(n: int) -> list[str]:
    return ["a", "b"] if n == 2 else ["a"] if n == 1 else [f"x{i}" for i in range(n)]


def _checked_forward(rule: Op) -> Callable[..., float]:
    where = f"the forward rule of op {rule.name!r} returned a value that"

    def forward(*args: float) -> float:
        return _to_float(rule.forward(*args), where)

    return forward


# ---------------------------------------------------------------- the compiled callable

class CompiledFunction:
    """``fn`` traced once and turned into straight-line Python; see :func:`compile`.

    ``f(*inputs)`` returns ``(value, input_grads)``: ``value = fn(*inputs)`` as a float and
    ``input_grads[i] = d value / d inputs[i]``; every other leaf (parameter, constant) gets
    ``leaf.grad += d value / d leaf``, like ``backward()``. ``f.batch(rows, scale)`` does the
    same for many rows at once. ``f.source`` is the generated code.
    """

    def __init__(self, fn: Callable[..., Value], inputs: list[Value], root: Value,
                 order: list[Value], source: str, namespace: dict[str, Any],
                 leaves: list[Value]) -> None:
        self.fn = fn
        self.source = source
        self.leaves = leaves
        self.input_names = tuple(x.label for x in inputs)
        self.num_nodes = len(order)
        namespace["_leaves"] = leaves
        code = builtins.compile(source, f"<autograd.compile {getattr(fn, '__name__', 'fn')}>",
                                "exec")
        exec(code, namespace)
        self._run = namespace["_compiled"]

    @property
    def num_inputs(self) -> int:
        return len(self.input_names)

    def __call__(self, *inputs: Any) -> tuple[float, tuple[float, ...]]:
        """value, input grads = fn(*inputs), d fn / d inputs; other leaves' .grad += d fn/d leaf."""
        if len(inputs) != self.num_inputs:
            raise TypeError(f"this compiled function takes {self.num_inputs} input(s) "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        rows = (inputs,)
        try:
            return self._run(rows, 1.0)
        except (ArithmeticError, ValueError):
            return self._replay(rows, 1.0)

    def batch(self, rows: Iterable[Sequence[Any]], scale: float = 1.0,
              extras: bool = False) -> Any:
        """scale * sum of fn(*row) over the rows; leaves' .grad += its gradient.

        With ``scale = 1 / len(rows)`` that is the mean loss of a batch and its gradient, the
        same as building ``sum(losses) / n`` and calling ``backward()``, with the parameters read
        once per batch. If any row fails, no ``.grad`` has changed. With ``extras=True`` (for
        an ``fn`` that returns ``(output, extra)``) the result is ``(value, extras)``, one
        entry per row: the extra's data (a float, or a list of floats).
        """
        rows = list(rows)
        n = self.num_inputs
        for i, row in enumerate(rows):
            try:
                size = len(row)
            except TypeError:
                raise TypeError(f"batch(rows): row {i} is {type(row).__name__} {row!r:.40}; "
                                f"each row is a sequence of {n} input(s)") from None
            if size != n:
                raise ValueError(f"batch(rows): row {i} has {size} entries, expected {n} "
                                 f"({', '.join(self.input_names)})")
        scale = _to_float(scale, "batch(scale)")
        found: Any = [] if extras else None
        if rows:
            try:
                total, _ = self._run(rows, scale, found)
            except (ArithmeticError, ValueError):
                found = [] if extras else None
                total, _ = self._replay(rows, scale, found)
        else:
            total = 0.0
        return (scale * total, found) if extras else scale * total

    def _replay(self, rows: Sequence[Sequence[Any]], seed: float,
                found: Any = None) -> tuple[float, tuple]:
        """Run the rows through the engine: it raises its own error for the failing op.

        If the engine does not fail (the compiled code should then not have failed either),
        its result is returned, so an answer is never wrong.
        """
        saved = [leaf.grad for leaf in self.leaves]
        try:
            total = 0.0
            grads: tuple = ()
            for row in rows:
                inputs = [Value(x) for x in row]
                out, extra, listed = _split(self.fn(*inputs))
                out.backward(seed)
                if found is not None:
                    data = [v.data for v in extra]
                    found.append(data if listed else data[0])
                total += out.data
                grads = tuple(x.grad for x in inputs)
        except BaseException:
            for leaf, old in zip(self.leaves, saved):
                leaf.grad = old
            raise
        return total, grads

    def __repr__(self) -> str:
        return (f"<compiled {getattr(self.fn, '__name__', 'fn')}({', '.join(self.input_names)}):"
                f" {self.num_nodes} nodes, {len(self.leaves)} leaves read from Values>")


def _input_names(fn: Callable, n: int, example_inputs: Sequence[Any]) -> list[str]:
    """Labels for the traced inputs: the example Value's label, else fn's parameter names."""
    names = [f"x{i}" for i in range(n)]
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    i = 0
    for p in params:
        if i >= n:
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names[i] = p.name
            i += 1
        elif p.kind == p.VAR_POSITIONAL:
            for j in range(i, n):
                names[j] = f"{p.name}{j - i}"
            break
    for i, x in enumerate(example_inputs):
        if isinstance(x, Value) and x.label:
            names[i] = x.label
    return names


def _split(result: Any) -> tuple[Value, list[Value], bool]:
    """fn's result as (output, extra Values, whether the extra was a list)."""
    extra: Any = []
    out = result
    if isinstance(result, (tuple, list)) and len(result) == 2:
        out, extra = result
    if not isinstance(out, Value):
        raise TypeError(f"compile(fn): fn must return a Value (one scalar such as a loss) or "
                        f"(output, extra), got {type(result).__name__} {result!r:.40}")
    listed = not isinstance(extra, Value)
    extras = list(extra) if listed else [extra]
    for i, v in enumerate(extras):
        if not isinstance(v, Value):
            raise TypeError(f"compile(fn): the extra of fn's (output, extra) must be a Value or "
                            f"a list of Values, entry {i} is {type(v).__name__} {v!r:.40}")
    return out, extras, listed


def compile(fn: Callable[..., Value],  # noqa: A001 - autograd.compile, like torch.compile
            example_inputs: Sequence[Any]) -> CompiledFunction:
    """Trace ``fn(*inputs)`` once and generate straight-line Python for its value and gradient.

    ``fn`` takes the inputs as separate arguments (like ``gradcheck``) and returns one Value,
    e.g. the loss of one sample. ``example_inputs`` are numbers (or Values, whose data and
    label are used) for the trace. The result ``f`` is called with new inputs:

    - ``value, input_grads = f(*inputs)``: value = fn(*inputs) and d value / d inputs[i];
    - every leaf of the graph that is not an input (a model's parameters, constants) is read
      from its Value at call time, and ``leaf.grad += d value / d leaf`` (as ``backward()``);
    - ``f.batch(rows, scale=1.0)`` sums ``scale * fn(*row)`` over rows, accumulating the
      gradient of that sum, with one call for a whole batch;
    - ``f.source`` is the generated code: one line per node forward, then the chain rule;
    - ``fn`` may return ``(output, extra)`` (extra: a Value or a list of Values of the output's
      graph, e.g. the model's prediction next to the loss): ``f.batch(rows, extras=True)``
      then also gives each row's extra data, at no extra cost.

    Why gradients of leaves go to ``.grad`` while input gradients are returned: parameters
    are Values that the optimizers and ``zero_grad`` already use, while inputs are plain
    numbers with nowhere to keep a gradient.

    The graph is fixed at trace time: ops' own branches (relu, abs ...) are code and right for
    every input, but Python ``if``s on ``.data`` inside ``fn`` are not re-taken; compile again
    if the shape of the computation changes, or if a leaf Value is replaced by a new object.
    """
    if not callable(fn):
        raise TypeError(f"compile(fn): fn must be callable, got {type(fn).__name__} {fn!r:.40}")
    if isinstance(example_inputs, (Value, str, bytes)) or not isinstance(example_inputs,
                                                                          Iterable):
        raise TypeError("compile(fn, example_inputs): example_inputs must be a list of numbers, "
                        f"one per argument of fn, got {type(example_inputs).__name__}; "
                        "e.g. compile(f, [1.0, 2.0])")
    examples = list(example_inputs)
    if _grad_disabled():
        raise RuntimeError("compile() traces a graph, which no_grad() turns off; "
                           "call compile outside the no_grad block")
    names = _input_names(fn, len(examples), examples)
    inputs = []
    for i, (x, label) in enumerate(zip(examples, names)):
        data = x.data if isinstance(x, Value) else _to_float(x, f"compile: example input {i}")
        inputs.append(Value(data, label=label))
    out, extras, listed = _split(fn(*inputs))
    order = topological_order(out)
    in_graph = set(order)
    for i, v in enumerate(extras):
        if v not in in_graph:
            raise ValueError(f"compile(fn): extra {i} returned by fn ({v!r:.60}) is not part of "
                             "the output's graph; return only Values that the output uses")
    generator = _Generator(order, out, inputs, getattr(fn, "__name__", "fn"), extras, listed)
    signature = f"fn({', '.join(generator.name[x] for x in inputs)})"
    source = generator.source(signature)
    return CompiledFunction(fn, inputs, out, order, source, generator.namespace, generator.leaves)

"""compile(): trace a scalar function once and turn forward + backward into straight-line Python.

A graph of a fixed shape (one sample through a model and its loss) is the same at every step,
so the work of building and walking Value objects can be done once. ``compile`` runs ``fn`` on
Values, takes the traced graph in topological order and writes one line of code per node for
the forward pass, then the chain rule in reverse order for the backward pass. Every line is
the op's own row (``autograd.ops``) printed as code: each rule is evaluated on symbols
(``autograd.symbolic``), so the compiled code computes exactly what the engine computes, and
an op added with ``register_op`` is compiled like a built-in one.

What the generated code reads:

- inputs: the positions of ``example_inputs``, given again at every call;
- every other leaf of the traced graph (a model's parameters, constants such as the 2 in
  ``2 * x``): read from its Value object at call time (its current ``.data``), so parameters
  updated by an optimizer are picked up without tracing again. Their gradients are summed
  over a batch and added to ``.grad``, exactly as ``backward()`` does, so ``zero_grad`` and
  the optimizers work unchanged.

Branches inside ops (relu, abs, leaky_relu) are conditional expressions, so they are right for
every input. Python ``if``s *inside fn* that look at ``.data`` are not ops: they are taken
once, at trace time (as in ``torch.jit.trace``).

Two forms of the same code are generated. The scalar form loops over the rows of a batch with
plain floats. The vectorized form (used for many rows when numpy is importable) runs each
line once on arrays holding every row: ``z = w * x`` multiplies a whole column. Both run the
forward pass over all rows first, then (``ForwardPass.backward``) the backward pass with one
upstream gradient per row and output, which is how a loss that couples the rows (a mean, a
softmax over a batch) is backpropagated exactly as the engine does.

Whenever the generated code meets a floating-point error (log of 0, division by zero,
overflow, a derivative that is infinite at a point) it steps back: vectorized code to the
scalar code, scalar code to the engine itself, which raises its own error message or gives
the IEEE value (``sqrt'(0) = inf``) of the op's row; nothing is left half-changed. Only what
the outputs depend on is traced and run: an op whose result they ignore is dead code.
"""

from __future__ import annotations

import builtins
import inspect
import itertools
import keyword
import math
import re
import unicodedata
from typing import Any, Callable, Iterable, Optional, Sequence

from autograd import ops
from autograd.backprop import graph_lock, topological_order
from autograd.dense import DenseLayer, find_dense_layers
from autograd.display import node_names
from autograd.modes import anomaly_enabled, grad_enabled
from autograd.ops import Op
from autograd.symbolic import VECTOR_OPERATORS, Sym, to_code
from autograd.value import Value, _to_float

__all__ = ["compile", "compile_outputs", "CompiledFunction", "Program", "ForwardPass"]

#: Rows from which a batch runs vectorized. numpy costs about a microsecond per line of code
#: whatever the rows, plus a fixed cost per call; the scalar loop tens of nanoseconds per
#: line and row. Measured crossovers (bench/README.md): 25-32 rows for programs of about
#: 1,000 nodes and more, about 64 for programs of tens of nodes; so twice as many rows are
#: needed below SMALL_PROGRAM nodes.
VECTOR_MIN_ROWS = 32
SMALL_PROGRAM = 500
#: A program with dense layers (a few matrix products per pass) beats the row loop from two
#: rows on (measured on MLP(2, [16, 16, 1]): 2 rows 0.12 ms either way, 8 rows 0.09 vs 0.25).
LAYERED_MIN_ROWS = 2

# ---------------------------------------------------------------- the functions code calls
# Every name the generated code uses that is not a node's variable starts with "_", and no
# node variable does: the code's own names can never be shadowed by a label.

#: The float function behind each function a rule calls (``ops.exp(x)`` in a rule is
#: ``_exp(x)`` in the code). An op's own forward rule is bound from its row.
SCALAR: dict[str, Callable[..., float]] = {
    "exp": ops._exp, "log": ops._log, "sqrt": ops._sqrt, "sin": ops._sin, "cos": ops._cos,
    "tanh": math.tanh, "sigmoid": ops._sigmoid, "softplus": ops._softplus,
    "relu": ops.RELU.forward, "leaky_relu": ops.LEAKY_RELU.forward, "abs": builtins.abs,
    "sign": ops._sign,
}
# The code name of each built-in op whose name is an operator.
_CODE_NAMES = {"/": "div", "**": "pow"}


def _vector_functions(np: Any) -> dict[str, Callable[..., Any]]:
    """What vectorized code calls, by its name there: the numpy twin of each function of
    ``SCALAR`` (the same values, element by element), numpy's ufunc for each operator, and
    the sums over rows and along chains."""
    def sigmoid(a):
        e = np.exp(-np.abs(a))  # as ops._sigmoid: exp never overflows
        return np.where(a >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))

    def softplus(a):
        return np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))

    def sign(a):
        return np.where(a > 0.0, 1.0, np.where(a < 0.0, -1.0, 0.0))  # sign(nan) = 0

    # A long sum in one call, its terms added in order as the engine adds them: numpy's
    # reduction along the first axis of a (terms x rows) array adds row after row (with one
    # row it would sum pairwise instead: vectorized code never runs on one row), so the
    # result is bit for bit the chain of additions it replaces.
    def sum_in_order(terms: tuple) -> Any:
        return np.add.reduce(np.array(np.broadcast_arrays(*terms)), axis=0)

    def weighted_sum(head: Any, weights: tuple, values: tuple) -> Any:
        products = np.multiply(np.array(weights)[:, None], np.array(values))
        products[0] += head  # head + w0 x0 first, bit for bit (addition commutes)
        return np.add.reduce(products, axis=0)

    def matrix(leaves: list, *shape: int) -> Any:
        return np.array([leaf.data for leaf in leaves]).reshape(shape or (-1,))

    def accumulate(leaves: list, grads: Any) -> None:
        for leaf, g in zip(leaves, grads.ravel().tolist()):
            leaf.grad += g

    functions = {
        "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
        "tanh": np.tanh, "sigmoid": sigmoid, "softplus": softplus,
        "relu": lambda a: np.where(a <= 0.0, 0.0, a),  # relu(nan) is nan, as ops.RELU
        "leaky_relu": lambda a, slope: np.where(a > 0.0, a, slope * a), "abs": np.abs,
        "sign": sign, "div": np.divide,
        "pow": np.power,  # 0 ** -1 and (-8) ** 0.5 raise in the code's np.errstate
        "where": np.where, "zeros_like": np.zeros_like,
        "sum": np.add.reduce,  # over the rows (the leaves get floats at the end)
        "sum_in_order": sum_in_order, "weighted_sum": weighted_sum,
        # dense layers (autograd.dense): parameters in, gradients out, a Value per number
        "matrix": matrix, "accumulate": accumulate, "column_stack": np.column_stack,
    }
    functions.update({name: getattr(np, name) for name in VECTOR_OPERATORS.values()})
    return {"_" + name: f for name, f in functions.items()}


#: The names of ``SCALAR`` and of the ops' forward rules that have a numpy twin.
VECTOR_NAMES = frozenset(SCALAR) | {"div", "pow"}


def _numpy() -> Any:
    from autograd.optional import optional

    return optional("numpy")  # numpy is optional: the scalar code runs everywhere


# ---------------------------------------------------------------- identifiers

def _identifier(text: str) -> str:
    """ASCII letters, digits and _ of ``text`` after Unicode normalisation (ﬁ -> fi, x₁ -> x1).

    Python itself normalises identifiers (NFKC), so two labels that differ only there would
    name one variable: the names are made ASCII first and then checked for uniqueness.
    """
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    if not text or text[0].isdigit():
        text = "v" + text
    if keyword.iskeyword(text) or keyword.issoftkeyword(text):
        text += "_"
    return text


def _comment(text: str) -> str:
    """User text safe inside a ``#`` comment: one line, every non-ASCII character escaped."""
    return ascii(text)[1:-1]


def _literal(x: float) -> str:
    if math.isfinite(x):
        return repr(x)
    return "_nan" if math.isnan(x) else ("_inf" if x > 0 else "(-_inf)")


# ---------------------------------------------------------------- code generation

class _Generator:
    """Writes the source of a traced graph: a generator function run in two phases.

    ``_forward_backward(_rows, _extras)`` computes every row's outputs and yields them with
    the extras; sent ``(seeds, want_input_grads)`` it runs the backward pass, adds the
    leaves' gradients to their ``.grad`` and yields the input gradients (or None).
    """

    def __init__(self, inputs: list[Value], outputs: list[Value], extras: list[Value],
                 extras_listed: bool) -> None:
        self.inputs, self.outputs, self.extras = inputs, outputs, extras
        self.extras_listed = extras_listed
        order: list[Value] = []
        seen: set[Value] = set()
        for out in outputs:  # one order for all outputs: each one's order, without repeats
            for node in topological_order(out):
                if node not in seen:
                    seen.add(node)
                    order.append(node)
        self.order = order
        input_set = set(inputs)
        self.leaves = [n for n in order if n.is_leaf and n not in input_set]
        self.names = node_names(order + [x for x in inputs if x not in seen])
        taken: set[str] = set()
        self.taken = taken
        self.var: dict[Value, str] = {}
        for node in order + [x for x in inputs if x not in seen]:
            self.var[node] = self._fresh(_identifier(self.names[node]), taken)
        self.dvar = {n: self._fresh("d_" + self.var[n], taken) for n in self.var}
        self.gvar = {n: self._fresh("grad_" + self.var[n], taken) for n in self.leaves}
        # Which nodes differ from row to row (the inputs and what is computed from them); the
        # others, computed from leaves alone, are one number for the whole batch.
        self.varies = set(inputs)
        for node in order:
            if any(inp in self.varies for inp in node.inputs):
                self.varies.add(node)
        # How many chain-rule contributions each node receives.
        self.count: dict[Value, int] = {}
        for node in order:
            for inp in node.inputs:
                self.count[inp] = self.count.get(inp, 0) + 1
        self.functions: dict[str, Any] = {}    # code name -> scalar function (custom ops)
        self.custom: dict[Op, str] = {}
        self.vectorizable = True
        self.layers: list[_Layer] = []          # the dense layers, in vectorized code only
        self.layer_nodes: set[Value] = set()    # every node they compute
        self.constants: dict[str, Any] = {}     # code name -> object (a layer's leaves)

    def _find_layers(self, vector: bool) -> None:
        """The dense layers of the graph (vectorized code only: a row has no matrices)."""
        self.layers, self.layer_nodes = [], set()
        if not vector:
            return

        def vectorizable(rule: Op, param: Any) -> bool:
            symbolic = rule.symbolic(param)
            if symbolic.local_grads is None or any(d.kind == "none" for d in
                                                   symbolic.local_grads):
                return False
            return symbolic.forward is not None or (
                rule.name in ops.BUILTIN and _CODE_NAMES.get(rule.name, rule.name)
                in VECTOR_NAMES)

        found = find_dense_layers(self.order, self.varies, self.count,
                                  set(self.outputs) | set(self.extras), vectorizable)
        by_outputs = {}
        for k, dense in enumerate(found, 1):
            layer = _Layer(dense, k, lambda name: self._fresh(name, self.taken), self)
            layer.takes_from = by_outputs.get(tuple(dense.inputs))
            if layer.takes_from is not None:
                layer.X = layer.takes_from.H  # this layer reads that one's matrix whole
            by_outputs[tuple(dense.outputs)] = layer
            self.layers.append(layer)
            self.layer_nodes |= dense.nodes
            self.constants[layer.weights_list] = [w for row in dense.weights for w in row]
            if dense.biases is not None:
                self.constants[layer.biases_list] = dense.biases
        # the columns of a layer's outputs that single nodes (or another layer's X) read
        read = set(self.outputs) | set(self.extras)
        for node in self.order:
            if node not in self.layer_nodes:
                read.update(node.inputs)
        for layer in self.layers:
            if layer.takes_from is None:
                read.update(layer.dense.inputs)
        for layer in self.layers:
            layer.columns = [h for h in layer.dense.outputs if h in read]

    @staticmethod
    def _fresh(name: str, taken: set[str]) -> str:
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        return name

    # ------------------------------------------------------------ one node
    def _rule_names(self, node: Value) -> dict[str, str]:
        symbolic = node.rule.symbolic(node.op_param)
        names = {sym: self.var[inp] for sym, inp in zip(symbolic.inputs, node.inputs)}
        names["out"] = self.var[node]
        return names

    def _function(self, rule: Op) -> str:
        """The code name of an op's forward rule when it is not an expression, bound to the
        row's own forward rule (checked to give a float, for a user's op)."""
        if rule.name in ops.BUILTIN or rule is ops.POWC:
            name = _CODE_NAMES.get(rule.name, rule.name)
            self.functions[name] = rule.forward
            return name
        if rule not in self.custom:
            name = f"op{len(self.custom) + 1}_{_identifier(rule.name)}"
            self.custom[rule] = name
            self.functions[name] = _checked_forward(rule)
            self.functions[name + "_local_grads"] = rule.derivatives
        return self.custom[rule]

    def forward(self, node: Value, vector: bool) -> str:
        symbolic = node.rule.symbolic(node.op_param)
        if symbolic.forward is not None:
            return to_code(symbolic.forward, self._rule_names(node), vector)
        name = self._function(node.rule)
        if name not in VECTOR_NAMES:
            self.vectorizable = False  # a float function without a numpy twin: scalar code only
        args = [self.var[inp] for inp in node.inputs]
        if node.rule.has_param:
            args.append(_literal(node.op_param))
        return f"_{name}({', '.join(args)})"

    def locals_(self, node: Value, vector: bool) -> list[Optional[Sym | str]]:
        """The local derivatives as Syms, or as code reading ``_l_<node>[i]``, the result of
        calling the rule (one name per node: an input's gradient may read it at the end)."""
        symbolic = node.rule.symbolic(node.op_param)
        if symbolic.local_grads is not None:
            return list(symbolic.local_grads)
        self.vectorizable = False
        return [f"_l_{self.var[node]}[{i}]" for i in range(node.rule.arity)]

    # ------------------------------------------------------------ the whole function
    def source(self, vector: bool) -> str:
        var, gvar = self.var, self.gvar
        lines: list[str] = []

        def emit(line: str, indent: int) -> None:
            lines.append("    " * indent + line)

        body = 2 if not vector else 1  # scalar code loops over the rows
        self._find_layers(vector)
        in_layers = self.layer_nodes
        backward, input_backward, needed, dvar = self._backward_lines(vector, body)
        inputs = [var[x] for x in self.inputs]
        emit("def _forward_backward(_rows, _extras):", 0)
        emit('"""Generated by autograd.compile: forward over all rows, then backward."""', 1)
        layer_leaves = {leaf for layer in self.layers for leaf in layer.dense.leaves}
        if len(layer_leaves) < len(self.leaves):
            emit("# leaves that are not inputs: their current .data", 1)
        for i, leaf in enumerate(self.leaves):
            if leaf not in layer_leaves:
                emit(f"{var[leaf]} = _leaves[{i}].data" + self._label_comment(leaf), 1)
        for layer in self.layers:
            lines.extend("    " + line for line in layer.parameter_lines())
        outputs = ", ".join(var[o] for o in self.outputs)
        leaves = set(self.leaves)
        saved = [var[n] for n in self.order if n in needed and n not in leaves]
        if vector:
            if inputs:
                emit(f"{', '.join(inputs)}, = _rows", 1)
            emit("# forward: one line per node, each on a column of every row; a long sum in", 1)
            emit("# one call (its terms added one after the other, as the engine adds them)", 1)
            sums, folded = self._long_sums(needed)
            starts = {layer.dense.sums[0]: layer for layer in self.layers}
            for node in self.order:
                if node in starts:
                    lines.extend("    " + line for line in starts[node].forward_lines(var))
                if node in in_layers:
                    continue
                if node in sums:
                    emit(f"{var[node]} = {sums[node]}" + self._label_comment(node), 1)
                elif not node.is_leaf and node not in folded:
                    emit(f"{var[node]} = {self.forward(node, True)}" + self._label_comment(node),
                         1)
            emit(f"_outputs = ({outputs},)", 1)
            if self.extras:
                emit(f"_extras.append(({', '.join(var[v] for v in self.extras)},))", 1)
            emit("_seeds, _want_input_grads = yield _outputs", 1)
        else:
            emit("_outputs = []", 1)
            emit("_saved = []", 1)
            target = ", ".join(inputs) + ("," if len(inputs) == 1 else "")
            emit(f"for {target} in _rows:" if inputs else "for _ in _rows:", 1)
            for i, x in enumerate(inputs):
                emit(f"{x} = {x} if _type({x}) is _float else _to_float({x}, "
                     f"{f'input {i} ({_comment(x)})'!r})", 2)
            emit("# forward: one line per node", 2)
            for node in self.order:
                if not node.is_leaf:
                    emit(f"{var[node]} = {self.forward(node, False)}"
                         + self._label_comment(node), 2)
            emit(f"_outputs.append(({outputs},))", 2)
            emit(f"_saved.append(({', '.join(saved)}{',' if len(saved) == 1 else ''}))", 2)
            if self.extras:
                emit(f"_extras.append(({', '.join(var[v] for v in self.extras)},))", 2)
            emit("_seeds, _want_input_grads = yield _outputs", 1)
        emit("# backward: the chain rule from the outputs back to every leaf and input", 1)
        for leaf in self.leaves:
            if leaf not in layer_leaves:
                emit(f"{gvar[leaf]} = 0.0", 1)
        emit("_input_grads = []", 1)
        if not vector:
            pattern = ", ".join(saved) + ("," if len(saved) == 1 else "")
            emit(f"for ({pattern}), _seed in _zip(_saved, _seeds):", 1)
        else:
            emit("_seed = _seeds", 1)
        seeds = ", ".join(dvar[o] for o in self.outputs)
        emit(f"{seeds}, = _seed", body)
        lines.extend(backward)
        grads = ", ".join(dvar[x] for x in self.inputs)
        emit("if _want_input_grads:", body)
        lines.extend("    " + line for line in input_backward)
        emit(f"_input_grads.append(({grads}{',' if grads else ''}))", body + 1)
        for i, leaf in enumerate(self.leaves):
            if leaf not in layer_leaves:
                total = f"_float({gvar[leaf]})" if vector else gvar[leaf]  # not a numpy scalar
                emit(f"_leaves[{i}].grad += {total}", 1)
        for layer in self.layers:
            lines.extend("    " + line for line in layer.accumulate_lines())
        emit("yield _input_grads", 1)
        return "\n".join(lines) + "\n"

    def _long_sums(self, needed: set[Value]) -> tuple[dict[Value, str], set[Value]]:
        """Vectorized code for each long sum ``((t0 + t1) + t2) + ... + tk`` of the graph (a
        neuron's ``b + w0 x0 + ...``): one call instead of k additions, and for terms
        ``w_i * x_i`` with weights the same for every row, one multiplication for all of them.

        A partial sum or product folds into the sum's call only if nothing else reads it (one
        consumer, not an output, not read by the backward pass): their values are never made.
        Returns the code of each sum and the set of folded nodes.
        """
        keep = set(self.outputs) | set(self.extras) | needed

        def foldable(node: Value) -> bool:
            return (self.count.get(node, 0) == 1 and node not in keep and not node.is_leaf
                    and node not in self.layer_nodes)

        consumer: dict[Value, Value] = {}
        for node in self.order:
            for inp in node.inputs:
                consumer[inp] = node
        sums: dict[Value, str] = {}
        folded: set[Value] = set()
        for node in reversed(self.order):  # the last addition of a chain is met first
            if (node.rule is not ops.ADD or node in folded or node in sums
                    or node in self.layer_nodes):
                continue
            terms, links, link = [], [], node
            while True:
                first, term = link.inputs
                terms.append(term)
                if first.rule is ops.ADD and foldable(first) and consumer[first] is link:
                    links.append(first)
                    link = first
                    continue
                terms.append(first)
                break
            if len(terms) < 4:  # not worth a call of its own
                continue
            folded.update(links)
            terms.reverse()     # t0, t1, ..., tk: the order of the additions
            head, rest = terms[0], terms[1:]
            products = [t for t in rest if t.rule is ops.MUL and foldable(t)
                        and sum(inp in self.varies for inp in t.inputs) == 1]
            if len(products) == len(rest):  # every term a weight times a varying value
                weights = [next(i for i in t.inputs if i not in self.varies) for t in rest]
                values = [next(i for i in t.inputs if i in self.varies) for t in rest]
                folded.update(rest)
                sums[node] = (f"_weighted_sum({self.var[head]}, "
                              f"({', '.join(self.var[w] for w in weights)},), "
                              f"({', '.join(self.var[v] for v in values)},))")
            else:
                sums[node] = f"_sum_in_order(({', '.join(self.var[t] for t in terms)},))"
        return sums, folded

    def _label_comment(self, node: Value) -> str:
        # A label, or for a leaf a name from the model: L1_N3_w0 = _leaves[4].data  # L1.N3.w0
        name = self.names[node]
        shown = node.label or node.is_leaf
        return f"  # {_comment(name)}" if shown and name != self.var[node] else ""

    def _backward_lines(self, vector: bool, indent: int
                        ) -> tuple[list[str], list[str], set[Value], dict[Value, str]]:
        """The chain rule in reverse order: the lines for the leaves' gradients, the lines for
        the inputs' gradients (run only when they are asked for: training needs none), the
        nodes whose forward values they read, and the name of each gradient (one passed on
        unchanged keeps its upstream's name).

        An input's gradient can wait until the end: every upstream gradient it reads is final
        once its node has been processed, and nothing else reads an input's gradient.
        """
        var, gvar = self.var, self.gvar
        dvar = dict(self.dvar)
        node_lines: list[str] = []
        input_lines: list[str] = []
        input_set = set(self.inputs)
        needed: set[Value] = set()
        assigned = set(self.outputs)  # gradient variables that hold a number already
        leaf_set = set(self.leaves)
        outputs = set(self.outputs)
        pad = "    " * indent

        def straight_in(target: Value) -> bool:
            return target in leaf_set and self.count[target] == 1 and target not in outputs

        def accumulate(name: str, sign: str, expression: str) -> str:
            # Arrays are shared between names (d_a = d_c passes one on): never add in place.
            if vector:
                return f"{pad}{name} = _{'add' if sign == '+' else 'subtract'}({name}, " \
                       f"{expression})"
            return f"{pad}{name} {sign}= {expression}"

        def to(target: Value) -> list[str]:
            return input_lines if target in input_set else node_lines

        # Vectorized code gathers the contributions into a value used many times (a hidden
        # neuron's output feeds every neuron of the next layer) and adds them in one call,
        # in the order they come, once the last has come: the node is processed next.
        pending: dict[Value, list[tuple[str, str, str, Optional[Value]]]] = {}

        def gathered(target: Value) -> bool:
            return (vector and self.count.get(target, 0) >= 4 and not target.is_leaf
                    and target not in outputs and target not in self.layer_nodes)

        def flush(target: Value) -> None:
            contributions = pending.pop(target)
            factors = [factor for _, _, _, factor in contributions]
            if all(sign == "+" for sign, *_ in contributions) and all(
                    f is not None and f not in self.varies and expression ==
                    f"_multiply({upstream}, {var[f]})"
                    for (_, expression, upstream, f) in contributions):
                assigned.add(target)
                node_lines.append(
                    f"{pad}{dvar[target]} = _weighted_sum(0.0, "
                    f"({', '.join(var[f] for f in factors)},), "
                    f"({', '.join(u for _, _, u, _ in contributions)},))")
            elif all(sign == "+" for sign, *_ in contributions):
                assigned.add(target)
                node_lines.append(f"{pad}{dvar[target]} = _sum_in_order(("
                                  f"{', '.join(e for _, e, _, _ in contributions)},))")
            else:
                for sign, expression, upstream, factor in contributions:
                    dvar_of[0] = upstream
                    add(target, expression, sign, factor, now=True)

        def add(target: Value, expression: str, sign: str = "+",
                factor: Optional[Value] = None, now: bool = False) -> None:
            if gathered(target) and not now:
                pending.setdefault(target, []).append((sign, expression, dvar_of[0], factor))
                return
            lines = to(target)
            if straight_in(target) and vector:  # a weight's gradient: summed over the rows
                # g * x with x varying by row is a dot product, one call; else a sum
                dot = factor in self.varies and expression == \
                    f"_multiply({dvar_of[0]}, {var[factor]})"
                total = f"{dvar_of[0]}.dot({var[factor]})" if dot else f"_sum({expression})"
                # its only contribution (straight in): the sum, not 0.0 + the sum
                lines.append(f"{pad}{gvar[target]} = {'-' if sign == '-' else ''}{total}")
            elif straight_in(target):
                lines.append(accumulate(gvar[target], sign, expression))  # straight in
            elif target in assigned:
                lines.append(accumulate(dvar[target], sign, expression))
            elif sign == "+" and self.count[target] == 1 and _is_name(expression):
                dvar[target] = expression  # passed on unchanged (through +): no copy
                assigned.add(target)
            else:
                assigned.add(target)
                if sign == "-":
                    expression = f"_negative({expression})" if vector else f"-{expression}"
                lines.append(f"{pad}{dvar[target]} = {expression}")

        dvar_of = [""]  # the upstream gradient's name at the contribution being added
        lines = node_lines
        # a layer's backward pass runs when its first output is reached: every gradient of its
        # outputs is complete then (each is read only after every output is made)
        ends = {layer.dense.outputs[0]: layer for layer in self.layers}
        for node in reversed(self.order):
            if node.is_leaf:
                continue
            if node in ends:
                layer = ends[node]
                columns = [dvar[h] if h in assigned else None for h in layer.dense.outputs]
                xs = layer.dense.inputs
                to_inputs = all(x in input_set for x in xs)
                own, dx = layer.backward_lines(columns)
                node_lines.extend(pad + line for line in own)
                if dx is not None:  # dX = dZ @ W, handed to the inputs column by column
                    (input_lines if to_inputs else node_lines).append(pad + dx)
                    for i, x in enumerate(xs):
                        dvar_of[0] = layer.dX
                        add(x, f"{layer.dX}[:, {i}]")
                continue
            if node in self.layer_nodes:
                continue
            if node in pending:
                flush(node)
            if node not in assigned:  # no gradient reached it (every path said "none")
                zero = f"_zeros_like({dvar[self.outputs[0]]})" if vector else "0.0"
                lines.append(f"{pad}{dvar[node]} = {zero}")
                assigned.add(node)
            upstream = dvar[node]
            locals_ = self.locals_(node, vector)
            names = self._rule_names(node) if isinstance(locals_[0] if locals_ else None,
                                                          Sym) else {}
            if locals_ and isinstance(locals_[0], str):  # a rule that is called, not printed
                args = [var[v] for v in node.inputs] + [var[node]]
                if node.rule.has_param:
                    args.append(_literal(node.op_param))
                needed.update(node.inputs)
                needed.add(node)
                lines.append(f"{pad}_l_{var[node]} = _{self._function(node.rule)}_local_grads("
                             f"{', '.join(args)})")
            for k, (inp, local) in enumerate(zip(node.inputs, locals_)):
                if isinstance(local, str):  # a called rule may say None for this input
                    if inp not in assigned and not straight_in(inp):
                        to(inp).append(f"{pad}{dvar[inp]} = 0.0")
                        assigned.add(inp)
                    target = gvar[inp] if straight_in(inp) else dvar[inp]
                    to(inp).append(f"{pad}if {local} is not None:")
                    to(inp).append("    " + accumulate(target, "+", f"{upstream} * {local}"))
                    continue
                if local.kind == "none":
                    continue  # no gradient flows through this input: nothing is added
                needed.update(_nodes_read(local, node, names))
                sign, expression = _contribution(upstream, local, names, vector)
                dvar_of[0] = upstream
                add(inp, expression, sign, _named_node(local, node))
        for x in self.inputs:
            if x not in assigned:
                input_lines.append(f"{pad}{dvar[x]} = 0.0")
        for leaf in self.leaves:
            if leaf in outputs or self.count.get(leaf, 0) > 1:
                total = f"_sum({dvar[leaf]})" if vector else dvar[leaf]
                node_lines.append(accumulate(gvar[leaf], "+", total))
        return node_lines, input_lines, needed, dvar

class _Layer:
    """A dense layer in vectorized code: ``H = act(X @ W.T + b)`` and its backward pass, with
    the names its matrices have in the code (``W1``, ``Z1`` ...: free names, numbered by
    layer; ``autograd.dense`` says how layers are found)."""

    def __init__(self, dense: DenseLayer, k: int, fresh: Callable[[str], str],
                 generator: "_Generator") -> None:
        self.dense, self.generator = dense, generator
        self.m, self.n = len(dense.sums), len(dense.inputs)
        self.X, self.W, self.b, self.Z = (fresh(f"{part}{k}") for part in "XWbZ")
        self.H = fresh(f"H{k}") if dense.activation is not None else self.Z
        self.dH, self.dZ, self.dW, self.db, self.dX = (
            fresh(f"d{part}{k}") for part in ("H", "Z", "W", "b", "X"))
        if dense.activation is None:
            self.dH = self.dZ
        self.weights_list, self.biases_list = f"layer{k}_weights", f"layer{k}_biases"
        self.takes_from: Optional[_Layer] = None  # the layer whose outputs are X, in order
        self.columns: list[Value] = []            # outputs that other code reads one by one
        self.grads_in: list[str] = []             # dX of the layers that take H as their X

    def parameter_lines(self) -> list[str]:
        def span(leaves: list[Value]) -> str:  # L1.N1.w0 ... L1.N16.w1: rows named by neuron
            first, last = (_comment(self.generator.names[leaf]) for leaf in (leaves[0],
                                                                              leaves[-1]))
            return first if len(leaves) == 1 else f"{first} ... {last}"

        lines = [f"{self.W} = _matrix(_{self.weights_list}, {self.m}, {self.n})  "
                 f"# {span([w for row in self.dense.weights for w in row])}"]
        if self.dense.biases is not None:
            lines.append(f"{self.b} = _matrix(_{self.biases_list})  "
                         f"# {span(self.dense.biases)}")
        return lines

    def forward_lines(self, var: dict[Value, str]) -> list[str]:
        dense = self.dense
        lines = [f"# layer {self.W[1:]}: {_count(self.n, 'input')} -> "
                 f"{_count(self.m, 'neuron')}, one matrix product for all rows"]
        if self.takes_from is None:
            lines.append(f"{self.X} = _column_stack(({', '.join(var[x] for x in dense.inputs)},))")
        bias = f" + {self.b}" if dense.biases is not None else ""
        lines.append(f"{self.Z} = {self.X} @ {self.W}.T{bias}")
        act = dense.activation
        if act is not None:
            symbolic = act.rule.symbolic(act.op_param)
            if symbolic.forward is not None:
                code = to_code(symbolic.forward, self._names(), True)
            else:
                param = f", {_literal(act.op_param)}" if act.rule.has_param else ""
                code = f"_{self.generator._function(act.rule)}({self.Z}{param})"
            lines.append(f"{self.H} = {code}  # {act.op}({self.Z})")
        position = {h: j for j, h in enumerate(dense.outputs)}
        lines += [f"{var[h]} = {self.H}[:, {position[h]}]" for h in self.columns]
        return lines

    def _names(self) -> dict[str, str]:
        act = self.dense.activation
        (symbol,) = act.rule.symbolic(act.op_param).inputs
        return {symbol: self.Z, "out": self.H}

    def backward_lines(self, columns: list[Optional[str]]) -> tuple[list[str], Optional[str]]:
        """The lines of this layer's backward pass, given the gradients of its outputs read
        one by one (None where none came), and the line of dX (None when another layer's
        backward pass takes dZ @ W whole)."""
        parts = list(self.grads_in)
        if any(c is not None for c in columns):
            zero = f"_zeros_like({self.Z}[:, 0])"
            parts.append(f"_column_stack(({', '.join(c or zero for c in columns)},))")
        lines = [f"# layer {self.W[1:]}, backward"]
        lines.append(f"{self.dH} = {' + '.join(parts) if parts else f'_zeros_like({self.Z})'}")
        act = self.dense.activation
        if act is not None:
            (local,) = act.rule.symbolic(act.op_param).local_grads
            sign, expression = _contribution(self.dH, local, self._names(), True)
            lines.append(f"{self.dZ} = {expression if sign == '+' else f'-({expression})'}")
        lines.append(f"{self.dW} = {self.dZ}.T @ {self.X}")
        if self.dense.biases is not None:
            lines.append(f"{self.db} = {self.dZ}.sum(0)")
        if self.takes_from is not None:
            self.takes_from.grads_in.append(f"{self.dZ} @ {self.W}")
            return lines, None
        return lines, f"{self.dX} = {self.dZ} @ {self.W}"

    def accumulate_lines(self) -> list[str]:
        lines = [f"_accumulate(_{self.weights_list}, {self.dW})"]
        if self.dense.biases is not None:
            lines.append(f"_accumulate(_{self.biases_list}, {self.db})")
        return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _nodes_read(local: Sym, node: Value, names: dict[str, str]) -> set[Value]:
    """The nodes (``node`` or its inputs) whose values a local derivative reads."""
    used: set[str] = set()

    def visit(sym: Sym) -> None:
        if sym.kind == "name":
            used.add(sym.args[0])
        for arg in sym.args:
            if isinstance(arg, Sym):
                visit(arg)

    visit(local)
    symbolic = node.rule.symbolic(node.op_param)
    found = {inp for sym, inp in zip(symbolic.inputs, node.inputs) if sym in used}
    if "out" in used:
        found.add(node)
    return found


def _named_node(local: Sym, node: Value) -> Optional[Value]:
    """The node a local derivative is, when it is one of the node's values (``b`` of a * b)."""
    if local.kind != "name":
        return None
    name = local.args[0]
    if name == "out":
        return node
    symbolic = node.rule.symbolic(node.op_param)
    return dict(zip(symbolic.inputs, node.inputs)).get(name)


def _operand(expression: str) -> str:
    """``expression`` as the right operand of + or -: parenthesised unless it is one term."""
    return expression if _is_name(expression) or " " not in expression else f"({expression})"


def _is_name(expression: str) -> bool:
    return expression.isidentifier()


def _contribution(upstream: str, local: Sym, names: dict[str, str],
                  vector: bool) -> tuple[str, str]:
    """(sign, expression) of ``upstream * local``, written the way the engine computes it."""
    kind = local.kind
    if kind == "const" and local.args[0] == 1.0:
        return "+", upstream            # g * 1.0 is g
    if kind == "const" and local.args[0] == -1.0:
        return "-", upstream            # g * -1.0 is -g
    if kind == "where" and (local.args[1].kind == "none" or local.args[2].kind == "none"):
        # no gradient flows on one side: add g * local on the other, 0.0 on this one
        condition, if_true, if_false = local.args
        sides = [_product(upstream, side, names, vector) for side in (if_true, if_false)]
        cond = to_code(condition, names, vector)
        if vector:
            return "+", f"_where({cond}, {sides[0]}, {sides[1]})"
        return "+", f"{sides[0]} if {cond} else {sides[1]}"
    return "+", _product(upstream, local, names, vector)


def _product(upstream: str, local: Sym, names: dict[str, str], vector: bool) -> str:
    if local.kind == "none":
        return "0.0"
    if local.kind == "const" and local.args[0] == 1.0:
        return upstream
    code = to_code(local, names, vector)
    if vector:
        return f"_multiply({upstream}, {code})"
    simple = local.kind in ("name", "const") and not code.startswith(("-", "("))
    return f"{upstream} * {code}" if simple else f"{upstream} * ({code})"


def _checked_forward(rule: Op) -> Callable[..., float]:
    where = f"the forward rule of op {rule.name!r} returned a value that"

    def forward(*args: float) -> float:
        return _to_float(rule.forward(*args), where)

    return forward


# ---------------------------------------------------------------- running the code

class ForwardPass:
    """The forward pass of a batch through compiled code, waiting for its backward pass.

    ``outputs[r]`` is the tuple of output values of row ``r``, ``totals()`` their sums over
    the rows; ``extras[r]`` the extra values (``compile``'s ``(output, extra)``).
    ``backward(seeds)`` takes the upstream gradients d loss / d output, one tuple per row (or
    one number for every row and output), and adds the gradient of every leaf to its
    ``.grad``; with ``input_grads=True`` it returns each row's input gradients.
    """

    def __init__(self, program: "Program", rows: list, outputs: Any, extras: list,
                 resume: Any, replay: Optional[list]) -> None:
        self.program = program
        self.rows = rows
        self._outputs = outputs  # a list of tuples, or (vectorized) one array per output
        self.extras = extras
        self._resume = resume    # the paused generated code, or None after a replay
        self._replay = replay    # the engine's graphs, when the code had to step back
        self._done = False

    @property
    def outputs(self) -> list[tuple[float, ...]]:
        if isinstance(self._outputs, tuple):  # columns: made into rows when asked for
            n = len(self.rows)
            self._outputs = list(zip(*(_np_rows(c, n) for c in self._outputs)))
        return self._outputs

    def totals(self) -> tuple[float, ...]:
        """Each output summed over the rows."""
        if isinstance(self._outputs, tuple):
            n = len(self.rows)
            return tuple(float(sum(_np_rows(c, n))) for c in self._outputs)
        return tuple(sum(column) for column in zip(*self._outputs))

    def backward(self, seeds: Any, input_grads: bool = False) -> Optional[list]:
        if self._done:
            raise RuntimeError("this forward pass was already backpropagated; run forward "
                               "again for another backward pass")
        k, n = self.program.num_outputs, len(self.rows)
        if isinstance(seeds, (int, float)):
            seeds = float(seeds)
        else:
            seeds = [tuple(s) if isinstance(s, (tuple, list)) else (s,) for s in seeds]
            if len(seeds) != n or any(len(s) != k for s in seeds):
                raise ValueError(f"backward(seeds): give one tuple of {k} upstream "
                                 f"gradient(s) per row ({n} rows), or one number")
        self._done = True
        if self._replay is None:
            saved = [leaf.grad for leaf in self.program.leaves]
            try:
                return self._resume(seeds, input_grads)
            except (ArithmeticError, ValueError):
                for leaf, old in zip(self.program.leaves, saved):
                    leaf.grad = old
                self._replay = self.program._engine_forward(self.rows)
        if isinstance(seeds, float):
            seeds = [(seeds,) * k] * n
        return self.program._engine_backward(self._replay, seeds, input_grads)


def _np_rows(column: Any, n: int) -> list[float]:
    """A vectorized value as n floats (one that is the same for every row is a number)."""
    return _numpy().broadcast_to(column, (n,)).tolist()


class Program:
    """A traced graph with several inputs and outputs, turned into code (see ``compile``).

    ``forward(rows)`` runs the forward pass of every row and returns a ``ForwardPass``;
    its ``backward(seeds)`` runs the chain rule with the given upstream gradients.
    """

    def __init__(self, fn: Callable, inputs: list[Value], outputs: list[Value],
                 extras: list[Value], extras_listed: bool, shape: Any) -> None:
        self.fn = fn
        self.input_names = tuple(x.label for x in inputs)
        self.num_outputs = len(outputs)
        self.extras_listed = extras_listed
        self._shape = shape  # how fn's result is laid out, to read the engine's replay
        generator = _Generator(inputs, outputs, extras, extras_listed)
        self.leaves = generator.leaves
        self.num_nodes = len(generator.order)
        self.scalar_source = generator.source(vector=False)
        self.vector_source = generator.source(vector=True) if generator.vectorizable else None
        #: The dense layers found in the graph (``autograd.dense``), written as matrix code.
        self.layers = [layer.dense for layer in generator.layers] if self.vector_source else []
        self._namespace = {
            "_leaves": self.leaves, "_type": builtins.type, "_float": builtins.float,
            "_to_float": _to_float,
            "_zip": builtins.zip, "_inf": math.inf, "_nan": math.nan,
            **{"_" + name: f for name, f in SCALAR.items()},
            **{"_" + name: f for name, f in generator.functions.items()},
            **{"_" + name: c for name, c in generator.constants.items()}}
        self._label = f"<autograd.compile {getattr(fn, '__name__', 'fn')}>"
        self._scalar_code: Any = None
        self._vector: Any = None

    @property
    def num_inputs(self) -> int:
        return len(self.input_names)

    @property
    def source(self) -> str:
        """The generated code to read: for a graph with dense layers the vectorized code,
        where each layer is a matrix product (``Z1 = X1 @ W1.T + b1``); otherwise the scalar
        code, one line per node (both are always there: ``scalar_source``, ``vector_source``)."""
        return self.vector_source if self.layers else self.scalar_source

    def _scalar(self, rows: list, extras: list) -> Any:
        """The row loop, compiled on first use (a program with layers may never need it)."""
        if self._scalar_code is None:
            namespace = dict(self._namespace)
            exec(builtins.compile(self.scalar_source, self._label, "exec"), namespace)
            self._scalar_code = namespace["_forward_backward"]
        return self._scalar_code(rows, extras)

    def _vector_code(self) -> Any:
        """The vectorized code, compiled on first use; None without numpy or for custom ops."""
        if self._vector is None and self.vector_source is not None:
            np = _numpy()
            if np is None:
                self.vector_source = None
                return None
            namespace = {**self._namespace, **_vector_functions(np)}
            exec(builtins.compile(self.vector_source, self._label + " (vectorized)", "exec"),
                 namespace)
            self._vector = (np, namespace["_forward_backward"])
        return self._vector

    def check_rows(self, rows: Iterable[Sequence[Any]]) -> list:
        rows = list(rows)
        n = self.num_inputs
        for i, row in enumerate(rows):
            try:
                size = len(row)
            except TypeError:
                raise TypeError(f"row {i} is {type(row).__name__} {row!r:.40}; each row is a "
                                f"sequence of {n} input(s)") from None
            if size != n:
                raise ValueError(f"row {i} has {size} entries, expected {n} "
                                 f"({', '.join(self.input_names)})")
        return rows

    def _vectorize(self, n: int) -> bool:
        """Whether n rows run faster through the vectorized code than through the row loop."""
        if self.layers:
            return n >= max(2, LAYERED_MIN_ROWS)
        needed = VECTOR_MIN_ROWS if self.num_nodes >= SMALL_PROGRAM else 2 * VECTOR_MIN_ROWS
        return n >= max(2, needed)

    def forward(self, rows: Iterable[Sequence[Any]]) -> ForwardPass:
        """Run the forward pass of every row (nothing changes until ``backward``)."""
        rows = self.check_rows(rows)
        if anomaly_enabled():  # detect_anomaly checks every op: the engine does that
            replay = self._engine_forward(rows)
            return ForwardPass(self, rows, *self._read(replay), None, replay)
        vector = self._vector_code() if self._vectorize(len(rows)) and rows[0] else None
        if vector is not None:
            found = self._run_vector(vector, rows)
            if found is not None:
                return found
        extras: list = []
        code = self._scalar(rows, extras)
        try:
            outputs = next(code)
        except (ArithmeticError, ValueError):
            replay = self._engine_forward(rows)
            return ForwardPass(self, rows, *self._read(replay), None, replay)
        def resume(seeds: Any, grads: bool) -> Optional[list]:
            if isinstance(seeds, float):  # the same for every row: the code zips it with rows
                seeds = itertools.repeat((seeds,) * self.num_outputs)
            return code.send((seeds, grads))

        return ForwardPass(self, rows, outputs, self._extras(extras), resume, None)

    def _run_vector(self, vector: Any, rows: list) -> Optional[ForwardPass]:
        np, run = vector
        if not all(isinstance(x, (float, int)) for row in rows for x in row):
            return None  # the scalar code converts, or says what is wrong with the row
        columns = list(np.array(rows, dtype=float).T)
        extras: list = []
        code = run(columns, extras)
        try:
            with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                columns_out = next(code)
        except (ArithmeticError, ValueError):
            return None  # a singular point somewhere: the scalar code steps back precisely
        n = len(rows)
        extra_rows = list(zip(*(_np_rows(c, n) for c in extras[0]))) if extras else []

        def resume(seeds: Any, grads: bool) -> Optional[list]:
            if isinstance(seeds, float):
                seed_columns = (np.full(n, seeds),) * self.num_outputs
            else:
                seed_columns = tuple(np.array(s, dtype=float) for s in zip(*seeds))
            with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                found = code.send((seed_columns, grads))
            if not grads:
                return None
            return [tuple(row) for row in zip(*(_np_rows(c, n) for c in found[0]))]

        return ForwardPass(self, rows, tuple(columns_out), self._extras(extra_rows), resume,
                           None)

    def _extras(self, rows: list) -> list:
        if self.extras_listed:
            return [list(r) for r in rows]
        return [r[0] for r in rows]

    # ------------------------------------------------------------ stepping back to the engine
    def _engine_forward(self, rows: list) -> list:
        """Every row through the engine: (inputs, outputs, extras) as Values."""
        found = []
        for row in rows:
            inputs = [Value(_to_float(x, f"input {i}")) for i, x in enumerate(row)]
            outputs, extras, _ = self._shape(self.fn(*inputs))
            found.append((inputs, outputs, extras))
        return found

    def _read(self, replay: list) -> tuple[list, list]:
        outputs = [tuple(v.data for v in outs) for _, outs, _ in replay]
        extras = self._extras([tuple(v.data for v in ex) for _, _, ex in replay])
        return outputs, extras

    def _engine_backward(self, replay: list, seeds: list, input_grads: bool) -> Optional[list]:
        """The backward pass of the engine's graphs: it raises the engine's own errors."""
        saved = [leaf.grad for leaf in self.leaves]
        found = []
        try:
            for (inputs, outputs, _), seed in zip(replay, seeds):
                for x in inputs:
                    x.grad = 0.0
                for out, s in zip(outputs, seed):
                    out.backward(s)
                found.append(tuple(x.grad for x in inputs))
        except BaseException:
            for leaf, old in zip(self.leaves, saved):
                leaf.grad = old
            raise
        return found if input_grads else None


class CompiledFunction(Program):
    """``fn`` traced once and turned into straight-line Python; see :func:`compile`.

    ``f(*inputs)`` returns ``(value, input_grads)``: ``value = fn(*inputs)`` as a float and
    ``input_grads[i] = d value / d inputs[i]``; every other leaf (parameter, constant) gets
    ``leaf.grad += d value / d leaf``, like ``backward()``. ``f.batch(rows, scale)`` does the
    same for many rows at once. ``f.source`` is the generated code.
    """

    def __call__(self, *inputs: Any) -> tuple[float, tuple[float, ...]]:
        """value, input grads = fn(*inputs), d fn / d inputs; other leaves' .grad += d fn/d leaf."""
        if len(inputs) != self.num_inputs:
            raise TypeError(f"this compiled function takes {self.num_inputs} input(s) "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        passed = self.forward([inputs])
        (grads,) = passed.backward([(1.0,)], input_grads=True)
        return passed.outputs[0][0], grads

    def batch(self, rows: Iterable[Sequence[Any]], scale: float = 1.0,
              extras: bool = False) -> Any:
        """scale * sum of fn(*row) over the rows; leaves' .grad += its gradient.

        With ``scale = 1 / len(rows)`` that is the mean loss of a batch and its gradient, the
        same as building ``sum(losses) / n`` and calling ``backward()``, with the parameters read
        once per batch. If any row fails, no ``.grad`` has changed. With ``extras=True`` (for
        an ``fn`` that returns ``(output, extra)``) the result is ``(value, extras)``, one
        entry per row: the extra's data (a float, or a list of floats).
        """
        try:
            rows = self.check_rows(rows)
        except (TypeError, ValueError) as error:
            raise type(error)(f"batch(rows): {error}") from None
        scale = _to_float(scale, "batch(scale)")
        if not rows:
            return (0.0, []) if extras else 0.0
        passed = self.forward(rows)
        passed.backward(scale)
        (total,) = passed.totals()
        return (scale * total, passed.extras) if extras else scale * total

    def __repr__(self) -> str:
        return (f"<compiled {getattr(self.fn, '__name__', 'fn')}({', '.join(self.input_names)}):"
                f" {self.num_nodes} nodes, {len(self.leaves)} leaves read from Values>")


# ---------------------------------------------------------------- tracing

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


def _scalar_result(result: Any) -> tuple[list[Value], list[Value], bool]:
    """fn's result for ``compile``: (the one output, extra Values, whether the extra was a list)."""
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
    return [out], extras, listed


def _outputs_result(result: Any) -> tuple[list[Value], list[Value], bool]:
    """fn's result for ``compile_outputs``: one Value or a list of Values, the outputs."""
    outputs = [result] if isinstance(result, Value) else list(result) if isinstance(
        result, (list, tuple)) else None
    if not outputs or any(not isinstance(v, Value) for v in outputs):
        raise TypeError(f"compile_outputs(fn): fn must return a Value or a list of Values, "
                        f"got {type(result).__name__} {result!r:.40}")
    return outputs, [], False


def _trace(fn: Callable, example_inputs: Sequence[Any], shape: Callable, kind: type) -> Any:
    if not callable(fn):
        raise TypeError(f"compile(fn): fn must be callable, got {type(fn).__name__} {fn!r:.40}")
    if isinstance(example_inputs, (Value, str, bytes)) or not isinstance(example_inputs,
                                                                          Iterable):
        raise TypeError("compile(fn, example_inputs): example_inputs must be a list of numbers, "
                        f"one per argument of fn, got {type(example_inputs).__name__}; "
                        "e.g. compile(f, [1.0, 2.0])")
    examples = list(example_inputs)
    if not grad_enabled():
        raise RuntimeError("compile() traces a graph, which no_grad() turns off; "
                           "call compile outside the no_grad block")
    names = _input_names(fn, len(examples), examples)
    inputs = []
    for i, (x, label) in enumerate(zip(examples, names)):
        data = x.data if isinstance(x, Value) else _to_float(x, f"compile: example input {i}")
        inputs.append(Value(data, label=label))
    outputs, extras, listed = shape(fn(*inputs))
    with graph_lock:
        in_graph: set[Value] = set()
        for out in outputs:
            in_graph.update(topological_order(out))
        for i, v in enumerate(extras):
            if v not in in_graph:
                raise ValueError(f"compile(fn): extra {i} returned by fn ({v!r:.60}) is not "
                                 "part of the output's graph; return only Values that the "
                                 "output uses")
        return kind(fn, inputs, outputs, extras, listed, shape)


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
      gradient of that sum, with one call for a whole batch (vectorized with numpy);
    - ``f.forward(rows)`` runs only the forward pass; its ``backward(seeds)`` then takes one
      upstream gradient per row;
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
    return _trace(fn, example_inputs, _scalar_result, CompiledFunction)


def compile_outputs(fn: Callable[..., Any], example_inputs: Sequence[Any]) -> Program:
    """Like ``compile`` for an ``fn`` with several outputs (a model's logits): a ``Program``.

    ``program.forward(rows)`` gives each row's outputs; ``.backward(seeds)`` takes
    d loss / d output for each row and output, and adds every leaf's gradient to ``.grad``.
    That is how ``nn.fit(compile=True)`` trains: the model compiled, the loss computed by the
    engine on the outputs, exactly as without compiling.
    """
    return _trace(fn, example_inputs, _outputs_result, Program)

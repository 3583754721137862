"""autograd.compile: the generated code computes what the engine computes, for every input."""

from __future__ import annotations

import contextlib
import math
import re
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import autograd
from autograd import Value, no_grad, ops, register_op
from autograd import compiler
from autograd.compiler import compile
from optable import CASES


@contextlib.contextmanager
def vectorized_from(rows: int):
    """Batches of `rows` rows and more run the vectorized code (the default leaves the small
    batches of these tests to the row loop, which is faster there)."""
    default = compiler.VECTOR_MIN_ROWS, compiler.LAYERED_MIN_ROWS
    compiler.VECTOR_MIN_ROWS = compiler.LAYERED_MIN_ROWS = rows
    try:
        yield
    finally:
        compiler.VECTOR_MIN_ROWS, compiler.LAYERED_MIN_ROWS = default

# ---------------------------------------------------------------- helpers


def close(a: float, b: float, rel: float = 1e-12) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


def engine(fn, inputs, params=()):
    """(value, input grads, param grads) by the engine, with the params' .grad restored."""
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    xs = [Value(x) for x in inputs]
    out = fn(*xs)
    out.backward()
    result = out.data, [x.grad for x in xs], [p.grad for p in params]
    for p, g in zip(params, saved):
        p.grad = g
    return result


def compiled(step, inputs, params=()):
    saved = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    value, grads = step(*inputs)
    result = value, list(grads), [p.grad for p in params]
    for p, g in zip(params, saved):
        p.grad = g
    return result


def identical(xs, ys) -> bool:
    """Equal float for float, NaN matching NaN."""
    return len(xs) == len(ys) and all(x == y or (math.isnan(x) and math.isnan(y))
                                      for x, y in zip(xs, ys))


def assert_same(a, b):
    (va, ga, pa), (vb, gb, pb) = a, b
    assert close(va, vb), (va, vb)
    assert len(ga) == len(gb) and len(pa) == len(pb)
    for x, y in zip(ga + pa, gb + pb):
        assert close(x, y), (ga + pa, gb + pb)


def outcome(run):
    """The result of run(), or the type and message of the error it raised."""
    try:
        return "ok", run()
    except (ArithmeticError, ValueError) as error:
        return "error", (type(error), str(error))


# ---------------------------------------------------------------- every op's code == its row

@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_code_of_every_op_equals_the_engine_on_every_row_and_at_its_edges(case):
    # The shared op table's rows (every op, constants on either side) at their sample
    # points, and at 0 and +-1 where the op is defined there: kinks and special cases
    # (relu and abs at 0, x**0, 0**b, sqrt at 0) are where code and row could drift apart.
    edges = [(x,) * case.arity for x in (0.0, 1.0, -1.0)]
    for point in case.points() + edges:
        try:
            expected = engine(case.build, point)
        except (ArithmeticError, ValueError):
            continue  # outside the op's domain: the error tests cover that
        got = compiled(compile(case.build, point), point)
        assert identical([got[0]], [expected[0]]), (case.name, point, got, expected)
        assert identical(got[1], expected[1]), (case.name, point, got, expected)


@pytest.mark.parametrize("p", [2.0, 3.0, 1.0, 0.0, -1.0, -2.5, 0.5, 1.5, 10.0])
@pytest.mark.parametrize("x", [1.7, 0.3, -1.2, 0.0])
def test_power_code_equals_the_engine(p, x):
    if (x < 0 and p != int(p)) or (x == 0 and p < 0):
        return  # a domain error: tested below
    fn = lambda v: v ** p  # noqa: E731
    got, expected = compiled(compile(fn, [x]), [x]), engine(fn, [x])
    assert identical([got[0]], [expected[0]]) and identical(got[1], expected[1])


# ---------------------------------------------------------------- random expression graphs

UNARY = ["neg", "abs", "relu", "leaky_relu", "tanh", "sigmoid", "exp", "log", "sqrt", "sin",
         "cos", "softplus", "powc", "const*", "const-", "rpow", "fi", "ﬁ", "branchy"]
BINARY = ["+", "-", "*", "/", "**", "mix"]
POWERS = [2.0, 3.0, -1.0, 0.5, 1.0, 0.0, -2.0]

#: Labels chosen to break generated code: NFKC look-alikes (ﬁ/fi, ℌ/H, ᵢ/i, x₁/x1, ｅｘｐ/exp),
#: keywords, builtins, the generated code's own names, comment and string breakers.
HOSTILE_LABELS = ["ﬁ", "fi", "ℌ", "H", "ᵢ", "i", "x₁", "x1", "ｅｘｐ", "exp", "_exp", "for",
                  "None", "lambda", "__builtins__", "type", "float", "d_x", "grad_x", "_l",
                  "_rows", "_seed", "_leaves", "_where", "_pow", "0abc", "a b", "a\nimport os",
                  "#", "'", '"', "\\", "v1", "x", "", "é", "\u2028"]


def custom_ops():
    """Registered ops as a user writes them: two whose names NFKC-normalise alike, one whose
    rule branches in Python (not readable symbolically), one with three inputs."""
    return {
        "fi": register_op("fi", lambda x: x * x + 1.0, lambda x, out: (2.0 * x,)),
        "ﬁ": register_op("ﬁ", lambda x: 3.0 * x - 1.0, lambda x, out: (3.0,)),
        "branchy": register_op("branchy", lambda x: x if x > 0 else 0.5 * x,
                               lambda x, out: (1.0 if float(x) > 0 else 0.5,)),
        "mix": register_op("mix", lambda a, b: a * b + a, lambda a, b, out: (b + 1.0, a)),
    }


def apply(step, nodes, custom):
    kind, i, j, p = step
    a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
    if kind in custom:
        return custom[kind](a, b) if kind == "mix" else custom[kind](a)
    if kind == "+":
        return a + b
    if kind == "-":
        return a - b
    if kind == "*":
        return a * b
    if kind == "/":
        return a / b
    if kind == "**":
        return a ** b
    if kind == "powc":
        return a ** POWERS[p % len(POWERS)]
    if kind == "const*":
        return 1.5 * a          # a constant on the left
    if kind == "const-":
        return 0.25 - a
    if kind == "rpow":
        return 2.0 ** a         # number ** Value
    if kind == "leaky_relu":
        return a.leaky_relu(0.1)
    if kind == "neg":
        return -a
    if kind == "abs":
        return abs(a)
    return getattr(a, kind)()


def program_fn(program, params, custom, labels=()):
    def fn(*inputs):
        nodes = list(inputs) + list(params)
        for k, step in enumerate(program):
            node = apply(step, nodes, custom)
            if labels:
                node.label = labels[k % len(labels)]
            nodes.append(node)
        # the sum of every node, so that none is dead code (the engine runs dead code, and
        # raises its domain errors; the compiled function never runs what the output ignores)
        return sum(nodes[len(inputs) + len(params):])

    return fn


programs = st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 50),
                              st.integers(0, 50), st.integers(0, 10)), min_size=1, max_size=12)
# Exactly 0 and +-1 now and then: relu, abs and leaky_relu kinks, x ** 0, 0 ** b.
numbers = st.one_of(st.floats(-3.0, 3.0), st.sampled_from([0.0, 1.0, -1.0]))
labels = st.lists(st.sampled_from(HOSTILE_LABELS), min_size=1, max_size=6)


@given(programs, st.lists(numbers, min_size=3, max_size=3),
       st.lists(numbers, min_size=3, max_size=3), st.lists(numbers, min_size=2, max_size=2),
       labels)
def test_random_graphs_with_hostile_labels_match_the_engine(program, example, inputs,
                                                             param_data, names):
    custom = custom_ops()
    params = [Value(x, label=names[k % len(names)]) for k, x in enumerate(param_data)]
    fn = program_fn(program, params, custom, names)
    examples = [Value(x, label=names[-1 - k % len(names)]) for k, x in enumerate(example)]
    try:
        step = compile(fn, examples)
    except (ArithmeticError, ValueError):
        assume(False)
    # new inputs: relu/abs branches and domain checks may go the other way than in the trace
    for point in (inputs, example):
        want = outcome(lambda: engine(fn, point, params))
        got = outcome(lambda: compiled(step, point, params))
        assert got[0] == want[0]
        if want[0] == "error":
            assert got == want
        else:
            assert_same(got[1], want[1])


# Summed over many rows in another order, gradients agree to 1e-12 only where the sums are
# well conditioned: no near-zero divisors (1/1e-44 - 1/1e-44 + 1 cancels catastrophically).
tame = st.one_of(st.floats(0.05, 3.0), st.floats(-3.0, -0.05), st.sampled_from([0.0, 1.0, -1.0]))


@given(programs, st.lists(st.lists(tame, min_size=3, max_size=3), min_size=16,
                          max_size=24), st.lists(tame, min_size=2, max_size=2))
def test_a_batch_vectorized_over_the_rows_matches_the_engine(program, rows, param_data):
    custom = custom_ops()
    params = [Value(x) for x in param_data]
    fn = program_fn(program, params, custom)
    try:
        step = compile(fn, rows[0])
    except (ArithmeticError, ValueError):
        assume(False)

    def by_engine():
        saved = [p.grad for p in params]
        try:
            total = sum(fn(*[Value(x) for x in row]) for row in rows) * (1.0 / len(rows))
            total.backward()
            return total.data, [p.grad for p in params]
        finally:
            for p, g in zip(params, saved):
                p.grad = g

    def by_code():
        saved = [p.grad for p in params]
        try:
            with vectorized_from(2):
                value = step.batch(rows, 1.0 / len(rows))
            return value, [p.grad for p in params]
        finally:
            for p, g in zip(params, saved):
                p.grad = g

    want, got = outcome(by_engine), outcome(by_code)
    assert got[0] == want[0], (got, want)
    if want[0] == "ok":
        (value, grads), (value_w, grads_w) = got[1], want[1]
        assert close(value, value_w, 1e-12)
        assert all(close(a, b, 1e-12) for a, b in zip(grads, grads_w)), (grads, grads_w)


@given(st.lists(st.integers(1, 6), min_size=1, max_size=3), st.integers(16, 40),
       st.sampled_from(["relu", "tanh", "leaky_relu"]), st.integers(0, 10_000))
def test_an_mlp_batch_vectorized_equals_the_row_loop(hidden, rows, activation, seed):
    """The vectorized code and the scalar row loop agree to 1e-12 on random MLPs and batches,
    relu kinks crossed (some pre-activations exactly 0), each row's branch its own."""
    from nn import MLP

    rng = random.Random(seed)
    model = MLP(2, hidden + [1], activation=activation, seed=seed)
    data = [(rng.choice([0.0, rng.uniform(-2, 2)]), rng.uniform(-2, 2), rng.choice([-1.0, 1.0]))
            for _ in range(rows)]
    for p in model.parameters()[::3]:
        p.data = 0.0                          # biases and weights at 0: kinks on the way
    step = compile(lambda x1, x2, t: (1.0 + -t * model([x1, x2])).relu(), data[0])
    params = model.parameters()
    results, outputs = [], []
    for vector_from in (2, 10 ** 9):          # vectorized, then the row loop
        with vectorized_from(vector_from):
            for p in params:
                p.grad = 0.0
            value = step.batch(data, 1.0 / rows)
            results.append((value, [p.grad for p in params]))
            passed = step.forward(data)
            outputs.append(passed.outputs)
            passed.backward(0.0)
    # A layer is one matrix product in the vectorized code, which adds a neuron's terms in
    # another order than the engine (and numpy's tanh may differ from libm's in the last
    # bit): 1e-12. The kinks here are exact zeros (zero weights, zero inputs), which both
    # orders compute exactly, so every relu takes the same branch.
    assert all(close(a[0], b[0], 1e-12) for a, b in zip(*outputs))
    (vector_value, vector_grads), (row_value, row_grads) = results
    assert close(vector_value, row_value, 1e-12)
    assert all(close(a, b, 1e-12) or abs(a - b) < 1e-15 for a, b in zip(vector_grads, row_grads))
    assert step._vector is not None           # the vectorized code did run


def test_look_alike_labels_and_op_names_stay_apart():
    """The cases of issue 12: NFKC merged ﬁ/fi, ℌ/H, ᵢ/i into one variable; x₁ broke the
    syntax; ｅｘｐ shadowed a helper."""
    for first, second in (("ﬁ", "fi"), ("ℌ", "H"), ("ᵢ", "i"), ("x₁", "x1"), ("ｅｘｐ", "exp")):
        a, b = Value(100.0, label=first), Value(3.0, label=second)
        step = compile(lambda x: (a + b * x).exp() * 0.0 + a + b * x, [1.0])
        assert step(1.0) == (103.0, (3.0,))
    custom = custom_ops()
    step = compile(lambda x: custom["fi"](x) + custom["ﬁ"](x), [1.0])  # 2 + 2 and 2 + 3
    assert step(1.0) == (4.0, (5.0,))


# ---------------------------------------------------------------- MLPs

ACTIVATIONS = {
    "relu": lambda v: v.relu(),
    "tanh": lambda v: v.tanh(),
    "sigmoid": lambda v: v.sigmoid(),
    "leaky_relu": lambda v: v.leaky_relu(0.05),
    "softplus": lambda v: v.softplus(),
    "abs": lambda v: abs(v),
    "sin": lambda v: v.sin(),
}


def hand_mlp(sizes, activation, seed=0):
    """A small MLP from Values (the last layer linear); (model, parameters)."""
    rng = random.Random(seed)
    layers = [[[Value(rng.uniform(-1, 1), label=f"w{k}_{n}_{i}") for i in range(nin)]
               + [Value(rng.uniform(-0.1, 0.1), label=f"b{k}_{n}")] for n in range(nout)]
              for k, (nin, nout) in enumerate(zip(sizes, sizes[1:]))]
    params = [p for layer in layers for neuron in layer for p in neuron]
    act = ACTIVATIONS[activation]

    def model(x):
        for k, layer in enumerate(layers):
            z = [sum((w * xi for w, xi in zip(neuron, x)), neuron[-1]) for neuron in layer]
            x = z if k == len(layers) - 1 else [act(v) for v in z]
        return x[0]

    return model, params


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_mlp_gradients_match_the_engine(activation):
    model, params = hand_mlp([2, 6, 5, 1], activation)
    loss = lambda x1, x2, y: (model([x1, x2]) - y) ** 2  # noqa: E731
    step = compile(loss, [0.5, -0.5, 1.0])
    rng = random.Random(1)
    for _ in range(15):  # points all over the plane: hidden relus switch on and off
        point = [rng.uniform(-3, 3), rng.uniform(-3, 3), rng.choice([-1.0, 1.0])]
        assert_same(compiled(step, point, params), engine(loss, point, params))


def test_relu_branch_flips_between_calls():
    w = Value(2.0, label="w")
    step = compile(lambda x: (w * x).relu() * x, [1.0])
    assert "if" in step.source
    for x in (1.0, -1.0, 3.0, -0.5, 0.0):
        w.grad = 0.0
        value, (dx,) = step(x)
        assert value == max(0.0, 2 * x) * x
        assert dx == (4 * x if x > 0 else 0.0)
        assert w.grad == (x * x if x > 0 else 0.0)


def test_abs_and_leaky_relu_branches_follow_the_input():
    step = compile(lambda x: abs(x) + x.leaky_relu(0.1), [2.0])
    assert step(2.0) == (4.0, (2.0,))
    assert step(-2.0) == (2.0 - 0.2, (-1.0 + 0.1,))
    assert step(0.0) == (0.0, (0.1,))


# ---------------------------------------------------------------- domain errors

DOMAIN_ERRORS = [
    # fn, example input (fine), bad input, error type
    (lambda x: x.log(), 1.0, 0.0, ValueError),
    (lambda x: x.log(), 1.0, -1.0, ValueError),
    (lambda x: 1.0 / x, 1.0, 0.0, ZeroDivisionError),
    (lambda x: x.sqrt(), 1.0, -4.0, ValueError),
    (lambda x: x.exp(), 1.0, 1000.0, OverflowError),
    (lambda x: x ** 0.5, 4.0, -4.0, ValueError),
    (lambda x: x ** -1, 4.0, 0.0, ZeroDivisionError),
    (lambda x: x ** 3, 4.0, 1e200, OverflowError),
    (lambda x: (-x) ** x, -2.0, 0.5, ValueError),
    (lambda x: (x * 0.0) ** (x - 3.0), 4.0, 2.0, ZeroDivisionError),
]


@pytest.mark.parametrize("fn, example, bad, error", DOMAIN_ERRORS)
def test_domain_errors_are_the_engines(fn, example, bad, error):
    c = Value(3.0)
    step = compile(lambda x: fn(x) * c, [example])
    c.grad = 5.0
    with pytest.raises(error) as compiled_error:
        step(bad)
    with pytest.raises(error) as engine_error:
        out = fn(Value(bad)) * Value(3.0)
        out.backward()
    assert str(compiled_error.value) == str(engine_error.value)
    assert c.grad == 5.0  # nothing half-changed
    assert step(example)[0] == fn(Value(example)).data * 3.0  # and it still works


def test_a_failing_row_leaves_every_grad_as_it_was():
    w = Value(0.5, label="w")
    step = compile(lambda x: (w * x).log(), [1.0])
    w.grad = 1.0
    with pytest.raises(ValueError, match=r"log\(-0\.5\)"):
        step.batch([(1.0,), (2.0,), (-1.0,), (3.0,)])
    assert w.grad == 1.0


# ---------------------------------------------------------------- calling convention


def test_leaf_gradients_accumulate_like_backward():
    w, b = Value(3.0, label="w"), Value(-1.0, label="b")
    step = compile(lambda x: w * x * x + b, [2.0])
    value, (dx,) = step(2.0)
    assert (value, dx, w.grad, b.grad) == (11.0, 12.0, 4.0, 1.0)
    step(2.0)
    assert (w.grad, b.grad) == (8.0, 2.0)


def test_parameters_are_read_at_call_time():
    w = Value(3.0)
    step = compile(lambda x: w * x, [2.0])
    w.data = -1.5
    assert step(2.0) == (-3.0, (-1.5,))


def test_batch_is_the_scaled_sum_and_its_gradient():
    model, params = hand_mlp([2, 4, 1], "tanh")
    rows = [(0.1, 0.2, 1.0), (-1.0, 0.5, -1.0), (2.0, -0.3, 1.0)]
    loss = lambda x1, x2, y: (model([x1, x2]) - y) ** 2  # noqa: E731
    step = compile(loss, rows[0])
    value = step.batch(rows, scale=1 / 3)
    got = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    mean = sum(loss(*map(Value, row)) for row in rows) / 3
    mean.backward()
    assert close(value, mean.data)
    assert all(close(a, p.grad) for a, p in zip(got, params))
    assert step.batch([]) == 0.0


def test_input_gradients_and_unused_inputs():
    step = compile(lambda x, y, z: x * y, [1.0, 2.0, 3.0])
    assert step(4.0, 5.0, 6.0) == (20.0, (5.0, 4.0, 0.0))
    identity = compile(lambda x: x, [1.0])
    assert identity(7.0) == (7.0, (1.0,))


def test_inputs_accept_ints_and_numpy_scalars():
    import numpy as np
    step = compile(lambda x: x * x, [1.0])
    assert step(np.float64(3.0)) == (9.0, (6.0,))
    assert step(3) == (9.0, (6.0,))
    assert step.batch(np.array([[1.0], [2.0]])) == 5.0


def test_custom_ops_run_their_own_rules():
    swish = register_op("swish", lambda x: x / (1 + math.exp(-x)),
                        lambda x, out: (ops.sigmoid(x) + out * (1 - ops.sigmoid(x)),))
    mix = register_op("mix 3", lambda a, b, c: a * b + c, lambda a, b, c, out: (b, a, 1.0))
    w = Value(0.7)
    fn = lambda x, y: mix(swish(x * w), y, x) ** 2  # noqa: E731
    step = compile(fn, [0.3, -1.2])
    # swish's forward calls math.exp: called; its rule is printed; mix is printed whole
    assert "_op1_swish(" in step.source and "_sigmoid(" in step.source
    assert "_local_grads(" not in step.source
    for point in ([0.3, -1.2], [-2.0, 0.5], [1.5, 1.5]):
        assert_same(compiled(step, point, [w]), engine(fn, point, [w]))


def test_source_is_readable_and_uses_labels():
    w = Value(2.0, label="weight")
    b = Value(0.5, label="layer.0 bias")

    def neuron(x):
        z = w * x + b
        z.label = "z"
        return z.tanh()

    step = compile(neuron, [1.0])
    src = step.source
    assert "weight = _leaves[0].data" in src
    assert "layer_0_bias = _leaves[1].data" in src
    assert "z = " in src and "tanh(z)" in src
    assert "d_z = d_" in src and "(1.0 - " in src
    forward = src.split("# forward")[1].split("_seeds")[0]
    assert forward.count(" = ") == 3  # one line per op node: *, +, tanh
    assert "neuron(x)" in repr(step)


def test_names_from_the_model_become_identifiers_and_comments():
    from nn import MLP, mse_loss
    model = MLP(2, [2, 1], seed=0)
    step = compile(lambda a, b: mse_loss(model([a, b]), 1.0), [1.0, -2.0])
    src = step.scalar_source  # (.source is the matrix code: this model has dense layers)
    leaves = re.findall(r"^ +(\w+) = _leaves\[\d+\]\.data(?:  # (.+))?$", src, re.M)
    assert ("L1_N2_w0", "L1.N2.w0") in leaves and ("L2_N1_b", "L2.N1.b") in leaves
    assert len(leaves) == model.num_parameters() + 1             # and the target y
    assert "L1_N1_z = L1_N1_s0 + L1_N1_w1x1" in src and "L1_N1_out = 0.0 if L1_N1_z <= 0.0 else L1_N1_z" in src
    assert re.search(r"^ +loss = _pow\(", src, re.M)
    value, _ = step(1.0, -2.0)
    assert value == mse_loss(model([1.0, -2.0]), 1.0).data


def test_labels_that_are_not_identifiers_or_clash_are_renamed():
    a = Value(1.0, label="d_x")
    b = Value(2.0, label="exp")
    c = Value(3.0, label="for")
    step = compile(lambda x: (x * a + b * c).exp(), [0.1])
    assert step(0.1)[0] == math.exp(0.1 + 6.0)
    assert "for = " not in step.source  # a keyword: renamed
    assert "_exp(" in step.source        # a label "exp" can't shadow the code's own _exp


def test_bad_arguments_get_clear_errors():
    step = compile(lambda x, y: x * y, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"2 input\(s\) \(x, y\), got 1"):
        step(1.0)
    with pytest.raises(ValueError, match="row 1 has 1 entries, expected 2"):
        step.batch([(1.0, 2.0), (1.0,)])
    with pytest.raises(TypeError, match="input 0 \\(x\\)"):
        step("a", 1.0)
    with pytest.raises(TypeError, match="must return a Value"):
        compile(lambda x: 3.0, [1.0])
    with pytest.raises(TypeError, match="list of numbers"):
        compile(lambda x: x, 1.0)
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        compile(lambda x: x * 2, [1.0])


def test_exported_lazily():
    assert autograd.compile is compile


# ---------------------------------------------------------------- training


def sgd_train(model, params, rows, step=None, steps=20, lr=0.1, batch_size=8):
    loss = lambda x1, x2, y: (1 + -y * model([x1, x2])).relu()  # noqa: E731
    for k in range(steps):
        batch = rows[(k * batch_size) % len(rows):][:batch_size]
        for p in params:
            p.grad = 0.0
        if step is None:
            total = sum(loss(*row) for row in batch) * (1.0 / len(batch))
            total.backward()
        else:
            step.batch(batch, 1.0 / len(batch))
        for p in params:
            p.data -= lr * p.grad
    return [p.data for p in params]


def test_training_compiled_ends_with_the_same_parameters():
    rng = random.Random(3)
    rows = [(rng.uniform(-2, 2), rng.uniform(-2, 2), rng.choice([-1.0, 1.0])) for _ in range(40)]
    model, params = hand_mlp([2, 8, 8, 1], "relu", seed=5)
    plain = sgd_train(model, params, rows)
    model, params = hand_mlp([2, 8, 8, 1], "relu", seed=5)
    step = compile(lambda x1, x2, y: (1 + -y * model([x1, x2])).relu(), rows[0])
    fast = sgd_train(model, params, rows, step)
    assert plain != [p.data for p in hand_mlp([2, 8, 8, 1], "relu", seed=5)[1]]  # it trained
    assert all(close(a, b) for a, b in zip(plain, fast))


def test_extras_report_each_rows_prediction():
    model, params = hand_mlp([2, 3, 1], "tanh")

    def loss(x1, x2, y):
        out = model([x1, x2])
        return (out - y) ** 2, out

    step = compile(loss, [0.0, 0.0, 0.0])
    rows = [(0.5, 1.0, 1.0), (-1.0, 2.0, 0.0)]
    value, outputs = step.batch(rows, 0.5, extras=True)
    want = [model([Value(a), Value(b)]).data for a, b, _ in rows]
    assert all(close(o, w, 1e-12) for o, w in zip(outputs, want))  # a layer: a matrix product
    assert close(value, sum((o - y) ** 2 for o, (_, _, y) in zip(want, rows)) / 2)
    listed = compile(lambda x: (lambda sq: (sq + 0.0, [sq]))(x * x), [1.0])
    assert listed.batch([(3.0,)], extras=True) == (9.0, [[9.0]])
    with pytest.raises(ValueError, match="not part of the output's graph"):
        compile(lambda x: (x * 2, x * 3), [1.0])
    failing = compile(lambda x: (x.log(), x), [1.0])
    with pytest.raises(ValueError, match=r"log\(-1\.0\)"):
        failing.batch([(2.0,), (-1.0,)], extras=True)


# ---------------------------------------------------------------- nn.fit(compile=True)

FIT_CASES = [
    # loss, data, model, fit options
    ("hinge", "moons_pm1", ([2, 8, 8, 1], "relu"), dict(batch_size=16)),
    ("bce", "moons_01", ([2, 6, 1], "tanh"), dict(batch_size=None, l2=1e-3)),
    ("mse", "regression", ([1, 8, 1], "sigmoid"), dict(batch_size=10, clip=1.0)),
    ("cross_entropy", "blobs", ([2, 6, 3], "leaky_relu"), dict(batch_size=20)),
    # custom losses: a sum (not a mean) over the batch, and one that couples the examples
    ("summed_squares", "regression", ([1, 8, 1], "tanh"), dict(batch_size=10, l2=1e-3)),
    ("worst_example", "moons_pm1", ([2, 6, 1], "relu"), dict(batch_size=16)),
]


def summed_squares(outputs, targets):
    """The sum, not the mean, of the squared errors (issue 12: compiled training applied a
    quarter of this gradient)."""
    return sum((o - t) ** 2 for o, t in zip(outputs, targets))


def worst_example(outputs, targets):
    """A loss that couples the examples: the softened maximum of the hinge losses."""
    return sum(((1 + -t * o).relu() * 4.0).exp() for o, t in zip(outputs, targets)).log() / 4.0


CUSTOM_LOSSES = {"summed_squares": summed_squares, "worst_example": worst_example}


def fit_data(name):
    from nn import data

    if name == "moons_pm1":
        return data.make_moons(60, noise=0.1, seed=0, labels="pm1")
    if name == "moons_01":
        return data.make_moons(60, noise=0.1, seed=0, labels="01")
    if name == "blobs":
        return data.make_blobs(60, centers=3, seed=0)
    rng = random.Random(0)
    X = [[rng.uniform(-2, 2)] for _ in range(50)]
    return X, [math.sin(x[0]) + 0.1 * rng.gauss(0, 1) for x in X]


@pytest.mark.parametrize("vector_from", [2, 10 ** 9], ids=["vectorized", "row_loop"])
@pytest.mark.parametrize("loss, data_name, arch, options", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_fit_compiled_matches_fit(loss, data_name, arch, options, vector_from):
    from nn import MLP, Adam, fit

    X, y = fit_data(data_name)
    runs = []
    for compiled in (False, True):
        model = MLP(arch[0][0], arch[0][1:], activation=arch[1], seed=2)
        optimizer = Adam(model.parameters(), lr=0.02)
        with vectorized_from(vector_from):
            history = fit(model, X, y, loss=CUSTOM_LOSSES.get(loss, loss), optimizer=optimizer,
                          epochs=4, progress=False, compile=compiled, **options)
        runs.append((history, [p.data for p in model.parameters()]))
    (plain, plain_params), (fast, fast_params) = runs
    assert plain_params != [p.data for p in MLP(arch[0][0], arch[0][1:], activation=arch[1],
                                                  seed=2).parameters()]  # it trained
    assert all(close(a, b) for a, b in zip(plain_params, fast_params))
    assert set(plain) == set(fast)
    for key in plain:
        assert all(close(a, b) for a, b in zip(plain[key], fast[key])), key


@pytest.mark.parametrize("loss", ["mse", "bce", "hinge", "cross_entropy"])
def test_a_built_in_loss_is_compiled_with_the_model(loss, monkeypatch):
    """No engine graph is built or walked at a step: the loss is traced with the model
    (nn.loss_terms), and its value and gradients are the engine's."""
    from nn import MLP, SGD
    from nn.train import LOSSES, make_compiled_step, make_step

    X, y = fit_data({"mse": "moons_01", "bce": "moons_01", "hinge": "moons_pm1",
                     "cross_entropy": "blobs"}[loss])
    outputs = 3 if loss == "cross_entropy" else 1
    models = [MLP(2, [5, outputs], seed=4) for _ in range(2)]
    steps = [make(m, LOSSES[loss], SGD(m.parameters(), lr=0.1), l2=1e-3)
             for make, m in zip((make_step, make_compiled_step), models)]
    for step in steps:
        step(X[:4], y[:4])   # compiled here
    monkeypatch.setattr(Value, "backward", lambda *a, **k: pytest.fail("the engine ran"))
    compiled = steps[1](X, y)
    monkeypatch.undo()
    plain = steps[0](X, y)
    assert close(compiled[0], plain[0])
    assert all(close(a.data, b.data) for a, b in zip(*(m.parameters() for m in models)))
    assert len(compiled[1]) == len(plain[1]) == len(X)
    with pytest.raises(ValueError, match="y.0. is"):
        steps[1](X[:2], ["a", "a"])


def test_fit_compiled_model_keeps_working_between_steps():
    from nn import MLP, SGD, data, fit

    X, y = data.make_moons(40, noise=0.1, seed=1, labels="pm1")
    model = MLP(2, [4, 1], seed=0)
    fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.1), epochs=2,
        progress=False, compile=True)
    state = model.state_dict()
    out = model(X[0])
    out.backward()  # the parameters are still the model's Values, in a graph as ever
    assert isinstance(out, Value) and model.parameters()[0].grad != 0.0
    model.load_state_dict(state)


def test_make_compiled_step_takes_any_number_of_class_targets():
    from nn import MLP, SGD
    from nn.losses import cross_entropy
    from nn.train import make_compiled_step, make_step

    X = [[0.1 * k] for k in range(12)]
    y = list(range(12))
    results = []
    for make in (make_step, make_compiled_step):
        model = MLP(1, [12], seed=0)
        step = make(model, cross_entropy, SGD(model.parameters(), lr=0.1))
        losses = [step(X, y)[0] for _ in range(3)]
        results.append((losses, [p.data for p in model.parameters()]))
    (plain_losses, plain), (fast_losses, fast) = results
    assert all(close(a, b) for a, b in zip(plain_losses, fast_losses))
    assert all(close(a, b, 1e-10) for a, b in zip(plain, fast))


def test_x_to_the_zero_is_flat_at_zero():
    step = compile(lambda x, y: x ** 0 + x ** y, [0.0, 0.0])
    assert step(0.0, 0.0) == (2.0, (0.0, 0.0))
    assert step(2.0, 0.0) == (2.0, (0.0, math.log(2.0)))

"""Dense layers found in traced graphs (autograd/dense.py) and compiled as matrix code.

The compiled code must equal the engine (values and gradients to 1e-12 relative: a matrix
product adds a neuron's terms in another order) on every model, whether the layers are
recognised or not; and recognise the layers of MLPs, Sequential models and residual blocks.
"""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value, compile, compile_outputs
from autograd.dense import find_dense_layers


def close(a: float, b: float, rel: float = 1e-12, scale: float = 1.0) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) or abs(a - b) <= 1e-15 * scale


def engine_batch(fn, rows, params):
    """scale * sum fn(*row) and the parameters' gradients, by the engine."""
    for p in params:
        p.grad = 0.0
    terms = [fn(*[Value(x) for x in row]) for row in rows]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    loss = total * (1.0 / len(rows))
    loss.backward()
    return loss.data, [p.grad for p in params]


def compiled_batch(step, rows, params):
    for p in params:
        p.grad = 0.0
    value = step.batch(rows, 1.0 / len(rows))
    return value, [p.grad for p in params]


def assert_same(fn, rows, params, layers=None):
    step = compile(fn, rows[0])
    if layers is not None:
        assert len(step.layers) == layers, step.source
    value, grads = compiled_batch(step, rows, params)
    reference, reference_grads = engine_batch(fn, rows, params)
    scale = max([abs(g) for g in reference_grads] + [1.0])
    assert close(value, reference), (value, reference)
    for k, (a, b) in enumerate(zip(grads, reference_grads)):
        assert close(a, b, scale=scale), (k, a, b)
    return step


def moons(n: int, seed: int = 0) -> list[tuple[float, float, float]]:
    X, y = nn.data.make_moons(n, noise=0.1, seed=seed, labels="pm1")
    return [(a, b, t) for (a, b), t in zip(X, y)]


# ---------------------------------------------------------------- what is recognised

def test_an_mlp_is_three_matrix_products_with_rows_named_after_the_neurons():
    model = nn.MLP(2, [16, 16, 1], seed=1)
    step = assert_same(lambda a, b, t: (model([a, b]) - t) ** 2, moons(40),
                       model.parameters(), layers=3)
    shapes = [(len(layer.weights), len(layer.inputs)) for layer in step.layers]
    assert shapes == [(16, 2), (16, 16), (1, 16)]
    assert [layer.activation.op if layer.activation else None for layer in step.layers] == \
        ["relu", "relu", None]
    source = step.source
    for line in ("Z1 = X1 @ W1.T + b1", "Z2 = H1 @ W2.T + b2", "Z3 = H2 @ W3.T + b3",
                 "# relu(Z1)", "dW2 = dZ2.T @ H1", "db1 = dZ1.sum(0)", "dH1 = dZ2 @ W2",
                 "W1 = _matrix(_layer1_weights, 16, 2)  # L1.N1.w0 ... L1.N16.w1",
                 "b1 = _matrix(_layer1_biases)  # L1.N1.b ... L1.N16.b"):
        assert line in source, line
    assert source.count(" @ ") == 3 + 3 + 2 + 1  # forward, dW, dH of layers 2-3, dX of layer 1


def test_sequential_of_linear_and_activations():
    model = nn.Sequential(nn.Linear(3, 5, seed=2), nn.Tanh(), nn.Linear(5, 4, seed=3),
                          nn.Sigmoid(), nn.Linear(4, 2, seed=4))
    rng = random.Random(5)
    rows = [tuple(rng.uniform(-2, 2) for _ in range(3)) for _ in range(10)]

    def loss(a, b, c):
        out = model([a, b, c])
        return out[0] * out[0] + 0.5 * out[1]

    step = assert_same(loss, rows, model.parameters(), layers=3)
    assert [layer.activation.op if layer.activation else None for layer in step.layers] == \
        ["tanh", "sigmoid", None]


def test_a_residual_block_keeps_its_layers():
    model = nn.Sequential(nn.Linear(2, 4, seed=1), nn.ReLU(),
                          nn.Residual(nn.Sequential(nn.Linear(4, 4, seed=2), nn.Tanh())),
                          nn.Linear(4, 1, seed=3))
    rows = moons(12)
    assert_same(lambda a, b, t: (model([a, b]) - t) ** 2, rows, model.parameters(), layers=3)


def test_dropout_masks_are_inputs_between_layers():
    """fit(compile=True) feeds Dropout's masks as inputs: the layer after a Dropout reads the
    masked values (not the previous layer's matrix), and is still one product."""
    model = nn.Sequential(nn.Linear(2, 8, seed=1), nn.ReLU(), nn.Dropout(0.5, seed=3),
                          nn.Linear(8, 1, seed=2))
    rows = [(a, b, *(0.0 if k % 3 == 0 else 2.0 for k in range(8))) for a, b, _ in moons(8)]

    def traced(a, b, *factors):
        with nn.layers.MaskFeed(factors).attached(model):
            return model([a, b])

    program = compile_outputs(traced, rows[0])
    assert len(program.layers) == 2
    assert program.layers[1].inputs[0].op == "*"  # h * mask
    passed = program.forward(rows)
    for row, outputs in zip(rows, passed.outputs):
        with nn.layers.MaskFeed(row[2:]).attached(model):
            assert close(outputs[0], model(list(row[:2])).data)


def test_a_layer_used_twice_is_left_to_the_node_by_node_code():
    """Its weights are read twice: no matrix for it (each weight's gradient sums two uses),
    and the compiled gradients still equal the engine's."""
    shared = nn.Linear(2, 2, seed=1)
    head = nn.Linear(2, 1, seed=2)

    def loss(a, b, t):
        h = [v.tanh() for v in shared(shared([a, b]))]
        return (head(h)[0] - t) ** 2

    params = shared.parameters() + head.parameters()
    step = assert_same(loss, moons(10), params, layers=1)
    assert step.layers[0].weights[0][0] is head.parameters()[0]


def test_a_graph_without_layers_falls_back_to_one_line_per_node():
    w = Value(0.5, label="w")

    def f(x, y):
        return (x * w + y).tanh() * (x - y) + (x * x).exp() * 0.1

    step = assert_same(f, [(0.1 * k, 1 - 0.05 * k) for k in range(10)], [w], layers=0)
    assert "@" not in step.source and step.source == step.scalar_source


def test_find_dense_layers_needs_weights_read_once():
    x = [Value(1.0), Value(2.0)]
    w = [Value(0.1), Value(0.2), Value(0.3), Value(0.4)]
    z1 = w[0] * x[0] + w[1] * x[1]
    z2 = w[2] * x[0] + w[3] * x[1]
    z3 = w[0] * x[1] + w[2] * x[0]   # reuses w0, w2
    out = z1 + z2 + z3
    order = [n for n in _order(out)]
    count: dict = {}
    for node in order:
        for inp in node.inputs:
            count[inp] = count.get(inp, 0) + 1
    layers = find_dense_layers(order, set(x) | {n for n in order if not n.is_leaf}, count,
                               {out}, lambda op, p: True)
    assert layers == []                  # every sum shares a weight with another


def _order(root):
    from autograd import topological_order
    return topological_order(root)


# ---------------------------------------------------------------- equal to the engine

ACTIVATIONS = ["relu", "tanh", "sigmoid", "leaky_relu", "linear"]


@settings(max_examples=80, deadline=None)
@given(nin=st.integers(1, 4), hidden=st.lists(st.integers(1, 7), min_size=0, max_size=3),
       nout=st.integers(1, 3), activation=st.sampled_from(ACTIVATIONS),
       rows=st.integers(2, 40), seed=st.integers(0, 10 ** 6), zeros=st.booleans())
def test_compiled_layers_equal_the_engine(nin, hidden, nout, activation, rows, seed, zeros):
    """Random MLPs and batches, relu kinks crossed (exact zeros in weights and inputs)."""
    rng = random.Random(seed)
    model = nn.MLP(nin, hidden + [nout], activation=activation, seed=seed)
    if zeros:
        for p in model.parameters()[::4]:
            p.data = 0.0
    data = [tuple(rng.choice([0.0, rng.uniform(-2, 2)]) if zeros else rng.uniform(-2, 2)
                  for _ in range(nin)) + tuple(rng.uniform(-1, 1) for _ in range(nout))
            for _ in range(rows)]

    def loss(*row):
        out = model(list(row[:nin]))
        out = [out] if isinstance(out, Value) else out
        total = (out[0] - row[nin]) ** 2
        for o, t in zip(out[1:], row[nin + 1:]):
            total = total + (o - t) ** 2
        return total

    step = assert_same(loss, data, model.parameters())
    sizes = [nin] + hidden + [nout]
    assert len(step.layers) == sum(n * m >= 2 for n, m in zip(sizes, sizes[1:]))  # b + w x: none
    assert all(math.isfinite(p.grad) for p in model.parameters())

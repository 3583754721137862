"""Worked examples shared by the tests: micrograd's lecture and README expressions, a node
used twice, random small graphs (a hypothesis strategy) and an MLP's loss on a batch."""

from __future__ import annotations

from hypothesis import strategies as st

from autograd import Value, topological_order
from autograd.playground import MICROGRAD_README
from autograd.viz import dot


def lecture() -> Value:
    """micrograd's lecture expression L = (a*b + c) * f, labels a, b, c, f, e, d, L."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c, f = Value(10.0, label="c"), Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    return L


def micrograd_readme() -> tuple[Value, Value, Value]:
    """micrograd's README expression as (g, a, b): g = 24.7041, dg/da = 138.8338, dg/db = 645.5773.

    Built by running the playground's copy of the example (the one the page opens with) up
    to its backward pass, so that the tests and the page check one and the same text.
    """
    source = MICROGRAD_README.split("g.backward()")[0]
    names: dict = {}
    exec(source, names)  # noqa: S102 - our own example text
    a, b = names["a"], names["b"]
    a.label, b.label = "a", "b"
    return names["g"], a, b


def labelled_leaves(root: Value) -> dict[str, Value]:
    """The leaves of root's graph that have a label, by label."""
    return {v.label: v for v in topological_order(root) if v.is_leaf and v.label}


def used_twice() -> Value:
    """L = (x·y)·(x + y) at x = 3, y = -2: x and y feed two nodes each (dL/dx = -8, dL/dy = -3)."""
    x, y = Value(3.0, label="x"), Value(-2.0, label="y")
    c = x * y
    c.label = "c"
    d = x + y
    d.label = "d"
    L = c * d
    L.label = "L"
    return L


UNARY = [lambda v: v.tanh(), lambda v: v.relu(), lambda v: v ** 2, lambda v: -v,
         lambda v: v.sigmoid(), lambda v: v.sin(), lambda v: v.cos()]
BINARY = [lambda u, v: u + v, lambda u, v: u * v, lambda u, v: u - v]

#: Small random graphs as (leaf data, program): build(graph) makes the Values; nodes are
#: often used several times. Values stay finite: leaves in [-2, 2], at most 8 ops, none
#: growing faster than a square (2 squared 8 times is 2^256).
graphs = st.tuples(
    st.lists(st.floats(-2, 2, allow_subnormal=False), min_size=1, max_size=4),
    st.lists(st.tuples(st.booleans(), st.integers(0, len(UNARY) - 1), st.integers(0, 100),
                       st.integers(0, 100)), min_size=1, max_size=8))


def build(graph: tuple) -> Value:
    """The root of a graph drawn from ``graphs``; its leaves are labelled x0, x1, ..."""
    leaf_data, program = graph
    nodes = [Value(v, label=f"x{i}") for i, v in enumerate(leaf_data)]
    for binary, op, i, j in program:
        if binary:
            nodes.append(BINARY[op % len(BINARY)](nodes[i % len(nodes)], nodes[j % len(nodes)]))
        else:
            nodes.append(UNARY[op](nodes[i % len(nodes)]))
    return nodes[-1]


#: Every collapse mode the pictures and the stepper offer (None: nothing folded), so the
#: stepper's order tests walk each mode the library has.
COLLAPSE_MODES = [None, *dot.SUGGESTED_FOLDS]


def batch_loss(sizes: tuple = (2, 1), examples: int = 2, seed: int = 0,
               loss: str = "mse") -> Value:
    """An MLP(2, sizes)'s loss on a small batch: each neuron is used once per example."""
    from nn import MLP, hinge_loss, mse_loss

    model = MLP(2, list(sizes), seed=seed)
    X = [[1.0 - 0.7 * k, -2.0 + 1.3 * k] for k in range(examples)]
    y = [1.0 if k % 2 == 0 else -1.0 for k in range(examples)]
    outputs = [model(x) for x in X]
    return mse_loss(outputs, y) if loss == "mse" else hinge_loss(outputs, y)


def micrograd_demo_loss(n_samples: int = 100, sizes: tuple = (16, 16, 1)) -> Value:
    """The loss of micrograd's demo notebook: an MLP(2, [16, 16, 1]) on 100 moons, the mean
    SVM max-margin loss relu(1 - y·score) plus an L2 penalty 1e-4·sum p² (65,818 nodes)."""
    from nn import MLP, data

    X, y = data.make_moons(n_samples, noise=0.1, seed=1, labels="pm1")
    model = MLP(2, list(sizes), seed=1337)
    scores = [model(x) for x in X]
    losses = [(1 + -yi * score).relu() for yi, score in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss

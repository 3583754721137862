"""The worked examples of the seed tutorials (../shared/seeds/), as the engine computes them."""

from __future__ import annotations

import math
import random

import pytest

from autograd import Value, grad
from autograd.gradcheck import numerical_grad


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# ---------------------------------------------------------------- chain rule by hand

@pytest.mark.parametrize("x0", [-2.0, -0.5, 0.0, 1.0, 3.0])
def test_square_of_affine(x0):
    """y = (3x + 2)^2  ->  dy/dx = 2(3x + 2) * 3 = 6(3x + 2)."""
    x = Value(x0)
    y = (3 * x + 2) ** 2
    y.backward()
    assert y.data == (3 * x0 + 2) ** 2
    assert x.grad == 6 * (3 * x0 + 2)


@pytest.mark.parametrize("x0", [-1.5, -0.3, 0.0, 0.5, 2.0])
def test_cube_of_quadratic(x0):
    """y = (x^2 + 1)^3  ->  dy/dx = 3(x^2 + 1)^2 * 2x."""
    x = Value(x0)
    y = (x ** 2 + 1) ** 3
    y.backward()
    assert math.isclose(x.grad, 3 * (x0 ** 2 + 1) ** 2 * 2 * x0, rel_tol=1e-15, abs_tol=0.0)


# ---------------------------------------------------------------- seed 001: 2 -> 3 -> 1 sigmoid net

X = [1.0, 2.0]
W1 = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]
B1 = [0.1, 0.2, 0.3]
W2 = [[0.7, 0.8, 0.9]]
B2 = [0.4]
Y = 1.0
LR = 0.1


def seed_001_by_hand():
    """The seed's forward and backward formulas, on floats."""
    z1 = [sum(w * x for w, x in zip(row, X)) + b for row, b in zip(W1, B1)]
    a1 = [sigmoid(z) for z in z1]
    z2 = sum(w * a for w, a in zip(W2[0], a1)) + B2[0]
    a2 = sigmoid(z2)
    loss = 0.5 * (a2 - Y) ** 2
    delta2 = (a2 - Y) * a2 * (1 - a2)
    dW2 = [[delta2 * a for a in a1]]
    db2 = [delta2]
    delta1 = [W2[0][j] * delta2 * a1[j] * (1 - a1[j]) for j in range(3)]
    dW1 = [[d * x for x in X] for d in delta1]
    db1 = delta1
    return z1, loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def seed_001_with_values():
    params = {"W1": [[Value(w) for w in row] for row in W1], "b1": [Value(b) for b in B1],
              "W2": [[Value(w) for w in row] for row in W2], "b2": [Value(b) for b in B2]}
    z1 = [sum((w * x for w, x in zip(row, X)), b) for row, b in zip(params["W1"], params["b1"])]
    a1 = [z.sigmoid() for z in z1]
    z2 = sum((w * a for w, a in zip(params["W2"][0], a1)), params["b2"][0])
    a2 = z2.sigmoid()
    loss = 0.5 * (a2 - Y) ** 2
    return params, z1, loss


def flat(tree):
    return [x for item in tree for x in (flat(item) if isinstance(item, list) else [item])]


def test_seed_001_forward():
    _, z1, loss = seed_001_with_values()
    assert [z.data for z in z1] == pytest.approx([0.6, 1.3, 2.0], rel=1e-15)
    _, expected_loss, _ = seed_001_by_hand()
    assert math.isclose(loss.data, expected_loss, rel_tol=1e-14)


def test_seed_001_every_parameter_gradient():
    params, _, loss = seed_001_with_values()
    loss.backward()
    _, _, by_hand = seed_001_by_hand()
    for name in ("W1", "b1", "W2", "b2"):
        ours = [p.grad for p in flat(params[name])]
        assert ours == pytest.approx(flat(by_hand[name]), rel=1e-13, abs=0), name
        assert all(g != 0.0 for g in ours)


def test_seed_001_one_sgd_step():
    params, _, loss = seed_001_with_values()
    loss.backward()
    for p in flat(list(params.values())):
        p.data -= LR * p.grad
    _, _, by_hand = seed_001_by_hand()
    expected = {"W1": [[w - LR * d for w, d in zip(row, drow)]
                       for row, drow in zip(W1, by_hand["W1"])],
                "b1": [b - LR * d for b, d in zip(B1, by_hand["b1"])],
                "W2": [[w - LR * d for w, d in zip(W2[0], by_hand["W2"][0])]],
                "b2": [B2[0] - LR * by_hand["b2"][0]]}
    for name in expected:
        assert [p.data for p in flat(params[name])] == pytest.approx(flat(expected[name]),
                                                                     rel=1e-14)
    # the step goes downhill
    _, _, new_loss = seed_001_with_values_at(params)
    assert new_loss < loss.data


def seed_001_with_values_at(params):
    z1 = [sum((w.data * x for w, x in zip(row, X)), b.data)
          for row, b in zip(params["W1"], params["b1"])]
    a1 = [sigmoid(z) for z in z1]
    a2 = sigmoid(sum(w.data * a for w, a in zip(params["W2"][0], a1)) + params["b2"][0].data)
    return z1, a1, 0.5 * (a2 - Y) ** 2


# ---------------------------------------------------------------- BCE with a sigmoid output

@pytest.mark.parametrize("z0", [-3.0, -0.4, 0.0, 0.9, 4.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_bce_of_sigmoid_gradient_is_a_minus_y(z0, y):
    """L = -(y log a + (1 - y) log(1 - a)), a = sigma(z)  ->  dL/dz = a - y."""
    z = Value(z0)
    a = z.sigmoid()
    loss = -(y * a.log() + (1 - y) * (1 - a).log())
    loss.backward()
    assert math.isclose(z.grad, sigmoid(z0) - y, rel_tol=1e-12, abs_tol=1e-15)


# ---------------------------------------------------------------- seed 004: gradient checking

def seed_004_loss(W1, b1, W2, b2, X, y):
    """2 -> 3 (relu) -> 1 (sigmoid) with binary cross-entropy, averaged over examples."""
    total = 0.0
    for x, t in zip(X, y):
        a1 = [sum((w * xi for w, xi in zip(row, x)), b).relu() for row, b in zip(W1, b1)]
        a2 = sum((w * a for w, a in zip(W2, a1)), b2).sigmoid()
        total = total - (t * a2.log() + (1 - t) * (1 - a2).log())
    return total / len(X)


def test_seed_004_gradient_check_relative_difference():
    """The seed's check: ||g - g_approx|| / (||g|| + ||g_approx||) < 1e-7."""
    rng = random.Random(4)
    theta = [rng.uniform(-1, 1) for _ in range(3 * 2 + 3 + 3 + 1)]
    X = [[rng.uniform(-2, 2) for _ in range(2)] for _ in range(4)]
    y = [0.0, 1.0, 1.0, 0.0]

    def loss(*p):
        W1 = [list(p[0:2]), list(p[2:4]), list(p[4:6])]
        return seed_004_loss(W1, list(p[6:9]), list(p[9:12]), p[12], X, y)

    params = [Value(t) for t in theta]
    analytic = grad(loss(*params), params)
    numeric = numerical_grad(loss, theta, eps=1e-7)  # the seed's epsilon

    def norm(v):
        return math.sqrt(sum(t * t for t in v))

    difference = norm([a - n for a, n in zip(analytic, numeric)]) / (norm(analytic) +
                                                                      norm(numeric))
    assert difference < 1e-7
    assert sum(a != 0.0 for a in analytic[:6]) >= 4  # hidden units are alive: W1 is tested
    # and the check is sharp enough to see a bug: a sign slip in one entry fails it
    broken = [-analytic[0], *analytic[1:]]
    assert norm([a - n for a, n in zip(broken, numeric)]) / (norm(broken) +
                                                              norm(numeric)) > 1e-3

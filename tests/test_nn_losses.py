"""Losses and their gradients against torch.nn.functional (float64), incl. extreme logits."""

from __future__ import annotations

import math

import pytest
from conftest import require_module
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value
from nn import (bce_with_logits, cross_entropy, hinge_loss, l2_penalty, log_softmax, mse_loss,
                softmax)


def values(xs):
    return [Value(x) for x in xs]


def check(ours_fn, torch_fn, inputs, rel=1e-10):
    """Same loss value and same gradient with respect to every input."""
    torch = require_module("torch")
    vs = values(inputs)
    loss = ours_fn(vs)
    loss.backward()
    t = torch.tensor(inputs, dtype=torch.float64, requires_grad=True)
    expected = torch_fn(t)
    expected.backward()
    assert loss.data == pytest.approx(expected.item(), rel=rel, abs=1e-12)
    for v, g in zip(vs, t.grad.tolist()):
        assert v.grad == pytest.approx(g, rel=rel, abs=1e-12)
    assert math.isfinite(loss.data)


EXTREME = [1000.0, -1000.0, 0.0, 35.0, -40.0, 1e-3]


@pytest.mark.parametrize("outputs, targets", [
    ([0.5, -1.0, 2.0], [1.0, 0.0, 2.5]),
    ([3.0], [-1.0]),
])
def test_mse_loss_batch_of_scalars(outputs, targets):
    torch = require_module("torch")
    check(lambda vs: mse_loss(vs, targets),
          lambda t: torch.nn.functional.mse_loss(t, torch.tensor(targets, dtype=torch.float64)),
          outputs)


def test_mse_loss_batch_of_vectors_averages_over_every_element():
    torch = require_module("torch")
    targets = [[1.0, 0.0], [0.5, -2.0], [0.0, 0.0]]
    flat = [0.3, 0.1, 1.0, -1.0, 2.0, 0.5]
    check(lambda vs: mse_loss([vs[0:2], vs[2:4], vs[4:6]], targets),
          lambda t: torch.nn.functional.mse_loss(
              t.reshape(3, 2), torch.tensor(targets, dtype=torch.float64)), flat)


def test_mse_loss_single_value():
    loss = mse_loss(Value(3.0), 1.0)
    assert loss.data == 4.0


@pytest.mark.parametrize("targets", [[1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1], [0.3] * 6])
def test_bce_with_logits_matches_torch_for_extreme_logits(targets):
    torch = require_module("torch")
    check(lambda vs: bce_with_logits(vs, targets),
          lambda t: torch.nn.functional.binary_cross_entropy_with_logits(
              t, torch.tensor(targets, dtype=torch.float64)), EXTREME)


@pytest.mark.parametrize("logits, target", [
    ([1.0, 2.0, 0.5], 0),
    ([1000.0, -1000.0, 0.0], 0),
    ([1000.0, -1000.0, 0.0], 1),
    ([1000.0, 1000.0, 999.0], 2),
    ([-1000.0, -1000.0], 1),
    ([0.0], 0),
])
def test_cross_entropy_matches_torch_and_is_stable_at_1000(logits, target):
    torch = require_module("torch")
    check(lambda vs: cross_entropy(vs, target),
          lambda t: torch.nn.functional.cross_entropy(t.unsqueeze(0), torch.tensor([target])),
          logits)


def test_cross_entropy_batch_is_the_mean():
    torch = require_module("torch")
    flat = [1.0, 2.0, 0.5, 1000.0, -3.0, 0.0, -1.0, 4.0, 2.0]
    targets = [2, 0, 1]
    check(lambda vs: cross_entropy([vs[0:3], vs[3:6], vs[6:9]], targets),
          lambda t: torch.nn.functional.cross_entropy(t.reshape(3, 3), torch.tensor(targets)),
          flat)


@given(st.lists(st.floats(-50, 50), min_size=2, max_size=6), st.data())
def test_cross_entropy_random_logits(logits, data):
    torch = require_module("torch")
    target = data.draw(st.integers(0, len(logits) - 1))
    check(lambda vs: cross_entropy(vs, target),
          lambda t: torch.nn.functional.cross_entropy(t.unsqueeze(0), torch.tensor([target])),
          logits, rel=1e-9)


@given(st.lists(st.floats(-800, 800), min_size=1, max_size=6), st.data())
def test_bce_with_logits_random(logits, data):
    torch = require_module("torch")
    targets = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(logits),
                                 max_size=len(logits)))
    check(lambda vs: bce_with_logits(vs, targets),
          lambda t: torch.nn.functional.binary_cross_entropy_with_logits(
              t, torch.tensor(targets, dtype=torch.float64)), logits, rel=1e-9)


def test_hinge_loss_is_mean_relu_of_one_minus_margin():
    torch = require_module("torch")
    scores = [2.0, 0.5, -0.3, -2.0, 0.0]
    labels = [1, 1, 1, -1, -1]
    y = torch.tensor(labels, dtype=torch.float64)
    check(lambda vs: hinge_loss(vs, labels), lambda t: torch.relu(1 - y * t).mean(), scores)
    assert hinge_loss(values(scores), labels).data == pytest.approx((0 + 0.5 + 1.3 + 0 + 1) / 5)


def test_hinge_loss_rejects_01_labels():
    with pytest.raises(ValueError, match="-1 or \\+1"):
        hinge_loss(values([1.0, 2.0]), [0, 1])


def test_l2_penalty_is_alpha_sum_of_squares_with_gradient_2_alpha_p():
    params = values([1.0, -2.0, 3.0])
    loss = l2_penalty(params, alpha=1e-4)
    assert loss.data == pytest.approx(1e-4 * 14)
    loss.backward()
    assert [p.grad for p in params] == pytest.approx([2e-4, -4e-4, 6e-4])


def test_l2_penalty_accepts_a_module():
    from nn import MLP
    model = MLP(2, [3, 1], seed=0)
    expected = sum(p.data ** 2 for p in model.parameters())
    assert l2_penalty(model).data == pytest.approx(expected)


def test_softmax_sums_to_one_and_log_softmax_is_stable():
    probs = softmax([Value(1000.0), Value(0.0), Value(-1000.0)])
    assert sum(p.data for p in probs) == pytest.approx(1.0)
    assert probs[0].data == pytest.approx(1.0)
    assert log_softmax([1000.0, 1000.0])[0].data == pytest.approx(-math.log(2))


@pytest.mark.parametrize("call, match", [
    (lambda: mse_loss(values([1.0, 2.0]), [1.0]), "2 outputs but 1 targets"),
    (lambda: mse_loss(values([1.0, 2.0]), 1.0), "need a list"),
    (lambda: cross_entropy(values([1.0, 2.0]), 2), "class index 0..1"),
    (lambda: cross_entropy(values([1.0, 2.0]), 0.5), "class index"),
    (lambda: cross_entropy([values([1.0, 2.0])] * 2, [0]), "2 class indices"),
    (lambda: mse_loss([], []), "empty"),
])
def test_shape_mistakes_raise_clear_errors(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


# ------------------------------------------------------------------ the names of a loss's parts

@pytest.mark.parametrize("loss, parts", [
    (lambda z: mse_loss(z, [1.0, 0.0, 1.0]), ["err", "sq"]),
    (lambda z: hinge_loss(z, [1, -1, 1]), ["margin", "hinge"]),
    (lambda z: bce_with_logits(z, [1.0, 0.0, 1.0]), ["bce"]),
    (lambda z: cross_entropy([[v, -v] for v in z], [0, 1, 0]), ["ce"]),
])
def test_a_loss_names_its_parts_by_their_role_per_example(loss, parts):
    from autograd import topological_order
    from autograd.display import node_names

    scores = [Value(v) * Value(2.0, label="w") for v in (0.5, -1.0, 2.0)]
    names = set(node_names(topological_order(loss(scores))).values())
    for part in parts:
        assert {f"{part}[{k}]" for k in (1, 2, 3)} <= names, (part, sorted(names))
    assert {"sum[1]", "sum[2]", "loss"} <= names                 # the running sums of the mean
    assert not [n for n in names if len(n) == 1 and n != "w"]    # no a, b, e to misread


def test_an_l2_penalty_names_its_squares_and_sums():
    from autograd import topological_order
    from autograd.display import node_names

    params = [Value(v) for v in (1.0, 2.0, 3.0)]
    names = node_names(topological_order(l2_penalty(params, 0.1)))
    assert {"l2.sq[1]", "l2.sq[2]", "l2.sq[3]", "l2.sum[1]", "l2.sum[2]", "l2"} <= set(
        names.values())

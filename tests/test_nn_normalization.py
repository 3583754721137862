"""nn.LayerNorm and nn.BatchNorm1d: the formulas by hand, BatchNorm's backward against its
derivation, running statistics, batch calling, and training with fit.

Parity with PyTorch (both modes, running statistics) is in test_nn_torch_bridge.py.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value
from nn import SGD, BatchNorm1d, LayerNorm, Linear, Sequential, Tanh, data, fit, make_step
from nn.losses import mse_loss

rows = st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3)


def mean(xs):
    return sum(xs) / len(xs)


def test_layernorm_by_hand():
    norm = LayerNorm(3)
    norm.weight[1].data, norm.bias[2].data = 2.0, 0.5
    x = [1.0, 2.0, 6.0]
    mu, var = 3.0, (4 + 1 + 9) / 3
    expected = [(xi - mu) / math.sqrt(var + 1e-5) for xi in x]
    expected[1] *= 2.0
    expected[2] += 0.5
    assert [v.data for v in norm(x)] == pytest.approx(expected, rel=1e-14)
    assert all(v.scope is norm.scope for v in norm(x))


@settings(max_examples=30)
@given(rows)
def test_layernorm_output_has_mean_zero_and_the_mean_gets_no_gradient(x):
    norm = LayerNorm(3, elementwise_affine=False)
    xs = [Value(v) for v in x]
    out = norm(xs)
    assert abs(mean([v.data for v in out])) < 1e-9
    sum(out, Value(0.0)).backward()      # adding c to every x_i changes nothing
    assert abs(sum(v.grad for v in xs)) < 1e-6


def test_batchnorm_training_by_hand():
    bn = BatchNorm1d(2, momentum=0.1)
    X = [[1.0, 10.0], [3.0, 10.0], [5.0, 13.0]]
    out = bn(X)
    for i in range(2):
        column = [row[i] for row in X]
        mu = mean(column)
        var = mean([(c - mu) ** 2 for c in column])             # biased: normalising
        assert [row[i].data for row in out] == pytest.approx(
            [(c - mu) / math.sqrt(var + 1e-5) for c in column], rel=1e-12)
        unbiased = var * 3 / 2                                    # unbiased: running estimate
        assert bn.running_mean[i] == pytest.approx(0.9 * 0.0 + 0.1 * mu, rel=1e-15)
        assert bn.running_var[i] == pytest.approx(0.9 * 1.0 + 0.1 * unbiased, rel=1e-15)
    assert bn.num_batches_tracked == 1


def test_batchnorm_momentum_none_averages_every_batch_so_far():
    bn = BatchNorm1d(1, momentum=None)
    batches = [[[1.0], [3.0]], [[10.0], [20.0]], [[-4.0], [0.0]]]
    for batch in batches:
        bn(batch)
    assert bn.num_batches_tracked == 3
    assert bn.running_mean == pytest.approx([mean([2.0, 15.0, -2.0])], rel=1e-15)
    assert bn.running_var == pytest.approx([mean([2.0, 50.0, 8.0])], rel=1e-15)


def test_batchnorm_evaluation_uses_running_statistics_for_a_sample_or_a_batch():
    bn = BatchNorm1d(2).eval()
    bn.running_mean, bn.running_var = [1.0, -1.0], [4.0, 0.25]
    bn.weight[0].data, bn.bias[1].data = 3.0, 0.5
    expected = [3.0 * (2.0 - 1.0) / math.sqrt(4.0 + 1e-5), (0.0 + 1.0) / math.sqrt(0.25 + 1e-5)
                + 0.5]
    assert [v.data for v in bn([2.0, 0.0])] == pytest.approx(expected, rel=1e-14)
    assert [[v.data for v in row] for row in bn([[2.0, 0.0], [2.0, 0.0]])] == \
        [pytest.approx(expected, rel=1e-14)] * 2
    assert bn.num_batches_tracked == 0                  # evaluation never updates them


@settings(max_examples=30)
@given(st.lists(rows, min_size=2, max_size=6), st.floats(-2.0, 2.0))
def test_batchnorm_backward_is_the_textbook_formula(X, phase):
    """dL/dx_k = gamma / (m sigma) (m dy_k - sum_j dy_j - xhat_k sum_j dy_j xhat_j), per feature,
    with sigma = sqrt(var + eps) and xhat the normalised inputs (Ioffe & Szegedy 2015)."""
    bn = BatchNorm1d(3, eps=1e-3)
    for i, w in enumerate(bn.weight):
        w.data = 0.5 + i
    m = len(X)
    upstream = [[math.sin(1.3 * k + i + phase) for i in range(3)] for k in range(m)]  # dL/dy
    xs = [[Value(v) for v in row] for row in X]
    out = bn(xs)
    loss = sum((u * y for us, ys in zip(upstream, out) for u, y in zip(us, ys)), Value(0.0))
    loss.backward()
    for i in range(3):
        column = [row[i] for row in X]
        mu = mean(column)
        sigma = math.sqrt(mean([(c - mu) ** 2 for c in column]) + 1e-3)
        xhat = [(c - mu) / sigma for c in column]
        dy = [us[i] for us in upstream]
        total, weighted = sum(dy), sum(d * h for d, h in zip(dy, xhat))
        gamma = bn.weight[i].data
        expected = [gamma / (m * sigma) * (m * d - total - h * weighted) for d, h in zip(dy, xhat)]
        assert [row[i].grad for row in xs] == pytest.approx(expected, rel=1e-9, abs=1e-9)
        assert bn.weight[i].grad == pytest.approx(weighted, rel=1e-9, abs=1e-9)
        assert bn.bias[i].grad == pytest.approx(total, rel=1e-9, abs=1e-12)


def test_batchnorm_refuses_what_has_no_batch_statistics():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"training mode normalises .* takes a batch.*"
                                         r"model\.eval\(\)"):
        bn([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2 samples per batch"):
        bn([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        bn([[1.0, 2.0], [3.0, 4.0]])
    assert bn.num_batches_tracked == 0 and bn.running_mean == [0.0] * 3   # nothing changed
    with pytest.raises(ValueError, match="momentum must be in"):
        BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be a number > 0"):
        LayerNorm(3, eps=0)


def test_a_model_with_batchnorm_is_called_on_the_batch():
    model = Sequential(Linear(2, 3, seed=0), BatchNorm1d(3), Tanh(), Linear(3, 1, seed=1))
    assert model.needs_batch() and not Sequential(Linear(2, 2, seed=0)).needs_batch()
    X = [[0.5, -1.0], [1.0, 2.0], [-2.0, 0.25]]
    with pytest.raises(ValueError, match="takes a batch"):
        model(X[0])
    outputs = model(X)
    assert len(outputs) == 3 and all(isinstance(v, Value) for v in outputs)
    model.eval()
    assert model(X[0]).data == pytest.approx(model(X)[0].data, rel=1e-15)


def test_make_step_and_fit_train_a_batchnorm_model_on_whole_mini_batches():
    X, y = data.make_moons(24, noise=0.1, seed=0)
    model = Sequential(Linear(2, 4, seed=0), BatchNorm1d(4), Tanh(), Linear(4, 1, seed=1))
    bn = model.layers[1]
    step = make_step(model, mse_loss, SGD(model.parameters(), lr=0.1))
    loss, outputs = step(X[:6], y[:6])
    assert bn.num_batches_tracked == 1 and len(outputs) == 6
    history = fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.2), epochs=20,
                  batch_size=8, progress=False)
    assert bn.num_batches_tracked == 1 + 20 * 3
    assert history.loss[-1] < history.loss[0]


def test_fit_names_the_batch_of_one_that_batchnorm_cannot_normalise():
    X, y = data.make_moons(9, seed=0)
    model = Sequential(Linear(2, 2, seed=0), BatchNorm1d(2), Linear(2, 1, seed=1))
    with pytest.raises(ValueError, match="at least 2 samples per batch.*batch_size"):
        fit(model, X, y, epochs=1, batch_size=4, progress=False)   # 4 + 4 + 1


def test_compiled_training_refuses_batchnorm():
    X, y = data.make_moons(8, seed=0)
    model = Sequential(Linear(2, 2, seed=0), BatchNorm1d(2), Linear(2, 1, seed=1))
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"compile=True traces the model on one sample, but its "
                                         r"BatchNorm1d\(2.*compile=False"):
        fit(model, X, y, epochs=1, compile=True, progress=False)
    assert model.state_dict() == before


def test_state_dict_holds_the_running_statistics_and_checks_them_before_loading():
    bn = BatchNorm1d(2)
    bn([[1.0, 2.0], [3.0, 5.0]])
    state = bn.state_dict()
    assert list(state)[4:] == ["running_mean.0", "running_mean.1", "running_var.0",
                               "running_var.1", "num_batches_tracked"]
    fresh = BatchNorm1d(2)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == state and type(fresh.num_batches_tracked) is int
    for bad, error, match in [({**state, "num_batches_tracked": 1.5}, TypeError, "whole number"),
                              ({**state, "running_var.1": "1"}, TypeError, "real number")]:
        with pytest.raises(error, match=match):
            BatchNorm1d(2).load_state_dict(bad)
    missing = dict(state)
    del missing["running_mean.1"]
    untouched = BatchNorm1d(2)
    with pytest.raises(KeyError, match="missing keys.*running_mean.1"):
        untouched.load_state_dict(missing)
    assert untouched.running_mean == [0.0, 0.0] and untouched.num_batches_tracked == 0


# (buffer entry, value, what the message says): training then raised ZeroDivisionError, and
# evaluation a TypeError about complex numbers
BAD_BUFFERS = [
    ("running_var.1", -1.0, r"'running_var.1' is -1.0, but a variance is never negative"),
    ("num_batches_tracked", -1, r"'num_batches_tracked' is -1, but it counts the batches"),
    ("running_mean.0", math.nan, r"'running_mean.0' is nan, but running_mean must be finite"),
    ("running_var.0", math.inf, r"'running_var.0' is inf, but running_var must be finite"),
]


@pytest.mark.parametrize("key, value, match", BAD_BUFFERS, ids=[k for k, _, _ in BAD_BUFFERS])
def test_load_state_dict_refuses_impossible_running_statistics(key, value, match):
    bn = BatchNorm1d(2)
    bn([[1.0, 2.0], [3.0, 5.0]])
    fresh = BatchNorm1d(2)
    before = fresh.state_dict()
    with pytest.raises(ValueError, match=match):
        fresh.load_state_dict({**bn.state_dict(), key: value})
    assert fresh.state_dict() == before


def test_nn_load_names_the_file_and_the_impossible_buffer(tmp_path):
    import json

    import nn
    model = Sequential(Linear(2, 2, seed=0), BatchNorm1d(2))
    path = tmp_path / "bn.json"
    nn.save(model, path)
    document = json.loads(path.read_text())
    document["parameters"]["layers.1.num_batches_tracked"] = -1
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"bn\.json.*'layers\.1\.num_batches_tracked' is -1"):
        nn.load(Sequential(Linear(2, 2, seed=0), BatchNorm1d(2)), path)


@pytest.mark.parametrize("variance, expected", [(-1.0, math.nan), (-1e-5, math.inf),
                                                (0.0, 1.0 / math.sqrt(1e-5))])
def test_batchnorm_evaluation_with_a_variance_set_by_hand_computes_as_pytorch(variance,
                                                                                expected):
    """A running variance below -eps (set directly) gives nan as PyTorch's rsqrt does, not a
    TypeError about complex numbers; -eps gives inf."""
    bn = BatchNorm1d(1, affine=False).eval()
    bn.running_var = [variance]
    (out,) = bn([1.0])
    assert (math.isnan(out.data) if math.isnan(expected) else out.data == expected)


@settings(max_examples=80)
@given(st.sampled_from(["running_mean.0", "running_var.1", "num_batches_tracked"]),
       st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)))
def test_property_loaded_running_statistics_are_possible_ones_or_refused_untouched(key, value):
    """Any value for any buffer entry: load_state_dict refuses it (changing nothing) or the
    loaded layer evaluates to finite numbers and trains on."""
    bn = BatchNorm1d(2)
    before = bn.state_dict()
    try:
        bn.load_state_dict({**before, key: value})
    except (TypeError, ValueError):
        assert bn.state_dict() == before
        return
    assert math.isfinite(value) and (key == "running_mean.0" or value >= 0)
    assert all(math.isfinite(v.data) for v in bn.eval()([0.5, -0.5]))
    bn.train()([[1.0, 2.0], [3.0, 5.0]])


def test_layernorm_of_a_huge_row_is_exact():
    """[1e160, 1e160, -1e160] gave [0, 0, 0] (its squares overflowed); PyTorch gives nan."""
    norm = LayerNorm(3, elementwise_affine=False)
    x = [Value(1e160), Value(1e160), Value(-1e160)]
    out = norm(x)
    assert [v.data for v in out] == pytest.approx([0.5 ** 0.5, 0.5 ** 0.5, -(2 ** 0.5)],
                                                  rel=1e-15)
    sum(out, Value(0.0)).backward()
    assert all(math.isfinite(v.grad) for v in x)


@settings(max_examples=60)
@given(rows, st.integers(10, 300), st.sampled_from([1.0, -1.0]))
def test_property_layernorm_is_scale_invariant_for_huge_rows(x, exponent, sign):
    """A row scaled by 10^10..10^300 normalises to (x - mu) / sigma of the row itself (eps
    is negligible there), with the gradient of that formula scaled by 1/c."""
    mu = mean(x)
    sigma = mean([(v - mu) ** 2 for v in x]) ** 0.5
    if sigma < 1e-3 * max(map(abs, x)) or sigma < 1e-3:
        return   # (nearly) constant rows: cancellation or eps, not scale, decides
    c = sign * 10.0 ** exponent
    norm = LayerNorm(3, elementwise_affine=False)
    big = [Value(v * c) for v in x]
    out = norm(big)
    assert [v.data for v in out] == pytest.approx([(v - mu) / sigma * (1 if c > 0 else -1)
                                                  for v in x], rel=1e-9, abs=1e-9)
    small = [Value(v) for v in x]
    reference = LayerNorm(3, eps=1e-300, elementwise_affine=False)(small)
    (out[0] * 2.0 - out[1]).backward()
    (reference[0] * 2.0 - reference[1]).backward()
    for b, s in zip(big, small):
        assert b.grad * c == pytest.approx(sign * s.grad, rel=1e-8, abs=1e-8)

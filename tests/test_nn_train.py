"""The fit loop: micrograd's moons demo, the seed's XOR network, a 3-class spiral; history,
progress bar, metrics."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest
from conftest import require_module

from autograd import Value
from nn import (MLP, SGD, Adam, BatchNorm1d, Dropout, History, LambdaLR, Linear, Module, Optimizer,
                ReLU, Sequential, StepLR, accuracy, data, evaluate, fit, hinge_loss, make_step)


def _moons_demo(epochs: int, compile: bool):
    """micrograd's demo: MLP(2,[16,16,1]), hinge + 1e-4 L2, SGD with lr = 1.0 - 0.9 k/100."""
    X, y = data.make_moons(100, noise=0.1, seed=0, labels="pm1")
    model = MLP(2, [16, 16, 1], seed=1)
    optimizer = SGD(model.parameters(), lr=1.0)
    scheduler = LambdaLR(optimizer, lambda k: 1.0 - 0.9 * k / 100)
    start, cpu = time.perf_counter(), time.process_time()
    history = fit(model, X, y, loss="hinge", optimizer=optimizer, scheduler=scheduler,
                  epochs=epochs, l2=1e-4, progress=False, compile=compile)
    print(f"moons: {epochs} full-batch steps (compile={compile}) in "
          f"{time.perf_counter() - start:.1f} s ({time.process_time() - cpu:.1f} s CPU)")
    return X, y, model, history


@pytest.mark.slow
def test_micrograd_moons_demo_reaches_100_percent_within_100_steps():
    # The 100 steps run compiled (test_compiler proves compiled == engine step by step); the
    # engine itself runs the first 35 steps here and must agree, reaching 100% among them.
    X, y, model, history = _moons_demo(100, compile=True)
    assert max(history["accuracy"]) == 1.0
    assert history["lr"][0] == 1.0 and history["lr"][-1] == pytest.approx(1.0 - 0.9 * 99 / 100)
    assert history["loss"][-1] < history["loss"][0]
    assert accuracy([model.forward_floats(x) for x in X], y) >= 0.99

    *_, engine = _moons_demo(35, compile=False)
    assert max(engine["accuracy"]) == 1.0
    assert engine["accuracy"] == history["accuracy"][:35]
    assert engine["loss"] == pytest.approx(history["loss"][:35], rel=1e-9)


def test_seed_xor_network_2_4_3_1_learns_xor():
    """The backpropagation tutorial's XOR net: [2, 4, 3, 1], sigmoid, MSE on 0/1 targets."""
    X, y = data.make_xor()
    assert (X, y) == ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    model = MLP(2, [4, 3, 1], activation="sigmoid", seed=0)
    history = fit(model, X, y, loss="mse", optimizer=Adam(model.parameters(), lr=0.05),
                  epochs=400, progress=False)
    outputs = [model(x).data for x in X]
    assert [round(o) for o in outputs] == [0, 1, 1, 0]
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < 1e-3


@pytest.mark.slow
def test_three_class_spiral_reaches_90_percent_with_cross_entropy_and_adam():
    X, y = data.make_spirals(60, n_classes=3, noise=0.1, seed=0)
    model = MLP(2, [12, 12, 3], seed=0)
    start, cpu = time.perf_counter(), time.process_time()
    history = fit(model, X, y, loss="cross_entropy", optimizer=Adam(model.parameters(), lr=0.1),
                  epochs=80, progress=False)
    print(f"spiral: 80 epochs of 60 points in {time.perf_counter() - start:.1f} s "
          f"({time.process_time() - cpu:.1f} s CPU)")
    final = accuracy([model.forward_floats(x) for x in X], y)
    assert final >= 0.9
    assert history["accuracy"][-1] >= 0.9


def test_history_records_loss_metrics_and_lr_per_epoch():
    X, y = data.make_blobs(12, centers=[[-2.0, 0.0], [2.0, 0.0]], cluster_std=0.3, seed=0)
    model = MLP(2, [4, 2], seed=0)
    optimizer = SGD(model.parameters(), lr=0.2)
    scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
    history = fit(model, X, y, loss="cross_entropy", optimizer=optimizer, scheduler=scheduler,
                  epochs=5, batch_size=5, progress=False)
    assert isinstance(history, History)
    assert list(history) == ["loss", "accuracy", "lr"]
    assert history.epochs == 5 and len(history.accuracy) == 5
    assert history.lr == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05])
    assert all(0.0 <= a <= 1.0 for a in history["accuracy"])
    assert "5 epochs" in repr(history)


def test_epoch_loss_is_the_mean_over_examples_before_the_update():
    X, y = [[1.0], [2.0], [3.0]], [1.0, 0.0, 2.0]
    model = MLP(1, [1], seed=0)
    w, b = model.parameters()
    expected = sum((w.data * x[0] + b.data - t) ** 2 for x, t in zip(X, y)) / 3
    history = fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), lr=0.01),
                  epochs=1, metrics=(), progress=False)
    assert history["loss"][0] == pytest.approx(expected, rel=1e-12)
    assert list(history) == ["loss", "lr"]


def test_make_step_is_one_gradient_step():
    model = MLP(1, [1], seed=0)
    w, b = model.parameters()
    w0, b0 = w.data, b.data
    step = make_step(model, hinge_loss, SGD(model.parameters(), lr=0.5))
    loss, outputs = step([[2.0]], [1])
    assert outputs == [w0 * 2.0 + b0]
    margin = 1 - (w0 * 2.0 + b0)
    assert loss == pytest.approx(max(margin, 0.0))
    if margin > 0:  # d loss / dw = -2, d loss / db = -1
        assert (w.data, b.data) == pytest.approx((w0 + 0.5 * 2.0, b0 + 0.5))


def test_gradient_clipping_bounds_each_step():
    model = MLP(1, [1], seed=0)
    w, b = model.parameters()
    w.data, b.data = 0.0, 0.0
    # MSE gradient at the start: d/dw = 2 (0 - 100) * 10 = -2000; clipped to norm 1.
    fit(model, [[10.0]], [100.0], loss="mse", optimizer=SGD(model.parameters(), lr=1.0),
        epochs=1, clip=1.0, metrics=(), progress=False)
    assert (w.data ** 2 + b.data ** 2) ** 0.5 == pytest.approx(1.0, rel=1e-5)


def test_accuracy_binary_and_multiclass():
    assert accuracy([0.7, -0.2, 0.1], [1, -1, -1]) == pytest.approx(2 / 3)   # sign
    assert accuracy([0.7, 0.2, 0.6], [1, 0, 0]) == pytest.approx(2 / 3)      # 0.5 threshold
    assert accuracy([0.7, -0.2], [1, 0], threshold=0.0) == 1.0               # logits
    assert accuracy([[0.1, 2.0, 0.3], [5.0, 1.0, 0.0]], [1, 2]) == 0.5       # argmax


def test_bce_loss_uses_the_logit_threshold_for_accuracy():
    X, y = [[1.0], [-1.0]], [1, 0]
    model = MLP(1, [1], seed=0)
    w, b = model.parameters()
    w.data, b.data = 0.2, 0.0   # logits 0.2 and -0.2: right at threshold 0, wrong at 0.5
    history = fit(model, X, y, loss="bce", optimizer=SGD(model.parameters(), lr=0.0),
                  epochs=1, progress=False)
    assert history["accuracy"] == [1.0]


def test_progress_false_never_imports_tqdm():
    code = ("import sys; from nn import MLP, fit; m = MLP(1, [1], seed=0); "
            "fit(m, [[1.0]], [1.0], epochs=2, progress=False); print('tqdm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_progress_true_shows_a_tqdm_bar(capsys):
    require_module("tqdm")
    model = MLP(1, [1], seed=0)
    fit(model, [[1.0]], [1.0], epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "epoch" in err


@pytest.mark.parametrize("kwargs, match", [
    (dict(X=[[1.0]], y=[1.0, 2.0]), "1 examples but y has 2"),
    (dict(X=[], y=[]), "at least one example"),
    (dict(loss="l1"), "unknown loss"),
    (dict(epochs=-1), "epochs"),
    (dict(metrics=("f1",)), "unknown metric"),
])
def test_bad_fit_arguments_raise_clear_errors(kwargs, match):
    model = MLP(1, [1], seed=0)
    args = dict(X=[[1.0]], y=[1.0], progress=False)
    args.update(kwargs)
    X, y = args.pop("X"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        fit(model, X, y, **args)


# (argument, error, what the message says): each refused before the first step
BAD_ARGUMENTS = [
    (dict(scheduler=5), TypeError, r"scheduler must be a learning-rate scheduler.*int 5"),
    (dict(shuffle="no"), TypeError, r"shuffle must be True or False, got str 'no'"),
    (dict(compile=1), TypeError, r"compile must be True or False, got int 1"),
    (dict(live="yes"), ValueError, r"live=...\) must be True or False"),
    (dict(restore_best=0), TypeError, r"restore_best must be True or False"),
    (dict(batch_size=0), ValueError, r"batch_size must be a positive int, got 0"),
    (dict(batch_size=2.5), ValueError, r"batch_size must be a positive int, got 2\.5"),
    (dict(metrics=5), TypeError, r"metrics must be a list such as \['accuracy'\], got int 5"),
    (dict(metrics="f1"), ValueError, r"unknown metric 'f1'"),
    (dict(X=[[1.0], [math.nan]]), ValueError,
     r"X\[1\] is \[nan\]: X\[1\]\[0\] is nan, not a finite number"),
    (dict(X=[[1.0], [2.0, -math.inf]]), ValueError, r"X\[1\]\[1\] is -inf"),
    (dict(X=[[1.0], ["2"]]), TypeError, r"X\[1\]\[0\] is str '2'"),
    (dict(X=[[1.0], [10 ** 400]]), ValueError, r"X\[1\]\[0\] is 1000"),
    (dict(X=5), TypeError, r"X must be a list \(or array\) of examples, got int 5"),
    (dict(X="ab"), TypeError, r"X must be a list \(or array\) of examples, got str 'ab'"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_ARGUMENTS,
                         ids=[repr(k)[:40] for k, _, _ in BAD_ARGUMENTS])
def test_every_argument_is_checked_before_the_first_step(kwargs, error, match):
    """These trained a whole epoch (or forever) before failing, or were taken as something
    else (shuffle="no" as True, metrics="accuracy" letter by letter)."""
    args = dict(X=[[1.0], [2.0]], y=[1.0, 0.0])
    args.update(kwargs)
    X, y = args.pop("X"), args.pop("y")
    _fit_refused(MLP(1, [1], seed=0), X, y, error=error, match=match, **args)


def test_one_metric_may_be_given_by_name():
    history = fit(_linear(0.2), [[1.0], [2.0]], [1, 0], loss="mse", epochs=1,
                  progress=False, metrics="accuracy")
    assert list(history) == ["loss", "accuracy", "lr"]


def test_fit_refuses_to_train_inside_no_grad_and_changes_nothing():
    from autograd import no_grad
    with no_grad():
        _fit_refused(MLP(1, [1], seed=0), [[1.0]], [1.0], error=RuntimeError,
                     match=r"no_grad\(\) turns off.*outside the no_grad block")


def test_property_a_non_finite_feature_is_named_before_training():
    """A nan, inf or non-number anywhere in X (any row, any feature): fit refuses before the
    first step and names that row and feature; X without one trains."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=60, deadline=None)
    @given(st.integers(0, 4), st.integers(0, 1),
           st.sampled_from([math.nan, math.inf, -math.inf, "x", None, 1.5]))
    def check(row, feature, bad):
        X = [[0.1 * i, -0.2 * i] for i in range(5)]
        X[row][feature] = bad
        model = MLP(2, [1], seed=0)
        if bad == 1.5:
            fit(model, X, [0.0] * 5, epochs=1, progress=False)
            return
        _fit_refused(model, X, [0.0] * 5, error=(TypeError, ValueError),
                     match=rf"X\[{row}\]\[{feature}\] is")

    check()


# (evaluate's arguments, error, what the message says)
BAD_EVALUATE = [
    (dict(X=5, y=5), TypeError, r"X must be a list \(or array\) of examples, got int 5"),
    (dict(loss="cross_entropy"), ValueError,
     r"evaluate\(loss='cross_entropy'\) needs a model with one output per class"),
    (dict(y=[0, 5], loss="bce"), ValueError, r"evaluate\(loss='bce'\) .*y\[1\] is 5"),
    (dict(X=[[1.0], [math.nan]]), ValueError, r"X\[1\]\[0\] is nan"),
    (dict(X=[[1.0]]), ValueError, r"evaluate: X has 1 examples but y has 2"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_EVALUATE,
                         ids=[repr(k)[:40] for k, _, _ in BAD_EVALUATE])
def test_evaluate_checks_its_data_as_fit_does(kwargs, error, match):
    args = dict(X=[[1.0], [2.0]], y=[1, 0])
    args.update(kwargs)
    with pytest.raises(error, match=match):
        evaluate(MLP(1, [1], seed=0), args.pop("X"), args.pop("y"), **args)


def test_numpy_arrays_work_in_evaluate_and_validation():
    """They raised "The truth value of an array ... is ambiguous"."""
    np = require_module("numpy")
    X, y = data.make_moons(20, noise=0.1, seed=0, labels="pm1")
    model = MLP(2, [4, 1], seed=0)
    assert evaluate(model, np.array(X), np.array(y), loss="hinge") == \
        evaluate(model, X, y, loss="hinge")
    runs = [fit(MLP(2, [4, 1], seed=0), X[:10], y[:10], loss="hinge", epochs=2,
                progress=False, validation=validation)
            for validation in [(X[10:], y[10:]), (np.array(X[10:]), np.array(y[10:]))]]
    assert runs[0] == runs[1] and runs[0]["val_loss"][-1] > 0.0


def test_scheduler_for_another_optimizer_is_rejected():
    model = MLP(1, [1], seed=0)
    other = SGD(MLP(1, [1], seed=1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="different optimizer"):
        fit(model, [[1.0]], [1.0], optimizer=SGD(model.parameters(), lr=0.1),
            scheduler=StepLR(other, 1), progress=False)


# --------------------------------------------- fit checks its arguments before training

def _fit_refused(model, X, y, error=ValueError, match=None, **kwargs):
    """fit raises before any step: the parameters are unchanged."""
    before = model.state_dict()
    with pytest.raises(error, match=match):
        fit(model, X, y, epochs=2, progress=False, **kwargs)
    assert model.state_dict() == before


def test_an_optimizer_of_another_model_is_refused():
    model, other = MLP(1, [1], seed=0), MLP(1, [1], seed=1)
    _fit_refused(model, [[1.0]], [1.0], match="none of this model's parameters",
                 optimizer=SGD(other.parameters(), lr=0.1))
    _fit_refused(model, [[1.0]], [1.0], error=TypeError, match="an optimizer such as SGD",
                 optimizer="adam")


def test_an_optimizer_of_part_of_the_model_is_fine():
    model = MLP(1, [2, 1], seed=0)
    last = model.layers[-1].parameters()
    first = [p.data for p in model.layers[0].parameters()]
    fit(model, [[1.0], [2.0]], [1.0, 0.0], optimizer=SGD(last, lr=0.1), epochs=2,
        progress=False)
    assert [p.data for p in model.layers[0].parameters()] == first


# (loss, number of outputs, labels, what the message says)
BAD_LABELS = [
    ("bce", 1, [0, 1, -1], r"loss='bce'\) needs labels 0 or 1; y\[2\] is -1 .*\(y \+ 1\) / 2"),
    ("bce", 1, [1, 5], r"y\[1\] is 5"),
    ("bce_with_logits", 1, [0.5, 1], r"y\[0\] is 0\.5"),
    ("bce", 1, [True, False], r"y\[0\] is True"),
    ("hinge", 1, [0, 1], r"loss='hinge'\) needs labels -1 or \+1; y\[0\] is 0 .*2\*y - 1"),
    ("hinge", 1, [-1, 2], r"y\[1\] is 2"),
    ("hinge", 3, [-1, 1], r"one output.*this model has 3"),
    ("cross_entropy", 1, [0, 19], r"one output per class \(at least 2\); this model has 1 "
                                  r"output"),   # said "class index 0..19 for 20 logits"
    ("cross_entropy", 3, [0, 3], r"class indices 0\.\.2 for the model's 3 outputs.*y\[1\] is 3"),
    ("cross_entropy", 3, [0, 1.5], r"y\[1\] is 1\.5"),
    ("cross_entropy", 3, [0, -1], r"y\[1\] is -1"),
    ("cross_entropy", 3, [[1, 0, 0], 1], r"y\[0\] is \[1, 0, 0\]"),
    ("mse", 1, [0.5, [1.0]], r"loss='mse'.*one output needs a number; y\[1\] is \[1\.0\]"),
    ("mse", 1, [0.5, "1"], r"y\[1\] is '1'"),
    ("mse", 1, [0.5, math.nan], r"y\[1\] is nan"),
    ("mse", 2, [[0.5, 1.0], 1.0], r"2 outputs need a list of 2 numbers; y\[1\] is 1\.0"),
    ("mse", 2, [[0.5, 1.0], [1.0]], r"y\[1\] is \[1\.0\]"),
    ("mse", 2, [[0.5, 1.0], [1.0, math.inf]], r"y\[1\] is \[1\.0, inf\]"),
]


@pytest.mark.parametrize("loss, n_outputs, y, match", BAD_LABELS,
                         ids=[f"{loss}-{n}-{y}" for loss, n, y, _ in BAD_LABELS])
def test_labels_are_checked_for_the_loss_before_training(loss, n_outputs, y, match):
    model = MLP(2, [3, n_outputs], seed=0)
    _fit_refused(model, [[0.5, -0.5]] * len(y), y, match=match, loss=loss)


@pytest.mark.parametrize("l2, error, match", [
    (-1e-4, ValueError, r"l2: -0\.0001"), ("0.1", TypeError, "l2"),
    (math.nan, ValueError, "l2: nan")])
def test_a_negative_l2_is_refused(l2, error, match):
    _fit_refused(MLP(1, [1], seed=0), [[1.0]], [1.0], error=error, match=match, l2=l2)


def test_a_bad_clip_is_refused_before_training():
    _fit_refused(MLP(1, [1], seed=0), [[1.0]], [1.0], match=r"clip: -1\.0", clip=-1.0)


def test_numpy_arrays_are_accepted_for_X_and_y():
    np = require_module("numpy")
    X, y = data.make_moons(20, noise=0.1, seed=0, labels="pm1")
    runs = []
    for X_in, y_in in [(X, y), (np.array(X), np.array(y)), (list(np.array(X)), list(np.array(y)))]:
        model = MLP(2, [4, 1], seed=0)
        history = fit(model, X_in, y_in, loss="hinge", epochs=3, progress=False)
        runs.append((dict(history), model.state_dict()))
    assert runs[1] == runs[0] and runs[2] == runs[0]


def _linear(w: float, b: float = 0.0):
    model = MLP(1, [1], seed=0)
    model.parameters()[0].data, model.parameters()[1].data = w, b
    return model


# (loss, labels, accuracy of the scores 0.2 and 0.4 by the encoding the loss implies)
ENCODED = [
    ("hinge", [1, 1], 1.0),            # scores 0.2, 0.4 > 0: right (was 0.0: threshold 0.5)
    ("bce", [1, 1], 1.0),              # logits > 0
    ("mse", [1, 1], 0.0),              # labels within 0/1: a probability, threshold 0.5
    ("mse", [1, -1], 0.5),             # -1/+1 targets: threshold 0
]


@pytest.mark.parametrize("loss, y, expected", ENCODED)
def test_fit_accuracy_uses_the_encoding_of_its_loss(loss, y, expected):
    history = fit(_linear(0.2), [[1.0], [2.0]], y, loss=loss, epochs=1, progress=False)
    assert history["accuracy"] == [expected]


def test_fit_accuracy_for_regression_is_left_out_and_refused_if_asked():
    X, y = [[1.0], [2.0]], [0.5, 2.7]
    assert list(fit(_linear(0.2), X, y, epochs=1, progress=False)) == ["loss", "lr"]
    _fit_refused(_linear(0.2), X, y, match="accuracy needs class labels",
                 metrics=("accuracy",))


def test_an_explicit_accuracy_metric_is_recorded_as_accuracy():
    from functools import partial
    history = fit(_linear(0.2), [[1.0], [2.0]], [1.0, 0.0], loss="mse", epochs=1,
                  progress=False, metrics=[partial(accuracy, encoding="01", threshold=0.3)])
    assert history["accuracy"] == [0.0]   # scores 0.2 (target 1) and 0.4 (target 0)


def test_property_fit_trains_on_valid_labels_and_refuses_the_rest_untouched():
    """Random labels for each built-in loss and output count: fit either refuses them with a
    ValueError before changing any parameter, or they are valid labels for that loss and it
    trains (one epoch)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    label = st.one_of(st.sampled_from([0, 1, -1, 2, 5, 0.5, 1.0, -1.0, True, math.nan, "1"]),
                      st.floats(-3, 3), st.lists(st.sampled_from([0.0, 1.0, 2]), max_size=3))

    def valid(loss, n, t):
        number = isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t)
        if loss == "bce":
            return n == 1 and number and t in (0, 1)
        if loss == "hinge":
            return n == 1 and number and t in (-1, 1)
        if loss == "cross_entropy":
            return n > 1 and number and t in range(n)
        if n == 1:
            return number
        return isinstance(t, list) and len(t) == n and all(valid("mse", 1, x) for x in t)

    @settings(max_examples=80)
    @given(st.sampled_from(["bce", "hinge", "cross_entropy", "mse"]), st.integers(1, 3),
           st.lists(label, min_size=1, max_size=4))
    def check(loss, n, y):
        model = MLP(1, [n], seed=0)
        before = model.state_dict()
        X = [[0.5]] * len(y)
        if all(valid(loss, n, t) for t in y):
            fit(model, X, y, loss=loss, epochs=1, progress=False)
        else:
            with pytest.raises(ValueError, match=r"y\[\d\] is|needs a model with one output"):
                fit(model, X, y, loss=loss, epochs=1, progress=False)
            assert model.state_dict() == before

    check()


# ---------------------------------------------------------------- validation, early stopping

class Constant(Module):
    """A model whose output is its one parameter w, whatever the input: MSE against 0 is w^2."""

    def __init__(self, w: float) -> None:
        self.w = Value(w)

    def __call__(self, x):
        return self.w


class Scripted(Optimizer):
    """Moves w along a given path, one point per step: the validation loss curve is path^2."""

    def __init__(self, params, path) -> None:
        super().__init__(params, lr=0.0)
        self.path = iter(path)

    def step(self) -> None:
        self.params[0].data = next(self.path)


PATH = [3.0, 2.0, 1.5, 1.75, 1.25, 1.3, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4]
# val_loss = w^2:  9, 4, 2.25, 3.06, 1.56 (the best, epoch 5), 1.69, 1.96, 2.56, 3.24 ...


@pytest.mark.parametrize("patience, stopped_after, best_w", [
    (1, 4, 1.5),      # epoch 4 is worse than epoch 3: stop at once
    (2, 7, 1.25),     # epoch 5 improves again; epochs 6 and 7 do not
    (3, 8, 1.25),
    (8, 12, 1.25),    # never triggered, but the best epoch's parameters come back all the same
])
def test_early_stopping_stops_patience_epochs_after_the_best(patience, stopped_after, best_w):
    model = Constant(4.0)
    history = fit(model, [[0.0]], [0.0], optimizer=Scripted(model.parameters(), PATH),
                  epochs=len(PATH), metrics=(), progress=False, validation=([[0.0]], [0.0]),
                  early_stopping=patience)
    assert history.val_loss == [w * w for w in PATH[:stopped_after]]
    assert history.epochs == stopped_after
    assert model.w.data == best_w                   # the best epoch's parameter, exactly


def test_without_restore_best_the_last_parameters_stay():
    model = Constant(4.0)
    fit(model, [[0.0]], [0.0], optimizer=Scripted(model.parameters(), PATH), epochs=12,
        metrics=(), progress=False, validation=([[0.0]], [0.0]), early_stopping=2,
        restore_best=False)
    assert model.w.data == PATH[6]                   # stopped after epoch 7


def test_restore_best_puts_back_every_parameter_and_buffer_exactly():
    X, y = data.make_moons(30, noise=0.3, seed=0)
    X_val, y_val = data.make_moons(20, noise=0.3, seed=1)
    model = Sequential(Linear(2, 8, seed=0), BatchNorm1d(8), ReLU(), Linear(8, 8, seed=1),
                       ReLU(), Linear(8, 1, seed=2))
    states = []

    def snapshot(outputs, targets):      # a metric: records the state after each epoch's step
        if len(targets) == len(X):       # (it is called on the validation set too)
            states.append(model.state_dict())
        return 0.0

    history = fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05),
                  epochs=60, batch_size=10, metrics=(snapshot,), progress=False,
                  validation=(X_val, y_val), early_stopping=5)
    best = history.val_loss.index(min(history.val_loss))
    assert history.epochs == best + 1 + 5 < 60
    assert model.state_dict() == states[best]
    assert model.layers[1].num_batches_tracked == 3 * (best + 1)
    assert evaluate(model, X_val, y_val, loss="bce") == pytest.approx(min(history.val_loss),
                                                                      rel=1e-12)


def test_validation_records_loss_and_metrics_in_evaluation_mode():
    X, y = data.make_moons(20, noise=0.2, seed=0)
    X_val, y_val = data.make_moons(10, noise=0.2, seed=1)
    model = Sequential(Linear(2, 8, seed=0), ReLU(), Dropout(0.5, seed=0), Linear(8, 1, seed=1))
    history = fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.01),
                  epochs=3, progress=False, validation=(X_val, y_val))
    assert list(history) == ["loss", "accuracy", "lr", "val_loss", "val_accuracy"]
    assert model.training                               # fit leaves training mode on
    # the last validation loss is the evaluation-mode loss (no dropout) of the final model
    assert history.val_loss[-1] == pytest.approx(evaluate(model, X_val, y_val, loss="bce"),
                                                 rel=1e-12)
    assert model.training and all(m.training for m in model.modules())
    model.eval()
    outputs = [model(x).data for x in X_val]
    assert history.val_accuracy[-1] == accuracy(outputs, y_val, threshold=0.0)


def test_validation_split_holds_out_a_seeded_fraction():
    X, y = [[float(i)] for i in range(10)], [float(i) for i in range(10)]
    seen = []

    def record(outputs, targets):
        seen.append(len(targets))
        return 0.0

    history = fit(MLP(1, [1], seed=0), X, y, optimizer=None, epochs=2, metrics=(record,),
                  progress=False, validation_split=0.2)
    assert seen == [8, 2, 8, 2]                       # train metric, then validation metric
    assert len(history.val_loss) == 2 and len(history.val_record) == 2


def test_fit_puts_the_model_in_training_mode():
    model = Sequential(Linear(1, 1, seed=0), Dropout(0.5)).eval()
    fit(model, [[1.0]], [1.0], epochs=1, metrics=(), progress=False)
    assert all(m.training for m in model.modules())


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(validation=([[1.0]], [1.0]), validation_split=0.5), ValueError, "not both"),
    (dict(validation_split=1.0), ValueError, r"a float in \(0, 1\)"),
    (dict(validation=([[1.0]],)), ValueError, r"a pair \(X_val, y_val\)"),
    (dict(validation=([[1.0]], [])), ValueError, "X_val has 1 examples but y_val has 0"),
    (dict(validation=([], [])), ValueError, "at least one example"),
    (dict(validation=([[math.nan]], [1.0])), ValueError, r"X_val\[0\] is \[nan\]"),
    (dict(early_stopping=3), ValueError, "early_stopping watches the validation loss"),
    (dict(validation=([[1.0]], [1.0]), early_stopping=0), ValueError, "an int >= 1"),
])
def test_bad_validation_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(MLP(1, [1], seed=0), [[1.0], [2.0]], [1.0, 2.0], progress=False, **kwargs)


def test_compiled_training_with_dropout_draws_the_engines_masks():
    X, y = data.make_moons(20, noise=0.3, seed=0)
    X_val, y_val = data.make_moons(12, noise=0.3, seed=1)
    runs = []
    for compile in (False, True):
        model = Sequential(Linear(2, 8, seed=0), ReLU(), Dropout(0.3, seed=5),
                           Linear(8, 8, seed=1), ReLU(), Dropout(0.5, seed=6), Linear(8, 1, seed=2))
        history = fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.01),
                      epochs=6, batch_size=7, progress=False, validation=(X_val, y_val),
                      compile=compile)
        runs.append((history, model.state_dict(), model.layers[5].mask))
    (engine, engine_state, engine_mask), (compiled, compiled_state, compiled_mask) = runs
    assert compiled_mask == engine_mask
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert compiled[key] == pytest.approx(engine[key], rel=1e-12, abs=1e-12)
    assert list(compiled_state.values()) == pytest.approx(list(engine_state.values()),
                                                          rel=1e-12, abs=1e-12)


def test_evaluate_is_the_mean_loss_without_changing_the_mode():
    model = Sequential(Linear(1, 1, seed=0), Dropout(0.9, seed=0))
    w, b = model.parameters()
    X, y = [[1.0], [2.0]], [0.0, 1.0]
    expected = sum((w.data * x[0] + b.data - t) ** 2 for x, t in zip(X, y)) / 2
    assert evaluate(model, X, y) == pytest.approx(expected, rel=1e-15)   # dropout off
    assert model.training
    with pytest.raises(ValueError, match="evaluate needs at least one example"):
        evaluate(model, [], [])

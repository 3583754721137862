"""Data sets, mini-batches and splits: shapes, labels, geometry, seeds."""

from __future__ import annotations

import math
import random

import pytest

from nn import data

GENERATORS = [
    ("moons", lambda seed: data.make_moons(50, noise=0.1, seed=seed)),
    ("circles", lambda seed: data.make_circles(50, noise=0.05, seed=seed)),
    ("xor", lambda seed: data.make_xor(40, noise=0.1, seed=seed)),
    ("spirals", lambda seed: data.make_spirals(60, n_classes=4, seed=seed)),
    ("blobs", lambda seed: data.make_blobs(50, centers=3, seed=seed)),
    ("yinyang", lambda seed: data.make_yinyang(60, seed=seed)),
]


@pytest.mark.parametrize("name, make", GENERATORS, ids=[g[0] for g in GENERATORS])
def test_generators_are_seeded_and_leave_global_random_alone(name, make):
    random.seed(5)
    state = random.getstate()
    X, y = make(3)
    assert random.getstate() == state
    assert make(3) == (X, y)
    assert make(4)[0] != X
    assert len(X) == len(y)
    assert all(len(p) == 2 and all(isinstance(c, float) for c in p) for p in X)
    assert all(isinstance(label, int) for label in y)


@pytest.mark.parametrize("make, classes", [
    (lambda: data.make_moons(51), {0: 25, 1: 26}),
    (lambda: data.make_circles(40), {0: 20, 1: 20}),
    (lambda: data.make_spirals(31, n_classes=3), {0: 11, 1: 10, 2: 10}),
    (lambda: data.make_blobs(30, centers=3), {0: 10, 1: 10, 2: 10}),
    (lambda: data.make_yinyang(30), {0: 10, 1: 10, 2: 10}),
])
def test_class_counts(make, classes):
    _, y = make()
    assert {k: y.count(k) for k in classes} == classes and set(y) == set(classes)


def test_moons_without_noise_lie_on_the_two_half_circles():
    X, y = data.make_moons(40, seed=0)
    for (a, b), label in zip(X, y):
        if label == 0:
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_circles_radii():
    X, y = data.make_circles(40, factor=0.3, seed=0)
    for p, label in zip(X, y):
        assert math.hypot(*p) == pytest.approx(1.0 if label == 0 else 0.3)


def test_labels_option_for_binary_sets():
    _, y01 = data.make_moons(20, seed=1)
    _, ypm = data.make_moons(20, seed=1, labels="pm1")
    assert set(y01) == {0, 1} and ypm == [2 * k - 1 for k in y01]
    assert data.make_xor(labels="pm1")[1] == [-1, 1, 1, -1]
    with pytest.raises(ValueError, match="labels"):
        data.make_circles(10, labels="yes")


def test_xor_with_noise_stays_near_its_corner():
    X, y = data.make_xor(400, noise=0.05, seed=0)
    for (a, b), label in zip(X, y):
        assert label == (round(a) ^ round(b))


def test_blobs_around_given_centres():
    centres = [[-5.0, 0.0], [5.0, 5.0]]
    X, y = data.make_blobs(200, centers=centres, cluster_std=0.5, seed=0)
    for k, (cx, cy) in enumerate(centres):
        pts = [p for p, label in zip(X, y) if label == k]
        assert sum(p[0] for p in pts) / len(pts) == pytest.approx(cx, abs=0.2)
        assert sum(p[1] for p in pts) / len(pts) == pytest.approx(cy, abs=0.2)


def test_yinyang_points_in_the_unit_disc_and_dots_are_small():
    X, y = data.make_yinyang(90, seed=0)
    assert all(math.hypot(*p) <= 1.0 for p in X)
    for p, label in zip(X, y):
        if label == 2:
            assert min(math.hypot(p[0] - 0.5, p[1]), math.hypot(p[0] + 0.5, p[1])) <= 0.2


def test_spiral_radius_is_in_the_unit_disc():
    X, _ = data.make_spirals(90, seed=0)
    assert all(math.hypot(*p) <= 1.0 + 1e-12 for p in X)


def test_batches_cover_every_example_once():
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    got = list(data.batches(X, y, batch_size=4, shuffle=True, seed=0))
    assert [len(b[0]) for b in got] == [4, 4, 2]
    seen = [label for _, yb in got for label in yb]
    assert sorted(seen) == y and seen != y
    for Xb, yb in got:
        assert [x[0] for x in Xb] == [float(label) for label in yb]
    assert list(data.batches(X, y, 4, shuffle=True, seed=0)) == got


def test_batches_without_shuffle_or_size():
    X, y = [[1.0], [2.0], [3.0]], [0, 1, 0]
    assert list(data.batches(X, y, None, shuffle=False)) == [(X, y)]
    assert list(data.batches(X, y, 2, shuffle=False)) == [(X[:2], y[:2]), (X[2:], y[2:])]


def test_train_test_split():
    X = [[float(i)] for i in range(20)]
    y = list(range(20))
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_test) == 5 and len(X_train) == 15
    assert sorted(y_train + y_test) == y
    assert [x[0] for x in X_test] == [float(k) for k in y_test]
    assert data.train_test_split(X, y, test_size=3, seed=0)[3].__len__() == 3
    assert data.train_test_split(X, y, seed=1) == data.train_test_split(X, y, seed=1)


@pytest.mark.parametrize("call, match", [
    (lambda: data.make_moons(1), "n_samples"),
    (lambda: data.make_moons(10, noise=-1), "noise"),
    (lambda: data.make_spirals(10, n_classes=1), "n_classes"),
    (lambda: data.make_circles(10, factor=1.5), "factor"),
    (lambda: data.make_moons(10, seed="x"), "seed"),
    (lambda: list(data.batches([[1.0]], [1, 2], 1)), "must match"),
    (lambda: list(data.batches([[1.0]], [1], 0)), "batch_size"),
    (lambda: data.train_test_split([[1.0]] * 4, [0] * 4, test_size=1.5), "test_size"),
])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises((TypeError, ValueError), match=match):
        call()


def test_sine_sequence_targets_are_the_next_inputs():
    xs, ys = data.make_sine_sequence(50, period=10.0, seed=3)
    assert len(xs) == len(ys) == 50 and xs[1:] == ys[:-1]
    assert (xs, ys) == data.make_sine_sequence(50, period=10.0, seed=3)
    assert xs[10] == pytest.approx(xs[0], abs=1e-12)       # one period later, no noise
    noisy, _ = data.make_sine_sequence(2000, noise=0.1, seed=0)
    clean, _ = data.make_sine_sequence(2000, noise=0.0, seed=0)
    spread = math.sqrt(sum((a - b) ** 2 for a, b in zip(noisy, clean)) / 2000)
    assert 0.09 < spread < 0.11
    with pytest.raises(ValueError, match="period must be a number > 0"):
        data.make_sine_sequence(10, period=0)


def test_pattern_signals_hold_the_pattern_or_its_reverse_once():
    pattern = [1.0, 2.0, -1.0]
    random.seed(5)
    state = random.getstate()
    X, y = data.make_pattern_signals(30, 7, pattern=pattern, noise=0.0, seed=2)
    assert random.getstate() == state
    assert (X, y) == data.make_pattern_signals(30, 7, pattern=pattern, noise=0.0, seed=2)
    assert y.count(0) == y.count(1) == 15 and y != sorted(y)        # balanced, shuffled
    starts = set()
    for (signal,), label in zip(X, y):
        assert len(signal) == 7
        shown = pattern if label == 1 else pattern[::-1]
        (start,) = [s for s in range(5) if signal[s:s + 3] == shown]
        starts.add(start)
        assert signal[:start] + signal[start + 3:] == [0.0] * 4     # zeros elsewhere
    assert starts == set(range(5))                                  # anywhere it fits
    noisy, _ = data.make_pattern_signals(400, 20, noise=0.1, seed=0)
    rest = [v for (s,), in zip(noisy) for v in s if abs(v) < 0.5]
    spread = math.sqrt(sum(v * v for v in rest) / len(rest))
    assert 0.09 < spread < 0.11
    assert sorted(data.make_pattern_signals(4, seed=0, labels="pm1")[1]) == [-1, -1, 1, 1]
    with pytest.raises(ValueError, match="pattern must differ from its reverse"):
        data.make_pattern_signals(10, pattern=[1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="length must be an int >= 3"):
        data.make_pattern_signals(10, length=2)


@pytest.mark.parametrize("shuffle", ["no", 0, 1, None, "False"])
def test_shuffle_takes_true_or_false_only(shuffle):
    """batches(shuffle="no") shuffled: any truthy value was taken as True."""
    X, y = [[0.0], [1.0], [2.0]], [0, 1, 0]
    with pytest.raises(TypeError, match=r"shuffle\) must be True or False"):
        list(data.batches(X, y, shuffle=shuffle))
    with pytest.raises(TypeError, match=r"shuffle\) must be True or False"):
        data.train_test_split(X, y, shuffle=shuffle)

"""Toy data sets, in pure Python (no numpy, no scikit-learn).

Every classification generator returns ``(X, y)``: ``X`` a list of ``[x1, x2]`` points
(lists of floats) and ``y`` a list of int labels. ``make_sine_sequence`` returns one long
sequence for a recurrent network: inputs and next-step targets, both lists of floats;
``make_pattern_signals`` signals of one channel (``[[s_0, s_1, ...]]``) for a ``Conv1d``,
labelled by whether they hold a pattern.
``seed`` (an int) makes the data reproducible with a private ``random.Random``; the global
``random`` state is never touched (``seed=None`` draws a fresh generator from the system).

Labels: the binary sets (moons, circles, xor) take ``labels="01"`` (0/1, for
``bce_with_logits`` or MSE on a sigmoid) or ``labels="pm1"`` (-1/+1, for ``hinge_loss``,
as micrograd's demo). Multi-class sets (spirals, blobs, yinyang) use class indices
0..K-1, for ``cross_entropy``.
"""

from __future__ import annotations

import math
import random
from typing import Any, Iterator, Optional, Sequence, Union

from nn.arguments import Seed, count, data_rng, flag

__all__ = ["make_moons", "make_circles", "make_xor", "make_spirals", "make_blobs",
           "make_yinyang", "make_sine_sequence", "make_pattern_signals", "batches",
           "train_test_split"]

Data = tuple[list[list[float]], list[int]]






def _noise(x: Any, name: str = "noise") -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not x >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {x!r}")
    return float(x)


def _binary(y: list[int], labels: str) -> list[int]:
    if labels == "01":
        return y
    if labels == "pm1":
        return [2 * k - 1 for k in y]
    raise ValueError(f"labels must be '01' (0/1) or 'pm1' (-1/+1), got {labels!r}")


def _linspace(start: float, stop: float, n: int) -> list[float]:
    if n == 1:
        return [start]
    step = (stop - start) / (n - 1)
    return [start + i * step for i in range(n)]


def _shuffled(points: list[list[float]], y: list[int], rng: random.Random) -> Data:
    order = list(range(len(y)))
    rng.shuffle(order)
    return [points[i] for i in order], [y[i] for i in order]


def _jitter(points: list[list[float]], noise: float, rng: random.Random) -> None:
    if noise > 0.0:
        for p in points:
            p[0] += rng.gauss(0.0, noise)
            p[1] += rng.gauss(0.0, noise)


def make_moons(n_samples: int = 100, noise: float = 0.0, seed: Seed = None,
               labels: str = "01") -> Data:
    """Two interleaving half circles (scikit-learn's layout): class 0 is the upper moon
    (cos t, sin t), class 1 the lower (1 - cos t, 1/2 - sin t), t in [0, pi]; plus
    Gaussian noise of std ``noise``; shuffled."""
    count(n_samples, "n_samples", 2)
    noise = _noise(noise)
    rng = data_rng(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    points = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_upper)]
    points += [[1.0 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, n_lower)]
    y = [0] * n_upper + [1] * n_lower
    _jitter(points, noise, rng)
    X, y = _shuffled(points, y, rng)
    return X, _binary(y, labels)


def make_circles(n_samples: int = 100, noise: float = 0.0, factor: float = 0.5,
                 seed: Seed = None, labels: str = "01") -> Data:
    """A circle of radius 1 (class 0) around one of radius ``factor`` (class 1), points
    evenly spaced in angle, plus Gaussian noise; shuffled."""
    count(n_samples, "n_samples", 2)
    noise = _noise(noise)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be between 0 and 1 (the inner radius), got {factor!r}")
    rng = data_rng(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    points = []
    for n, radius in ((n_outer, 1.0), (n_inner, factor)):
        for i in range(n):
            t = 2.0 * math.pi * i / n
            points.append([radius * math.cos(t), radius * math.sin(t)])
    y = [0] * n_outer + [1] * n_inner
    _jitter(points, noise, rng)
    X, y = _shuffled(points, y, rng)
    return X, _binary(y, labels)


def make_xor(n_samples: int = 4, noise: float = 0.0, seed: Seed = None,
             labels: str = "01") -> Data:
    """The XOR truth table: corners (0,0), (0,1), (1,0), (1,1) with labels 0, 1, 1, 0.

    The default (4 points, no noise, in that order) is exactly the table of the
    backpropagation tutorials; more points cycle through the corners with Gaussian noise.
    """
    count(n_samples, "n_samples")
    noise = _noise(noise)
    rng = data_rng(seed)
    corners = [([0.0, 0.0], 0), ([0.0, 1.0], 1), ([1.0, 0.0], 1), ([1.0, 1.0], 0)]
    points = [list(corners[i % 4][0]) for i in range(n_samples)]
    y = [corners[i % 4][1] for i in range(n_samples)]
    _jitter(points, noise, rng)
    return points, _binary(y, labels)


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2,
                 seed: Seed = None) -> Data:
    """``n_classes`` interleaved spiral arms (CS231n's spiral data): arm k has radius
    r in [0, 1] and angle 4k + 4r (+ Gaussian noise of std ``noise`` on the angle); shuffled."""
    count(n_classes, "n_classes", 2)
    count(n_samples, "n_samples", n_classes)
    noise = _noise(noise)
    rng = data_rng(seed)
    points, y = [], []
    for k in range(n_classes):
        n = n_samples // n_classes + (1 if k < n_samples % n_classes else 0)
        for r in _linspace(0.0, 1.0, n):
            t = 4.0 * k + 4.0 * r + rng.gauss(0.0, noise)
            points.append([r * math.sin(t), r * math.cos(t)])
            y.append(k)
    return _shuffled(points, y, rng)


def make_blobs(n_samples: int = 100, centers: Union[int, Sequence[Sequence[float]]] = 3,
               cluster_std: float = 1.0, box: tuple[float, float] = (-10.0, 10.0),
               seed: Seed = None) -> Data:
    """Gaussian blobs: ``centers`` is a count (centres drawn uniformly in ``box``) or a list
    of 2-D centres; each point is its centre plus N(0, cluster_std^2) noise; class = blob index."""
    count(n_samples, "n_samples")
    cluster_std = _noise(cluster_std, "cluster_std")
    rng = data_rng(seed)
    if isinstance(centers, int):
        count(centers, "centers")
        centres = [[rng.uniform(*box), rng.uniform(*box)] for _ in range(centers)]
    else:
        centres = [[float(c[0]), float(c[1])] for c in centers]
        if not centres:
            raise ValueError("centers must be a positive count or a non-empty list of points")
    points, y = [], []
    for i in range(n_samples):
        k = i % len(centres)
        cx, cy = centres[k]
        points.append([cx + rng.gauss(0.0, cluster_std), cy + rng.gauss(0.0, cluster_std)])
        y.append(k)
    return _shuffled(points, y, rng)


def make_yinyang(n_samples: int = 300, seed: Seed = None) -> Data:
    """The Yin-Yang data set (Kriener et al. 2021) in the unit disc: class 0 yin, class 1
    yang, class 2 the two small dots (radius 0.2). Classes are balanced; shuffled."""
    count(n_samples, "n_samples", 3)
    rng = data_rng(seed)
    points, y = [], []
    for i in range(n_samples):
        want = i % 3
        while True:  # rejection sampling in the disc until the point has the wanted class
            px, py = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
            if px * px + py * py <= 1.0 and _yinyang_class(px, py) == want:
                break
        points.append([px, py])
        y.append(want)
    return _shuffled(points, y, rng)


def _yinyang_class(x: float, y: float) -> int:
    r_small = 0.2
    d_right = math.hypot(x - 0.5, y)   # centre of the right half-disc (and its dot)
    d_left = math.hypot(x + 0.5, y)
    if d_right <= r_small or d_left <= r_small:
        return 2
    # yin: the right small half-disc, minus the left one, plus the upper half of the rest.
    in_right = d_right <= 0.5
    in_left = d_left <= 0.5
    is_yin = in_right or (not in_left and y > 0.0)
    return 0 if is_yin else 1


def make_sine_sequence(length: int = 200, period: float = 20.0, noise: float = 0.0,
                       seed: Seed = None) -> tuple[list[float], list[float]]:
    """A sine wave to predict one step ahead: ``s_t = sin(2 pi t / period + phase)`` plus
    Gaussian noise of std ``noise``, with a random phase. Returns ``(xs, ys)``, ``length``
    values each, with ``ys[t] = xs[t + 1]``: the target is the next observation.

    One value does not say whether the wave is rising or falling, so a model must remember
    the values before it: a task for a recurrent network.
    """
    count(length, "length")
    noise = _noise(noise)
    if isinstance(period, bool) or not isinstance(period, (int, float)) or not period > 0:
        raise ValueError(f"period must be a number > 0 (time steps per cycle), got {period!r}")
    rng = data_rng(seed)
    phase = rng.uniform(0.0, 2.0 * math.pi)
    values = [math.sin(2.0 * math.pi * t / period + phase) + (rng.gauss(0.0, noise) if noise
                                                                   else 0.0)
              for t in range(length + 1)]
    return values[:-1], values[1:]


def make_pattern_signals(n_samples: int = 100, length: int = 12,
                         pattern: Sequence[float] = (1.0, 2.0, -1.0), noise: float = 0.1,
                         seed: Seed = None, labels: str = "01"
                         ) -> tuple[list[list[list[float]]], list[int]]:
    """Signals that hold a short ``pattern`` somewhere (class 1) or the same pattern reversed
    in time (class 0), at a random place, on a background of zeros, plus Gaussian noise of std
    ``noise`` on every value. The two classes have the same values, sum and energy: only
    their order tells them apart, wherever it is. Classes balanced; shuffled.

    Each ``X[i]`` is one channel of ``length`` values, ``[[s_0, ..., s_{length-1}]]``: one
    sample for ``Conv1d(1, ...)``.
    """
    count(n_samples, "n_samples", 2)
    pattern = [float(v) for v in pattern]
    if pattern == pattern[::-1]:
        raise ValueError(f"pattern must differ from its reverse (the other class), got "
                         f"{pattern!r}")
    count(length, "length", len(pattern))
    noise = _noise(noise)
    rng = data_rng(seed)
    signals, y = [], []
    for i in range(n_samples):
        label = i % 2
        signal = [rng.gauss(0.0, noise) if noise else 0.0 for _ in range(length)]
        start = rng.randrange(length - len(pattern) + 1)
        for k, v in enumerate(pattern if label == 1 else pattern[::-1]):
            signal[start + k] += v
        signals.append([signal])
        y.append(label)
    order = list(range(n_samples))
    rng.shuffle(order)
    return [signals[i] for i in order], _binary([y[i] for i in order], labels)


def batches(X: Sequence[Any], y: Sequence[Any], batch_size: Optional[int] = None,
            shuffle: bool = True, seed: Seed = None) -> Iterator[tuple[list, list]]:
    """Mini-batches ``(X_batch, y_batch)`` of ``batch_size`` examples (the last may be smaller);
    ``batch_size=None`` gives the whole set as one batch. ``shuffle`` reorders with ``seed``."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)}; they must match")
    n = len(X)
    size = n if batch_size is None else count(batch_size, "batch_size")
    order = list(range(n))
    if flag(shuffle, "batches(shuffle)"):
        data_rng(seed).shuffle(order)
    for start in range(0, n, max(size, 1)):
        chunk = order[start:start + size]
        yield [X[i] for i in chunk], [y[i] for i in chunk]


def train_test_split(X: Sequence[Any], y: Sequence[Any], test_size: float = 0.25,
                     shuffle: bool = True, seed: Seed = None) -> tuple[list, list, list, list]:
    """``X_train, X_test, y_train, y_test`` (scikit-learn's order). ``test_size`` is a fraction
    in (0, 1) or a count; the test part has ceil(fraction * n) examples."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)}; they must match")
    n = len(X)
    if isinstance(test_size, float) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    elif isinstance(test_size, int) and not isinstance(test_size, bool) and 0 < test_size < n:
        n_test = test_size
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a count in 1..{n - 1}, "
                         f"got {test_size!r}")
    if n_test >= n:
        raise ValueError(f"test_size={test_size!r} leaves no training data out of {n} examples")
    order = list(range(n))
    if flag(shuffle, "train_test_split(shuffle)"):
        data_rng(seed).shuffle(order)
    train, test = order[n_test:], order[:n_test]
    return ([X[i] for i in train], [X[i] for i in test],
            [y[i] for i in train], [y[i] for i in test])

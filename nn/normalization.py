"""Normalisation layers: LayerNorm (over the features of one sample) and BatchNorm1d (over
the samples of a mini-batch), with PyTorch's definitions and defaults.

Both compute ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance
(divided by n); they differ in what the mean is taken over. LayerNorm's statistics come
from one sample, so it works sample by sample. BatchNorm1d's come from the batch in training
and from running averages in evaluation, so a model that contains it is called on a whole
batch (``model(X_batch)``, a list of samples), as ``fit`` does.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Optional

from autograd.value import Value
from nn.layers import _tag, is_batch, sample
from nn.arguments import count
from nn.module import Module, _preview

__all__ = ["LayerNorm", "BatchNorm1d"]


def _mean(values: list) -> Any:
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total / len(values)


def _check_eps(eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, Real) or not eps > 0:
        raise ValueError(f"eps must be a number > 0 (it keeps 1/sqrt(var + eps) finite), "
                         f"got {eps!r}")
    return float(eps)


def _affine(n: int, owner: Module) -> tuple[list[Value], list[Value]]:
    weight = [owner._parameter(Value(1.0), f"w{i}") for i in range(n)]
    bias = [owner._parameter(Value(0.0), f"b{i}") for i in range(n)]
    return weight, bias


class LayerNorm(Module):
    """Normalise each sample over its ``n`` features:
    ``y_i = (x_i - mu) / sqrt(sigma^2 + eps) * w_i + b_i``, mu and sigma^2 the mean and the
    biased variance of the sample's x_1..x_n (PyTorch's nn.LayerNorm(n)).

    A sample with a feature of magnitude 2^256 (about 1e77) or more is first scaled down by
    a power of 2, with eps scaled to match, so that neither its squares overflow nor the
    derivative of 1/sqrt underflows: the result and its gradient are right where PyTorch's
    float64 gives nan (``[1e160, 1e160, -1e160]`` normalises to
    ``[0.707, 0.707, -1.414]``).

    ``elementwise_affine=True`` learns ``weight`` (starts at 1) and ``bias`` (starts at 0).
    """

    scope_kind = "layernorm"

    def __init__(self, n: int, eps: float = 1e-5, elementwise_affine: bool = True) -> None:
        self.n = count(n, "LayerNorm(n)")
        self.eps = _check_eps(eps)
        self.weight: Optional[list[Value]] = None
        self.bias: Optional[list[Value]] = None
        if elementwise_affine:
            self.weight, self.bias = _affine(n, self)

    def __call__(self, x: Any) -> list[Value]:
        x = sample(x, self.n, self)
        eps = self.eps
        scale = _scale_down(x)
        if scale != 1.0:
            # Squares of a huge x overflow (var^-1.5 underflows sooner). y is the same for
            # x * s with eps * s^2 (s > 0 a constant, so the gradient is exact too); s is a
            # power of 2, so scaling rounds nothing.
            x = [xi * scale for xi in x]
            eps = eps * scale * scale
        mu = _mean(x)
        centred = [xi - mu for xi in x]
        inv_std = (_mean([d * d for d in centred]) + eps) ** -0.5
        y = [d * inv_std for d in centred]
        if self.weight is not None:
            y = [yi * w + b for yi, w, b in zip(y, self.weight, self.bias)]
        return _tag(y, self.scope)

    def architecture(self) -> dict:
        return {"type": "LayerNorm", "n": self.n, "eps": self.eps,
                "elementwise_affine": self.weight is not None}

    def __repr__(self) -> str:
        return f"LayerNorm({self.n}, eps={self.eps:g})"


class BatchNorm1d(Module):
    """Normalise each feature over the mini-batch (PyTorch's nn.BatchNorm1d(n)).

    Training, for a batch of m samples: ``y_ki = (x_ki - mu_i) / sqrt(sigma_i^2 + eps) * w_i
    + b_i`` with mu_i and the biased sigma_i^2 of feature i over the batch; then
    ``running_mean = (1 - momentum) running_mean + momentum mu`` and the same for
    ``running_var`` with the unbiased variance (m / (m - 1)) sigma^2. ``momentum=None`` takes
    the plain average of all batches so far (factor 1 / num_batches_tracked).
    Evaluation: the running statistics in place of the batch's, so each sample's output
    depends on that sample alone.

    A model containing BatchNorm1d is called on a batch (a list of samples) and returns one
    output per sample; one sample alone is refused in training mode (it has no variance).
    """

    scope_kind = "batchnorm"
    buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, n: int, eps: float = 1e-5, momentum: Optional[float] = 0.1,
                 affine: bool = True) -> None:
        self.n = count(n, "BatchNorm1d(n)")
        self.eps = _check_eps(eps)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, Real)
                                     or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"momentum must be in [0, 1] (or None for a plain average), got "
                             f"{momentum!r}")
        self.momentum = None if momentum is None else float(momentum)
        self.weight: Optional[list[Value]] = None
        self.bias: Optional[list[Value]] = None
        if affine:
            self.weight, self.bias = _affine(n, self)
        self.running_mean = [0.0] * n
        self.running_var = [1.0] * n
        self.num_batches_tracked = 0

    def needs_batch(self) -> bool:
        return True

    def __call__(self, x: Any) -> list:
        """A batch (list of samples) -> one list of n Values per sample; in evaluation mode
        one sample -> one list."""
        batch = is_batch(x)
        rows = [sample(row, self.n, self) for row in (x if batch else [x])]
        if not self.training:   # the running statistics: each sample on its own
            inv_std = [_inverse_sqrt(v + self.eps) for v in self.running_var]
            outputs = [self._normalise(row, self.running_mean, inv_std) for row in rows]
            return outputs if batch else outputs[0]
        if not batch:
            raise ValueError(
                f"{self!r} in training mode normalises each feature over a mini-batch, so "
                f"it takes a batch (a list of samples), got one sample {_preview(x)}; call "
                "the model on the whole batch, or switch to evaluation mode (model.eval()) "
                "to use the running statistics")
        m = len(rows)
        if m < 2:
            raise ValueError(f"{self!r} in training mode needs at least 2 samples per batch "
                             "(one sample has no variance), got 1; choose a batch_size that "
                             "leaves no mini-batch of a single sample")
        columns = list(zip(*rows))
        mu = [_mean(list(column)) for column in columns]
        centred = [[xi - mu_i for xi, mu_i in zip(row, mu)] for row in rows]
        var = [_mean([row[i] * row[i] for row in centred]) for i in range(self.n)]
        inv_std = [(v + self.eps) ** -0.5 for v in var]
        self._update_running_statistics([_data(v) for v in mu], [_data(v) for v in var], m)
        return [self._scale(row, inv_std) for row in centred]

    def _normalise(self, row: list, mean: list, inv_std: list) -> list[Value]:
        return self._scale([xi - mu_i for xi, mu_i in zip(row, mean)], inv_std)

    def _scale(self, centred: list, inv_std: list) -> list[Value]:
        y = [d * s for d, s in zip(centred, inv_std)]
        if self.weight is not None:
            y = [yi * w + b for yi, w, b in zip(y, self.weight, self.bias)]
        return _tag(y, self.scope)

    def _update_running_statistics(self, mean: list[float], var: list[float], m: int) -> None:
        self.num_batches_tracked += 1
        factor = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        unbiased = m / (m - 1)
        self.running_mean = [(1.0 - factor) * r + factor * b
                             for r, b in zip(self.running_mean, mean)]
        self.running_var = [(1.0 - factor) * r + factor * b * unbiased
                            for r, b in zip(self.running_var, var)]

    def check_buffer(self, attr: str, number: Any) -> Optional[str]:
        if not math.isfinite(number):
            return f"{attr} must be finite"
        if attr == "running_var" and number < 0:
            return "a variance is never negative (the running average of batch variances)"
        if attr == "num_batches_tracked" and number < 0:
            return "it counts the batches seen in training, so it is never negative"
        return None

    def architecture(self) -> dict:
        return {"type": "BatchNorm1d", "n": self.n, "eps": self.eps,
                "momentum": self.momentum, "affine": self.weight is not None}

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.n}, eps={self.eps:g}, momentum={self.momentum})"


def _data(v: Any) -> float:
    return v.data if isinstance(v, Value) else float(v)


#: Samples with a feature at least this large are scaled down before squaring: above
#: about 1e102 the derivative var^-1.5 of 1/sqrt(var) underflows, above 1e154 var overflows.
_LARGE = 2.0 ** 256


def _scale_down(x: list) -> float:
    """A power of 2 that brings the largest finite |x_i| into [0.5, 1) when it is at least
    ``_LARGE``; else 1.0."""
    largest = max((abs(v) for v in map(_data, x) if abs(v) < math.inf), default=0.0)
    if largest < _LARGE:
        return 1.0
    return math.ldexp(1.0, -math.frexp(largest)[1])


def _inverse_sqrt(x: float) -> float:
    """1 / sqrt(x) as PyTorch's float64 rsqrt: inf at 0, nan below 0 (a running variance set
    negative by hand) instead of Python's complex number."""
    return x ** -0.5 if x > 0.0 else (math.inf if x == 0.0 else math.nan)

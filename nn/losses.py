"""Loss functions over Values: each returns one Value to call ``backward()`` on.

Shapes: ``outputs`` is what the model returned, for one example or a batch:

* one example with a scalar output: a Value (or a number); ``target`` a number;
* a batch of scalar outputs: a list of Values; ``targets`` a list of numbers;
* a batch of vector outputs (``cross_entropy``, multi-output ``mse_loss``): a list of lists
  of Values; targets a list of class indices (cross-entropy) or a list of lists of numbers.

Batch losses are the mean over the batch (1/m), like PyTorch's ``reduction="mean"``.

Traces and pictures call a loss's result ``loss`` (``l2`` for ``l2_penalty``), number
targets ``y`` (``y[1]``, ``y[2]`` ... in a batch), and name the parts by their role, one per
example: ``err`` (output - target) and ``sq`` (its square) of ``mse_loss``, ``margin``
(target * score) and ``hinge`` of ``hinge_loss``, ``bce`` and ``ce`` (one example's
cross-entropy), the running ``sum`` of a mean, and ``l2.sq``, ``l2.sum`` of ``l2_penalty``.
The losses give those nodes a scope; nothing is stored until a trace or picture asks.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, Iterable, Sequence, Union

from autograd.value import Scope, Value

__all__ = ["mse_loss", "bce_with_logits", "cross_entropy", "hinge_loss", "l2_penalty",
           "log_softmax", "softmax"]

Scalar = Union[Value, float, int]

#: What traces and pictures call a loss, an L2 penalty and a target number.
LOSS, L2, TARGET = Scope("value", "loss"), Scope("value", "l2"), Scope("input", "y")
#: ... and the parts of a loss, numbered per example: err[1], sq[1], ...
ERR, SQ, MARGIN, HINGE, BCE, CE, SUM = (Scope("value", name) for name in
                                        ("err", "sq", "margin", "hinge", "bce", "ce", "sum"))
L2_SQ, L2_SUM = Scope("value", "sq", L2), Scope("value", "sum", L2)


def _named(value: Value, scope: Scope) -> Value:
    value.scope = scope
    return value


def _target(t: Any) -> Value:
    """A target number as a leaf called ``y`` (a Value given as target stays as it is)."""
    return t if isinstance(t, Value) else _named(Value(t), TARGET)


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (Value, Real))


def _flatten_pairs(outputs: Any, targets: Any, name: str) -> list[tuple[Any, Any]]:
    """Pairs (output, target) of scalars, for losses that are a mean over elements."""
    if _is_scalar(outputs):
        if not _is_scalar(targets):
            raise TypeError(f"{name}: one output needs one number as target, got {targets!r:.60}")
        return [(outputs, targets)]
    if _is_scalar(targets):
        raise TypeError(f"{name}: {len(outputs)} outputs need a list of {len(outputs)} targets, "
                        f"got the single number {targets!r}")
    outputs, targets = list(outputs), list(targets)
    if len(outputs) != len(targets):
        raise ValueError(f"{name}: {len(outputs)} outputs but {len(targets)} targets; "
                         "give one target per output")
    if not outputs:
        raise ValueError(f"{name}: the batch is empty")
    pairs: list[tuple[Any, Any]] = []
    for out, target in zip(outputs, targets):
        pairs.extend(_flatten_pairs(out, target, name))
    return pairs


def _mean(terms: list) -> Value:
    return _sum(terms, SUM) * (1.0 / len(terms)) if len(terms) > 1 else terms[0]


def _sum(terms: list, scope: Scope) -> Value:
    """t1 + t2 + ... with each running total called by ``scope`` (``sum``)."""
    total = terms[0]
    for term in terms[1:]:
        total = _named(total + term, scope)
    return total


def mse_loss(outputs: Any, targets: Any) -> Value:
    """Mean squared error: (1/n) sum_i (y_i - t_i)^2 over every output element."""
    return _named(_mean([_named(_named(out - _target(t), ERR) ** 2, SQ)
                         for out, t in _flatten_pairs(outputs, targets, "mse_loss")]), LOSS)


def bce_with_logits(logits: Any, targets: Any) -> Value:
    """Binary cross-entropy on logits z with targets t in [0, 1] (labels 0/1):

    mean of  softplus(z) - t z  =  -[t log sigma(z) + (1 - t) log(1 - sigma(z))],
    finite for any z (softplus is computed stably), gradient sigma(z) - t.
    """
    return _named(_mean([_named((out if isinstance(out, Value) else Value(out)).softplus()
                                - _target(t) * out, BCE)
                         for out, t in _flatten_pairs(logits, targets, "bce_with_logits")]),
                  LOSS)


def hinge_loss(scores: Any, targets: Any) -> Value:
    """Hinge loss with labels y in {-1, +1}: mean of relu(1 - y * score) (micrograd's demo)."""
    terms = []
    for score, y in _flatten_pairs(scores, targets, "hinge_loss"):
        if y not in (-1, 1):
            raise ValueError(f"hinge_loss needs labels -1 or +1, got {y!r}; convert 0/1 labels "
                             "with y = 2*y - 1 (or make the data with labels='pm1')")
        margin = _named(_target(y) * score, MARGIN)
        terms.append(_named((1 - margin).relu(), HINGE))
    return _named(_mean(terms), LOSS)


def log_softmax(logits: Sequence[Scalar]) -> list[Value]:
    """log softmax_i = z_i - logsumexp(z), with logsumexp(z) = m + log sum_j e^(z_j - m),
    m = max_j z_j (a constant), so no exp overflows even for logits of 1000."""
    z = [v if isinstance(v, Value) else Value(v) for v in logits]
    if not z:
        raise ValueError("log_softmax needs at least one logit")
    m = max(v.data for v in z)
    total = (z[0] - m).exp()
    for v in z[1:]:
        total = total + (v - m).exp()
    lse = total.log() + m
    return [v - lse for v in z]


def softmax(logits: Sequence[Scalar]) -> list[Value]:
    """softmax_i = e^(z_i - m) / sum_j e^(z_j - m), m = max_j z_j."""
    return [v.exp() for v in log_softmax(logits)]


def cross_entropy(logits: Any, target: Any) -> Value:
    """Cross-entropy of class logits z with the target class index k: logsumexp(z) - z_k.

    One example: ``logits`` a list of Values, ``target`` an int. A batch: a list of such
    lists and a list of ints; the result is the mean over the batch.
    """
    if logits and all(_is_scalar(v) for v in logits):
        return _named(_cross_entropy_one(logits, target), LOSS)
    logits = list(logits)
    targets = list(target) if not isinstance(target, Real) else None
    if targets is None or len(targets) != len(logits):
        raise ValueError(f"cross_entropy: a batch of {len(logits)} examples needs a list of "
                         f"{len(logits)} class indices, got {target!r:.60}")
    if not logits:
        raise ValueError("cross_entropy: the batch is empty")
    return _named(_mean([_named(_cross_entropy_one(z, k), CE) for z, k in zip(logits, targets)]),
                  LOSS)


def _cross_entropy_one(logits: Sequence[Scalar], target: Any) -> Value:
    n = len(logits)
    if isinstance(target, bool) or not isinstance(target, Real) or target != int(target) \
            or not 0 <= target < n:
        raise ValueError(f"cross_entropy: the target must be a class index 0..{n - 1} for "
                         f"{n} logits, got {target!r}")
    return -log_softmax(logits)[int(target)]


def l2_penalty(params: Any, alpha: float = 1.0) -> Value:
    """L2 regularisation alpha * sum_p p^2 over ``params`` (a Module or an iterable of Values).

    Its gradient is 2 alpha p: the same as SGD's ``weight_decay = 2 alpha``.
    """
    values: Iterable[Value] = params.parameters() if hasattr(params, "parameters") else params
    values = list(values)
    if not values:
        raise ValueError("l2_penalty: no parameters given")
    return _named(alpha * _sum([_named(p * p, L2_SQ) for p in values], L2_SUM), L2)

"""Metrics on model outputs: plain numbers computed from ``data`` (no graph)."""

from __future__ import annotations

from numbers import Real
from typing import Any, Optional, Sequence

__all__ = ["accuracy", "predict_class"]


def _data(v: Any) -> float:
    return v if isinstance(v, Real) else v.data


def predict_class(output: Any, threshold: float = 0.0, pm1: bool = False) -> int:
    """The class an output predicts: argmax for a vector of scores; for one score,
    ``score > threshold`` gives 1 (else 0, or -1 when ``pm1``)."""
    if isinstance(output, (list, tuple)):
        if len(output) == 1:
            output = output[0]
        else:
            scores = [_data(v) for v in output]
            return max(range(len(scores)), key=scores.__getitem__)
    if _data(output) > threshold:
        return 1
    return -1 if pm1 else 0


def accuracy(outputs: Sequence[Any], targets: Sequence[Any],
             threshold: Optional[float] = None) -> float:
    """The fraction of examples whose predicted class equals the target.

    Multi-class (each output a list of scores): argmax. Binary (one score per example):
    with labels -1/+1 the sign of the score (threshold 0); with labels 0/1 the score is
    compared with ``threshold``, 0.5 by default (a probability; pass 0.0 for logits).
    """
    outputs, targets = list(outputs), list(targets)
    if len(outputs) != len(targets):
        raise ValueError(f"accuracy: {len(outputs)} outputs but {len(targets)} targets")
    if not outputs:
        raise ValueError("accuracy: no examples")
    pm1 = any(t == -1 for t in targets)
    if threshold is None:
        threshold = 0.0 if pm1 else 0.5
    right = sum(1 for out, t in zip(outputs, targets)
                if predict_class(out, threshold, pm1) == t)
    return right / len(outputs)

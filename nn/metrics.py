"""Metrics on model outputs: plain numbers computed from ``data`` (no graph).

The label *encoding* says what the targets are, and so how an output predicts one:

==========  ==================  ====================================================
encoding    targets             predicted class of an output
==========  ==================  ====================================================
``index``   0, 1, ..., k-1      argmax of the output's k scores
``pm1``     -1 or +1            +1 if score > threshold (default 0) else -1
``01``      0 or 1              1 if score > threshold (default 0.5) else 0
==========  ==================  ====================================================

The ``01`` default threshold 0.5 is for a probability (a sigmoid output, or MSE on 0/1
targets); pass ``threshold=0.0`` for logits (``bce_with_logits``). ``fit`` passes the
encoding its loss implies. An output with a NaN score predicts nothing: it is never right.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Optional, Sequence

from autograd.value import Value
from nn.arguments import examples, real, show

__all__ = ["accuracy", "predict_class", "ENCODINGS"]

#: Each encoding's labels (None: class indices) and default threshold.
ENCODINGS: dict[str, tuple[Optional[tuple[int, ...]], Optional[float]]] = {
    "index": (None, None),
    "pm1": ((-1, 1), 0.0),
    "01": ((0, 1), 0.5),
}


def _data(v: Any) -> float:
    if isinstance(v, Real) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, Value):
        return v.data
    raise TypeError(f"accuracy: an output must be a number or a Value (or a list of them, "
                    f"one score per class), got {type(v).__name__} {show(v)}")


def _scores(output: Any) -> list[float]:
    if isinstance(output, (list, tuple)):
        return [_data(v) for v in output]
    return [_data(output)]


def predict_class(output: Any, encoding: str, threshold: Optional[float] = None
                  ) -> Optional[int]:
    """The class that ``output`` (a Value or number, or a list of them) predicts under
    ``encoding`` (see the module docstring); None when a score is NaN."""
    labels, default = _encoding(encoding)
    scores = _scores(output)
    if any(math.isnan(s) for s in scores):
        return None
    if labels is None:
        return max(range(len(scores)), key=scores.__getitem__)
    if len(scores) != 1:
        raise ValueError(f"encoding {encoding!r} needs one score per example, got "
                         f"{len(scores)} scores; use encoding='index' for class scores")
    return labels[1] if scores[0] > (default if threshold is None else threshold) else labels[0]


def accuracy(outputs: Sequence[Any], targets: Sequence[Any], encoding: Optional[str] = None,
             threshold: Optional[float] = None) -> float:
    """The fraction of examples whose predicted class equals the target:
    (1/n) sum_i [predict_class(output_i) == target_i].

    ``encoding`` is ``"index"``, ``"pm1"`` or ``"01"`` (see the module docstring). Left out,
    it is ``"index"`` for outputs of several scores; for one score per example, ``"pm1"``
    if a target is -1, ``"01"`` if a target is 0; if every target is 1 the two disagree
    (thresholds 0 and 0.5), so give ``encoding`` or ``threshold``. Numpy arrays are accepted.
    """
    outputs, targets = examples(outputs, "outputs"), examples(targets, "targets")
    if threshold is not None and not math.isfinite(real(threshold, "threshold")):
        raise ValueError(f"accuracy: threshold must be a finite number, got {threshold!r}")
    if len(outputs) != len(targets):
        raise ValueError(f"accuracy: {len(outputs)} outputs but {len(targets)} targets")
    if not outputs:
        raise ValueError("accuracy: no examples")
    if encoding is None:
        encoding = _infer_encoding(outputs, targets, threshold)
    labels, _ = _encoding(encoding)
    right = 0
    for out, target in zip(outputs, targets):
        _check_target(target, labels, encoding, len(_scores(out)))
        right += predict_class(out, encoding, threshold) == target
    return right / len(outputs)


def _encoding(encoding: str) -> tuple[Optional[tuple[int, ...]], Optional[float]]:
    try:
        return ENCODINGS[encoding]
    except (KeyError, TypeError):
        raise ValueError(f"unknown encoding {encoding!r}; use one of {list(ENCODINGS)}") \
            from None


def _infer_encoding(outputs: list, targets: list, threshold: Optional[float]) -> str:
    if any(len(_scores(out)) > 1 for out in outputs):
        return "index"
    odd = next((t for t in targets if t not in (-1, 0, 1)), None)
    if odd is not None:
        raise ValueError(f"accuracy: target {odd!r:.40} is not a binary label (0/1 or -1/+1), "
                         "and class indices need outputs of one score per class")
    has_minus_one = any(t == -1 for t in targets)
    has_zero = any(t == 0 for t in targets)
    if has_minus_one and not has_zero:
        return "pm1"
    if has_zero and not has_minus_one:
        return "01"
    if has_zero:
        raise ValueError("accuracy: the targets mix -1 and 0; binary labels are either -1/+1 "
                         "(encoding='pm1') or 0/1 (encoding='01')")
    if threshold is None:
        raise ValueError("accuracy: every target is 1, so the labels could be 0/1 "
                         "(threshold 0.5) or -1/+1 (threshold 0); pass encoding='01' or "
                         "'pm1', or a threshold")
    return "01"   # with a threshold given, 0/1 and -1/+1 predict 1 for exactly the same scores


def _check_target(target: Any, labels: Optional[tuple[int, ...]], encoding: str,
                  n_scores: int) -> None:
    if isinstance(target, bool) or not isinstance(target, Real):
        raise ValueError(f"accuracy: a target must be a class label, got "
                         f"{type(target).__name__} {target!r:.40}")
    if labels is None:
        if not float(target).is_integer() or not 0 <= target < n_scores:
            raise ValueError(f"accuracy: target {target!r} is not a class index 0..{n_scores - 1} "
                             f"for outputs of {n_scores} scores")
    elif target not in labels:
        raise ValueError(f"accuracy: target {target!r} is not a label of encoding {encoding!r} "
                         f"({labels[0]} or {labels[1]})")

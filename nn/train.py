"""The training loop: ``fit`` runs epochs of mini-batch steps and returns a ``History``.

One step (``make_step``) is: forward every example of the batch, loss (+ L2), zero the
gradients, ``loss.backward()``, clip, ``optimizer.step()``. It is one small function so a
faster implementation can be swapped in without touching the loop.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Callable, Iterable, Optional, Sequence, Union

from autograd.value import Value
from nn.data import _rng, batches
from nn.losses import (LOSS, bce_with_logits, cross_entropy, hinge_loss, l2_penalty,
                       mse_loss)
from nn.metrics import accuracy
from nn.optim import SGD, Optimizer, clip_grad_norm_

__all__ = ["fit", "make_step", "make_compiled_step", "History", "LOSSES"]

#: Loss names accepted by ``fit(loss=...)``; each is ``loss(outputs, targets) -> Value``.
LOSSES: dict[str, Callable[[Any, Any], Value]] = {
    "mse": mse_loss,
    "bce": bce_with_logits, "bce_with_logits": bce_with_logits,
    "cross_entropy": cross_entropy,
    "hinge": hinge_loss,
}

TrainingStep = Callable[[list, list], tuple[float, list]]


class History(dict):
    """Per-epoch records of a ``fit``: ``history["loss"]``, ``history["lr"]`` and one list per
    metric (``history["accuracy"]``); also readable as attributes (``history.loss``)."""

    def __getattr__(self, name: str) -> list:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"History has no record {name!r}; it has {list(self)}") from None

    @property
    def epochs(self) -> int:
        return len(self.get("loss", []))

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.items() if v)
        return f"History({self.epochs} epochs: {last})"


def _loss_function(loss: Union[str, Callable]) -> Callable:
    if callable(loss):
        return loss
    try:
        return LOSSES[loss]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {loss!r}; use one of {sorted(LOSSES)} or a function "
                         "loss(outputs, targets) -> Value") from None


def _floats(output: Any) -> Any:
    if isinstance(output, Value):
        return output.data
    return [v.data for v in output]


def _name_loss(loss: Value) -> Value:
    """Call the training loss ``loss`` in traces and pictures unless it has a name already."""
    if loss.scope is None and not loss.label:
        loss.scope = LOSS
    return loss


def make_step(model: Any, loss_fn: Callable, optimizer: Optimizer,
              clip: Optional[float] = None, l2: float = 0.0) -> TrainingStep:
    """A function ``step(X_batch, y_batch) -> (loss, outputs)`` doing one training step.

    ``loss`` is the batch loss (a float, before the update) and ``outputs`` the model's
    outputs as floats, used for the epoch's metrics.
    """
    params = optimizer.params

    def step(X_batch: list, y_batch: list) -> tuple[float, list]:
        outputs = [model(x) for x in X_batch]
        loss = loss_fn(outputs, y_batch)
        if l2:
            loss = loss + l2_penalty(params, l2)
        _name_loss(loss)
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            clip_grad_norm_(params, clip)
        optimizer.step()
        return loss.data, [_floats(o) for o in outputs]

    return step


def make_compiled_step(model: Any, loss_fn: Callable, optimizer: Optimizer,
                       clip: Optional[float] = None, l2: float = 0.0) -> TrainingStep:
    """``make_step`` through ``autograd.compile``: the same loss, outputs and update, faster.

    The model is traced once per input size and compiled (``autograd.compile_outputs``); a
    step runs its forward pass over the whole batch, computes ``loss_fn(outputs, targets)``
    with the engine exactly as ``make_step`` does (so any loss works: a sum, a mean, one
    that couples the examples), backpropagates the loss to the outputs, and hands those
    gradients to the compiled backward pass. The L2 term is compiled too. Then clipping and
    ``optimizer.step()`` act on the model's Values as usual.
    """
    from autograd.compiler import compile as compile_graph
    from autograd.compiler import compile_outputs

    params = optimizer.params
    penalty = compile_graph(lambda: l2_penalty(params, l2), []) if l2 else None
    programs: dict[int, tuple[Any, bool]] = {}  # number of features -> (compiled model, single)

    def program_for(example: Sequence[Any]) -> tuple[Any, bool]:
        if len(example) not in programs:
            single = isinstance(model(list(example)), Value)  # one output, not a list of one
            programs[len(example)] = compile_outputs(lambda *x: model(list(x)), example), single
        return programs[len(example)]

    def step(X_batch: list, y_batch: list) -> tuple[float, list]:
        rows = [tuple(x) if not isinstance(x, Real) else (x,) for x in X_batch]
        program, single = program_for(rows[0])
        forward = program.forward(rows)
        outputs = [[Value(v) for v in row] for row in forward.outputs]
        shaped = [row[0] if single else row for row in outputs]
        loss = _name_loss(loss_fn(shaped, y_batch))
        optimizer.zero_grad()
        loss.backward()
        try:
            forward.backward([[v.grad for v in row] for row in outputs])
            value = loss.data + (penalty.batch([()]) if penalty is not None else 0.0)
        except BaseException:
            optimizer.zero_grad()  # no half-accumulated gradient survives a failed step
            raise
        if clip is not None:
            clip_grad_norm_(params, clip)
        optimizer.step()
        return value, [list(row) if not single else row[0] for row in forward.outputs]

    return step


def _metric_functions(metrics: Iterable[Any], loss_fn: Callable) -> dict[str, Callable]:
    # Logits (bce) are thresholded at 0; a sigmoid output with 0/1 labels at 0.5.
    threshold = 0.0 if loss_fn is bce_with_logits else None
    found: dict[str, Callable] = {}
    for metric in metrics or ():
        if metric == "accuracy":
            found["accuracy"] = lambda out, y: accuracy(out, y, threshold)
        elif callable(metric):
            found[getattr(metric, "__name__", "metric")] = metric
        else:
            raise ValueError(f"unknown metric {metric!r}; use 'accuracy' or a function "
                             "metric(outputs, targets) -> float")
    return found


def _progress_bar(enabled: bool, epochs: int) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm  # a widget in Jupyter, a text bar in a terminal
    except ImportError:
        return None  # tqdm is optional (pip install 'chainrule[progress]')
    return tqdm(total=epochs, unit="epoch", desc="fit")


def fit(model: Any, X: Sequence[Any], y: Sequence[Any], loss: Union[str, Callable] = "mse",
        optimizer: Optional[Optimizer] = None, epochs: int = 100,
        batch_size: Optional[int] = None, scheduler: Any = None, clip: Optional[float] = None,
        metrics: Sequence[Any] = ("accuracy",), progress: bool = True, l2: float = 0.0,
        shuffle: bool = True, seed: Any = 0, compile: bool = False) -> History:
    """Train ``model`` on ``(X, y)`` and return the per-epoch ``History``.

    Each epoch visits the data in mini-batches of ``batch_size`` (``None``: the whole set,
    one step per epoch), shuffled with ``seed``. Per step: loss = ``loss(outputs, targets)``
    (a name in ``LOSSES`` or a function) + ``l2`` * sum p^2, backward, gradient norm clipped
    to ``clip``, ``optimizer.step()`` (default ``SGD(lr=0.1)``). After each epoch
    ``scheduler.step()``. History: ``loss`` (mean over the epoch's examples, before each
    update), each metric over the epoch's outputs, and the ``lr`` used.

    ``compile=True`` runs each step through code generated once by ``autograd.compile``
    (``make_compiled_step``): the same losses and parameters (to rounding), many times faster.
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)}; they must match")
    if not X:
        raise ValueError("fit needs at least one example")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
    loss_fn = _loss_function(loss)
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=0.1)
    if scheduler is not None and getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError("the scheduler was built for a different optimizer than the one "
                         "given to fit")
    make = make_compiled_step if compile else make_step
    step = make(model, loss_fn, optimizer, clip, l2)
    measures = _metric_functions(metrics, loss_fn)
    history = History(loss=[], **{name: [] for name in measures}, lr=[])
    rng = _rng(seed)
    bar = _progress_bar(progress, epochs)
    try:
        for _ in range(epochs):
            lr = optimizer.lr
            total, outputs, targets = 0.0, [], []
            for X_batch, y_batch in batches(X, y, batch_size, shuffle, rng):
                batch_loss, batch_outputs = step(X_batch, y_batch)
                total += batch_loss * len(X_batch)
                outputs += batch_outputs
                targets += y_batch
            history["loss"].append(total / len(X))
            for name, measure in measures.items():
                history[name].append(float(measure(outputs, targets)))
            history["lr"].append(lr)
            if scheduler is not None:
                scheduler.step()
            if bar is not None:
                bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.items() if k != "lr"},
                                refresh=False)
                bar.update(1)
            if not math.isfinite(history["loss"][-1]):
                raise FloatingPointError(
                    f"the loss became {history['loss'][-1]} at epoch {len(history['loss'])}: "
                    "lower the learning rate or clip the gradients (clip=5.0)")
    finally:
        if bar is not None:
            bar.close()
    return history

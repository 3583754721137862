"""The training loop: ``fit`` runs epochs of mini-batch steps and returns a ``History``.

One step (``make_step``) is: forward every example of the batch, loss (+ L2), zero the
gradients, ``loss.backward()``, clip, ``optimizer.step()``. It is one small function so a
faster implementation can be swapped in without touching the loop. A model that needs the
whole batch at once (it contains BatchNorm1d) is called once on the mini-batch.

Validation and early stopping: after each epoch the model is evaluated on held-out data in
evaluation mode (``val_loss``, ``val_accuracy`` ...); ``early_stopping=patience`` stops
after ``patience`` epochs without a lower ``val_loss`` and puts back the best parameters.
"""

from __future__ import annotations

import math
from functools import partial
from numbers import Real
from typing import Any, Callable, Iterable, NamedTuple, Optional, Sequence, Union

from autograd.modes import grad_enabled, no_grad
from autograd.value import Value
from nn.arguments import count, data_rng, examples, flag, number, show
from nn.data import batches, train_test_split
from nn.layers import MaskFeed, call_on_batch, flatten_sample, unflatten_sample
from nn.live import Animation, Snapshots, Watch, training_animation
from nn.loss_terms import loss_term
from nn.losses import (LOSS, bce_with_logits, cross_entropy, hinge_loss, l2_penalty,
                       mse_loss)
from nn.metrics import accuracy
from nn.optim import SGD, Optimizer, clip_grad_norm_

__all__ = ["fit", "evaluate", "make_step", "make_compiled_step", "History", "LOSSES"]

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
    metric (``history["accuracy"]``); with validation data also ``val_loss`` and one
    ``val_<metric>`` per metric. Also readable as attributes (``history.loss``)."""

    #: The decision boundary during the fit (``fit(..., snapshots=k)`` or ``live=True``).
    snapshots: Optional[Snapshots] = None

    def animation(self) -> Animation:
        """The snapshots as a self-contained HTML page with a slider, one frame per snapshot:
        shows inline in Jupyter; ``.save("moons.html")``."""
        return training_animation(self)

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
        outputs = call_on_batch(model, X_batch)
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

    The model is traced once per input size and compiled. With a built-in loss (MSE, BCE,
    hinge, cross-entropy) the loss is traced with it, one term per example with the target as
    inputs of the code (``nn.loss_terms``), so a step is the compiled forward and backward
    pass of the whole batch: an MLP's layers run as matrix products. With a loss of one's
    own, the compiled model gives the batch's outputs, ``loss_fn(outputs, targets)`` is
    computed by the engine exactly as ``make_step`` does (so any loss works: one that couples
    the examples too), and the gradients of the outputs go to the compiled backward pass.
    The L2 term is compiled too. Then clipping and ``optimizer.step()`` act on the model's
    Values as usual.

    The compiled code is a trace of one sample, so a model whose output for a sample depends
    on the rest of the batch (BatchNorm1d) is refused. Dropout works: its factors are inputs
    of the compiled code, drawn for each row by the Dropout's own generator (the masks the
    engine would draw).
    """
    from autograd.compiler import compile as compile_graph
    from autograd.compiler import compile_outputs

    _check_traceable(model)
    params = optimizer.params
    penalty = compile_graph(lambda: l2_penalty(params, l2), []) if l2 else None
    term = loss_term(loss_fn)
    # (number of features, channel lengths of a signal) -> the compiled model (and loss), the
    # Dropout calls of one sample
    programs: dict[tuple[int, Any], _Compiled] = {}

    def program_for(example: Sequence[Any], lengths: Any) -> _Compiled:
        n = len(example)
        key = (n, None if lengths is None else tuple(lengths))
        if key not in programs:
            with MaskFeed().attached(model) as feed:   # a dry run counts the Dropout factors
                out = model(unflatten_sample(list(example), lengths))
            single = isinstance(out, Value)           # one output, not a list of one
            k = 1 if single else len(out)
            factors = [1.0] * sum(size for _, size in feed.calls)

            def outputs(inputs: Sequence[Value], masks: Sequence[Value]) -> list[Value]:
                with MaskFeed(masks).attached(model):
                    found = model(unflatten_sample(list(inputs), lengths))
                return [found] if single else list(found)

            def traced(*inputs: Value) -> Any:
                return outputs(inputs[:n], inputs[n:])

            def traced_loss(*inputs: Value) -> Any:
                found = outputs(inputs[:n], inputs[n + k:])
                return term.term(found, list(inputs[n:n + k])), found

            loss_program = None if term is None else compile_graph(
                traced_loss, [*example, *[0.0] * k, *factors])
            programs[key] = _Compiled(compile_outputs(traced, [*example, *factors]),
                                      loss_program, n, single, k, feed.calls)
        return programs[key]

    def inputs(X_batch: list, draw: bool) -> tuple[_Compiled, list]:
        """The compiled programs and the input rows: features (a signal's channels one after
        the other), then the Dropout factors (fresh masks in training, 1.0 for evaluation)."""
        flat = [flatten_sample(x) if not isinstance(x, Real) else ([x], None) for x in X_batch]
        rows = [tuple(features) for features, _ in flat]
        compiled = program_for(rows[0], flat[0][1])
        if compiled.calls:
            rows = [(*row, *[f for dropout, size in compiled.calls
                             for f in (dropout.draw(size) if draw else [1.0] * size)])
                    for row in rows]
        return compiled, rows

    def shaped(compiled: _Compiled, rows: list) -> list:
        return [row[0] if compiled.single else list(row) for row in rows]

    def step(X_batch: list, y_batch: list) -> tuple[float, list]:
        compiled, rows = inputs(X_batch, draw=True)
        if compiled.loss is not None:
            return compiled_loss_step(compiled, rows, y_batch)
        forward = compiled.outputs.forward(rows)
        outputs = [[Value(v) for v in row] for row in forward.outputs]
        loss = _name_loss(loss_fn(shaped(compiled, outputs), y_batch))
        optimizer.zero_grad()
        loss.backward()
        try:
            forward.backward([[v.grad for v in row] for row in outputs])
            value = loss.data + (penalty.batch([()]) if penalty is not None else 0.0)
        except BaseException:
            optimizer.zero_grad()  # no half-accumulated gradient survives a failed step
            raise
        return finish(value, shaped(compiled, forward.outputs))

    def compiled_loss_step(compiled: _Compiled, rows: list, y_batch: list) -> tuple[float, list]:
        if len(y_batch) != len(rows):
            raise ValueError(f"{len(rows)} examples but {len(y_batch)} targets; give one target "
                             "per example")
        _check_labels(getattr(loss_fn, "__name__", "loss"), loss_fn, list(y_batch), compiled.k)
        n, k = compiled.features, compiled.k
        rows = [(*row[:n], *term.targets(t, k), *row[n:]) for row, t in zip(rows, y_batch)]
        optimizer.zero_grad()
        try:
            value, outputs = compiled.loss.batch(rows, 1.0 / term.count(len(rows), k),
                                                 extras=True)
            if penalty is not None:
                value += penalty.batch([()])
        except BaseException:
            optimizer.zero_grad()
            raise
        return finish(value, shaped(compiled, outputs))

    def finish(value: float, outputs: list) -> tuple[float, list]:
        if clip is not None:
            clip_grad_norm_(params, clip)
        optimizer.step()
        return value, outputs

    def predict(X_batch: list) -> list:
        """The outputs in evaluation mode (Dropout factors 1) as floats, for validation."""
        compiled, rows = inputs(X_batch, draw=False)
        return shaped(compiled, compiled.outputs.forward(rows).outputs)

    step.predict = predict  # type: ignore[attr-defined]
    return step


class _Compiled(NamedTuple):
    """A model compiled for one input size: the program of its outputs, the program of the
    loss traced with it (built-in losses; else None), and the Dropout calls of one sample."""

    outputs: Any
    loss: Any
    features: int      # inputs of the model
    single: bool       # the model returns one Value, not a list
    k: int             # how many outputs
    calls: list


def _check_traceable(model: Any) -> None:
    for module in model.modules() if callable(getattr(model, "modules", None)) else ():
        if module.needs_batch() and not module.named_children():   # BatchNorm1d itself
            raise ValueError(f"compile=True traces the model on one sample, but its {module!r} "
                             "normalises over the whole mini-batch (and updates its running "
                             "statistics at every step); train it with compile=False")


def _dataset(X: Any, y: Any, where: str, names: tuple[str, str] = ("X", "y")) -> tuple:
    """``(X, y)`` as lists of examples (numpy arrays accepted), checked: the same non-zero
    number of examples, every feature a finite number (the row is named otherwise)."""
    X, y = examples(X, names[0]), examples(y, names[1])
    if len(X) != len(y):
        raise ValueError(f"{where}: {names[0]} has {len(X)} examples but {names[1]} has "
                         f"{len(y)}; they must match")
    if not X:
        raise ValueError(f"{where} needs at least one example")
    for i, x in enumerate(X):
        _check_features(x, f"{names[0]}[{i}]")
    return X, y


def _check_features(x: Any, row: str) -> None:
    """Every feature of the example ``x`` (a number, a Value or nested lists of them) is a
    finite number; else the error names the row and the feature."""
    stack = [(row, x)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend((f"{where}[{j}]", w) for j, w in reversed(list(enumerate(v))))
            continue
        if isinstance(v, Value):
            v = v.data
        if isinstance(v, bool) or not isinstance(v, Real):
            raise TypeError(f"{row} is {show(x)}: a feature must be a number, but {where} is "
                            f"{type(v).__name__} {show(v)}")
        try:
            finite = math.isfinite(v)
        except OverflowError:   # an int beyond floats
            finite = False
        if not finite:
            raise ValueError(f"{row} is {show(x)}: {where} is {show(v)}, not a finite number; "
                             "remove that example or fill the missing value before training")


def _check_optimizer(model: Any, optimizer: Any) -> None:
    # an optimizer of one's own works too: it needs what make_step uses
    if not all(hasattr(optimizer, name) for name in ("params", "lr", "zero_grad", "step")):
        raise TypeError(f"fit needs an optimizer such as SGD or Adam (params, lr, zero_grad(), "
                        f"step()), got {type(optimizer).__name__} {optimizer!r:.40}")
    if callable(getattr(model, "parameters", None)):
        own = {id(p) for p in model.parameters()}
        if not any(id(p) in own for p in optimizer.params):
            raise ValueError("the optimizer holds none of this model's parameters (it was "
                             "built on another model), so fit would train nothing; build it "
                             "from this model: optimizer=SGD(model.parameters(), lr=0.1)")


def _check_scheduler(scheduler: Any, optimizer: Any) -> None:
    if scheduler is None:
        return
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must be a learning-rate scheduler such as "
                        f"StepLR(optimizer, step_size=10) (fit calls its step() after each "
                        f"epoch), got {type(scheduler).__name__} {show(scheduler)}")
    if getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError("the scheduler was built for a different optimizer than the one "
                         "given to fit")


def _output_count(model: Any, x: Any) -> int:
    """How many outputs the model gives for the sample ``x`` (one forward pass, no graph; in
    evaluation mode, so that a BatchNorm takes one sample)."""
    training = getattr(model, "training", None)
    if training:
        model.eval()
    try:
        with no_grad():
            (out,) = call_on_batch(model, [x])
    finally:
        if training:
            model.train()
    return len(out) if isinstance(out, (list, tuple)) else 1


def _is_number(t: Any) -> bool:
    return not isinstance(t, bool) and isinstance(t, Real) and math.isfinite(t)


def _label_in(labels: Sequence[int]) -> Callable[[Any], bool]:
    return lambda t: _is_number(t) and t in labels


def _check_labels(loss: Any, loss_fn: Callable, y: list, n_outputs: int,
                  where: str = "fit", name_y: str = "y") -> None:
    """Every target is one the built-in loss can take, for a model with ``n_outputs``."""
    name = f"{where}(loss={loss!r})"
    outputs = f"{n_outputs} output{'s' if n_outputs > 1 else ''}"
    if loss_fn in (bce_with_logits, hinge_loss) and n_outputs != 1:
        raise ValueError(f"{name} needs a model with one output; this model has {n_outputs} "
                         "(for classes use loss='cross_entropy')")
    if loss_fn is cross_entropy and n_outputs == 1:
        raise ValueError(f"{name} needs a model with one output per class (at least 2); this "
                         "model has 1 output: give its last layer one output per class, or "
                         "use loss='bce' with 0/1 labels")
    hint = ""
    if loss_fn is bce_with_logits:
        valid, need = _label_in((0, 1)), "labels 0 or 1"
        hint = " (convert -1/+1 labels with y = (y + 1) / 2)"
    elif loss_fn is hinge_loss:
        valid, need = _label_in((-1, 1)), "labels -1 or +1"
        hint = " (convert 0/1 labels with y = 2*y - 1)"
    elif loss_fn is cross_entropy:
        valid = _label_in(range(n_outputs))
        need = f"class indices 0..{n_outputs - 1} for the model's {outputs}"
    elif loss_fn is mse_loss and n_outputs == 1:
        valid, need = _is_number, "targets of the output's size: one output needs a number"
    elif loss_fn is mse_loss:
        def valid(t: Any) -> bool:
            return isinstance(t, (list, tuple)) and len(t) == n_outputs and \
                all(map(_is_number, t))
        need = f"targets of the output's size: {outputs} need a list of {n_outputs} numbers"
    else:
        return   # a loss function of the user's: it checks its own targets
    for i, t in enumerate(y):
        if not valid(t):
            raise ValueError(f"{name} needs {need}; {name_y}[{i}] is {t!r:.60}{hint}")


def _accuracy_encoding(loss_fn: Callable, y: list, n_outputs: int
                       ) -> Optional[tuple[str, Optional[float]]]:
    """The label encoding (and threshold) of ``accuracy`` that the loss implies; None when the
    targets are not class labels (regression)."""
    if loss_fn is hinge_loss:
        return "pm1", 0.0
    if loss_fn is bce_with_logits:
        return "01", 0.0   # logits: sigma(z) > 0.5 exactly when z > 0
    if loss_fn is cross_entropy:
        return "index", None
    # MSE or the user's own loss: the labels the whole training set is written in, decided
    # once (0/1 when every label is 0 or 1, so also when all are 1)
    if n_outputs > 1:
        return ("index", None) if all(map(_label_in(range(n_outputs)), y)) else None
    if all(map(_label_in((0, 1)), y)):
        return "01", 0.5   # regressing towards 0 and 1: the midpoint
    if all(map(_label_in((-1, 1)), y)):
        return "pm1", 0.0
    return None


def _metric_functions(metrics: Optional[Iterable[Any]],
                      encoding: Optional[tuple[str, Optional[float]]]) -> dict[str, Callable]:
    if metrics is None:
        metrics = ("accuracy",) if encoding is not None else ()
    elif isinstance(metrics, str) or callable(metrics):
        metrics = (metrics,)   # one metric: metrics="accuracy"
    elif not isinstance(metrics, (list, tuple)):
        raise TypeError(f"metrics must be a list such as ['accuracy'], got "
                        f"{type(metrics).__name__} {show(metrics)}")
    found: dict[str, Callable] = {}
    for metric in metrics:
        if metric == "accuracy":
            if encoding is None:
                raise ValueError("accuracy needs class labels, but the targets are not 0/1, "
                                 "-1/+1 or class indices (a regression?); leave metrics out, "
                                 "or pass a function metric(outputs, targets) -> float")
            found["accuracy"] = partial(accuracy, encoding=encoding[0], threshold=encoding[1])
        elif callable(metric):
            # a functools.partial(accuracy, encoding=...) is recorded as "accuracy"
            named = getattr(metric, "func", metric)
            found[getattr(named, "__name__", "metric")] = metric
        else:
            raise ValueError(f"unknown metric {metric!r}; use 'accuracy' or a function "
                             "metric(outputs, targets) -> float")
    return found


def _validation_data(X: Sequence[Any], y: Sequence[Any], validation: Any,
                     validation_split: Optional[float], rng: Any) -> tuple:
    """``X_train, y_train, X_val, y_val``: the held-out pair given, or a seeded random
    ``validation_split`` fraction of ``(X, y)`` (``X_val`` is None without validation)."""
    if validation is not None and validation_split is not None:
        raise ValueError("give validation=(X_val, y_val) or validation_split, not both")
    if validation_split is not None:
        if isinstance(validation_split, bool) or not isinstance(validation_split, float) or \
                not 0.0 < validation_split < 1.0:
            raise ValueError(f"validation_split is the fraction of the examples held out, a "
                             f"float in (0, 1) such as 0.2, got {validation_split!r}")
        X, X_val, y, y_val = train_test_split(X, y, validation_split, seed=rng)
        return X, y, X_val, y_val
    if validation is None:
        return X, y, None, None
    if not isinstance(validation, (tuple, list)) or len(validation) != 2:
        raise ValueError(f"validation must be a pair (X_val, y_val), got {show(validation)}")
    X_val, y_val = _dataset(*validation, "fit(validation=(X_val, y_val))", ("X_val", "y_val"))
    return X, y, X_val, y_val


def _evaluate(model: Any, X: Sequence[Any], y: Sequence[Any], loss_fn: Callable,
              measures: dict[str, Callable], predict: Optional[Callable] = None
              ) -> dict[str, float]:
    """``{"loss": ..., metric: ...}`` on ``(X, y)`` in evaluation mode, without a graph.

    ``predict(X)``, the outputs as floats through the compiled code of ``make_compiled_step``
    (with Dropout's factors 1: evaluation mode), replaces the engine's forward pass.
    """
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    for module, _ in modes:
        module.training = False   # Dropout off, BatchNorm's running statistics
    try:
        with no_grad():
            if predict is None:
                outputs = call_on_batch(model, X)
            else:
                outputs = [Value(o) if isinstance(o, Real) else [Value(v) for v in o]
                           for o in predict(X)]
            record = {"loss": float(loss_fn(outputs, y).data)}
    finally:
        for module, training in modes:
            module.training = training
    floats = [_floats(o) for o in outputs]
    for name, measure in measures.items():
        record[name] = float(measure(floats, y))
    return record


def evaluate(model: Any, X: Sequence[Any], y: Sequence[Any],
             loss: Union[str, Callable] = "mse") -> float:
    """The loss of ``model`` on ``(X, y)`` (mean over the examples) in evaluation mode:
    Dropout passes everything through, BatchNorm uses its running statistics; no graph is
    built and the model's mode is left as it was. ``X`` and ``y`` may be lists or numpy
    arrays; they are checked as ``fit`` checks them."""
    X, y = _dataset(X, y, "evaluate")
    loss_fn = _loss_function(loss)
    _check_labels(loss, loss_fn, y, _output_count(model, X[0]), "evaluate")
    return _evaluate(model, X, y, loss_fn, {})["loss"]


class _EarlyStopping:
    """Watches ``val_loss``: remembers the state of the best epoch, says when to stop."""

    def __init__(self, patience: Any, restore_best: bool, model: Any) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"early_stopping is the patience, how many epochs without a lower "
                             f"val_loss to wait before stopping: an int >= 1, got {patience!r}")
        if restore_best and not hasattr(model, "load_state_dict"):
            raise TypeError("restore_best=True needs a model with state_dict() and "
                            "load_state_dict() (an nn.Module); pass restore_best=False")
        self.patience = patience
        self.restore_best = restore_best
        self.best = math.inf
        self.best_epoch = 0
        self.best_state: Optional[dict] = None

    def should_stop(self, epoch: int, val_loss: float, model: Any) -> bool:
        """Record epoch ``epoch`` (1-based); True once ``patience`` epochs passed without a
        lower ``val_loss`` than the best so far."""
        if val_loss < self.best:
            self.best, self.best_epoch = val_loss, epoch
            if self.restore_best:
                self.best_state = model.state_dict()
        return epoch - self.best_epoch >= self.patience

    def restore(self, model: Any) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


def _progress_bar(enabled: bool, epochs: int) -> Any:
    if not enabled:
        return None
    from autograd.optional import optional

    bars = optional("tqdm.auto")  # a widget in Jupyter, a text bar in a terminal
    if bars is None:
        return None  # tqdm is optional (pip install 'chainrule[progress]')
    return bars.tqdm(total=epochs, unit="epoch", desc="fit")


def fit(model: Any, X: Sequence[Any], y: Sequence[Any], loss: Union[str, Callable] = "mse",
        optimizer: Optional[Optimizer] = None, epochs: int = 100,
        batch_size: Optional[int] = None, scheduler: Any = None, clip: Optional[float] = None,
        metrics: Optional[Sequence[Any]] = None, progress: bool = True, l2: float = 0.0,
        shuffle: bool = True, seed: Any = 0, compile: bool = False,
        validation: Optional[tuple[Sequence[Any], Sequence[Any]]] = None,
        validation_split: Optional[float] = None, early_stopping: Optional[int] = None,
        restore_best: bool = True, live: bool = False, live_every: Optional[int] = None,
        snapshots: Optional[int] = None) -> History:
    """Train ``model`` on ``(X, y)`` and return the per-epoch ``History``.

    Each epoch visits the data in mini-batches of ``batch_size`` (``None``: the whole set,
    one step per epoch), shuffled with ``seed``. Per step: loss = ``loss(outputs, targets)``
    (a name in ``LOSSES`` or a function) + ``l2`` * sum p^2, backward, gradient norm clipped
    to ``clip``, ``optimizer.step()`` (default ``SGD(lr=0.1)``). After each epoch
    ``scheduler.step()``. History: ``loss`` (mean over the epoch's examples, before each
    update), each metric over the epoch's outputs, and the ``lr`` used.

    ``X`` and ``y`` may be lists or numpy arrays. Before any step, every argument is checked
    (inside ``no_grad()`` fit refuses to run); every feature of ``X`` must be a finite number
    (the row is named otherwise); the targets are checked against the loss: ``bce`` labels 0/1, ``hinge`` -1/+1 (one output), ``cross_entropy``
    class indices below the model's output count, ``mse`` numbers (lists of the output's
    size). ``metrics`` (default: ``accuracy`` when the targets are class labels; a list, or
    one metric) may name
    ``"accuracy"``, whose label encoding the loss gives (``nn.metrics``): hinge -1/+1 split at
    0, bce 0/1 logits split at 0, cross-entropy argmax; MSE (or a loss function of your own)
    on 0/1 labels splits at 0.5, on -1/+1 labels at 0, on class indices takes the argmax.

    ``compile=True`` runs each step through code generated once by ``autograd.compile``
    (``make_compiled_step``): the same losses and parameters (to rounding), many times faster.
    Dropout works compiled (the masks are inputs of the generated code); BatchNorm1d, which
    needs the whole batch, does not, and is refused with a message.

    The model is put in training mode (``model.train()``) and left in it. With
    ``validation=(X_val, y_val)``, or ``validation_split`` (a seeded random fraction of
    ``(X, y)`` held out), each epoch ends with the loss and metrics on the validation set in
    evaluation mode: ``history["val_loss"]``, ``history["val_accuracy"]`` ...
    ``early_stopping=patience`` stops after ``patience`` epochs in a row without a lower
    ``val_loss`` than the best so far; ``restore_best`` then loads the parameters (and
    buffers) of the best epoch back into the model.

    ``live=True`` in Jupyter redraws the curves and, for 2-D inputs, the decision boundary in
    one output every ``live_every`` epochs (by default often enough to take about a fifth of
    the time); outside Jupyter it prints a note and shows the progress bar.
    ``snapshots=k`` records the decision boundary every k epochs (``live=True`` at each
    redraw) for ``history.animation()``. Neither changes the training: the boundary is
    predicted in evaluation mode, and every module's mode, running statistics and random
    generator are left as they were (``nn.plot.looking_only``), so the losses and parameters
    are the same, bit for bit, with or without them.
    """
    # Every argument is checked here, before the first step.
    if not grad_enabled():
        raise RuntimeError("fit trains by backpropagation, which no_grad() turns off: every "
                           "step would leave the parameters as they are; call fit outside "
                           "the no_grad block")
    X, y = _dataset(X, y, "fit")
    epochs = count(epochs, "epochs", low=0)
    if batch_size is not None:
        batch_size = count(batch_size, "batch_size")
    for name, value in (("progress", progress), ("shuffle", shuffle), ("compile", compile),
                        ("restore_best", restore_best)):   # live: Watch says live_every=k
        flag(value, name)
    l2 = number(l2, "l2")
    if clip is not None:
        clip = number(clip, "clip")
    loss_fn = _loss_function(loss)
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=0.1)
    else:
        _check_optimizer(model, optimizer)
    _check_scheduler(scheduler, optimizer)
    rng = data_rng(seed)
    X, y, X_val, y_val = _validation_data(X, y, validation, validation_split, rng)
    if early_stopping is not None and X_val is None:
        raise ValueError("early_stopping watches the validation loss: give validation=(X_val, "
                         "y_val) or validation_split=0.2")
    stopper = _EarlyStopping(early_stopping, restore_best, model) \
        if early_stopping is not None else None
    if callable(getattr(model, "train", None)):
        model.train()
    n_outputs = _output_count(model, X[0])
    for targets, name_y in ((y, "y"), (y_val or [], "y_val")):
        _check_labels(loss, loss_fn, targets, n_outputs, name_y=name_y)
    encoding = _accuracy_encoding(loss_fn, y, n_outputs)
    measures = _metric_functions(metrics, encoding)
    make = make_compiled_step if compile else make_step
    step = make(model, loss_fn, optimizer, clip, l2)
    history = History(loss=[], **{name: [] for name in measures}, lr=[])
    if X_val is not None:
        history.update({f"val_{name}": [] for name in ["loss", *measures]})
    watch = Watch(model, X, y, encoding, n_outputs, epochs, live, live_every, snapshots)
    bar = _progress_bar(progress and not watch.shows, epochs)
    try:
        watch(history)
        for epoch in range(1, epochs + 1):
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
            if X_val is not None:
                record = _evaluate(model, X_val, y_val, loss_fn, measures,
                                   getattr(step, "predict", None))
                for name, value in record.items():
                    history[f"val_{name}"].append(value)
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
            watch(history)
            if stopper is not None and stopper.should_stop(epoch, history["val_loss"][-1],
                                                           model):
                break
    finally:
        if bar is not None:
            bar.close()
    if stopper is not None:
        stopper.restore(model)
    history.snapshots = watch.snapshots
    return history

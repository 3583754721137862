"""Pictures of training with matplotlib (imported lazily: ``pip install 'chainrule[plot]'``),
and how a picture looks at a model without changing it (``looking_only``)."""

from __future__ import annotations

import contextlib
import random
from typing import Any, Iterator, Optional, Sequence

from autograd.modes import no_grad
from autograd.value import Value
from nn.arguments import examples
from nn.layers import call_on_batch

__all__ = ["plot_decision_boundary", "plot_history"]


def _pyplot() -> Any:
    from autograd.optional import require

    return require("matplotlib.pyplot", "nn.plot")


def _predict(model: Any, x: list[float]) -> Any:
    fast = getattr(model, "forward_floats", None)
    if fast is not None:
        return fast(x)
    with no_grad():
        out = model(x)
    return out.data if isinstance(out, Value) else [v.data for v in out]


def _grid_axes(X: Sequence[Sequence[float]], resolution: int) -> tuple[list[float], list[float]]:
    """``resolution`` evenly spaced x and y coordinates over the data's range plus a margin."""
    xs = [p[0] for p in X]
    ys = [p[1] for p in X]
    margin_x = 0.1 * (max(xs) - min(xs)) + 0.25
    margin_y = 0.1 * (max(ys) - min(ys)) + 0.25
    x0, x1 = min(xs) - margin_x, max(xs) + margin_x
    y0, y1 = min(ys) - margin_y, max(ys) + margin_y
    n = max(int(resolution), 2)
    return ([x0 + (x1 - x0) * i / (n - 1) for i in range(n)],
            [y0 + (y1 - y0) * j / (n - 1) for j in range(n)])


def _predicted_class(output: Any, threshold: float) -> int:
    """Argmax of several scores; for one score, 1 where score > ``threshold``, else 0."""
    if isinstance(output, list) and len(output) == 1:
        output = output[0]
    if isinstance(output, list):
        return max(range(len(output)), key=output.__getitem__)
    return 1 if output > threshold else 0


def predicted_classes(model: Any, points: Sequence[Sequence[float]],
                      threshold: float) -> list[int]:
    """The class ``model`` predicts at each point (see ``_predicted_class``), in evaluation
    mode (Dropout off, BatchNorm's running statistics), leaving the model exactly as it was
    (``looking_only``)."""
    with looking_only(model):
        if getattr(model, "needs_batch", lambda: False)():  # BatchNorm: one call, all rows
            with no_grad():
                outputs = [o.data if isinstance(o, Value) else [v.data for v in o]
                           for o in call_on_batch(model, points)]
        else:
            outputs = [_predict(model, list(point)) for point in points]
    return [_predicted_class(o, threshold) for o in outputs]


@contextlib.contextmanager
def looking_only(model: Any) -> Iterator[None]:
    """Evaluation mode for a look at ``model`` that leaves no trace on the training: every
    module's mode, buffers (BatchNorm's running statistics) and random generators (Dropout's,
    and the global ``random``) are as they were afterwards, so a fit gives the same numbers,
    bit for bit, with or without snapshots and the live view."""
    modules = model.modules() if callable(getattr(model, "modules", None)) else []
    modes = [(m, m.training) for m in modules]
    # each buffer as it is (the same object) and its numbers
    buffers = [(m, name, getattr(m, name), _copy(getattr(m, name)))
               for m in modules for name in m.buffer_names]
    generators = [(g, g.getstate()) for m in modules for g in vars(m).values()
                  if isinstance(g, random.Random)]
    global_state = random.getstate()
    for module in modules:
        module.training = False
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training
        for module, name, value, numbers in buffers:
            if isinstance(value, list):
                value[:] = numbers
            setattr(module, name, value)
        for generator, state in generators:
            generator.setstate(state)
        random.setstate(global_state)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _grid_classes(model: Any, gx: Sequence[float], gy: Sequence[float],
                  threshold: float) -> list[list[int]]:
    """The class ``model`` predicts at each grid point: ``grid[j][i]`` at ``(gx[i], gy[j])``."""
    classes = predicted_classes(model, [[a, b] for b in gy for a in gx], threshold)
    return [classes[j * len(gx):(j + 1) * len(gx)] for j in range(len(gy))]


def plot_decision_boundary(model: Any, X: Sequence[Sequence[float]], y: Sequence[Any],
                           resolution: int = 80, ax: Any = None,
                           threshold: Optional[float] = None) -> Any:
    """Colour the plane by the class ``model`` predicts and scatter the data on top.

    One output: class 1 where score > ``threshold`` (0 by default: the sign, for hinge or
    logits; pass 0.5 for a sigmoid output). Several outputs: the argmax. The grid is
    ``resolution`` x ``resolution`` points over the data's range plus a margin. ``X`` and ``y``
    may be lists or numpy arrays. Returns the Axes. The model predicts in evaluation mode and
    is left exactly as it was (``looking_only``): drawing never changes a training.
    """
    plt = _pyplot()
    X, y = examples(X, "X"), examples(y, "y")   # numpy arrays too
    if not X or len(X) != len(y):
        raise ValueError(f"plot_decision_boundary needs matching non-empty X and y, got "
                         f"{len(X)} and {len(y)} examples")
    gx, gy = _grid_axes(X, resolution)
    grid = _grid_classes(model, gx, gy, 0.0 if threshold is None else threshold)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(gx, gy, grid, levels=max(max(map(max, grid)), 1) + 1, cmap="Spectral",
                alpha=0.6)
    ax.scatter([p[0] for p in X], [p[1] for p in X], c=list(y), cmap="Spectral", s=25,
               edgecolors="k", linewidths=0.5)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    ax.set_title("decision boundary")
    return ax


def plot_history(history: Any, keys: Optional[Sequence[str]] = None) -> Any:
    """One panel per record of a ``fit`` history (loss, metrics, lr) against the epoch.
    Returns the Figure."""
    plt = _pyplot()
    names = list(keys) if keys is not None else [k for k in history if history[k]]
    if not names:
        raise ValueError("plot_history: the history is empty (train for at least one epoch)")
    missing = [k for k in names if k not in history]
    if missing:
        raise KeyError(f"plot_history: no record {missing}; the history has {list(history)}")
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = history[name]
        ax.plot(range(1, len(values) + 1), values)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        if name == "loss" and values and min(values) > 0:
            ax.set_yscale("log")
    fig.tight_layout()
    return fig

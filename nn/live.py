"""Watch a network learn: ``fit(..., live=True)`` redraws the training curves and the decision
boundary in one Jupyter output, and ``history.animation()`` replays the boundary's snapshots.

Nothing heavy is imported here: IPython and matplotlib load only when a live view is shown.
A snapshot stores the class the model predicts at each point of a ``GRID`` x ``GRID`` lattice,
one byte per point (never a graph), so each snapshot costs ``GRID**2`` bytes.
"""

from __future__ import annotations

import io
import math
import os
import sys
import time
from typing import Any, Optional, Sequence, Union

from autograd.display import format_number
from autograd.html_page import HtmlPage, fill_page
from nn.plot import _grid_axes, predicted_classes

__all__ = ["Animation", "DecisionGrid", "Snapshots", "Watch", "in_jupyter",
           "training_animation"]

PathLike = Union[str, "os.PathLike[str]"]

#: Grid points per axis of a decision-boundary snapshot (GRID**2 forward passes each).
GRID = 40
#: Class k is drawn in PALETTE[k]; a boundary is drawn for at most this many classes.
PALETTE = ("#d7301f", "#2c7fb8", "#31a354", "#fe9929", "#756bb1", "#8c510a", "#e7298a",
           "#66a61e", "#636363", "#17becf")
#: The share of the time the live view takes when ``live_every`` is left out.
OVERHEAD = 0.2


def in_jupyter() -> bool:
    """True inside an IPython kernel (Jupyter, JupyterLab, VS Code, Colab); False in a script,
    a terminal or a terminal IPython, which cannot show an updating picture."""
    ipython = sys.modules.get("IPython")  # a kernel has imported it long before fit runs
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _note(text: str) -> None:
    print(text, file=sys.stderr)


# ---------------------------------------------------------------- the decision boundary

class DecisionGrid:
    """A ``GRID`` x ``GRID`` lattice over 2-D training data, and the class a model predicts
    at each of its points: class 1 where score > ``threshold`` for one output, the argmax
    of several."""

    def __init__(self, X: Sequence[Sequence[float]], classes: list[int], n_classes: int,
                 threshold: float) -> None:
        self.xs, self.ys = _grid_axes(X, GRID)
        self.points = [(float(x[0]), float(x[1])) for x in X]
        self.classes = classes          # each example's class index (its colour)
        self.n_classes = n_classes
        self.threshold = threshold

    def predict(self, model: Any) -> bytes:
        """The class ``model`` predicts at each grid point, row by row: entry ``j * GRID + i``
        is the point ``(xs[i], ys[j])``. In evaluation mode, leaving the model exactly as it
        was (``nn.plot.looking_only``)."""
        points = [[x, y] for y in self.ys for x in self.xs]
        return bytes(predicted_classes(model, points, self.threshold))


def _decision_grid(X: Sequence[Any], y: Sequence[Any], encoding: Any,
                   n_outputs: int) -> tuple[Optional[DecisionGrid], str]:
    """The grid for a fit on ``(X, y)``, or None and the reason there is no boundary to draw.

    ``encoding`` is how ``fit`` reads the labels for its accuracy (``nn.train``): ``(name,
    threshold)`` with name ``pm1`` or ``01`` for one score, ``index`` for class scores, or
    None when the targets are not class labels.
    """
    dims = {len(x) if hasattr(x, "__len__") else 1 for x in X}
    if dims != {2}:
        return None, f"the inputs have {'/'.join(map(str, sorted(dims)))} features, not 2"
    if encoding is None:
        return None, "the targets are not class labels (0/1, -1/+1 or class indices)"
    name, threshold = encoding
    if name != "index":
        return DecisionGrid(X, [1 if t == 1 else 0 for t in y], 2, threshold), ""
    if n_outputs > len(PALETTE):
        return None, f"the model has {n_outputs} outputs; a boundary is drawn for at most " \
                     f"{len(PALETTE)} classes"
    return DecisionGrid(X, [int(t) for t in y], n_outputs, 0.0), ""


class Snapshots:
    """The decision boundary during one fit: ``frames`` is a list of ``(epoch, classes)``,
    ``classes`` what ``grid.predict(model)`` gave after that many epochs (0: before training)."""

    def __init__(self, grid: DecisionGrid) -> None:
        self.grid = grid
        self.frames: list[tuple[int, bytes]] = []

    @property
    def epochs(self) -> list[int]:
        return [epoch for epoch, _ in self.frames]

    def __len__(self) -> int:
        return len(self.frames)

    def __repr__(self) -> str:
        return f"<Snapshots: {len(self)} decision boundaries at epochs {self.epochs}>"


# ---------------------------------------------------------------- the live view

def _panels(history: Any) -> list[list[str]]:
    """One panel per record except the learning rate; ``val_x`` joins ``x``'s panel."""
    names = [k for k in history if k != "lr" and not k.startswith("val_")]
    return [[k] + ([f"val_{k}"] if f"val_{k}" in history else []) for k in names]


def _status(history: Any, epoch: int, epochs: int) -> str:
    if epoch == 0:
        return f"before training (epoch 0 of {epochs})"
    records = " · ".join(f"{k} {format_number(v[epoch - 1])}" for k, v in history.items()
                         if k != "lr" and len(v) >= epoch)
    return f"after epoch {epoch} of {epochs} · {records}"


class LiveFigure:
    """The live view's picture: one panel per training curve and, when the data allow, the
    decision boundary; ``draw`` updates it in place and returns it as PNG."""

    def __init__(self, history: Any, epochs: int, grid: Optional[DecisionGrid]) -> None:
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure  # not pyplot: the inline backend must not show it
        from matplotlib.ticker import MaxNLocator

        self.epochs = epochs
        panels = _panels(history)
        count = len(panels) + (grid is not None)
        # fixed margins and few tick labels: text layout is most of a redraw's cost
        width = 3.3 * count
        self.figure = Figure(figsize=(width, 3.2), dpi=90)
        self.figure.subplots_adjust(left=0.6 / width, right=1 - 0.15 / width, bottom=0.15,
                                    top=0.82, wspace=0.3)
        axes = self.figure.subplots(1, count, squeeze=False)[0]
        self.panels = []  # (axes, [(record name, its line)], whether its y range follows them)
        for ax, names in zip(axes, panels):
            fraction = names[0].endswith("accuracy")
            self.panels.append((ax, [(name, ax.plot([], [], label=name)[0]) for name in names],
                                not fraction))
            ax.set_title(names[0])
            ax.set_xlabel("epoch")
            ax.set_xlim(0, max(epochs, 1))
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
            ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
            if fraction:  # the whole scale: a rise from 0.5 to 0.6 is not magnified
                ax.set(ylim=(-0.02, 1.02), yticks=[0, 0.25, 0.5, 0.75, 1])
            if len(names) > 1:
                ax.legend(loc="upper right", fontsize="small")
        self.image = None
        if grid is not None:
            ax = axes[-1]
            xs, ys = grid.xs, grid.ys
            dx, dy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2  # cells centred on the points
            colours = PALETTE[:grid.n_classes]
            self.image = ax.imshow(
                [[0] * GRID] * GRID, origin="lower", aspect="auto", interpolation="nearest",
                extent=(xs[0] - dx, xs[-1] + dx, ys[0] - dy, ys[-1] + dy), alpha=0.35,
                cmap=ListedColormap(colours), vmin=-0.5, vmax=grid.n_classes - 0.5)
            ax.scatter([p[0] for p in grid.points], [p[1] for p in grid.points],
                       c=[colours[k] for k in grid.classes], s=16, edgecolors="k",
                       linewidths=0.5)
            ax.set(title="decision boundary", xticks=[], yticks=[])

    @staticmethod
    def _log_scale(ax: Any) -> None:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        if ax.get_yscale() != "log":
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            # plain labels (1, 0.5, 0.2): TeX-like ones (10^-1) take long to lay out
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_number(v)))
            ax.yaxis.set_minor_formatter(NullFormatter())

    def draw(self, history: Any, epoch: int, classes: Optional[bytes]) -> bytes:
        """The picture after ``epoch`` epochs: curves so far and the boundary ``classes``."""
        for ax, lines, autoscale in self.panels:
            for name, line in lines:
                values = history.get(name, [])[:epoch]
                line.set_data(range(1, len(values) + 1), values)
            if autoscale:
                # a loss spans decades: log scale, as plot_history draws it
                shown = [v for name, _ in lines for v in history.get(name, [])[:epoch]]
                if lines[0][0] == "loss" and shown and min(shown) > 0:
                    self._log_scale(ax)
                ax.relim()
                ax.autoscale_view(scalex=False)
        if self.image is not None and classes is not None:
            self.image.set_data([list(classes[j * GRID:(j + 1) * GRID]) for j in range(GRID)])
        self.figure.suptitle(_status(history, epoch, self.epochs), fontsize="medium")
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


def _every(value: Any, name: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"fit({name}=...) must be a whole number of epochs >= 1 or None, "
                         f"got {value!r:.40}")
    return value


class Watch:
    """``fit``'s per-epoch callback: ``watch(history)``, called before the first epoch and
    after each one, records a snapshot and redraws the live view when they are due.

    ``live=True`` shows the picture in one Jupyter output, redrawn before training, every
    ``live_every`` epochs and after the last; by default as often as keeps drawing to about
    ``OVERHEAD`` of the time: after a redraw that took r seconds, the next waits for
    r * (1 - OVERHEAD) / OVERHEAD seconds of training and comes at the end of that epoch.
    Outside a kernel it prints a one-line note and the progress bar shows the training.
    ``snapshots=k`` records the decision boundary every k epochs; without it, ``live=True``
    records it at every redraw. Nothing here touches the training (``looking_only``): the
    history and the parameters are the same, bit for bit, with or without them.
    """

    def __init__(self, model: Any, X: Sequence[Any], y: Sequence[Any], encoding: Any,
                 n_outputs: int, epochs: int, live: bool = False,
                 live_every: Optional[int] = None, snapshots: Optional[int] = None) -> None:
        if not isinstance(live, bool):
            raise ValueError(f"fit(live=...) must be True or False, got {live!r:.40}; to "
                             "redraw every k epochs pass live_every=k")
        self.model = model
        self.epochs = epochs
        self.redraw_every = _every(live_every, "live_every")
        self.snapshot_every = _every(snapshots, "snapshots")
        self.grid: Optional[DecisionGrid] = None
        if live or snapshots:
            self.grid, reason = _decision_grid(X, y, encoding, n_outputs)
            if snapshots and self.grid is None:
                raise ValueError(f"fit(snapshots={snapshots}) records the decision boundary, "
                                 f"which needs 2-D inputs and class labels, but {reason}; "
                                 "use live=True to watch the training curves")
        self.shows = live and self._can_show()
        wanted = snapshots is not None or self.shows
        self.snapshots = Snapshots(self.grid) if self.grid is not None and wanted else None
        self.figure: Optional[LiveFigure] = None
        self.display: Any = None        # the Jupyter output that shows the picture
        self.next_redraw = 0.0          # perf_counter() time before which a redraw waits

    def _can_show(self) -> bool:
        if not in_jupyter():
            _note("fit(live=True): not in a Jupyter kernel, so no live view; the progress "
                  "bar shows the training instead")
            return False
        from autograd.optional import install_hint, optional

        if optional("IPython.display") is None or optional("matplotlib") is None:
            _note(f"fit(live=True): the live view needs matplotlib ({install_hint('matplotlib')}"
                  "); the progress bar shows the training instead")
            return False
        return True

    def __call__(self, history: Any) -> None:
        epoch = history.epochs
        ends = epoch in (0, self.epochs)
        redraw = self.shows and (ends or (epoch % self.redraw_every == 0
                                          if self.redraw_every else
                                          time.perf_counter() >= self.next_redraw))
        record = self.snapshots is not None and (
            (ends or epoch % self.snapshot_every == 0) if self.snapshot_every else redraw)
        if not (record or redraw):
            return
        if redraw and self.figure is None:  # made once, not counted in a redraw's cost
            self.figure = LiveFigure(history, self.epochs, self.grid)
        start = time.perf_counter()
        classes = self.grid.predict(self.model) if self.grid is not None else None
        if record:
            self.snapshots.frames.append((epoch, classes))
        if redraw:
            self._show(self.figure.draw(history, epoch, classes))
            now = time.perf_counter()
            self.next_redraw = now + (now - start) * (1 - OVERHEAD) / OVERHEAD

    def _show(self, png: bytes) -> None:
        from IPython.display import Image, display

        image = Image(data=png, format="png")
        if self.display is None:
            self.display = display(image, display_id=True)
        else:
            self.display.update(image)


# ---------------------------------------------------------------- the animation

class Animation(HtmlPage):
    """The decision boundary at each snapshot of a fit, with the training curves, as one
    self-contained HTML page (a slider and Play, no network): shows inline in Jupyter,
    ``.save("moons.html")`` writes it. ``frames`` are the snapshots' ``(epoch, classes)``."""

    kind = "animations"
    title = "training animation"

    def __init__(self, page: str, frames: list[tuple[int, bytes]]) -> None:
        super().__init__(page)
        self.frames = frames

    def __repr__(self) -> str:
        epochs = [epoch for epoch, _ in self.frames]
        return f"<Animation: {len(epochs)} frames, epochs {epochs[0]} to {epochs[-1]}>"


def _finite_or_none(x: float) -> Optional[float]:
    return x if math.isfinite(x) else None


def training_animation(history: Any) -> Animation:
    """The decision-boundary snapshots of ``history`` (from ``fit(..., snapshots=k)`` or
    ``fit(..., live=True)``) as an HTML animation with a slider, one frame per snapshot."""

    snapshots = getattr(history, "snapshots", None)
    if not snapshots:
        raise ValueError("this history has no decision-boundary snapshots: train with "
                         "fit(..., snapshots=k) or fit(..., live=True) on 2-D inputs with "
                         "class labels")
    grid = snapshots.grid
    epochs = history.epochs
    curves = []
    for names in _panels(history):
        for name in names:
            values = [_finite_or_none(v) for v in history[name]]
            shown = [v for v in values if v is not None]
            curves.append({"name": name, "values": values,
                           "log": name.endswith("loss") and bool(shown) and min(shown) > 0,
                           "range": [0, 1] if name.endswith("accuracy") else None})
    data = {
        "grid": {"n": GRID, "x": [grid.xs[0], grid.xs[-1]], "y": [grid.ys[0], grid.ys[-1]]},
        "palette": PALETTE[:grid.n_classes],
        "points": [[x, y, k] for (x, y), k in zip(grid.points, grid.classes)],
        "epochs": epochs,
        "curves": curves,
        "frames": [{"epoch": epoch, "classes": "".join(map(str, classes)),
                    "text": _status(history, epoch, epochs)}
                   for epoch, classes in snapshots.frames],
    }
    count = len(snapshots)
    title = f"The decision boundary while training: {count} snapshot{'s' * (count != 1)}"
    page = fill_page("nn", "animation", title, data)
    return Animation(page, list(snapshots.frames))

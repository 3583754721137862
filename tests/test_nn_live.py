"""Watching a network learn: fit(live=True) in a real Jupyter kernel, snapshots and the HTML
animation (frames equal the model's predictions), the fallback outside Jupyter."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from conftest import page_data, require_module
from hypothesis import given, settings
from hypothesis import strategies as st

import nn.live
from nn import MLP, SGD, Adam, BatchNorm1d, Dropout, Linear, ReLU, Sequential, data, fit
from nn.live import GRID, in_jupyter

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- in a real kernel

LIVE_CELLS = [
    # 2-D moons: curves and the decision boundary, redrawn at epochs 0, 2, 4 and the last, 5
    """
from nn import MLP, data, fit
X, y = data.make_moons(30, noise=0.1, seed=0, labels="pm1")
history = fit(MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=5, live=True, live_every=2)
assert history.snapshots.epochs == [0, 2, 4, 5], history.snapshots
""",
    # 3 inputs, regression: curves only, redrawn often enough to take about a fifth of the time
    """
X = [[0.1 * i, 0.2, -0.1 * i] for i in range(8)]
y = [0.5 * i for i in range(8)]
history = fit(MLP(3, [3, 1], seed=0), X, y, loss="mse", epochs=12, metrics=(), live=True)
assert history.snapshots is None and history.epochs == 12
""",
]


@pytest.mark.slow
def test_live_view_in_a_kernel_updates_one_display_in_place():
    """One display_data output per fit, then update_display_data messages for the same
    display id (nbclient folds them into that output, so the messages are counted here)."""
    require_module("matplotlib")
    require_module("ipykernel")
    nbformat = require_module("nbformat")
    from nbclient import NotebookClient

    class Recording(NotebookClient):
        def process_message(self, msg, cell, cell_index):
            content = msg["content"]
            if msg["msg_type"] in ("display_data", "update_display_data"):
                display_id = (content.get("transient") or {}).get("display_id")
                png = base64.b64decode(content["data"]["image/png"])
                assert png.startswith(b"\x89PNG"), "each redraw is a PNG picture"
                messages.append((cell_index, msg["msg_type"], display_id))
            return super().process_message(msg, cell, cell_index)

    messages: list = []
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                               for source in LIVE_CELLS])
    # the kernel runs in the repository, so it imports this checkout's nn
    Recording(notebook, timeout=120, resources={"metadata": {"path": str(ROOT)}}).execute()

    for index, cell in enumerate(notebook.cells):
        assert [o.output_type for o in cell.outputs] == ["display_data"], \
            "one output per fit: no new picture per epoch, no progress bar"
        kinds = [kind for i, kind, _ in messages if i == index]
        ids = {display_id for i, _, display_id in messages if i == index}
        assert kinds[0] == "display_data" and len(ids) == 1 and None not in ids
        assert set(kinds[1:]) == {"update_display_data"}
        if index == 0:
            assert len(kinds) == 4        # shown before training, redrawn at epochs 2, 4, 5
        else:
            assert 2 <= len(kinds) <= 13  # before training and at the end at least
    assert messages[0][2] != messages[-1][2], "each fit has its own display"


# ---------------------------------------------------------------- outside Jupyter

def test_outside_jupyter_live_prints_one_note_and_trains_identically(capsys):
    X, y = data.make_moons(20, noise=0.1, seed=0, labels="pm1")
    runs = []
    for live in (False, True):
        model = MLP(2, [4, 1], seed=0)
        history = fit(model, X, y, loss="hinge", optimizer=Adam(model.parameters(), lr=0.05),
                      epochs=4, batch_size=8, progress=False, live=live)
        runs.append((history, model.state_dict(), capsys.readouterr().err))
    (plain, plain_state, quiet), (live, live_state, note) = runs
    assert live == plain and live_state == plain_state
    assert quiet == ""
    assert note.count("\n") == 1 and note.startswith("fit(live=True): not in a Jupyter kernel")
    assert live.snapshots is None


def test_a_script_with_live_loads_neither_ipython_nor_matplotlib():
    code = ("import sys; from nn import MLP, fit; "
            "fit(MLP(2, [2, 1], seed=0), [[0.0, 1.0], [1.0, 0.0]], [1, -1], loss='hinge', "
            "epochs=2, progress=False, live=True); "
            "print([m for m in ('IPython', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
    assert len(out.stderr.splitlines()) == 1 and "progress bar" in out.stderr


class _Shell:
    pass


class _KernelShell:
    kernel = object()


@pytest.mark.parametrize("module, expected", [
    (None, False),                                            # a plain script
    (types.SimpleNamespace(get_ipython=lambda: None), False),  # IPython imported, no shell
    (types.SimpleNamespace(get_ipython=_Shell), False),        # terminal IPython
    (types.SimpleNamespace(get_ipython=_KernelShell), True),   # Jupyter, VS Code, Colab
])
def test_in_jupyter_means_an_ipython_kernel(monkeypatch, module, expected):
    if module is None:
        monkeypatch.delitem(sys.modules, "IPython", raising=False)
    else:
        monkeypatch.setitem(sys.modules, "IPython", module)
    assert in_jupyter() is expected


# ---------------------------------------------------------------- snapshots and the animation

def _moons(n=24):
    return data.make_moons(n, noise=0.1, seed=0, labels="pm1")


def _blobs():
    return data.make_blobs(24, centers=3, seed=0)


def _moons01():
    return data.make_moons(24, noise=0.1, seed=0, labels="01")


# loss, data, last layer, the class an output predicts (written out here, not taken from nn)
TASKS = {
    "hinge, -1/+1": ("hinge", _moons, 1, lambda out: int(out > 0)),
    "bce logits, 0/1": ("bce", _moons01, 1, lambda out: int(out > 0)),
    "mse, 0/1": ("mse", _moons01, 1, lambda out: int(out > 0.5)),
    "cross-entropy, 3 classes": ("cross_entropy", _blobs, 3,
                                 lambda out: max(range(3), key=out.__getitem__)),
}


@pytest.mark.parametrize("task", TASKS)
def test_each_frame_is_the_models_prediction_with_that_epochs_parameters(task):
    loss, make_data, outputs, predicted = TASKS[task]
    X, y = make_data()
    model = MLP(2, [5, outputs], seed=3)
    history = fit(model, X, y, loss=loss, optimizer=SGD(model.parameters(), lr=0.5),
                  epochs=7, shuffle=False, progress=False, snapshots=3)
    page = page_data(history.animation().html)
    assert [f["epoch"] for f in page["frames"]] == history.snapshots.epochs == [0, 3, 6, 7]

    # the same training one epoch at a time: the parameters after each epoch
    replay = MLP(2, [5, outputs], seed=3)
    optimizer = SGD(replay.parameters(), lr=0.5)
    (x0, x1), (y0, y1), n = page["grid"]["x"], page["grid"]["y"], page["grid"]["n"]
    points = [(x0 + (x1 - x0) * i / (n - 1), y0 + (y1 - y0) * j / (n - 1))
              for j in range(n) for i in range(n)]
    seen = set()
    for epoch in range(8):
        if epoch:
            fit(replay, X, y, loss=loss, optimizer=optimizer, epochs=1, shuffle=False,
                progress=False)
        frame = next((f for f in page["frames"] if f["epoch"] == epoch), None)
        if frame is None:
            continue
        expected = "".join(str(predicted(replay.forward_floats(list(p)))) for p in points)
        assert frame["classes"] == expected, f"frame of epoch {epoch}"
        seen.add(expected)
    assert replay.state_dict() == model.state_dict()
    assert len(seen) > 1, "the boundary moves during training (else this test proves little)"
    assert [p[2] for p in page["points"]] == [t if outputs > 1 else int(t == 1) for t in y]


@settings(max_examples=15)
@given(epochs=st.integers(0, 9), every=st.integers(1, 10), batch=st.sampled_from([None, 3]))
def test_snapshots_at_0_every_k_and_the_last_epoch_change_nothing(epochs, every, batch):
    X, y = _moons(8)
    runs = []
    for snapshots in (None, every):
        model = MLP(2, [2, 1], seed=1)
        history = fit(model, X, y, loss="hinge", epochs=epochs, batch_size=batch,
                      progress=False, snapshots=snapshots)
        runs.append((history, model.state_dict()))
    (plain, plain_state), (recorded, recorded_state) = runs
    assert recorded == plain and recorded_state == plain_state
    expected = sorted({0, epochs} | set(range(0, epochs + 1, every)))
    assert recorded.snapshots.epochs == expected
    assert all(len(classes) == GRID * GRID for _, classes in recorded.snapshots.frames)
    page = page_data(recorded.animation().html)
    assert len(page["frames"]) == len(recorded.snapshots) == len(expected)


def _noisy_model(kind, seed=0):
    """A model whose training mode differs from its evaluation mode."""
    middle = Dropout(0.3, seed=seed) if kind == "dropout" else BatchNorm1d(6)
    return Sequential(Linear(2, 6, seed=seed), middle, ReLU(), Linear(6, 1, seed=seed + 1))


@pytest.mark.parametrize("kind, compile", [("dropout", False), ("dropout", True),
                                           ("batchnorm", False)])   # BatchNorm: no compile
def test_snapshots_of_dropout_and_batchnorm_models_change_nothing(kind, compile):
    """Looking predicts in evaluation mode: Dropout draws no mask (its generator is where
    training left it), BatchNorm takes no statistics, so training with or without snapshots
    gives the same losses and parameters, bit for bit, and the frames show no dropout."""
    X, y = _moons(20)
    runs = []
    for snapshots in (None, 1):
        model = _noisy_model(kind)
        history = fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.1),
                      epochs=3, batch_size=5, compile=compile, progress=False,
                      snapshots=snapshots)
        runs.append((history, model.state_dict(), [p.data for p in model.parameters()], model))
    (plain, plain_state, plain_params, _), (seen, seen_state, seen_params, model) = runs
    assert seen == plain and seen_state == plain_state and seen_params == plain_params
    assert model.training, "fit leaves the model in training mode, snapshots or not"
    # the last frame is the evaluation-mode prediction of the trained model
    model.eval()
    grid = seen.snapshots.grid
    expected = nn.layers.call_on_batch(model, [[x, y] for y in grid.ys for x in grid.xs])
    assert seen.snapshots.frames[-1][1] == bytes(int(o.data > 0) for o in expected)


@settings(max_examples=10, deadline=None)
@given(kind=st.sampled_from(["dropout", "batchnorm"]), seed=st.integers(0, 50),
       training=st.lists(st.booleans(), min_size=6, max_size=6))
def test_a_look_at_the_decision_grid_leaves_the_model_as_it_was(kind, seed, training):
    """Every module's mode (even a model left half in evaluation mode), its buffers and its
    random generator are as they were after ``DecisionGrid.predict``."""
    model = _noisy_model(kind, seed)
    X, y = _moons(10)
    fit(model, X, y, loss="hinge", epochs=1, batch_size=5, progress=False)
    for module, mode in zip(model.modules(), training):
        module.training = mode
    before = ([m.training for m in model.modules()], model.state_dict(),
              [m._rng.getstate() for m in model.modules() if isinstance(m, Dropout)])
    grid = nn.live.DecisionGrid(X, [int(t == 1) for t in y], 2, 0.0)
    grid.predict(model)
    assert ([m.training for m in model.modules()], model.state_dict(),
            [m._rng.getstate() for m in model.modules() if isinstance(m, Dropout)]) == before


def test_animation_page_is_self_contained_and_saves_as_html(tmp_path):
    X, y = _moons()
    history = fit(MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=4, progress=False,
                  snapshots=2)
    animation = history.animation()
    assert repr(animation) == "<Animation: 3 frames, epochs 0 to 4>"
    assert not re.search(r"(src|href)\s*=|https?:|@import", animation.html)
    path = animation.save(tmp_path / "moons.html")
    assert Path(path).read_text(encoding="utf-8") == animation.html
    with pytest.raises(ValueError, match=r"\.html"):
        animation.save(tmp_path / "moons.png")
    shown = animation._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "<script>" not in shown


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(live=5), ValueError, r"live_every=k"),
    (dict(live=True, live_every=0), ValueError, r"live_every=.*>= 1"),
    (dict(snapshots=True), ValueError, r"snapshots=.*>= 1"),
    (dict(snapshots=2.5), ValueError, r"snapshots=.*>= 1"),
    (dict(snapshots=2, X=[[0.0, 1.0, 2.0]] * 4), ValueError, r"3 features, not 2"),
    (dict(snapshots=2, loss="mse", y=[0.3, 1.5, -2.0, 0.0]), ValueError, r"not class labels"),
])
def test_bad_live_arguments_are_refused_before_training(kwargs, error, match):
    args = dict(X=[[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], y=[1, -1, 1, -1],
                loss="hinge", epochs=2, progress=False)
    args.update(kwargs)
    model = MLP(len(args["X"][0]), [2, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(error, match=match):
        fit(model, args.pop("X"), args.pop("y"), **args)
    assert model.state_dict() == before


def test_a_history_without_snapshots_says_how_to_record_them():
    history = fit(MLP(2, [2, 1], seed=0), [[0.0, 1.0]], [1], loss="hinge", epochs=1,
                  progress=False)
    with pytest.raises(ValueError, match=r"snapshots=k.*live=True"):
        history.animation()


# ---------------------------------------------------------------- the pictures

def test_live_figure_panels():
    require_module("matplotlib")
    from nn.live import LiveFigure, _decision_grid

    X, y = _blobs()
    model = MLP(2, [4, 3], seed=0)
    history = fit(model, X, y, loss="cross_entropy", epochs=3, progress=False)
    history["val_loss"] = [v * 1.1 for v in history["loss"]]
    grid, _ = _decision_grid(X, y, ("index", None), 3)
    figure = LiveFigure(history, 3, grid)
    png = figure.draw(history, 2, grid.predict(model))
    assert png.startswith(b"\x89PNG")
    axes = figure.figure.axes
    assert [a.get_title() for a in axes] == ["loss", "accuracy", "decision boundary"]
    assert [line.get_label() for line in axes[0].lines] == ["loss", "val_loss"]
    assert list(axes[0].lines[0].get_xdata()) == [1, 2], "the curves so far"
    assert axes[0].get_yscale() == "log"
    assert figure.figure.texts[0].get_text().startswith("after epoch 2 of 3 · loss ")
    image = axes[2].images[0].get_array()
    assert image.shape == (GRID, GRID)
    assert sorted(set(image.ravel().tolist())) == sorted(set(grid.predict(model)))


@pytest.mark.browser
def test_animation_slider_and_play_in_chromium(tmp_path, browser):
    X, y = _moons()
    history = fit(MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=6, progress=False,
                  snapshots=2)
    path = history.animation().save(tmp_path / "moons.html")
    page = browser.new_page()
    errors, requests = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(Path(path).as_uri())
    assert page.inner_text("#status").startswith("after epoch 6 of 6")
    page.fill("#slider", "1")
    page.dispatch_event("#slider", "input")
    assert page.inner_text("#status").startswith("after epoch 2 of 6")
    page.click("#play")
    page.wait_for_function("document.getElementById('status').textContent"
                           ".startsWith('after epoch 6')")
    assert page.inner_text("#play") == "Play", "Play stops at the last frame"
    pixel = page.evaluate("""() => Array.from(document.getElementById('boundary')
        .getContext('2d').getImageData(2, 2, 1, 1).data)""")
    assert pixel[3] == 255 and pixel[:3] != [255, 255, 255], "the boundary is painted"
    page.close()
    assert errors == [] and all(url.startswith("file:") for url in requests)

"""nn.plot: decision boundaries and training curves (matplotlib, Agg backend)."""

from __future__ import annotations

import pytest
from conftest import require_module

from nn import MLP, data, fit, plot


@pytest.fixture(autouse=True)
def agg():
    matplotlib = require_module("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    yield
    plt.close("all")


def test_binary_decision_boundary_colours_both_classes():
    X, y = data.make_moons(30, noise=0.1, seed=0, labels="pm1")
    model = MLP(2, [4, 1], seed=0)
    ax = plot.plot_decision_boundary(model, X, y, resolution=20)
    assert ax.collections, "the contour and the scatter are drawn"
    offsets = ax.collections[-1].get_offsets()
    assert len(offsets) == 30
    ax.figure.canvas.draw()


def test_multiclass_boundary_and_existing_axes():
    import matplotlib.pyplot as plt
    X, y = data.make_blobs(30, centers=3, seed=0)
    model = MLP(2, [4, 3], seed=0)
    fig, given = plt.subplots()
    ax = plot.plot_decision_boundary(model, X, y, resolution=15, ax=given)
    assert ax is given


def test_plot_history_one_panel_per_record():
    X, y = data.make_xor()
    model = MLP(2, [3, 1], seed=0)
    history = fit(model, X, y, epochs=3, progress=False)
    fig = plot.plot_history(history)
    assert [a.get_title() for a in fig.axes] == ["loss", "accuracy", "lr"]
    assert len(fig.axes[0].lines[0].get_xdata()) == 3
    fig = plot.plot_history(history, keys=["loss"])
    assert len(fig.axes) == 1
    with pytest.raises(KeyError, match="no record"):
        plot.plot_history(history, keys=["f1"])


def test_mismatched_data_is_refused():
    with pytest.raises(ValueError, match="matching"):
        plot.plot_decision_boundary(MLP(2, [1], seed=0), [[0.0, 0.0]], [1, 0])


def test_numpy_arrays_draw_the_same_boundary():
    """A numpy X raised "The truth value of an array ... is ambiguous"."""
    np = require_module("numpy")
    X, y = data.make_moons(30, noise=0.1, seed=0, labels="pm1")
    model = MLP(2, [4, 1], seed=0)
    drawn = [plot.plot_decision_boundary(model, X_in, y_in, resolution=10)
             for X_in, y_in in [(X, y), (np.array(X), np.array(y))]]
    assert (drawn[0].collections[-1].get_offsets() ==
            drawn[1].collections[-1].get_offsets()).all()


@pytest.mark.parametrize("middle", ["dropout", "batchnorm"])
def test_drawing_a_boundary_leaves_the_model_as_it_was(middle):
    """It predicted in training mode: a Dropout drew masks from its generator (shifting the
    training that follows) and every point of the grid was drawn with dropout on; a
    BatchNorm1d raised on one point. Now: evaluation mode, and nothing changes."""
    import random

    from nn import BatchNorm1d, Dropout, Linear, ReLU, Sequential

    layer = Dropout(0.5, seed=3) if middle == "dropout" else BatchNorm1d(8)
    model = Sequential(Linear(2, 8, seed=1), ReLU(), layer, Linear(8, 1, seed=2))
    X, y = data.make_moons(30, noise=0.1, seed=0, labels="pm1")
    model([[0.1, 0.2], [0.3, -0.1]])   # a training step's forward pass: buffers move
    state = model.state_dict()
    generators = [g.getstate() for g in vars(layer).values() if isinstance(g, random.Random)]
    global_state = random.getstate()
    plot.plot_decision_boundary(model, X, y, resolution=12)
    assert model.training and layer.training
    assert model.state_dict() == state
    assert [g.getstate() for g in vars(layer).values() if isinstance(g, random.Random)] == \
        generators
    assert random.getstate() == global_state
    model.eval()
    expected = plot.predicted_classes(model, X, 0.0)
    model.train()
    assert plot.predicted_classes(model, X, 0.0) == expected   # drawn as evaluation predicts

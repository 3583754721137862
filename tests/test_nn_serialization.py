"""nn.save / nn.load: exact round trip, atomic writes, and files that must be refused."""

from __future__ import annotations

import json
import os

import pytest

import nn
from nn import (MLP, RNN, BatchNorm1d, Dropout, LayerNorm, Linear, Neuron, ReLU, Residual, RNNCell,
                Sequential, Tanh)


def test_round_trip_is_exact(tmp_path):
    a = MLP(2, [4, 3, 1], activation="tanh", seed=1)
    a.layers[0].neurons[0].w[0].data = 0.1 + 0.2   # a float with a long repr
    path = tmp_path / "model.json"
    nn.save(a, path)
    b = nn.load(MLP(2, [4, 3, 1], activation="tanh", seed=2), path)
    assert b.state_dict() == a.state_dict()
    assert b([0.3, -0.7]).data == a([0.3, -0.7]).data


def every_module(seed: int) -> Sequential:
    """One of each PyTorch-style module, with BatchNorm's running statistics moved."""
    model = Sequential(Linear(2, 4, seed=seed), BatchNorm1d(4, momentum=None), Tanh(),
                       Residual(Sequential(Linear(4, 4, bias=False, seed=seed + 1), LayerNorm(4),
                                           ReLU())),
                       Dropout(0.25), Linear(4, 1, seed=seed + 2))
    model([[0.5, -1.0], [2.0, 0.25], [seed, 1.0]])
    return model


@pytest.mark.parametrize("build", [every_module, lambda seed: RNN(2, 3, seed=seed),
                                   lambda seed: RNNCell(1, 2, nonlinearity="relu", seed=seed)])
def test_every_module_round_trips_with_its_buffers(tmp_path, build):
    a, b = build(1), build(2)
    path = tmp_path / "model.json"
    nn.save(a, path)
    assert nn.load(b, path).state_dict() == a.state_dict()
    assert b.architecture() == a.architecture()
    if isinstance(b, Sequential):
        bn = b.layers[1]
        assert bn.running_var == a.layers[1].running_var and bn.num_batches_tracked == 1
        assert type(bn.num_batches_tracked) is int
        b.eval(), a.eval()
        assert b([0.3, 0.7]).data == a([0.3, 0.7]).data


@pytest.mark.parametrize("saved, other", [
    (lambda: Sequential(Linear(2, 4, seed=0), Dropout(0.25)),
     lambda: Sequential(Linear(2, 4, seed=0), Dropout(0.5))),
    (lambda: Linear(2, 4, seed=0), lambda: Linear(2, 4, bias=False, seed=0)),
    (lambda: BatchNorm1d(3), lambda: BatchNorm1d(3, momentum=None)),
    (lambda: RNN(2, 3, seed=0), lambda: RNN(2, 3, nonlinearity="relu", seed=0)),
])
def test_a_different_module_architecture_is_refused(tmp_path, saved, other):
    path = tmp_path / "model.json"
    nn.save(saved(), path)
    model = other()
    before = model.state_dict()
    with pytest.raises(ValueError, match="different architecture"):
        nn.load(model, path)
    assert model.state_dict() == before


def test_file_has_version_architecture_and_parameters(tmp_path):
    path = tmp_path / "m.json"
    model = MLP(2, [3, 1], seed=0)
    nn.save(model, str(path))
    document = json.loads(path.read_text())
    assert document["format"] == "chainrule.nn" and document["version"] == 1
    assert document["architecture"] == {"type": "MLP", "nin": 2, "nouts": [3, 1],
                                        "activation": "relu"}
    assert document["parameters"] == model.state_dict()


def test_save_overwrites_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "m.json"
    nn.save(MLP(2, [3, 1], seed=0), path)
    nn.save(MLP(2, [3, 1], seed=1), path)
    assert os.listdir(tmp_path) == ["m.json"]
    assert nn.load(MLP(2, [3, 1], seed=5), path).state_dict() == MLP(2, [3, 1], seed=1).state_dict()


def test_a_crash_while_saving_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    nn.save(MLP(2, [3, 1], seed=0), path)
    before = path.read_text()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        nn.save(MLP(2, [3, 1], seed=1), path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["m.json"]


def _saved(tmp_path, model=None):
    path = tmp_path / "m.json"
    nn.save(model or MLP(2, [3, 1], seed=0), path)
    return path


def _edit(key, value):
    def change(document):
        document[key] = value
    return change


BAD_FILES = {
    "truncated": lambda text: text[: len(text) // 2],
    "garbage": lambda text: "\x00\x01 not json",
    "empty": lambda text: "",
    "not an object": lambda text: "[1, 2, 3]",
    "wrong format": lambda text: json.dumps({**json.loads(text), "format": "keras"}),
    "newer version": lambda text: json.dumps({**json.loads(text), "version": 99}),
    "other architecture": lambda text: json.dumps(
        {**json.loads(text), "architecture": {"type": "MLP", "nin": 2, "nouts": [4, 1],
                                              "activation": "relu"}}),
    "missing parameter": lambda text: json.dumps(
        {**json.loads(text), "parameters": dict(list(json.loads(text)["parameters"].items())[1:])}),
    "extra parameter": lambda text: json.dumps(
        {**json.loads(text), "parameters": {**json.loads(text)["parameters"], "x": 1.0}}),
    "string parameter": lambda text: json.dumps(
        {**json.loads(text), "parameters": {**json.loads(text)["parameters"],
                                            "layers.1.neurons.0.b": "1.5"}}),
    "no parameters": lambda text: json.dumps({k: v for k, v in json.loads(text).items()
                                              if k != "parameters"}),
}


@pytest.mark.parametrize("damage", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_files_raise_and_leave_the_model_unchanged(tmp_path, damage):
    path = _saved(tmp_path, MLP(2, [3, 1], seed=0))
    path.write_text(BAD_FILES[damage](path.read_text()))
    model = MLP(2, [3, 1], seed=9)
    before = model.state_dict()
    with pytest.raises(ValueError, match="m.json"):
        nn.load(model, path)
    assert model.state_dict() == before


def test_mismatched_module_type_is_refused(tmp_path):
    path = _saved(tmp_path, Neuron(3, seed=0))
    model = MLP(3, [1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="different architecture"):
        nn.load(model, path)
    assert model.state_dict() == before
    assert nn.load(Neuron(3, seed=1), path).state_dict() == Neuron(3, seed=0).state_dict()


def test_load_needs_a_model_and_an_existing_file(tmp_path):
    with pytest.raises(TypeError, match="build the model first"):
        nn.load(str(tmp_path / "m.json"), tmp_path / "m.json")
    with pytest.raises(FileNotFoundError):
        nn.load(MLP(2, [1], seed=0), tmp_path / "missing.json")

"""nn.save / nn.load: exact round trip, atomic writes, and files that must be refused."""

from __future__ import annotations

import json
import math
import os
import stat

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


# ------------------------------------------------ hostile files: the file and the key are named

B = "layers.1.neurons.0.b"   # the key of one parameter of MLP(2, [3, 1])


def _set_parameter(raw_value: str):
    """The saved text with parameter B's number replaced by the JSON text ``raw_value``."""
    def change(text):
        document = json.loads(text)
        document["parameters"][B] = "@@"
        return json.dumps(document).replace('"@@"', raw_value)
    return change


def _replace(key, raw_value: str):
    def change(text):
        return json.dumps({**json.loads(text), key: "@@"}).replace('"@@"', raw_value)
    return change


def _without(key):
    return lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != key})


# name -> (damage: saved text -> str or bytes, what the message names besides the file)
HOSTILE_FILES = {
    "NaN parameter": (_set_parameter("NaN"), B),
    "Infinity parameter": (_set_parameter("Infinity"), B),
    "-Infinity parameter": (_set_parameter("-Infinity"), B),
    "1e400 parameter": (_set_parameter("1e400"), B),
    "huge integer parameter": (_set_parameter("1" + "0" * 400), B),
    "5000-digit integer parameter": (_set_parameter("9" * 5000), B),
    "true parameter": (_set_parameter("true"), B),
    "null parameter": (_set_parameter("null"), B),
    "list parameter": (_set_parameter("[1.0]"), B),
    "nested parameter": (_set_parameter("[" * 50 + "]" * 50), B),
    "duplicate parameter": (lambda text: text.replace('"parameters": {',
                                                      f'"parameters": {{"{B}": 1.0,'), B),
    "JSON bomb": (lambda text: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "JSON bomb in a key": (_replace("architecture", "[" * 100_000 + "]" * 100_000),
                           "nested too deeply"),
    "non-UTF-8 bytes": (lambda text: text.encode("utf-8").replace(b"format", b"f\xffrmat"),
                        "UTF-8"),
    "UTF-16": (lambda text: text.encode("utf-16"), "UTF-8"),
    "format is a number": (_replace("format", "5"), "format"),
    "version is true": (_replace("version", "true"), "version"),
    "version is a string": (_replace("version", '"1"'), "version"),
    "version is NaN": (_replace("version", "NaN"), "version"),
    "architecture is a string": (_replace("architecture", '"MLP"'), "architecture"),
    "architecture with true for 1": (_replace("architecture", json.dumps(
        {"type": "MLP", "nin": 2, "nouts": [3, True], "activation": "relu"})), "architecture"),
    "architecture with 2.0 for 2": (_replace("architecture", json.dumps(
        {"type": "MLP", "nin": 2.0, "nouts": [3, 1], "activation": "relu"})), "architecture"),
    "parameters is a list": (_replace("parameters", "[1.0, 2.0]"), "parameters"),
    "no format": (_without("format"), "format"),
    "no version": (_without("version"), "version"),
    "no architecture": (_without("architecture"), "architecture"),
    "no parameters": (_without("parameters"), "parameters"),
    "one parameter missing": (lambda text: text.replace(f'"{B}"', '"x"'), B),
}


@pytest.mark.parametrize("damage", list(HOSTILE_FILES), ids=list(HOSTILE_FILES))
def test_hostile_files_raise_value_error_naming_the_file_and_the_key(tmp_path, damage):
    change, key = HOSTILE_FILES[damage]
    path = _saved(tmp_path, MLP(2, [3, 1], seed=0))
    damaged = change(path.read_text())
    if isinstance(damaged, bytes):
        path.write_bytes(damaged)
    else:
        path.write_text(damaged, encoding="utf-8")
    model = MLP(2, [3, 1], seed=9)
    before = model.state_dict()
    with pytest.raises(ValueError) as caught:
        nn.load(model, path)
    assert str(path) in str(caught.value) and key in str(caught.value), caught.value
    assert len(str(caught.value)) < 600
    assert model.state_dict() == before


def test_a_utf8_bom_is_accepted(tmp_path):
    saved = MLP(2, [3, 1], seed=0)
    path = _saved(tmp_path, saved)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert nn.load(MLP(2, [3, 1], seed=9), path).state_dict() == saved.state_dict()


def test_a_directory_is_an_os_error_naming_it(tmp_path):
    with pytest.raises(OSError) as caught:
        nn.load(MLP(2, [3, 1], seed=0), tmp_path)
    assert str(tmp_path) in str(caught.value)


# ------------------------------------------------------------- save: strict, safe, in place

def test_save_refuses_a_non_finite_parameter_and_leaves_the_file_untouched(tmp_path):
    path = _saved(tmp_path)
    before = path.read_bytes()
    for bad in (math.nan, math.inf, -math.inf):
        model = MLP(2, [3, 1], seed=1)
        model.layers[1].neurons[0].b.data = bad
        with pytest.raises(ValueError, match=rf"'{B}'.*{bad}.*not written"):
            nn.save(model, path)
        with pytest.raises(ValueError, match=B):
            nn.save(model, tmp_path / "new.json")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]


def test_saved_file_is_strict_json(tmp_path):
    def no_constants(name):
        raise AssertionError(f"{name} in a saved file")

    path = _saved(tmp_path, MLP(2, [3, 1], seed=0))
    document = json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)
    assert document["parameters"] == MLP(2, [3, 1], seed=0).state_dict()


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664])
def test_save_keeps_the_permission_bits_of_an_existing_file(tmp_path, mode):
    path = _saved(tmp_path)
    os.chmod(path, mode)
    nn.save(MLP(2, [3, 1], seed=1), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


@pytest.mark.skipif(os.name != "posix", reason="umask is POSIX")
def test_a_new_file_gets_the_usual_permissions_from_the_umask(tmp_path):
    umask = os.umask(0o022)
    try:
        nn.save(MLP(2, [3, 1], seed=1), tmp_path / "new.json")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o644


@pytest.mark.skipif(os.name != "posix", reason="symlinks")
def test_save_writes_through_a_symlink_to_its_target(tmp_path):
    (tmp_path / "models").mkdir()
    target = tmp_path / "models" / "real.json"
    nn.save(MLP(2, [3, 1], seed=0), target)
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    nn.save(MLP(2, [3, 1], seed=1), link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert nn.load(MLP(2, [3, 1], seed=5), target).state_dict() == \
        MLP(2, [3, 1], seed=1).state_dict()
    assert sorted(os.listdir(tmp_path)) == ["latest.json", "models"]
    assert os.listdir(tmp_path / "models") == ["real.json"]


def test_save_refuses_to_replace_something_that_is_not_a_file(tmp_path):
    (tmp_path / "m.json").mkdir()
    with pytest.raises(OSError, match="m.json"):
        nn.save(MLP(2, [3, 1], seed=0), tmp_path / "m.json")
    assert os.listdir(tmp_path) == ["m.json"] and (tmp_path / "m.json").is_dir()


# ---------------------------------------------------- property: mutations of a valid file

def _mutation():
    """A random change of a saved file: bytes cut, inserted or flipped, or one JSON value
    replaced by a hostile one, or a key deleted."""
    from hypothesis import strategies as st

    hostile = st.one_of(
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400,
                         "9" * 5000, "true", "null", '"1.0"', "{}", "[]", "[" * 3000 + "]" * 3000,
                         "1", "-0.0", "2.5e-310"]),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.integers().map(str))
    byte_edit = st.tuples(st.just("bytes"), st.integers(0, 10_000), st.integers(0, 20),
                          st.binary(max_size=8))
    value_edit = st.tuples(st.just("value"), st.integers(0, 10_000), hostile)
    key_edit = st.tuples(st.just("delete"), st.integers(0, 10_000))
    return st.one_of(byte_edit, value_edit, key_edit)


def _apply(raw: bytes, mutation) -> bytes:
    kind, where, *rest = mutation
    if kind == "bytes":
        cut, inserted = rest
        i = where % (len(raw) + 1)
        return raw[:i] + inserted + raw[i + cut:]
    document = json.loads(raw)
    # every (container, key) in the document, in a fixed order
    slots = [(document, k) for k in document]
    slots += [(document[k], kk) for k in ("architecture", "parameters")
              if isinstance(document.get(k), dict) for kk in document[k]]
    container, key = slots[where % len(slots)]
    if kind == "delete":
        del container[key]
        return json.dumps(document).encode()
    container[key] = "@@hostile@@"
    return json.dumps(document).replace('"@@hostile@@"', rest[0]).encode()


def test_property_any_damaged_file_loads_exactly_or_raises_naming_the_file(tmp_path):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    original = _saved(tmp_path, MLP(2, [3, 1], seed=0)).read_bytes()
    path = tmp_path / "damaged.json"

    @settings(max_examples=200)
    @given(st.lists(_mutation(), min_size=1, max_size=3), st.booleans())
    def check(mutations, bom):
        raw = original
        for mutation in mutations:
            try:
                raw = _apply(raw, mutation)
            except (ValueError, RecursionError):   # an earlier edit broke the JSON: edit bytes
                raw = _apply(raw, ("bytes", *mutation[1:2], 1, b"}"))
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + raw)
        model = MLP(2, [3, 1], seed=9)
        before = model.state_dict()
        try:
            nn.load(model, path)
        except (ValueError, OSError) as error:
            assert str(path) in str(error), error
            assert model.state_dict() == before
            return
        expected = json.loads(raw.decode("utf-8"))["parameters"]   # what the file says
        assert model.state_dict() == {name: float(x) for name, x in expected.items()}
        assert all(math.isfinite(x) for x in model.state_dict().values())

    check()

"""Save and load a model's parameters as JSON.

File layout::

    {"format": "chainrule.nn", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1], "activation": "relu"},
     "parameters": {"layers.0.neurons.0.w.0": 0.23, ...}}

``save`` writes a temporary file next to the target and renames it over the target
(``os.replace``), so a crash never leaves a half-written model file. ``load`` checks the
whole file against the model before changing anything.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Union

from nn.module import Module

__all__ = ["save", "load", "FORMAT", "VERSION"]

FORMAT = "chainrule.nn"
VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]


def save(module: Module, path: PathLike) -> None:
    """Write ``module``'s architecture and parameters to ``path`` as JSON (atomically)."""
    if not isinstance(module, Module):
        raise TypeError(f"save needs an nn Module, got {type(module).__name__}")
    document = {"format": FORMAT, "version": VERSION, "architecture": module.architecture(),
                "parameters": module.state_dict()}
    text = json.dumps(document, indent=1)  # floats are written with repr: exact round trip
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".chainrule-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(module: Module, path: PathLike) -> Module:
    """Load the parameters saved in ``path`` into ``module`` and return it.

    Raises ``ValueError`` for a file that is not valid JSON (corrupted or truncated), is not
    a chainrule model, or was saved from a different architecture; the model is unchanged.
    """
    if not isinstance(module, Module):
        raise TypeError(f"load needs the nn Module to load into, got {type(module).__name__}; "
                        "build the model first, e.g. nn.load(MLP(2, [16, 16, 1]), path)")
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{path!r} is not a valid model file (corrupted or truncated JSON: "
                         f"{error}); the model was not changed") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a chainrule model file (no \"format\": "
                         f"\"{FORMAT}\"); the model was not changed")
    if document.get("version") != VERSION:
        raise ValueError(f"{path!r} has format version {document.get('version')!r}; this "
                         f"chainrule reads version {VERSION}; the model was not changed")
    saved, expected = document.get("architecture"), module.architecture()
    if saved != expected:
        raise ValueError(f"{path!r} holds a different architecture: saved {saved}, but the "
                         f"model is {expected}; build the model with the saved architecture; "
                         "the model was not changed")
    parameters = document.get("parameters")
    if not isinstance(parameters, dict):
        raise ValueError(f"{path!r} has no \"parameters\" object; the model was not changed")
    try:
        module.load_state_dict(parameters, strict=True)
    except (KeyError, TypeError) as error:
        message = error.args[0] if error.args else str(error)
        raise ValueError(f"{path!r} does not fit the model: {message}") from None
    return module


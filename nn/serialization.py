"""Save and load a model's parameters as JSON.

File layout::

    {"format": "chainrule.nn", "version": 1,
     "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 16, 1], "activation": "relu"},
     "parameters": {"layers.0.neurons.0.w.0": 0.23, ...}}

``save`` writes strict JSON (no NaN or Infinity) to a temporary file next to the target and
renames it over the target (``os.replace``), so a crash never leaves a half-written model
file; the target keeps its permission bits, and a symlink stays a symlink (its target is
replaced). ``load`` checks the whole file against the model before changing anything: any
damage is a ``ValueError`` that names the file and the key.
"""

from __future__ import annotations

import json
import math
import os
import reprlib
import secrets
import stat
from typing import Any, Union

from nn.module import Module

__all__ = ["save", "load", "FORMAT", "VERSION"]

FORMAT = "chainrule.nn"
VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]


def save(module: Module, path: PathLike) -> None:
    """Write ``module``'s architecture and parameters to ``path`` as JSON (atomically)."""
    if not isinstance(module, Module):
        raise TypeError(f"save needs an nn Module, got {type(module).__name__}")
    parameters = module.state_dict()
    for name, x in parameters.items():
        if not math.isfinite(x):
            raise ValueError(f"cannot save parameter {name!r}: it is {x}, which JSON cannot "
                             f"hold; {os.fspath(path)!r} was not written. Training diverged: "
                             "lower the learning rate or clip the gradients (clip=5.0)")
    document = {"format": FORMAT, "version": VERSION, "architecture": module.architecture(),
                "parameters": parameters}
    # floats are written with repr: an exact round trip
    data = json.dumps(document, indent=1, allow_nan=False).encode("utf-8")
    target = os.path.realpath(path)   # through a symlink: replace its target, keep the link
    try:
        status = os.stat(target)
    except FileNotFoundError:
        mode = None
    else:
        if not stat.S_ISREG(status.st_mode):
            raise OSError(f"cannot save to {os.fspath(path)!r}: it exists and is not a file")
        mode = stat.S_IMODE(status.st_mode)
    tmp = os.path.join(os.path.dirname(target), f".chainrule-{secrets.token_hex(8)}.tmp")
    # a new file gets 0o666 less the umask, like open(); a replaced one keeps its mode
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(module: Module, path: PathLike) -> Module:
    """Load the parameters saved in ``path`` into ``module`` and return it.

    Raises ``ValueError`` naming the file and the key for a file that is not UTF-8 JSON
    (corrupted, truncated, nested absurdly deep), is not a chainrule model, was saved from a
    different architecture, or holds a parameter that is not a finite number or a buffer
    that its module refuses (a negative running variance or batch count); ``OSError``
    if it cannot be read. On any error the model is unchanged.
    """
    if not isinstance(module, Module):
        raise TypeError(f"load needs the nn Module to load into, got {type(module).__name__}; "
                        "build the model first, e.g. nn.load(MLP(2, [16, 16, 1]), path)")
    path = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    document = _parse(raw, path)
    for key in ("format", "version", "architecture", "parameters"):
        if key not in document:
            raise _refused(path, f"has no {key!r} key, so it is not a complete chainrule "
                                 "model file")
    if document["format"] != FORMAT:
        raise _refused(path, f"is not a chainrule model file: its 'format' is "
                             f"{_preview(document['format'])}, not {FORMAT!r}")
    version = document["version"]
    if type(version) is not int or version != VERSION:
        raise _refused(path, f"has format 'version' {_preview(version)}; this chainrule reads "
                             f"version {VERSION}")
    saved, expected = document["architecture"], module.architecture()
    if not _same(saved, expected):
        raise _refused(path, f"holds a different architecture: saved {_preview(saved)}, but "
                             f"the model is {expected}; build the model with the saved "
                             "architecture")
    parameters = document["parameters"]
    if not isinstance(parameters, dict):
        raise _refused(path, f"has 'parameters' {_preview(parameters)}, not an object of "
                             "name: number")
    for name, x in parameters.items():
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise _refused(path, f"has parameter {name!r} = {_preview(x)}, not a number")
        if not math.isfinite(x):
            raise _refused(path, f"has parameter {name!r} = {x}, not a finite number (NaN, "
                                 "Infinity, or too large for a float like 1e400)")
    try:
        module.load_state_dict(parameters, strict=True)   # checks the buffers too
    except (KeyError, ValueError) as error:
        raise ValueError(f"{path!r} does not fit the model: {error.args[0]}") from None
    return module


def _parse(raw: bytes, path: str) -> dict:
    try:
        text = raw.decode("utf-8-sig")   # a byte-order mark (some Windows editors) is fine
    except UnicodeDecodeError as error:
        raise _refused(path, f"is not UTF-8 text (byte {raw[error.start]:#04x} at offset "
                             f"{error.start}), so not a model file") from None
    try:
        document = json.loads(text, object_pairs_hook=_object, parse_int=_integer)
    except RecursionError:
        raise _refused(path, "is not a model file: its JSON is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise _refused(path, f"is not valid JSON (corrupted or truncated: {error})") from None
    except ValueError as error:   # from _object
        raise _refused(path, f"is not a valid model file: {error}") from None
    if not isinstance(document, dict):
        raise _refused(path, f"holds a JSON {type(document).__name__}, not the object of a "
                             "chainrule model file")
    return document


def _object(pairs: list[tuple[str, Any]]) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {twice!r} appears twice")
    return document


def _integer(digits: str) -> Union[int, float]:
    # A long integer becomes a float (inf when too large) instead of an int that no float can
    # hold, or Python's ValueError for more than 4300 digits, so the check names its key.
    return int(digits) if len(digits) < 20 else float(digits)


def _same(saved: Any, expected: Any) -> bool:
    """saved == expected with the types compared too (true is not 1, 2.0 is not 2)."""
    if isinstance(expected, dict):
        return (isinstance(saved, dict) and saved.keys() == expected.keys()
                and all(_same(saved[key], value) for key, value in expected.items()))
    if isinstance(expected, (list, tuple)):
        return (isinstance(saved, list) and len(saved) == len(expected)
                and all(map(_same, saved, expected)))
    return type(saved) is type(expected) and saved == expected


def _preview(x: Any) -> str:
    return reprlib.repr(x)   # short, and safe for any nesting depth


def _refused(path: str, problem: str) -> ValueError:
    return ValueError(f"{path!r} {problem}; the model was not changed")

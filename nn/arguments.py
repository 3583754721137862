"""The argument checks that nn's modules and functions share: counts, numbers, flags, seeds,
data sets.

Each returns the value it checked (normalised: a float for a number) or raises with the
argument's name, the value given and what it must be.
"""

from __future__ import annotations

import math
import random
from numbers import Real
from typing import Any, Union

__all__ = ["count", "real", "number", "flag", "examples", "show", "weights_rng", "data_rng",
           "Seed"]

Seed = Union[int, random.Random, None]


def show(x: Any) -> str:
    """A value for an error message, cut at 40 characters."""
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def count(n: Any, name: str, low: int = 1) -> int:
    """An int of at least ``low``: a size, a number of steps or samples."""
    if isinstance(n, bool) or not isinstance(n, int) or n < low:
        what = "a positive int" if low == 1 else f"an int >= {low}"
        raise ValueError(f"{name} must be {what}, got {show(n)}")
    return n


def real(x: Any, name: str) -> float:
    """A real number (not a bool) as a float."""
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{name} must be a number, got {type(x).__name__} {show(x)}")
    try:
        return float(x)
    except OverflowError:
        raise ValueError(f"invalid {name}: {show(x)} is too large for a float") from None


def number(x: Any, name: str, low: float = 0.0, high: float = math.inf,
           high_open: bool = False) -> float:
    """A real number in [low, high] (or [low, high) with ``high_open``), as a float."""
    x = real(x, name)
    if not (low <= x < high if high_open else low <= x <= high):
        bound = f"< {high}" if high_open else f"<= {high}"
        raise ValueError(f"invalid {name}: {x!r} (it must be >= {low} and {bound})")
    return x


def flag(x: Any, name: str) -> bool:
    """True or False, nothing merely truthy."""
    if not isinstance(x, bool):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {show(x)}")
    return x


def examples(data: Any, name: str) -> list:
    """``data`` as a list of plain Python examples: a list, tuple or numpy array (its rows
    and scalars through ``tolist()``, so numpy is never imported here)."""
    if hasattr(data, "tolist"):
        return data.tolist()
    try:
        if isinstance(data, (str, bytes)):
            raise TypeError("iterable, but not examples")
        return [x.tolist() if hasattr(x, "tolist") else x for x in data]
    except TypeError:
        raise TypeError(f"{name} must be a list (or array) of examples, got "
                        f"{type(data).__name__} {show(data)}") from None


def _seeded(seed: Any) -> Any:
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, a random.Random or None, got {show(seed)}")
    return random.Random(seed)


def weights_rng(seed: Seed) -> Any:
    """The generator that draws initial weights: ``None`` is the global ``random`` (so
    micrograd's ``random.seed(1337)`` still works); an int a private generator that leaves
    the global state alone; a ``random.Random`` itself."""
    return random if seed is None or seed is random else _seeded(seed)


def data_rng(seed: Seed) -> random.Random:
    """The generator that makes or shuffles data: ``None`` is a fresh, unseeded generator
    (never the global one); an int a seeded one; a ``random.Random`` itself."""
    return random.Random() if seed is None else _seeded(seed)

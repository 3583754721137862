"""Weight initialisation schemes: how the first weights of a neuron are drawn.

Each scheme is a function ``scheme(rng, fan_in, fan_out) -> float`` that draws one weight,
where ``rng`` is a ``random.Random`` (or the ``random`` module itself), ``fan_in`` the number
of inputs of the neuron and ``fan_out`` the number of neurons in its layer. Biases start at 0.

=================  ================================================  ========================
name               distribution                                      bound / std
=================  ================================================  ========================
``uniform``        U(-1, 1) (micrograd's)                            a = 1
``xavier_uniform`` U(-a, a) (Glorot & Bengio 2010)                   a = sqrt(6 / (in + out))
``xavier_normal``  N(0, s^2)                                         s = sqrt(2 / (in + out))
``he_uniform``     U(-a, a) (He et al. 2015, for ReLU)               a = sqrt(6 / in)
``he_normal``      N(0, s^2)                                         s = sqrt(2 / in)
=================  ================================================  ========================

``glorot_*`` and ``kaiming_*`` are accepted as the other common names.
"""

from __future__ import annotations

import math
import random
from typing import Any, Callable, Union

__all__ = ["uniform", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
           "SCHEMES", "get"]

Rng = Union[random.Random, Any]
Scheme = Callable[[Rng, int, int], float]


def uniform(rng: Rng, fan_in: int, fan_out: int) -> float:
    """w ~ U(-1, 1), independent of the fan: micrograd's initialisation."""
    return rng.uniform(-1.0, 1.0)


def xavier_uniform(rng: Rng, fan_in: int, fan_out: int) -> float:
    """w ~ U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), so Var(w) = 2 / (fan_in + fan_out)."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a)


def xavier_normal(rng: Rng, fan_in: int, fan_out: int) -> float:
    """w ~ N(0, s^2) with s = sqrt(2 / (fan_in + fan_out))."""
    return rng.gauss(0.0, math.sqrt(2.0 / (fan_in + fan_out)))


def he_uniform(rng: Rng, fan_in: int, fan_out: int) -> float:
    """w ~ U(-a, a) with a = sqrt(6 / fan_in), so Var(w) = 2 / fan_in (keeps ReLU signals)."""
    a = math.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a)


def he_normal(rng: Rng, fan_in: int, fan_out: int) -> float:
    """w ~ N(0, s^2) with s = sqrt(2 / fan_in)."""
    return rng.gauss(0.0, math.sqrt(2.0 / fan_in))


SCHEMES: dict[str, Scheme] = {
    "uniform": uniform,
    "xavier_uniform": xavier_uniform, "glorot_uniform": xavier_uniform,
    "xavier_normal": xavier_normal, "glorot_normal": xavier_normal,
    "he_uniform": he_uniform, "kaiming_uniform": he_uniform,
    "he_normal": he_normal, "kaiming_normal": he_normal,
}


def get(init: Union[str, Scheme]) -> Scheme:
    """The scheme called ``init`` (a name from ``SCHEMES``), or ``init`` itself if callable."""
    if callable(init):
        return init
    try:
        return SCHEMES[init]
    except (KeyError, TypeError):
        raise ValueError(f"unknown init {init!r}; use one of {sorted(SCHEMES)} or a function "
                         "(rng, fan_in, fan_out) -> float") from None

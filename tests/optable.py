"""The op table of the test suite: one row per op, with everything needed to check it.

Each row says how to build the op from Values, the float reference, where its inputs may
be drawn (avoiding kinks and domain edges), its first derivatives and its Hessian by hand,
and the PyTorch equivalent. test_ops, test_backprop, test_gradcheck and test_torch_parity
all read this table, so a new op is tested everywhere by adding one row here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import strategies as st

Interval = tuple[float, float]
#: Any real number: sampled in [-3, 3], and never guarded in random expression graphs.
REALS: tuple[Interval, ...] = ((-3.0, 3.0),)
POSITIVE: tuple[Interval, ...] = ((0.1, 5.0),)
AWAY_FROM_ZERO: tuple[Interval, ...] = ((-3.0, -0.2), (0.2, 3.0))


@dataclass(frozen=True)
class OpCase:
    name: str
    build: Callable[..., Any]                   # Values (or tensors) -> the op's node
    ref: Callable[..., float]                   # floats -> float, without the engine
    domains: tuple[tuple[Interval, ...], ...]   # per input: the intervals it may come from
    derivs: Callable[..., tuple]                # floats -> (d out / d input_i, ...)
    hessian: Callable[..., tuple]               # floats -> ((d2 out / d x_i d x_j, ...), ...)
    torch_fn: Callable[..., Any] | None = None  # tensors -> tensor; None: same as build

    @property
    def arity(self) -> int:
        return len(self.domains)

    def torch(self, *tensors: Any) -> Any:
        return (self.torch_fn or self.build)(*tensors)

    def points(self) -> list[tuple[float, ...]]:
        """A few fixed sample points inside the domain (two per interval, all combinations)."""
        per_input = [[lo + f * (hi - lo) for lo, hi in dom for f in (0.27, 0.81)]
                     for dom in self.domains]
        combos: list[tuple[float, ...]] = [()]
        for values in per_input:
            combos = [c + (v,) for c in combos for v in values]
        return combos

    def strategy(self) -> st.SearchStrategy[tuple[float, ...]]:
        """Hypothesis inputs inside the domain."""
        return st.tuples(*(st.one_of(*(st.floats(lo, hi) for lo, hi in dom))
                           for dom in self.domains))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0


def _F():
    import torch.nn.functional as F
    return F


def _logaddexp0(x):
    # PyTorch's softplus switches to the identity above x = 20; logaddexp(x, 0) is exact.
    import torch
    return torch.logaddexp(x, torch.zeros_like(x))


ZERO2 = ((0.0, 0.0), (0.0, 0.0))
LN2 = math.log(2.0)

CASES: list[OpCase] = [
    # ------------------------------------------------------------ two inputs
    OpCase("add", lambda a, b: a + b, lambda a, b: a + b, (REALS, REALS),
           lambda a, b: (1.0, 1.0), lambda a, b: ZERO2),
    OpCase("sub", lambda a, b: a - b, lambda a, b: a - b, (REALS, REALS),
           lambda a, b: (1.0, -1.0), lambda a, b: ZERO2),
    OpCase("mul", lambda a, b: a * b, lambda a, b: a * b, (REALS, REALS),
           lambda a, b: (b, a), lambda a, b: ((0.0, 1.0), (1.0, 0.0))),
    OpCase("div", lambda a, b: a / b, lambda a, b: a / b, (REALS, AWAY_FROM_ZERO),
           lambda a, b: (1 / b, -a / b**2),
           lambda a, b: ((0.0, -1 / b**2), (-1 / b**2, 2 * a / b**3))),
    OpCase("pow", lambda a, b: a ** b, lambda a, b: a ** b, (((0.2, 3.0),), ((-2.0, 2.0),)),
           lambda a, b: (b * a ** (b - 1), a ** b * math.log(a)),
           lambda a, b: ((b * (b - 1) * a ** (b - 2),
                          a ** (b - 1) * (1 + b * math.log(a))),
                         (a ** (b - 1) * (1 + b * math.log(a)),
                          a ** b * math.log(a) ** 2))),
    # ------------------------------------------------------------ constants on either side
    OpCase("radd", lambda x: 2.5 + x, lambda x: 2.5 + x, (REALS,),
           lambda x: (1.0,), lambda x: ((0.0,),)),
    OpCase("rsub", lambda x: 1.5 - x, lambda x: 1.5 - x, (REALS,),
           lambda x: (-1.0,), lambda x: ((0.0,),)),
    OpCase("rmul", lambda x: -3 * x, lambda x: -3 * x, (REALS,),
           lambda x: (-3.0,), lambda x: ((0.0,),)),
    OpCase("rdiv", lambda x: 2 / x, lambda x: 2 / x, (AWAY_FROM_ZERO,),
           lambda x: (-2 / x**2,), lambda x: ((4 / x**3,),)),
    OpCase("rpow", lambda x: 2 ** x, lambda x: 2 ** x, (REALS,),
           lambda x: (2 ** x * LN2,), lambda x: ((2 ** x * LN2 ** 2,),)),
    # ------------------------------------------------------------ constant exponent (POWC)
    OpCase("pow2", lambda x: x ** 2, lambda x: x ** 2, (REALS,),
           lambda x: (2 * x,), lambda x: ((2.0,),)),
    OpCase("pow3", lambda x: x ** 3, lambda x: x ** 3, (REALS,),
           lambda x: (3 * x**2,), lambda x: ((6 * x,),)),
    OpCase("pow_half", lambda x: x ** 0.5, math.sqrt, (POSITIVE,),
           lambda x: (0.5 * x ** -0.5,), lambda x: ((-0.25 * x ** -1.5,),)),
    OpCase("pow_neg2", lambda x: x ** -2, lambda x: x ** -2, (AWAY_FROM_ZERO,),
           lambda x: (-2 * x ** -3,), lambda x: ((6 * x ** -4,),)),
    # ------------------------------------------------------------ one input
    OpCase("neg", lambda x: -x, lambda x: -x, (REALS,),
           lambda x: (-1.0,), lambda x: ((0.0,),)),
    OpCase("abs", lambda x: abs(x), abs, (AWAY_FROM_ZERO,),
           lambda x: (_sign(x),), lambda x: ((0.0,),)),
    OpCase("relu", lambda x: x.relu(), lambda x: max(0.0, x), (AWAY_FROM_ZERO,),
           lambda x: (1.0 if x > 0 else 0.0,), lambda x: ((0.0,),)),
    OpCase("leaky_relu", lambda x: x.leaky_relu(0.1), lambda x: x if x > 0 else 0.1 * x,
           (AWAY_FROM_ZERO,), lambda x: (1.0 if x > 0 else 0.1,), lambda x: ((0.0,),),
           lambda x: _F().leaky_relu(x, 0.1)),
    OpCase("tanh", lambda x: x.tanh(), math.tanh, (REALS,),
           lambda x: (1 - math.tanh(x) ** 2,),
           lambda x: ((-2 * math.tanh(x) * (1 - math.tanh(x) ** 2),),)),
    OpCase("sigmoid", lambda x: x.sigmoid(), _sigmoid, (REALS,),
           lambda x: (_sigmoid(x) * (1 - _sigmoid(x)),),
           lambda x: ((_sigmoid(x) * (1 - _sigmoid(x)) * (1 - 2 * _sigmoid(x)),),)),
    OpCase("exp", lambda x: x.exp(), math.exp, (((-5.0, 5.0),),),
           lambda x: (math.exp(x),), lambda x: ((math.exp(x),),)),
    OpCase("log", lambda x: x.log(), math.log, (POSITIVE,),
           lambda x: (1 / x,), lambda x: ((-1 / x**2,),)),
    OpCase("sqrt", lambda x: x.sqrt(), math.sqrt, (POSITIVE,),
           lambda x: (0.5 / math.sqrt(x),), lambda x: ((-0.25 * x ** -1.5,),)),
    OpCase("sin", lambda x: x.sin(), math.sin, (REALS,),
           lambda x: (math.cos(x),), lambda x: ((-math.sin(x),),)),
    OpCase("cos", lambda x: x.cos(), math.cos, (REALS,),
           lambda x: (-math.sin(x),), lambda x: ((-math.cos(x),),)),
    OpCase("softplus", lambda x: x.softplus(), lambda x: math.log(1 + math.exp(x)), (REALS,),
           lambda x: (_sigmoid(x),), lambda x: ((_sigmoid(x) * (1 - _sigmoid(x)),),),
           _logaddexp0),
]



def case_points() -> list[tuple[OpCase, tuple[float, ...]]]:
    """Every (case, sample point) pair, for parametrized tests."""
    return [(case, point) for case in CASES for point in case.points()]


def point_id(value: Any) -> str:
    if isinstance(value, OpCase):
        return value.name
    if isinstance(value, tuple):
        return ",".join(f"{v:.3g}" for v in value)
    return str(value)

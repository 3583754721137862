"""Per-thread modes of the engine: ``no_grad()``, ``detect_anomaly()`` and IEEE evaluation.

Every mode is thread-local: a ``no_grad`` block in one thread never changes what another
thread builds. Building a node checks one process-wide number, ``OPEN[0]`` (how many blocks
are open in any thread), so the common case (none) costs a single read per op.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
from typing import Any, Callable, Iterable, Iterator, TypeVar

__all__ = ["no_grad", "detect_anomaly", "AnomalyError", "grad_enabled", "anomaly_enabled",
           "ieee_enabled", "ieee", "first_non_finite"]

F = TypeVar("F", bound=Callable[..., Any])

_state = threading.local()  # .depth: this thread's {mode name: how many blocks are open}
_lock = threading.Lock()
#: How many no_grad / detect_anomaly blocks are open, in all threads together.
OPEN = [0]
_NONE: dict[str, int] = {}


def _depth(name: str) -> int:
    return getattr(_state, "depth", _NONE).get(name, 0)


def _this_thread() -> dict[str, int]:
    """This thread's depths, as an object a block keeps, so that it can close itself in
    the thread that opened it even when it is left in another."""
    depth = getattr(_state, "depth", None)
    if depth is None:
        depth = _state.depth = {}
    return depth


def grad_enabled() -> bool:
    """False inside ``no_grad()`` in this thread."""
    return _depth("no_grad") == 0


def anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` in this thread."""
    return _depth("anomaly") > 0


def ieee_enabled() -> bool:
    """True while local derivatives are evaluated at a singular point (see ``ieee``)."""
    return _depth("ieee") > 0


class _Block:
    """A thread-local mode as a context manager and a decorator (``@mode`` or ``@mode()``)."""

    _name = ""
    _counted = True  # counted in OPEN: node construction must look at it

    def __new__(cls, func: Any = None) -> Any:
        instance = super().__new__(cls)
        instance._open = []  # (thread id, that thread's depths) per open use, last innermost
        return instance if func is None else instance(func)

    def __enter__(self) -> "_Block":
        depth = _this_thread()
        with _lock:
            depth[self._name] = depth.get(self._name, 0) + 1
            if self._counted:
                OPEN[0] += 1
            self._open.append((threading.get_ident(), depth))
        return self

    def __exit__(self, *exc: object) -> None:
        here = threading.get_ident()
        with _lock:
            if not self._open:
                raise RuntimeError(f"{type(self).__name__}() was exited without being entered")
            mine = [i for i, (thread, _) in enumerate(self._open) if thread == here]
            # Left in another thread (a generator resumed elsewhere): close the block in the
            # thread that opened it all the same, so that thread does not stay in the mode.
            thread, depth = self._open.pop(mine[-1] if mine else -1)
            depth[self._name] -= 1
            if self._counted:
                OPEN[0] -= 1
        if thread != here:
            raise RuntimeError(
                f"{type(self).__name__}() was entered in one thread and exited in another; "
                "open and close each block in the same thread (each thread has its own mode). "
                "The block is closed: the thread that entered it is back in its mode from "
                "before")

    def __call__(self, func: F) -> F:
        block = type(self)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with block():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_Block):
    """Inside ``with no_grad():`` (or a function decorated with ``@no_grad``) ops build no graph:
    they return constant Values with no inputs. Per thread; nests.
    """

    _name = "no_grad"


class detect_anomaly(_Block):
    """Inside ``with detect_anomaly():`` the first op that makes a ``nan`` or ``inf`` raises.

    An op makes one when its result is ``nan`` and none of its operands was (``inf - inf``,
    ``0 * inf``), or ``inf`` and every operand was finite (``1e308 * 10``): see
    ``first_non_finite``. Forward, the operands are the op's inputs; backward, a chain-rule
    contribution ``upstream * local`` has as operands the upstream gradient and the forward
    values its local derivative reads (the node's inputs and output). The ``AnomalyError``
    names the op, its operands (labels and data) and the pass, like
    ``torch.autograd.detect_anomaly``. Slower (every node is checked); per thread.
    """

    _name = "anomaly"


class ieee(_Block):
    """Evaluate ops with IEEE-754 results instead of errors: ``1/0 = inf``, ``log(0) = -inf``.

    Used only inside the backward pass, to evaluate a local-derivative rule at a singular
    point (``sqrt'(0) = 0.5/0 = inf``) the way PyTorch's float64 does; never for the
    forward pass, where ``log(0)`` stays an error that names the op.
    """

    _name = "ieee"
    _counted = False


@contextlib.contextmanager
def recording() -> Iterator[None]:
    """Ops record the graph inside this block even within ``no_grad()`` in this thread (as
    torch's ``enable_grad``), for tools that must differentiate a function they are given
    (``jvp``, ``jacobian``); a ``no_grad()`` block opened inside still makes constants."""
    depth = _this_thread()
    saved = depth.get("no_grad", 0)
    depth["no_grad"] = 0
    try:
        yield
    finally:
        depth["no_grad"] = saved


def first_non_finite(result: float, operands: Iterable[float]) -> bool:
    """Whether ``result`` is a non-finite number made here, not carried in: ``nan`` from
    operands none of which is ``nan``, or ``±inf`` from operands that are all finite."""
    if math.isnan(result):
        return not any(math.isnan(x) for x in operands)
    if math.isinf(result):
        return all(math.isfinite(x) for x in operands)
    return False


class AnomalyError(RuntimeError):
    """``detect_anomaly()`` found the first op that made a non-finite number."""

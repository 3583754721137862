"""Per-thread modes of the engine: ``no_grad()``, ``detect_anomaly()`` and IEEE evaluation.

Every mode is thread-local: a ``no_grad`` block in one thread never changes what another
thread builds. Building a node checks one process-wide number, ``OPEN[0]`` (how many blocks
are open in any thread), so the common case (none) costs a single read per op.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, TypeVar

__all__ = ["no_grad", "detect_anomaly", "AnomalyError", "grad_enabled", "anomaly_enabled",
           "ieee_enabled", "ieee"]

F = TypeVar("F", bound=Callable[..., Any])

_state = threading.local()
_lock = threading.Lock()
#: How many no_grad / detect_anomaly blocks are open, in all threads together.
OPEN = [0]


def _depth(name: str) -> int:
    return getattr(_state, name, 0)


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
        instance._owner = None
        return instance if func is None else instance(func)

    def __enter__(self) -> "_Block":
        with _lock:
            setattr(_state, self._name, _depth(self._name) + 1)
            if self._counted:
                OPEN[0] += 1
        self._owner = threading.get_ident()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owner is not None and self._owner != threading.get_ident():
            raise RuntimeError(
                f"{type(self).__name__}() was entered in one thread and exited in another; "
                "open and close each block in the same thread (each thread has its own mode)")
        with _lock:
            setattr(_state, self._name, _depth(self._name) - 1)
            if self._counted:
                OPEN[0] -= 1
        self._owner = None

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

    Forward: an op whose result is not finite although its operands were. Backward: a
    chain-rule contribution ``upstream * local`` that is not finite although the upstream
    gradient was. The ``AnomalyError`` names the op, its operands (labels and data) and the
    pass, like ``torch.autograd.detect_anomaly``. Slower (every node is checked); per thread.
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


class AnomalyError(RuntimeError):
    """``detect_anomaly()`` found the first op that made a non-finite number."""

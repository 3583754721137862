"""Check analytic gradients against central differences: f'(x) ~ (f(x+eps) - f(x-eps)) / 2eps."""

from __future__ import annotations

from typing import Any, Callable, Sequence

from autograd.backprop import grad
from autograd.value import Value, _to_float

__all__ = ["gradcheck", "GradcheckError", "numerical_grad"]


class GradcheckError(AssertionError):
    """Analytic and numerical derivatives disagree; the message is a table of every entry."""


def _evaluate(fn: Callable[..., Any], leaves: Sequence[Value]) -> Value:
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__} {out!r:.40}")
    return out


def numerical_grad(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6) -> list[float]:
    """Central differences of ``fn(*inputs)`` for each input: (f(x+eps) - f(x-eps)) / 2eps."""
    xs = [_to_float(x.data if isinstance(x, Value) else x, f"gradcheck input {i}")
          for i, x in enumerate(inputs)]
    return [_central(_value_of(fn), xs, i, eps) for i in range(len(xs))]


def _value_of(fn: Callable[..., Any]) -> Callable[[list[float]], float]:
    return lambda xs: _evaluate(fn, [Value(x) for x in xs]).data


def _central(f: Callable[[list[float]], float], xs: list[float], i: int, eps: float) -> float:
    plus = list(xs)
    minus = list(xs)
    plus[i] += eps
    minus[i] -= eps
    return (f(plus) - f(minus)) / (2.0 * eps)


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, order: int = 1) -> bool:
    """Compare backprop's derivatives of ``fn(*inputs)`` with central differences.

    An entry passes when ``|analytic - numeric| <= atol + rtol * |numeric|``. With
    ``order=2`` the second derivatives (via ``grad(..., create_graph=True)``) are checked
    too, against central differences of the analytic first derivatives. Returns True, or
    raises ``GradcheckError`` whose message is a table of every entry.
    """
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order!r}")
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {fn!r:.40}")
    inputs = list(inputs)
    if not inputs:
        raise ValueError("gradcheck: give at least one input")
    names = [x.label if isinstance(x, Value) and x.label else f"x{i}" for i, x in
             enumerate(inputs)]
    xs = [_to_float(x.data if isinstance(x, Value) else x, f"gradcheck input {names[i]}")
          for i, x in enumerate(inputs)]

    def first_derivatives(values: list[float]) -> list[float]:
        leaves = [Value(v) for v in values]
        return grad(_evaluate(fn, leaves), leaves)

    rows = []
    analytic = first_derivatives(xs)
    for i, name in enumerate(names):
        numeric = _central(_value_of(fn), xs, i, eps)
        rows.append((f"d/d{name}", analytic[i], numeric))

    if order == 2:
        leaves = [Value(v) for v in xs]
        firsts = grad(_evaluate(fn, leaves), leaves, create_graph=True)
        for i, gi in enumerate(firsts):
            second = grad(gi, leaves)
            for j in range(len(xs)):
                numeric = _central(lambda v: first_derivatives(v)[i], xs, j, eps)
                rows.append((f"d2/d{names[i]}d{names[j]}", second[j], numeric))

    failed = [r for r in rows if not abs(r[1] - r[2]) <= atol + rtol * abs(r[2])]
    if failed:
        raise GradcheckError(_table(rows, failed, atol, rtol))
    return True


def _table(rows: list[tuple], failed: list[tuple], atol: float, rtol: float) -> str:
    header = ("entry", "analytic", "numeric", "abs err", "rel err", "")
    lines = []
    for name, a, n in rows:
        err = abs(a - n)
        rel = err / max(abs(a), abs(n), 1e-300)
        lines.append((name, f"{a:.10g}", f"{n:.10g}", f"{err:.3g}", f"{rel:.3g}",
                      "FAIL" if (name, a, n) in failed else "ok"))
    widths = [max(len(row[c]) for row in [header, *lines]) for c in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    body = "\n".join(fmt.format(*row).rstrip() for row in [header, *lines])
    return (f"gradcheck failed: {len(failed)} of {len(rows)} derivatives differ from central "
            f"differences (allowed: atol={atol:g} + rtol={rtol:g} * |numeric|)\n{body}")

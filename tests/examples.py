"""Worked examples shared by the tests: micrograd's lecture and README expressions."""

from __future__ import annotations

from autograd import Value, topological_order


def lecture() -> Value:
    """micrograd's lecture expression L = (a*b + c) * f, labels a, b, c, f, e, d, L."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c, f = Value(10.0, label="c"), Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    return L


def micrograd_readme() -> tuple[Value, Value, Value]:
    """micrograd's README expression as (g, a, b): g = 24.7041, dg/da = 138.8338, dg/db = 645.5773."""
    a, b = Value(-4.0, label="a"), Value(2.0, label="b")
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g, a, b


def labelled_leaves(root: Value) -> dict[str, Value]:
    """The leaves of root's graph that have a label, by label."""
    return {v.label: v for v in topological_order(root) if v.is_leaf and v.label}

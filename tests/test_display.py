"""How numbers, names and rules are shown: one formatter for traces, pictures and the CLI."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value
from autograd.display import format_number, local_rules, node_names


@pytest.mark.parametrize("x, text", [
    (6.0, "6.0"), (-2.0, "-2.0"), (2.0, "2.0"), (0.0, "0.0"), (-0.0, "0.0"),
    (138.83381924, "138.8"), (24.70408, "24.7"), (0.7071067, "0.7071"), (-0.7071067, "-0.7071"),
    (0.1 + 0.2, "0.3"), (0.001, "0.001"), (1234.5, "1234.5"), (9999.96, "10000.0"),
    (123456.0, "123456.0"), (1e6, "1e+06"), (1234567.0, "1.235e+06"), (1e-7, "1e-07"),
    (-1e-7, "-1e-07"), (1e-30, "1e-30"), (0.0001, "0.0001"), (0.99999, "1.0"),
    (math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan"),
])
def test_format_number(x, text):
    assert format_number(x) == text


@given(st.floats(allow_nan=False, allow_infinity=False, max_value=1e300, min_value=-1e300))
def test_format_number_is_close_and_never_negative_zero(x):
    text = format_number(x)
    assert not re.fullmatch(r"-0\.0*", text)
    assert math.isclose(float(text), x, rel_tol=1e-3, abs_tol=0.0) or x == 0.0
    assert "." in text or "e" in text  # never reads as an exact integer by accident


def test_one_formatter_everywhere():
    """explain(), the picture and the stepper print the same digits for the same number."""
    from autograd import draw_graph, explain, stepper

    x = Value(0.7071067, label="x")
    y = x.tanh()
    trace = explain(y)
    text = format_number(trace[0].local)
    assert text in str(trace)
    assert text in draw_graph(y).source
    assert text in stepper(y).html


def test_local_rules_name_the_graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    assert local_rules(c, node_names([a, b, c])) == ["∂c/∂a = b", "∂c/∂b = a"]
    t = c.tanh()
    t.label = "t"
    assert local_rules(t, node_names([c, t])) == ["∂t/∂c = 1 - t·t"]
    cube = a ** 3
    cube.label = "q"
    assert local_rules(cube, node_names([a, cube])) == ["∂q/∂a = 3·a^2"]
    r = c.relu()
    r.label = "r"
    assert local_rules(r, node_names([c, r])) == ["∂r/∂c = 0 if c ≤ 0 else 1"]

"""gradcheck: every op passes at order 1 and 2; a wrong rule is caught with a readable table."""

from __future__ import annotations

import math

import pytest
from optable import case_points, point_id

from autograd import GradcheckError, Value, gradcheck, register_op
from autograd.gradcheck import numerical_grad


@pytest.mark.parametrize("case,point", case_points(), ids=point_id)
def test_every_op_passes_gradcheck_order_2(case, point):
    assert gradcheck(case.build, list(point), order=2) is True


def test_numerical_grad_is_central_differences():
    # (f(x+h) - f(x-h)) / 2h for f = x^3 is 3x^2 + h^2 exactly (up to rounding)
    (d,) = numerical_grad(lambda x: x ** 3, [2.0], eps=1e-3)
    assert math.isclose(d, 12.0 + 1e-6, rel_tol=1e-9)


def test_gradcheck_accepts_values_and_leaves_them_alone():
    x, y = Value(0.5, label="x"), Value(-1.5, label="y")
    x.grad = 4.0
    assert gradcheck(lambda a, b: (a * b).tanh() + a.exp(), [x, y])
    assert (x.data, x.grad, y.grad) == (0.5, 4.0, 0.0)


def test_wrong_local_grads_is_caught_with_the_error_table():
    # d sin(x)/dx written as +sin(x) instead of cos(x): the kind of slip gradcheck exists for
    bad_sin = register_op("bad_sin", math.sin, lambda x, out: (out,))
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, y: bad_sin(x) * y, [Value(0.3, label="x"), 2.0])
    message = str(info.value)
    assert "1 of 2 derivatives differ" in message
    header, *rows = message.splitlines()[1:]
    assert header.split() == ["entry", "analytic", "numeric", "abs", "err", "rel", "err"]
    by_entry = {row.split()[0]: row.split() for row in rows}
    assert set(by_entry) == {"d/dx", "d/dx1"}
    entry, analytic, numeric, abs_err, rel_err, verdict = by_entry["d/dx"]
    assert math.isclose(float(analytic), 2 * math.sin(0.3), rel_tol=1e-9)
    assert math.isclose(float(numeric), 2 * math.cos(0.3), rel_tol=1e-6)
    assert math.isclose(float(abs_err), abs(float(analytic) - float(numeric)), rel_tol=1e-2)
    assert verdict == "FAIL" and by_entry["d/dx1"][-1] == "ok"
    assert isinstance(info.value, AssertionError)  # so a bare assert-style test fails on it


def test_wrong_second_derivative_is_caught_only_at_order_2():
    # Right first derivative, but written with a constant so its own derivative is lost.
    cube = register_op("cube", lambda x: x ** 3, lambda x, out: (3 * (x.data if
                                                                     isinstance(x, Value)
                                                                     else x) ** 2,))
    assert gradcheck(cube, [1.2])
    with pytest.raises(GradcheckError, match=r"d2/dx0dx0"):
        gradcheck(cube, [1.2], order=2)


def test_order_2_table_has_every_second_derivative():
    bad = register_op("bad_mul", lambda a, b: a * b, lambda a, b, out: (b, a * 0.0 + 1.0))
    with pytest.raises(GradcheckError) as info:
        gradcheck(bad, [2.0, 3.0], order=2)
    entries = [line.split()[0] for line in str(info.value).splitlines()[2:]]
    assert entries == ["d/dx0", "d/dx1", "d2/dx0dx0", "d2/dx0dx1", "d2/dx1dx0", "d2/dx1dx1"]


def test_gradcheck_fn_returning_a_float():
    with pytest.raises(TypeError, match="fn must return a Value, got float"):
        gradcheck(lambda x: 2.0, [1.0])


@pytest.mark.parametrize("kwargs,error,message", [
    ({"order": 3}, ValueError, "order must be 1 or 2"),
    ({"inputs": []}, ValueError, "at least one input"),
    ({"fn": "x**2"}, TypeError, "fn must be callable"),
    ({"inputs": ["1.0"]}, TypeError, "gradcheck input x0 must be a real number, got str"),
])
def test_gradcheck_bad_arguments(kwargs, error, message):
    arguments = {"fn": lambda x: x * x, "inputs": [1.0], **kwargs}
    with pytest.raises(error, match=message):
        gradcheck(**arguments)

"""detect_anomaly(): the first op that makes a nan or inf raises, named, forward or backward."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import AnomalyError, Value, detect_anomaly, grad, topological_order


def test_forward_names_the_first_op_and_its_operands():
    x = Value(1e308, label="x")
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        y = x * 10.0          # inf: the first non-finite value
        (y - y).tanh()        # nan, but only because of the inf before
    message = str(caught.value)
    assert "forward" in message and "'*' node" in message and "1e+308 (x)" in message


def test_backward_names_the_op_whose_contribution_is_not_finite():
    x = Value(0.0, label="x")
    y = x.sqrt() * 3.0
    y.backward()                                  # fine outside: x.grad = inf, as PyTorch
    assert x.grad == math.inf
    x.grad = 0.0
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        y.backward()
    assert "backward" in str(caught.value) and "'sqrt' node" in str(caught.value)
    assert x.grad == 0.0                          # nothing half-changed


def test_finite_graphs_run_unchanged_inside_detect_anomaly():
    x = Value(0.3)
    with detect_anomaly():
        y = (x * x).tanh().exp()
        y.backward()
        (d,) = grad(y, [x])
        step = autograd.compile(lambda v: (v * v).tanh().exp(), [0.3])
        assert step(0.3)[1][0] == d == x.grad


def test_detect_anomaly_is_per_thread_and_a_decorator():
    import threading

    @detect_anomaly
    def overflow():
        return Value(1e308) * 10.0

    with pytest.raises(AnomalyError):
        overflow()
    seen = []
    with detect_anomaly():
        t = threading.Thread(target=lambda: seen.append((Value(1e308) * 10.0).data))
        t.start()
        t.join()
    assert seen == [math.inf]                     # the other thread is not in the block
    assert (Value(1e308) * 10.0).data == math.inf  # nor this one, after it


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False,
                                                                    allow_infinity=False))
def test_anomaly_raises_exactly_when_some_value_or_gradient_is_not_finite(a, b):
    """Inside detect_anomaly a computation raises AnomalyError exactly when, outside, some
    node's value or gradient is not finite; otherwise it gives the same numbers."""
    def run():
        x, y = Value(a), Value(b)
        out = (x * y + x / (y * y + 1.0)).tanh() * (x * x)
        out.backward()
        return out, x, y

    try:
        out, x, y = run()
    except (ArithmeticError, ValueError):
        return
    nodes = topological_order(out)
    finite = all(math.isfinite(v.data) and math.isfinite(v.grad) for v in nodes)
    try:
        with detect_anomaly():
            inside = run()
    except AnomalyError:
        assert not finite
        return
    assert finite
    assert (inside[0].data, inside[1].grad, inside[2].grad) == (out.data, x.grad, y.grad)

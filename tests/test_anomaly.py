"""detect_anomaly(): the first op that makes a nan or inf raises, named, forward or backward."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import AnomalyError, Value, detect_anomaly, grad, topological_order
from autograd.backprop import chain_rule_step
from autograd.modes import first_non_finite


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


# Each op with operands that are not nan but make nan, or finite but make inf (forward).
MADE_HERE = [
    ("inf - inf", lambda x, y: x - y, math.inf, math.inf),
    ("0 * inf", lambda x, y: x * y, 0.0, math.inf),
    ("inf / inf", lambda x, y: x / y, math.inf, -math.inf),
    ("inf + -inf", lambda x, y: x + y, math.inf, -math.inf),
    ("1e308 * 10", lambda x, y: x * y, 1e308, 10.0),
    ("1e308 + 1e308", lambda x, y: x + y, 1e308, 1e308),
]


@pytest.mark.parametrize("name, op, a, b", MADE_HERE, ids=[case[0] for case in MADE_HERE])
def test_a_nan_or_inf_made_from_operands_that_were_not_is_flagged_forward(name, op, a, b):
    x, y = Value(a, label="x"), Value(b, label="y")
    op(x, y)                                       # outside: IEEE numbers, no error
    with detect_anomaly(), pytest.raises(AnomalyError, match="the forward pass made"):
        op(x, y)


def test_a_nan_or_inf_carried_in_is_not_flagged_again():
    with detect_anomaly():
        assert math.isnan((Value(math.nan) * 2.0).data)       # nan in, nan out
        assert (Value(math.inf) * 2.0).data == math.inf       # inf in, inf out
        assert (Value(math.inf) + 1.0).tanh().data == 1.0


def test_backward_flags_a_nan_from_an_infinite_upstream_times_a_zero_local():
    w = Value(2.0, label="w")
    out = w * 0.0
    with detect_anomaly(), pytest.raises(AnomalyError, match=r"backward pass made nan at the "
                                         r"'\*' node .*upstream gradient inf times local "
                                         r"derivative 0.0"):
        out.backward(math.inf)                     # inf · 0: no operand was nan
    assert w.grad == 0.0
    with detect_anomaly(), pytest.raises(AnomalyError, match="backward pass made nan"):
        grad(out, [w], grad_output=math.inf)
    with detect_anomaly():
        out.backward(math.nan)                     # nan carried in from the seed: not new
    assert math.isnan(w.grad)


OPS = [lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
       lambda x, y: x.exp() * y, lambda x, y: (x * y).tanh(), lambda x, y: x ** 2 - y]
SPECIAL = st.sampled_from([0.0, -0.0, 1.0, -2.5, 1e308, -1e308, 1e-308, math.inf, -math.inf,
                           math.nan])


@given(st.integers(0, len(OPS) - 1), SPECIAL, SPECIAL)
def test_an_op_raises_inside_detect_anomaly_exactly_when_it_makes_a_non_finite_number(k, a, b):
    """Forward: raises exactly when some op's result is nan with no nan operand or inf with
    all operands finite (checked node by node on the graph built outside the block)."""
    op = OPS[k]
    try:
        out = op(Value(a), Value(b))
    except (ArithmeticError, ValueError):
        return
    made = any(first_non_finite(v.data, [i.data for i in v.inputs])
               for v in topological_order(out) if not v.is_leaf)
    try:
        with detect_anomaly():
            op(Value(a), Value(b))
    except AnomalyError:
        assert made
        return
    assert not made


@given(st.integers(0, len(OPS) - 1), SPECIAL, SPECIAL, SPECIAL)
def test_backward_raises_exactly_when_a_contribution_is_a_new_non_finite_number(k, a, b, seed):
    """Backward: raises exactly when some contribution upstream · local is nan with neither
    the upstream nor a forward value the rule reads nan, or inf with all of them finite."""
    try:
        x, y = Value(a), Value(b)
        out = OPS[k](x, y)
    except (ArithmeticError, ValueError):
        return
    grads = {out: seed}
    made = False
    for node in reversed(topological_order(out)):
        if node.is_leaf:
            continue
        upstream = grads.get(node, 0.0)
        operands = [upstream, node.data, *(v.data for v in node.inputs)]
        for inp, _local, contribution in chain_rule_step(node, upstream):
            if contribution is not None:
                made = made or first_non_finite(contribution, operands)
                grads[inp] = grads.get(inp, 0.0) + contribution
    try:
        with detect_anomaly():
            out.backward(seed)
    except AnomalyError as error:
        assert made and "backward pass" in str(error)
        assert x.grad == 0.0 and y.grad == 0.0     # nothing half-changed
        return
    except (ArithmeticError, ValueError):
        return
    assert not made


def test_first_non_finite():
    assert first_non_finite(math.nan, [math.inf, math.inf])
    assert first_non_finite(math.inf, [1e308, 10.0])
    assert not first_non_finite(math.nan, [math.nan, 1.0])
    assert not first_non_finite(math.inf, [math.inf, 1.0])
    assert not first_non_finite(1.0, [math.nan])

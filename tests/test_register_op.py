"""register_op registers: an op added at run time is a full citizen of every tool, by name."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import (Value, draw_graph, explain, grad, gradcheck, ops, register_op, stepper,
                      topological_order)
from autograd.expr import evaluate
from nn import MLP


def swish_forward(x: float) -> float:
    return x * ops._sigmoid(x)


def swish_local_grads(x, out):
    s = ops.sigmoid(x)
    return (s + out * (1.0 - s),)  # d(x sigma(x))/dx = sigma + x sigma (1 - sigma)


@pytest.fixture
def swish():
    return register_op("swish", swish_forward, swish_local_grads)


def test_every_tool_uses_a_registered_op(swish):
    x = Value(0.7, label="x")
    y = swish(x) * 2.0
    y.label = "y"
    expected = 2.0 * (ops._sigmoid(0.7) + swish_forward(0.7) * (1 - ops._sigmoid(0.7)))

    y.backward()                                                   # backward
    assert x.grad == pytest.approx(expected, rel=1e-15)
    (d1,) = grad(y, [x], create_graph=True)                        # create_graph
    (d2,) = grad(d1, [x])
    assert d1.data == pytest.approx(expected, rel=1e-15) and math.isfinite(d2)
    assert gradcheck(lambda v: swish(v) * 2.0, [0.7], order=2)     # gradcheck, order 2
    step = autograd.compile(lambda v: swish(v) * 2.0, [0.7])       # compile
    assert step(0.7)[1][0] == pytest.approx(expected, rel=1e-15)
    assert "_sigmoid(" in step.source                              # its rule, printed as code

    x.grad = 0.0
    trace = explain(y)                                             # explain: op and rule text
    swish_step = next(s for s in trace if s.op == "swish")
    assert swish_step.rule == f"∂{swish_step.node_name}/∂x = sigmoid(x) + " \
                              f"{swish_step.node_name}·(1 - sigmoid(x))"
    source = draw_graph(y).source                                  # picture: rule on the edge
    assert 'label=swish' in source or 'label="swish"' in source
    page = stepper(y)                                              # stepper: its steps
    assert swish_step.formula in page.html

    out, leaves = evaluate("swish(a) * 2", {"a": 0.7})             # the expression language
    out.backward()
    assert leaves["a"].grad == pytest.approx(expected, rel=1e-15)

    model = MLP(2, [3, 1], activation="swish", seed=0)             # an nn activation by name
    hidden = model.layers[0]([0.5, -1.0])
    assert all(h.op == "swish" for h in hidden)
    assert ops.lookup("swish") is swish and ops.OPS["swish"] is swish.op


def test_a_forward_rule_without_a_signature_takes_its_arity_from_the_rule():
    hypot = register_op("hypot", math.hypot, lambda x, y, out: (x / out, y / out))
    atan2 = register_op("atan2", math.atan2,
                        lambda y, x, out: (x / (x * x + y * y), -y / (x * x + y * y)))
    a, b = Value(3.0), Value(4.0)
    h = hypot(a, b)
    h.backward()
    assert (h.data, a.grad, b.grad) == (5.0, 0.6, 0.8)
    assert gradcheck(lambda y, x: atan2(y, x), [1.0, 2.0], order=2)
    assert hypot.op.arity == 2
    with pytest.raises(TypeError, match="signature"):
        register_op("f", math.hypot, math.hypot)
    k = register_op("k", math.hypot, math.hypot, arity=2)  # an explicit arity also works
    assert k.op.arity == 2


def test_registering_a_name_twice():
    def run_the_cell():  # as a notebook cell run twice: the same definitions again
        return register_op("sq", lambda x: x * x, lambda x, out: (2 * x,))

    first, again = run_the_cell(), run_the_cell()
    assert ops.OPS["sq"] is again.op and first(Value(3.0)).data == 9.0
    with pytest.raises(ValueError, match="already registered.*replace=True"):
        register_op("sq", lambda x: x * x * x, lambda x, out: (3 * x * x,))
    cube = register_op("sq", lambda x: x * x * x, lambda x, out: (3 * x * x,), replace=True)
    assert cube(Value(2.0)).data == 8.0 and ops.lookup("sq") is cube
    with pytest.raises(ValueError, match="built-in op"):
        register_op("tanh", lambda x: x, lambda x, out: (1.0,), replace=True)
    ops.unregister_op("sq")
    with pytest.raises(KeyError, match="no op named 'sq'"):
        ops.lookup("sq")


@given(st.floats(-4, 4), st.floats(-4, 4))
def test_a_registered_op_is_compiled_and_traced_like_a_builtin(x, y):
    """The rule is printed (compile), shown (explain) and run (backward) from one row."""
    mix = register_op("mix", lambda a, b: a * b + a, lambda a, b, out: (b + 1.0, a))
    a, b = Value(x, label="a"), Value(y, label="b")
    out = mix(a, b).tanh()
    out.backward()
    step = autograd.compile(lambda u, v: mix(u, v).tanh(), [x, y])
    value, grads = step(x, y)
    assert value == out.data and grads == (a.grad, b.grad)
    assert "_op1_mix" not in step.source  # its forward is an expression: printed, not called
    order = topological_order(out)
    assert any(v.op == "mix" for v in order)

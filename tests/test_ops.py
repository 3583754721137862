"""The op table, checked row by row: forward values, first and second derivatives by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optable import CASES, case_points, point_id

from autograd import Value, grad, ops, register_op

PAIRS = case_points()


def close(a: float, b: float, rel: float = 1e-12, abs_: float = 1e-12) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def test_table_covers_every_op():
    """Every op of ops.OPS and the constant-exponent power is built by some row of the table."""
    rules = set()
    for case in CASES:
        leaves = [Value(x) for x in case.points()[0]]
        rules.add(case.build(*leaves)._rule)
    missing = {op.name for op in [*ops.OPS.values(), ops.POWC] if op not in rules}
    assert not missing, f"tests/optable.py has no row for the ops {sorted(missing)}"


@pytest.mark.parametrize("case,point", PAIRS, ids=point_id)
def test_forward_matches_float_reference(case, point):
    out = case.build(*(Value(x) for x in point))
    assert isinstance(out, Value)
    assert type(out.data) is float
    assert close(out.data, case.ref(*point), rel=1e-14)


@pytest.mark.parametrize("case,point", PAIRS, ids=point_id)
def test_first_derivatives_match_hand_formula(case, point):
    leaves = [Value(x) for x in point]
    case.build(*leaves).backward()
    for leaf, expected in zip(leaves, case.derivs(*point)):
        assert close(leaf.grad, expected), (case.name, point, leaf.grad, expected)


@pytest.mark.parametrize("case,point", PAIRS, ids=point_id)
def test_second_derivatives_through_create_graph(case, point):
    leaves = [Value(x) for x in point]
    firsts = grad(case.build(*leaves), leaves, create_graph=True)
    for i, first in enumerate(firsts):
        assert isinstance(first, Value), "create_graph=True must give Values"
        assert close(first.data, case.derivs(*point)[i])
        row = grad(first, leaves)
        for j, expected in enumerate(case.hessian(*point)[i]):
            assert close(row[j], expected, rel=1e-11), (case.name, point, i, j, row[j], expected)


@settings(max_examples=150)
@given(st.sampled_from(CASES).flatmap(lambda c: st.tuples(st.just(c), c.strategy())))
def test_random_points_value_and_gradient(case_point):
    case, point = case_point
    leaves = [Value(x) for x in point]
    out = case.build(*leaves)
    assert close(out.data, case.ref(*point), rel=1e-13)
    out.backward()
    for leaf, expected in zip(leaves, case.derivs(*point)):
        assert close(leaf.grad, expected, rel=1e-11, abs_=1e-11), (case.name, point)


@pytest.mark.parametrize("name,fn,x", [
    ("exp", math.exp, 0.7), ("log", math.log, 0.7), ("sqrt", math.sqrt, 0.7),
    ("sin", math.sin, 0.7), ("cos", math.cos, 0.7), ("tanh", math.tanh, 0.7),
    ("sigmoid", lambda x: 1 / (1 + math.exp(-x)), 0.7),
    ("softplus", lambda x: math.log1p(math.exp(x)), 0.7),
    ("relu", lambda x: max(x, 0.0), -0.7), ("leaky_relu", lambda x: 0.01 * x, -0.7),
    ("abs", abs, -0.7), ("sign", lambda x: -1.0, -0.7),
])
def test_float_or_value_functions(name, fn, x):
    """ops.f(float) is a float; ops.f(Value) is a Value with the same data (and a graph)."""
    f = getattr(ops, name)
    on_float = f(x)
    assert type(on_float) is float and close(on_float, fn(x))
    v = Value(x)
    on_value = f(v)
    if name == "sign":  # the derivative of |x|: a constant, not a node
        assert type(on_value) is float and on_value == fn(x)
        return
    assert isinstance(on_value, Value) and close(on_value.data, fn(x))
    assert on_value.inputs == (v,)


def test_constant_exponent_op_names():
    x = Value(2.0)
    assert (x ** 2).op == "**2"
    assert (x ** 0.5).op == "**0.5"
    assert (x ** -1).op == "**-1"
    assert (x ** Value(2.0)).op == "**"
    assert (2 ** x).op == "**" and (2 ** x).inputs[1] is x


@pytest.mark.parametrize("build,op,operands", [
    (lambda a, b: a + b, "+", "ab"), (lambda a, b: a - b, "-", "ab"),
    (lambda a, b: a * b, "*", "ab"), (lambda a, b: a / b, "/", "ab"),
    (lambda a, b: b - a, "-", "ba"), (lambda a, b: b / a, "/", "ba"),
])
def test_inputs_are_in_operand_order(build, op, operands):
    a, b = Value(3.0, "a"), Value(5.0, "b")
    out = build(a, b)
    assert out.op == op
    assert [v.label for v in out.inputs] == list(operands)


def test_reflected_operators_put_the_constant_first():
    x = Value(4.0)
    for out, data in ((2 + x, 6.0), (2 - x, -2.0), (2 * x, 8.0), (2 / x, 0.5), (2 ** x, 16.0)):
        assert out.data == data
        const, same = out.inputs
        assert same is x and const.is_leaf and const.data == 2.0


def test_register_op_custom_op_gets_first_and_second_derivatives():
    cube_plus = register_op("cube_plus", lambda a, b: a ** 3 + b,
                            lambda a, b, out: (3 * a ** 2, 1.0))
    a, b = Value(2.0), Value(-1.0)
    out = cube_plus(a, b)
    assert out.op == "cube_plus" and out.data == 7.0 and out.inputs == (a, b)
    out.backward()
    assert (a.grad, b.grad) == (12.0, 1.0)
    first = grad(cube_plus(a, b), [a], create_graph=True)[0]
    assert grad(first, [a]) == [12.0]  # d2/da2 a^3 = 6a
    # numbers are accepted as inputs, like built-in ops
    assert cube_plus(2, 1).data == 9.0


def test_register_op_three_inputs():
    fma = register_op("fma", lambda a, b, c: a * b + c, lambda a, b, c, out: (b, a, 1.0))
    a, b, c = Value(2.0), Value(3.0), Value(4.0)
    out = fma(a, b, c)
    assert out.data == 10.0 and out.inputs == (a, b, c)
    out.backward()
    assert (a.grad, b.grad, c.grad) == (3.0, 2.0, 1.0)
    assert grad(fma(a, a, a), [a]) == [2 * 2.0 + 1.0]


def test_register_op_rule_using_ops_functions():
    swish = register_op("swish", lambda x: x / (1 + math.exp(-x)),
                        lambda x, out: (ops.sigmoid(x) + out * (1 - ops.sigmoid(x)),))
    x = Value(0.8)
    s = 1 / (1 + math.exp(-0.8))
    d1 = grad(swish(x), [x], create_graph=True)[0]
    assert close(d1.data, s + 0.8 * s * (1 - s))
    # d2/dx2 swish = s'(2 + x(1 - 2s)) with s' = s(1 - s)
    assert close(grad(d1, [x])[0], s * (1 - s) * (2 + 0.8 * (1 - 2 * s)))


@pytest.mark.parametrize("args", [(), (1.0, 2.0)])
def test_register_op_wrong_number_of_arguments(args):
    square = register_op("square", lambda x: x * x, lambda x, out: (2 * x,))
    with pytest.raises(TypeError, match=r"square\(\) takes 1 argument"):
        square(*args)


@pytest.mark.parametrize("name,forward,local,message", [
    ("", lambda x: x, lambda x, out: (1.0,), "non-empty str"),
    (3, lambda x: x, lambda x, out: (1.0,), "non-empty str"),
    ("f", 42, lambda x, out: (1.0,), "forward must be callable"),
    ("f", lambda x: x, None, "local_grads must be callable"),
    ("f", lambda *xs: sum(xs), lambda *a: (1.0,), r"fixed number of arguments"),
    ("f", lambda: 1.0, lambda out: (), "at least one input"),
])
def test_register_op_bad_signature(name, forward, local, message):
    with pytest.raises(TypeError, match=message):
        register_op(name, forward, local)


def test_register_op_local_grads_of_wrong_length():
    bad = register_op("bad", lambda a, b: a + b, lambda a, b, out: (1.0,))
    a, b = Value(1.0), Value(2.0)
    out = bad(a, b)
    with pytest.raises(TypeError, match=r"'bad'.*one derivative per input \(2\)"):
        out.backward()
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_register_op_forward_returning_non_number():
    text = register_op("text", lambda x: "oops", lambda x, out: (1.0,))
    with pytest.raises(TypeError, match="'text'"):
        text(Value(1.0))

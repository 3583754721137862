"""Every bad input: the error type, a message naming the op and the operand, nothing half-built."""

from __future__ import annotations

import re
import warnings

import pytest

from autograd import Value, grad, ops, topological_order


# ---------------------------------------------------------------- Value(data) of the wrong type

@pytest.mark.parametrize("data,type_name", [
    ("3", "str"), (None, "NoneType"), (1 + 2j, "complex"), ([1], "list"), ((1.0,), "tuple"),
    (Value(1.0), "Value"), ({"x": 1}, "dict"), (b"1", "bytes"),
])
def test_value_of_a_non_number_is_a_type_error_naming_the_type(data, type_name):
    with pytest.raises(TypeError, match=rf"Value\(data\) must be a real number, got {type_name}"):
        Value(data)


def test_value_type_errors_say_what_to_do():
    with pytest.raises(TypeError, match=r"Value\(float\('3'\)\)"):
        Value("3")
    with pytest.raises(TypeError, match="detach"):
        Value(Value(1.0))


def test_label_must_be_text():
    with pytest.raises(TypeError, match="label must be a str, got int"):
        Value(1.0, label=3)


@pytest.mark.parametrize("build", [
    lambda v: v + "a", lambda v: "a" + v, lambda v: v * None, lambda v: [1] * v,
    lambda v: v - 1j, lambda v: v / "2", lambda v: v ** "2", lambda v: "2" ** v,
])
def test_arithmetic_with_a_non_number_is_a_type_error(build):
    with pytest.raises(TypeError):
        build(Value(1.0))


@pytest.mark.parametrize("build,message", [
    (lambda v: v.leaky_relu("0.1"), r"leaky_relu\(slope\) must be a real number, got str"),
])
def test_bad_parameters(build, message):
    with pytest.raises(TypeError, match=message):
        build(Value(1.0))


# ---------------------------------------------------------------- bad math, at the op

BAD_MATH = [
    (lambda: Value(0.0).log(), ValueError, r"log\(0\.0\)"),
    (lambda: Value(-1.0).log(), ValueError, r"log\(-1\.0\)"),
    (lambda: Value(-1.0).sqrt(), ValueError, r"sqrt\(-1\.0\)"),
    (lambda: Value(-1.0) ** 0.5, ValueError, r"\(-1\.0\) \*\* 0\.5"),
    (lambda: Value(1.0) / 0, ZeroDivisionError, r"1\.0 / 0\.0"),
    (lambda: Value(1.0) / Value(0.0), ZeroDivisionError, r"1\.0 / 0\.0"),
    (lambda: 1 / Value(0.0), ZeroDivisionError, r"1\.0 / 0\.0"),
    (lambda: Value(0.0) ** -1, ZeroDivisionError, r"0\.0 \*\* -1\.0"),
    (lambda: Value(0.0) ** Value(-1.0), ZeroDivisionError, r"0\.0 \*\* -1\.0"),
    (lambda: Value(-8.0) ** 0.5, ValueError, r"\(-8\.0\) \*\* 0\.5"),
    (lambda: Value(-8.0) ** Value(1 / 3), ValueError, r"\(-8\.0\) \*\* 0\.333"),
    (lambda: (-8) ** Value(0.5), ValueError, r"\(-8\.0\) \*\* 0\.5"),
    (lambda: Value(1000.0).exp(), OverflowError, r"exp\(1000\.0\)"),
    (lambda: Value(10.0) ** 1000, OverflowError, r"10\.0 \*\* 1000\.0"),
    (lambda: 2 ** Value(5000.0), OverflowError, r"2\.0 \*\* 5000\.0"),
    (lambda: ops.log(0.0), ValueError, r"log\(0\.0\)"),
    (lambda: ops.sqrt(-4), ValueError, r"sqrt\(-4\.0\)"),
    (lambda: ops.exp(1e4), OverflowError, r"exp\(10000\.0\)"),
]


@pytest.mark.parametrize("build,error,operand", BAD_MATH)
def test_bad_math_raises_at_the_op_naming_op_and_operand(build, error, operand):
    with pytest.raises(error, match=operand):
        build()


def test_negative_base_to_an_integer_power_is_fine():
    assert (Value(-2.0) ** 3).data == -8.0
    assert (Value(-2.0) ** Value(2.0)).data == 4.0
    assert (Value(0.0) ** 0).data == 1.0


def test_a_failing_op_changes_nothing():
    """The check runs before a node exists: operands keep data and grad, names keep values."""
    x = Value(-1.0)
    x.grad = 0.5
    y = x * 2
    before = [(v.data, v.grad, v.inputs) for v in (x, y)]
    for fail in (lambda: x.log(), lambda: y.sqrt(), lambda: y / (x + 1), lambda: y ** 0.5,
                 lambda: (-y * 1000).exp(), lambda: x ** Value(-0.5)):
        with pytest.raises((ValueError, ZeroDivisionError, OverflowError)):
            fail()
    z = y
    with pytest.raises(ValueError):
        z += z.log()
    assert z is y
    assert [(v.data, v.grad, v.inputs) for v in (x, y)] == before
    assert topological_order(y) == [x, y.inputs[1], y]


def test_bad_math_inside_a_graph_leaves_the_graph_usable():
    x = Value(2.0)
    y = x * 3
    with pytest.raises(ValueError):
        (y - 10).log()
    z = y.log()
    z.backward()
    assert topological_order(z) == [x, topological_order(z)[1], y, z]
    assert x.grad == pytest.approx(1 / 2)


def test_no_runtime_warnings_from_bad_math():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for build, error, _ in BAD_MATH:
            with pytest.raises(error):
                build()


# ---------------------------------------------------------------- backward and grad misuse

@pytest.mark.parametrize("seed", ["1", None, [1.0], 1j, Value(1.0)])
def test_backward_with_a_non_number_grad(seed):
    x = Value(2.0)
    x.grad = 5.0
    y = x * x
    with pytest.raises(TypeError, match=r"backward\(grad\) must be a real number"):
        y.backward(seed)
    assert (x.grad, y.grad) == (5.0, 0.0)  # nothing changed


def test_grad_with_bad_arguments():
    x = Value(1.0)
    with pytest.raises(TypeError, match="grad\\(output\\) needs a Value, got float"):
        grad(1.0, [x])
    with pytest.raises(TypeError, match="entry 1 is float"):
        grad(x * x, [x, 2.0])
    with pytest.raises(TypeError, match=r"grad\(grad_output\) must be a real number, got str"):
        grad(x * x, [x], grad_output="1")


def test_topological_order_of_a_non_value():
    with pytest.raises(TypeError, match=re.escape("topological_order() needs a Value, got int")):
        topological_order(3)


# ---------------------------------------------------------------- errors keep their type

class TwoArgumentError(ArithmeticError):
    """A user's exception whose __init__ takes two arguments (re-raising type(e)(msg) broke it)."""

    def __init__(self, what, where):
        super().__init__(f"{what} at {where}")


class KeywordOnlyError(ValueError):
    def __init__(self, *, reason):
        super().__init__(reason)


EXCEPTIONS = [lambda: TwoArgumentError("bad", "here"), lambda: KeywordOnlyError(reason="no"),
              lambda: ZeroDivisionError("mine"), lambda: OverflowError("big"),
              lambda: ValueError("domain")]


@pytest.mark.parametrize("make", EXCEPTIONS)
@pytest.mark.parametrize("tool", ["backward", "grad", "explain", "_backward"])
def test_a_rules_own_exception_keeps_its_type_and_gets_the_place_as_a_note(make, tool):
    raised = make()

    def rule(x, out):
        raise raised

    from autograd import explain, grad, register_op

    broken = register_op("broken", lambda x: 2.0 * x, rule)
    x = Value(1.5, label="x")
    y = broken(x)
    run = {"backward": y.backward, "grad": lambda: grad(y, [x]), "explain": lambda: explain(y),
           "_backward": y._backward}[tool]
    with pytest.raises(type(raised)) as caught:
        run()
    assert caught.value is raised
    assert "the 'broken' node (input data 1.5 (x))" in " ".join(caught.value.__notes__)


def test_a_forward_rules_exception_keeps_its_type_and_names_the_op():
    from autograd import register_op

    def forward(x):
        raise TwoArgumentError("forward", "x")

    op = register_op("fails", forward, lambda x, out: (1.0,))
    with pytest.raises(TwoArgumentError) as caught:
        op(Value(2.0))
    assert "in the forward pass of the 'fails' op (input data 2.0)" in caught.value.__notes__[0]

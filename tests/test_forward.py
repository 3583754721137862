"""Forward mode: jvp() and jacobian() from the op table's rows, against reverse mode and PyTorch.

Random expression graphs come from test_torch_parity's programs, drawn over every row of the
test op table plus three registered ops (one, three inputs; one whose rule says None).
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from optable import CASES, REALS, OpCase
from test_torch_parity import LIMIT, PARITY, programs, run

import autograd
from autograd import AnomalyError, Value, detect_anomaly, grad, jacobian, jvp, no_grad, ops
from conftest import require_module

REL, ABS = 1e-9, 1e-12


# ---------------------------------------------------------------- registered ops as rows

def _swish_local_grads(x, out):
    s = ops.sigmoid(x)
    return (s + out * (1.0 - s),)


def _lerp_local_grads(a, b, t, out):
    return (1.0 - t, t, b - a)


def _clamp01_local_grads(x, out):
    # as torch.clamp: 1 on [0, 1], edges included; None: no derivative flows outside
    return (ops.where((x >= 0.0) & (x <= 1.0), 1.0, None),)


def register_test_ops() -> None:
    """The registry is reset after each test (conftest), so each test registers again."""
    ops.register_op("swish", lambda x: x * ops._sigmoid(x), _swish_local_grads)
    ops.register_op("lerp", lambda a, b, t: a + t * (b - a), _lerp_local_grads)
    ops.register_op("clamp01", lambda x: min(max(x, 0.0), 1.0), _clamp01_local_grads)


def _torch():
    import torch
    return torch


REGISTERED = [
    OpCase("swish", lambda x: ops.lookup("swish")(x), lambda x: x / (1 + math.exp(-x)),
           (REALS,), lambda x: (), lambda x: (), lambda x: x * _torch().sigmoid(x)),
    OpCase("lerp", lambda a, b, t: ops.lookup("lerp")(a, b, t), lambda a, b, t: a + t * (b - a),
           (REALS, REALS, REALS), lambda a, b, t: (), lambda a, b, t: (),
           lambda a, b, t: a + t * (b - a)),
    OpCase("clamp01", lambda x: ops.lookup("clamp01")(x), lambda x: min(max(x, 0.0), 1.0),
           (REALS,), lambda x: (), lambda x: (), lambda x: _torch().clamp(x, 0.0, 1.0)),
]
EVERY_OP = CASES + REGISTERED


def program_function(program):
    """The program as f(*leaves) -> its last node (Values or tensors alike)."""
    return lambda *leaves: run(program, list(leaves))[-1]


def usable(program) -> list[Value]:
    """Every node of the program on Values; rejects programs outside float range."""
    register_test_ops()
    try:
        nodes = run(program, [Value(x) for x in program[0]])
    except (ArithmeticError, ValueError):
        assume(False)  # e.g. 2 ** x overflowing
    assume(all(abs(node.data) < LIMIT for node in nodes))
    return nodes


def close(mine: float, reference: float, scale: float = 1.0) -> bool:
    """Equal up to rounding: sums of the same products, added in another order."""
    return math.isclose(mine, reference, rel_tol=REL, abs_tol=ABS * max(1.0, scale))


directions = st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3)


@pytest.fixture(scope="module")
def torch():
    torch = require_module("torch")
    torch.set_default_dtype(torch.float64)
    return torch


# ---------------------------------------------------------------- by hand

def test_jvp_of_a_product_and_a_sine_by_hand():
    # f(x, y) = xy + sin x: J = (y + cos x, x); at (2, 3) in direction (0.5, -1)
    value, derivative = jvp(lambda x, y: x * y + x.sin(), [2.0, 3.0], [0.5, -1.0])
    assert value == 6.0 + math.sin(2.0)
    assert math.isclose(derivative, (3.0 + math.cos(2.0)) * 0.5 - 2.0, rel_tol=1e-15)


def test_jacobian_of_a_map_from_two_to_three_numbers_by_hand():
    def f(x, y):
        return [x * y, x + y, (x / y).exp()]

    e = math.exp(2.0 / 3.0)
    expected = [[3.0, 2.0], [1.0, 1.0], [e / 3.0, -2.0 * e / 9.0]]
    for mode in ("reverse", "forward"):
        J = jacobian(f, [2.0, 3.0], mode=mode)
        assert [[round(d, 14) for d in row] for row in J] == \
               [[round(d, 14) for d in row] for row in expected], mode


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_shapes_follow_torch(mode):
    many_to_many = jacobian(lambda x, y: [x * y, x - y], [2.0, 3.0], mode)
    many_to_one = jacobian(lambda x, y: x * y, [2.0, 3.0], mode)
    one_to_many = jacobian(lambda x: [x * x, -x], 3.0, mode)
    one_to_one = jacobian(lambda x: x * x, 3.0, mode)
    one_in_a_list = jacobian(lambda x: x * x, [3.0], mode)
    assert many_to_many == [[3.0, 2.0], [1.0, -1.0]]
    assert many_to_one == [3.0, 2.0]
    assert one_to_many == [6.0, -1.0]
    assert one_to_one == 6.0
    assert one_in_a_list == [6.0]


def test_jvp_shapes_follow_the_output():
    assert jvp(lambda x: x * x, 3.0, 1.0) == (9.0, 6.0)
    assert jvp(lambda x: [x * x, x], [3.0], [2.0]) == ([9.0, 3.0], [12.0, 2.0])
    assert jvp(lambda x, y: (x * y,), (2.0, 3.0), (1.0, 1.0)) == ([6.0], [5.0])


def test_outputs_that_are_inputs_or_constants():
    one = Value(1.0)
    J = jacobian(lambda x, y: [y, one, x], [2.0, 3.0], "forward")
    assert J == jacobian(lambda x, y: [y, one, x], [2.0, 3.0], "reverse")
    assert J == [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]


# ---------------------------------------------------------------- against reverse mode

@settings(PARITY, max_examples=200)
@given(programs(cases=EVERY_OP), directions)
def test_jvp_equals_the_reverse_mode_directional_derivative(program, direction):
    nodes = usable(program)
    v = direction[:len(program[0])]
    value, derivative = jvp(program_function(program), program[0], v)
    leaves = [Value(x) for x in program[0]]
    out = run(program, leaves)[-1]
    gradient = grad(out, leaves)
    expected = sum(g * d for g, d in zip(gradient, v))
    assert value == nodes[-1].data
    assert close(derivative, expected, sum(abs(g * d) for g, d in zip(gradient, v))), (
        f"jvp {derivative!r} vs reverse mode {expected!r}")


@settings(PARITY, max_examples=150)
@given(programs(cases=EVERY_OP), st.data())
def test_both_jacobian_modes_agree(program, data):
    nodes = usable(program)
    # several outputs: any nodes of the program, leaves and repeats included
    picked = data.draw(st.lists(st.integers(0, len(nodes) - 1), min_size=1, max_size=4))

    def f(*leaves):
        built = run(program, list(leaves))
        return [built[k] for k in picked]

    forward, reverse = (jacobian(f, program[0], mode) for mode in ("forward", "reverse"))
    assert len(forward) == len(picked) and all(len(row) == len(program[0]) for row in forward)
    for i, (row_f, row_r) in enumerate(zip(forward, reverse)):
        for j, (a, b) in enumerate(zip(row_f, row_r)):
            assert close(a, b, abs(b)), f"J[{i}][{j}]: forward {a!r} vs reverse {b!r}"


# ---------------------------------------------------------------- against PyTorch

@settings(PARITY, max_examples=120)
@given(programs(cases=EVERY_OP), directions)
def test_jvp_matches_torch(torch, program, direction):
    usable(program)
    v = direction[:len(program[0])]
    value, derivative = jvp(program_function(program), program[0], v)
    t_value, t_derivative = torch.autograd.functional.jvp(
        program_function(program), tuple(torch.tensor(x) for x in program[0]),
        tuple(torch.tensor(d) for d in v))
    assert close(value, t_value.item())
    assert close(derivative, t_derivative.item(), abs(t_derivative.item())), (
        f"jvp {derivative!r} vs torch {t_derivative.item()!r}")


@settings(PARITY, max_examples=80)
@given(programs(cases=EVERY_OP), st.data())
def test_jacobian_matches_torch(torch, program, data):
    nodes = usable(program)
    picked = data.draw(st.lists(st.integers(len(program[0]), len(nodes) - 1), min_size=1,
                                max_size=3))

    def f(*leaves):
        built = run(program, list(leaves))
        return tuple(built[k] for k in picked)

    t_J = torch.autograd.functional.jacobian(f, tuple(torch.tensor(x) for x in program[0]))
    for mode in ("forward", "reverse"):
        J = jacobian(f, program[0], mode)
        for i, row in enumerate(J):
            for j, d in enumerate(row):
                reference = t_J[i][j].item()
                assert close(d, reference, abs(reference)), (
                    f"{mode} J[{i}][{j}] {d!r} vs torch {reference!r}")


@pytest.mark.parametrize("case", EVERY_OP, ids=lambda c: c.name)
def test_each_op_jacobian_matches_torch(torch, case):
    register_test_ops()
    point = case.points()[0]
    J = jacobian(case.build, list(point), "forward")
    t_J = torch.autograd.functional.jacobian(case.torch, tuple(torch.tensor(x) for x in point))
    for j, d in enumerate(J):
        assert close(d, t_J[j].item()), f"{case.name} d/dx{j}: {d!r} vs {t_J[j].item()!r}"


# ---------------------------------------------------------------- tools only look

def test_no_grad_changes_and_f_runs_once():
    w = Value(0.5, label="w")
    w.grad = 7.0                           # a parameter f uses, with a gradient of its own
    x = Value(2.0, label="x")
    x.grad = -1.0
    calls = []

    def f(a, b):
        calls.append(1)
        return [(w * a).tanh() + b, a * b * w]

    for mode in ("forward", "reverse"):
        jacobian(f, [x, 3.0], mode)
    jvp(f, [x, 3.0], [1.0, 1.0])
    assert len(calls) == 3                 # each mode evaluates f once
    assert (w.grad, x.grad) == (7.0, -1.0)
    assert jacobian(f, [x, 3.0])[1] == [1.5, 1.0]  # a Value primal gives its data


def test_inside_no_grad_the_result_is_the_same():
    def f(x, y):
        return [x * y.exp(), (x - y).sin()]

    outside = jvp(f, [0.3, -0.4], [1.0, 2.0]), jacobian(f, [0.3, -0.4], "forward")
    with no_grad():
        inside = jvp(f, [0.3, -0.4], [1.0, 2.0]), jacobian(f, [0.3, -0.4], "forward")
        assert (Value(1.0) * 2.0).is_leaf   # and no_grad is still on afterwards
    assert inside == outside


def test_a_no_grad_block_inside_f_makes_a_constant():
    def f(x):
        with no_grad():
            c = x * 3.0                     # a constant: no derivative flows through it
        return x * c

    assert jvp(f, 2.0, 1.0) == (12.0, 6.0)
    assert jacobian(f, 2.0, "reverse") == jacobian(f, 2.0, "forward") == 6.0


# ---------------------------------------------------------------- singular points

def test_no_derivative_flows_where_a_rule_says_none():
    # relu at -1 passes no derivative, so the inf of sqrt'(0) after it is never multiplied
    f = lambda x: x.relu().sqrt()  # noqa: E731
    assert jvp(f, -1.0, 1.0) == (0.0, 0.0)
    assert jacobian(f, -1.0, "forward") == jacobian(f, -1.0, "reverse") == 0.0


def test_sqrt_at_zero_gives_inf_and_detect_anomaly_names_the_op(torch):
    value, derivative = jvp(lambda x: x.sqrt() * 3.0, 0.0, 1.0)
    _, t_derivative = torch.autograd.functional.jvp(lambda x: x.sqrt() * 3.0,
                                                    torch.tensor(0.0), torch.tensor(1.0))
    assert (value, derivative) == (0.0, math.inf) == (0.0, t_derivative.item())
    with detect_anomaly(), pytest.raises(AnomalyError) as caught:
        jvp(lambda x: x.sqrt() * 3.0, 0.0, 1.0)
    assert "forward-mode" in str(caught.value) and "'sqrt' node" in str(caught.value)


# ---------------------------------------------------------------- errors

def _f(x, y):
    return x * y


@pytest.mark.parametrize("call, error, words", [
    (lambda: jvp(_f, [1.0, 2.0], [1.0]), ValueError, ["2 primals but 1 tangents"]),
    (lambda: jvp(_f, [1.0, 2.0], 1.0), TypeError, ["shape of the primals", "list of 2"]),
    (lambda: jvp(lambda x: x, 1.0, [1.0]), TypeError, ["shape of the primals", "one number"]),
    (lambda: jvp(_f, [1.0, "2"], [1.0, 1.0]), TypeError, ["primals[1]", "str"]),
    (lambda: jvp(_f, [1.0, 2.0], [1.0, None]), TypeError, ["tangents[1]", "NoneType"]),
    (lambda: jvp(lambda x: 2.0, 1.0, 1.0), TypeError, ["Value or a list of Values", "float"]),
    (lambda: jvp(lambda x: [x, 1], 1.0, 1.0), TypeError, ["entry 1", "int"]),
    (lambda: jvp(None, 1.0, 1.0), TypeError, ["f must be a function"]),
    (lambda: jacobian(_f, [1.0, complex(1, 1)]), TypeError, ["inputs[1]", "complex"]),
    (lambda: jacobian(lambda x: None, 1.0), TypeError, ["Value or a list", "NoneType"]),
    (lambda: jacobian(_f, [1.0, 2.0], mode="sideways"), ValueError, ["'reverse' or 'forward'"]),
])
def test_bad_calls_say_what_was_wrong(call, error, words):
    with pytest.raises(error) as caught:
        call()
    for word in words:
        assert word in str(caught.value)


def test_import_autograd_loads_forward_mode_only_when_used():
    code = ("import sys, autograd; before = 'autograd.forward' in sys.modules; "
            "autograd.jvp; print(before, 'autograd.forward' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.split() == ["False", "True"]
    assert {"jvp", "jacobian"} <= set(autograd.__all__)


# ---------------------------------------------------------------- graphs deep and derived

def test_a_chain_twenty_thousand_ops_deep():  # far past the recursion limit
    def f(x):
        for _ in range(10_000):
            x = x * 1.0 + 0.0
        return x

    assert jvp(f, 2.0, 3.0) == (2.0, 3.0)
    assert jacobian(f, 2.0, "forward") == jacobian(f, 2.0, "reverse") == 1.0


def test_forward_over_reverse_gives_a_hessian_vector_product():
    # H v for f(x, y) = x^2 y + sin(xy): jvp of the gradient built with create_graph
    def gradient(x, y):
        return grad(x * x * y + (x * y).sin(), [x, y], create_graph=True)

    x, y, v = 0.7, -1.3, [0.4, 2.0]
    c, s = math.cos(x * y), math.sin(x * y)
    hessian = [[2 * y - y * y * s, 2 * x + c - x * y * s], [2 * x + c - x * y * s, -x * x * s]]
    _, hv = jvp(gradient, [x, y], v)
    for row, d in zip(hessian, hv):
        assert math.isclose(d, row[0] * v[0] + row[1] * v[1], rel_tol=1e-13)
    for row, by_hand in zip(jacobian(gradient, [x, y], "forward"), hessian):
        assert row == pytest.approx(by_hand, rel=1e-13)

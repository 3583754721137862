"""PyTorch float64 parity: random expression graphs, values, gradients and Hessians.

Hypothesis draws a small program: leaves, then steps that each apply a row of the op table
to earlier nodes (often the same ones again: shared subexpressions) or to constants on
either side. The same program runs on Values and on float64 tensors. Inputs of ops with a
restricted domain are guarded with lo + (hi - lo) * sigmoid(v), which both engines share.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import require_module
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from optable import CASES, REALS

from autograd import Value, grad, gradcheck, topological_order

REL, ABS = 1e-9, 1e-12
LIMIT = 1e6  # larger intermediate values are rejected: they only test float rounding


@pytest.fixture(scope="module")
def torch():
    torch = require_module("torch")
    torch.set_default_dtype(torch.float64)
    return torch


def _in(dom) -> st.SearchStrategy[float]:
    return st.one_of(*(st.floats(lo, hi) for lo, hi in dom))


@st.composite
def programs(draw, max_steps: int = 10,
             cases: list = CASES) -> tuple[list[float], list[tuple]]:
    """Leaves, then steps that each apply a row of ``cases`` (the op table by default)."""
    n_leaves = draw(st.integers(1, 3))
    leaves = draw(st.lists(st.floats(-2.0, 2.0), min_size=n_leaves, max_size=n_leaves))
    steps = []
    n_nodes = n_leaves
    for _ in range(draw(st.integers(1, max_steps))):
        case = draw(st.sampled_from(cases))
        operands: list[tuple] = []
        for k, dom in enumerate(case.domains):
            last = k == case.arity - 1
            all_const = all(kind == "const" for kind, *_ in operands)
            if case.arity == 2 and not (last and all_const) and draw(st.integers(0, 3)) == 0:
                operands.append(("const", draw(_in(dom))))
                continue
            # Counting back from the newest node: shrinks to chains, but reuses older nodes.
            index = n_nodes - 1 - draw(st.integers(0, n_nodes - 1))
            interval = None if dom is REALS else draw(st.sampled_from(dom))
            operands.append(("node", index, interval))
        steps.append((case, operands))
        n_nodes += 1
    return leaves, steps


def run(program: tuple[list[float], list[tuple]], leaves: list[Any]) -> list[Any]:
    """Every node of the program, built from ``leaves`` (Values or tensors)."""
    nodes = list(leaves)
    for case, operands in program[1]:
        args = []
        for operand in operands:
            if operand[0] == "const":
                args.append(operand[1])
                continue
            _, index, interval = operand
            v = nodes[index]
            if interval is not None:
                lo, hi = interval
                v = lo + (hi - lo) * v.sigmoid()
            args.append(v)
        built = case.build(*args) if isinstance(leaves[0], Value) else case.torch(*args)
        nodes.append(built)
    return nodes


def ours(program) -> tuple[list[Value], Value]:
    leaves = [Value(x) for x in program[0]]
    try:
        nodes = run(program, leaves)
    except (ArithmeticError, ValueError):
        assume(False)  # e.g. 2 ** x overflowing: PyTorch would give inf
    assume(all(abs(node.data) < LIMIT for node in nodes))
    return leaves, nodes[-1]


def exponent_zero(out: Value) -> bool:
    """Some a ** b node has b == 0 exactly. PyTorch masks d(a^b)/da to 0 there, which drops
    the b-dependence of that term from its second derivatives (chainrule's agree with
    central differences; see test_pow_second_derivative_at_exponent_zero)."""
    return any(node.op == "**" and node.inputs[1].data == 0.0
               for node in topological_order(out))


def theirs(torch, program):
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in program[0]]
    return leaves, run(program, leaves)[-1]


def torch_grads(torch, out, leaves, create_graph=False) -> list:
    if not out.requires_grad:
        return [torch.zeros(()) for _ in leaves]
    gs = torch.autograd.grad(out, leaves, allow_unused=True, retain_graph=True,
                             create_graph=create_graph)
    return [torch.zeros(()) if g is None else g for g in gs]


def assert_close(mine: float, reference: float, what: str) -> None:
    assert math.isclose(mine, reference, rel_tol=REL, abs_tol=ABS), (
        f"{what}: chainrule {mine!r} vs torch {reference!r}")


PARITY = settings(max_examples=250, suppress_health_check=[HealthCheck.filter_too_much,
                                                             HealthCheck.too_slow])


@PARITY
@given(programs())
def test_value_and_every_leaf_gradient_match_torch(torch, program):
    leaves, out = ours(program)
    t_leaves, t_out = theirs(torch, program)
    assert_close(out.data, t_out.item(), "value")
    out.backward()
    for i, (leaf, g) in enumerate(zip(leaves, torch_grads(torch, t_out, t_leaves))):
        assert_close(leaf.grad, g.item(), f"d out / d leaf {i}")
    # grad() follows the table rules rather than the fast path: same numbers
    for i, (g, leaf) in enumerate(zip(grad(out, leaves), leaves)):
        assert_close(g, leaf.grad, f"grad() vs backward() for leaf {i}")
    # a second pass: leaves get exactly twice, intermediate nodes keep the latest pass
    first = [leaf.grad for leaf in leaves]
    inner = [(node, node.grad) for node in topological_order(out) if not node.is_leaf]
    out.backward()
    assert [leaf.grad for leaf in leaves] == [2 * g for g in first]
    assert all(node.grad == g for node, g in inner)


@settings(PARITY, max_examples=120)
@given(programs(max_steps=7))
def test_second_derivatives_match_torch(torch, program):
    leaves, out = ours(program)
    assume(not exponent_zero(out))
    t_leaves, t_out = theirs(torch, program)
    firsts = grad(out, leaves, create_graph=True)
    t_firsts = torch_grads(torch, t_out, t_leaves, create_graph=True)
    for i, (first, t_first) in enumerate(zip(firsts, t_firsts)):
        assert_close(first.data, t_first.item(), f"d out / d leaf {i}")
        row = grad(first, leaves)
        t_row = torch_grads(torch, t_first, t_leaves)
        for j, (h, t_h) in enumerate(zip(row, t_row)):
            assert_close(h, t_h.item(), f"d2 out / d leaf {i} d leaf {j}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_op_matches_torch_at_its_sample_points(torch, case):
    for point in case.points():
        leaves = [Value(x) for x in point]
        t_leaves = [torch.tensor(x, requires_grad=True) for x in point]
        out, t_out = case.build(*leaves), case.torch(*t_leaves)
        assert_close(out.data, t_out.item(), f"{case.name}{point}")
        firsts = grad(out, leaves, create_graph=True)
        t_firsts = torch_grads(torch, t_out, t_leaves, create_graph=True)
        for i, (first, t_first) in enumerate(zip(firsts, t_firsts)):
            assert_close(first.data, t_first.item(), f"{case.name}{point} d/dx{i}")
            for j, (h, t_h) in enumerate(zip(grad(first, leaves),
                                             torch_grads(torch, t_first, t_leaves))):
                assert_close(h, t_h.item(), f"{case.name}{point} d2/dx{i}dx{j}")


def test_pow_second_derivative_at_exponent_zero():
    """The case PyTorch gets wrong (see exponent_zero): checked against central differences."""
    def f(x):
        s = x.sigmoid()
        return (0.2 + 2.8 * s) ** (-2 + 4 * s)  # exponent 0 at x = 0

    assert gradcheck(f, [0.0], order=2, atol=1e-6, rtol=1e-6)

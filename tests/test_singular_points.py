"""Singular points and non-finite numbers: every op gives PyTorch's float64 number or a clear error.

Every row of the op table is evaluated at special values (0, -0, +-1, +-inf, nan, huge and
subnormal numbers and, for two inputs, every pair of them) by the engine and by PyTorch:

- where the engine's forward pass raises (log 0, 1/0, 0 ** -1, sqrt(-1), exp(1000), sin(inf)),
  PyTorch's value is not finite: the engine says so at the op instead of returning inf/nan;
- everywhere else the value, the first derivatives and the second derivatives are PyTorch's,
  with inf and nan in the same places (``sqrt'(0) = inf``, ``relu'(nan) = 1``, ``abs'(nan) =
  0``, relu and ``x ** 0`` passing no gradient, not even ``0 * inf``);
- a forward pass that succeeded never makes backward(), grad(), explain(), draw_graph(),
  stepper() or autograd.compile raise.
"""

from __future__ import annotations

import itertools
import math

import pytest
from conftest import require_module
from optable import CASES

import autograd
from autograd import Value, draw_graph, explain, grad, stepper

INF, NAN = math.inf, math.nan
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.0, 3.0, INF, -INF, NAN, 1e308, -1e308, 5e-324]
PAIRS = [0.0, 1.0, -1.0, 0.5, 2.0, -2.0, INF, -INF, NAN]


def special_points(case) -> list[tuple[float, ...]]:
    return [(x,) for x in SPECIAL] if case.arity == 1 else list(itertools.product(PAIRS,
                                                                                  repeat=2))


@pytest.fixture(scope="module")
def torch():
    torch = require_module("torch")
    return torch


def same(a: float, b: float) -> bool:
    """Equal as PyTorch float64 gives it: nan where nan, inf where inf, else 1e-12 relative."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b)) or abs(a - b) < 1e-300


def by_engine(case, point):
    """(value, first derivatives, Hessian rows), or the error the forward pass raised."""
    leaves = [Value(x) for x in point]
    try:
        out = case.build(*leaves)
    except (ArithmeticError, ValueError) as error:
        return error
    firsts = grad(out, leaves, create_graph=True)
    seconds = [[float(s) for s in grad(g, leaves)] if isinstance(g, Value) else
               [0.0] * len(leaves) for g in firsts]
    return out.data, [float(g) for g in firsts], seconds


def by_torch(torch, case, point):
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = case.torch(*xs)
    firsts = torch.autograd.grad(out, xs, create_graph=True, allow_unused=True)
    firsts = [torch.zeros((), dtype=torch.float64) if g is None else g for g in firsts]
    seconds = []
    for g in firsts:
        if g.requires_grad:
            row = torch.autograd.grad(g, xs, allow_unused=True)
            seconds.append([0.0 if h is None else h.item() for h in row])
        else:
            seconds.append([0.0] * len(xs))
    return out.item(), [g.item() for g in firsts], seconds


def hessian_is_pytorchs_there(case, point) -> bool:
    """Where PyTorch's second derivative is an artifact of how it computes the first, the
    engine keeps the mathematical one:

    - ``a ** b`` where b == 0 or a == 0: PyTorch masks its first derivatives there with
      ``where``, and differentiating through ``where`` gives nan (or drops the term d/db of
      ``b a^(b-1)`` at b == 0, see tests/test_torch_parity); the engine differentiates the
      unmasked branch, or passes no gradient through the masked one;
    - softplus far below 0: PyTorch's reference here, ``logaddexp(x, 0)``, gives nan for its
      second derivative once e^x underflows, where sigmoid'(x) = 0.
    """
    if case.name == "pow":  # and a nan base: see nan_is_masked_by_pytorch
        return point[0] != 0.0 and point[1] != 0.0 and not math.isnan(point[0])
    return not (case.name == "softplus" and point[0] < -700.0)


def nan_is_masked_by_pytorch(case, point) -> bool:
    """PyTorch's d(a ** b)/da is 0 wherever b == 0 (and its derivative wherever b - 1 == 0),
    even for a nan base; the engine never masks NaN (DESIGN: "NaN is never masked"), so
    there it gives nan."""
    return case.name == "pow" and math.isnan(point[0]) and point[1] == 0.0


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_every_op_at_its_singular_points_is_pytorchs_number_or_an_error(torch, case):
    for point in special_points(case):
        if nan_is_masked_by_pytorch(case, point):
            continue
        ours = by_engine(case, point)
        theirs = by_torch(torch, case, point)
        if isinstance(ours, Exception):
            assert not math.isfinite(theirs[0]), (case.name, point, ours, theirs)
            continue
        (value, firsts, seconds), (t_value, t_firsts, t_seconds) = ours, theirs
        assert same(value, t_value), (case.name, point, "value", value, t_value)
        for k, (d, t) in enumerate(zip(firsts, t_firsts)):
            assert same(d, t), (case.name, point, f"d/dx{k}", firsts, t_firsts)
        if hessian_is_pytorchs_there(case, point):
            for row, t_row in zip(seconds, t_seconds):
                for h, t in zip(row, t_row):
                    assert same(h, t), (case.name, point, "hessian", seconds, t_seconds)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_forward_pass_that_succeeded_never_makes_a_tool_raise(case):
    terms, leaves = [], []
    for point in special_points(case):
        xs = [Value(x, label=f"x{len(leaves) + i}") for i, x in enumerate(point)]
        try:
            out = case.build(*xs)
        except (ArithmeticError, ValueError):
            continue
        step = autograd.compile(lambda *v: case.build(*v) * 1.0, list(point))
        value, compiled_grads = step(*point)
        (out * 1.0).backward()
        assert same(value, out.data)
        assert all(same(a, x.grad) for a, x in zip(compiled_grads, xs)), (case.name, point)
        terms.append(out)
        leaves += xs
    # One graph with the op at every special point: every tool draws and explains it.
    total = sum(terms[1:], terms[0])
    total.label = "y"
    total.backward()
    trace = explain(total)
    assert len(trace.steps) == sum(len(v.inputs) for v in trace.order) and str(trace)
    assert "digraph" in draw_graph(total).source
    assert "<svg" in stepper(total).html


def test_the_issue_12_examples():
    x = Value(0.0)
    y = x.sqrt()
    y.backward()
    assert x.grad == INF
    x = Value(0.0)
    (d,) = grad(x ** 0.5, [x])
    assert d == INF
    n = Value(NAN)
    assert math.isnan(n.relu().data)
    assert Value(2.0) ** INF is not None and (Value(2.0) ** INF).op == "**inf"
    assert (Value(2.0) ** NAN).op == "**nan"
    with pytest.raises(ValueError, match=r"sin\(inf\)"):
        Value(INF).sin()
    with pytest.raises(OverflowError, match="Value\\(data\\).*too large for a float"):
        Value(10 ** 400)


# Points where the order of the chain rule's arithmetic decides the number (issue 21): each
# is `f(inputs) * upstream`, so the op's contribution is upstream times (or over) its local.
def _log(x):
    return x.log()


EDGE_POINTS = [
    # (name, the op on Values or tensors, inputs, upstream)
    ("subnormal ** 0", lambda a, b: a ** b, (1e-310, 0.0), 1.0),          # was nan: 0 * inf
    ("(-0) ** 0.5", lambda a, b: a ** b, (-0.0, 0.5), 1.0),               # was d/da = -inf
    ("x / subnormal", lambda x, y: x / y, (1.0, 1e-310), 2e-287),         # was inf: g * (1/y)
    ("-x / subnormal", lambda x, y: x / y, (-3.0, -4e-320), 1e-300),
    ("log(subnormal)", _log, (1e-310,), 1e-310),                          # was inf
    ("log(tiny normal)", _log, (3e-308,), 1e-300),
]


def _every_way(build, point, upstream):
    """The gradient of build(*point) * upstream by backward(), grad(), grad(create_graph) and
    compiled code: they must agree."""
    leaves = [Value(x) for x in point]
    (build(*leaves) * upstream).backward()
    by_grad = grad(build(*leaves) * upstream, leaves)
    by_graph = [float(g) for g in grad(build(*leaves) * upstream, leaves, create_graph=True)]
    compiled = autograd.compile(lambda *v: build(*v) * upstream, list(point))(*point)[1]
    return [[v.grad for v in leaves], by_grad, by_graph, list(compiled)]


@pytest.mark.parametrize("name, build, point, upstream", EDGE_POINTS,
                         ids=[e[0] for e in EDGE_POINTS])
def test_edge_points_give_pytorchs_gradient_every_way(torch, name, build, point, upstream):
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    (build(*xs) * upstream).backward()
    theirs = [x.grad.item() for x in xs]
    for ours in _every_way(build, point, upstream):
        assert all(same(a, b) for a, b in zip(ours, theirs)), (name, ours, theirs)


def test_property_a_tiny_upstream_over_a_tiny_denominator_is_pytorchs(torch):
    """x / y and log(y) for y down to the subnormals and upstream gradients down to 1e-320:
    the contribution upstream / y is finite where upstream * (1 / y) overflowed, and the fast
    path, grad(), create_graph and compiled code all give PyTorch's number."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    tiny = st.floats(5e-324, 1e-290).flatmap(lambda v: st.sampled_from([v, -v]))

    @settings(max_examples=60, deadline=None)
    @given(st.floats(-10.0, 10.0), tiny, st.floats(1e-320, 1e-250), st.booleans())
    def check(x, y, upstream, use_log):
        build, point = (_log, (abs(y),)) if use_log else (lambda a, b: a / b, (x, y))
        xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
        (build(*xs) * upstream).backward()
        theirs = [t.grad.item() for t in xs]
        for ours in _every_way(build, point, upstream):
            assert all(same(a, b) for a, b in zip(ours, theirs)), (point, ours, theirs)

    check()

"""paths(): every path from x to the output, its local derivatives and product; sums to grad."""

from __future__ import annotations

import math

import pytest
from hypothesis import given

from autograd import Value, paths, topological_order
from examples import build, graphs, lecture, used_twice


def test_a_node_used_twice_has_two_paths_that_add_up():
    ps = paths(used_twice(), "x")
    assert str(ps) == "\n".join([
        "x is used twice: 2 paths, (-6.0) + (-2.0) = -8.0 = dL/dx",
        "  x → d → L: ∂d/∂x · ∂L/∂d = 1.0 · (-6.0) = -6.0",
        "  x → c → L: ∂c/∂x · ∂L/∂c = (-2.0) · 1.0 = -2.0"])
    assert [p.nodes for p in ps] == [("x", "d", "L"), ("x", "c", "L")]
    assert ps.total == ps.grad == -8.0 and len(ps) == 2
    assert repr(ps) == str(ps)


def test_one_path_through_the_lecture_expression():
    L = lecture()
    a = next(v for v in topological_order(L) if v.label == "a")
    (path,) = paths(L, a)
    assert path.formula() == ("a → e → d → L: ∂e/∂a · ∂d/∂e · ∂L/∂d = (-3.0) · 1.0 · (-2.0) "
                              "= 6.0")
    assert a.grad == 0.0  # paths touches no .grad


def test_x_times_x_has_one_path_per_operand():
    x = Value(3.0, label="x")
    s = x * x
    s.label = "s"
    ps = paths(s, x)
    assert [p.formula() for p in ps] == ["x → s: ∂s/∂x (operand 1) = 3.0 = 3.0",
                                         "x → s: ∂s/∂x (operand 2) = 3.0 = 3.0"]
    assert ps.summary() == "x is used twice: 2 paths, 3.0 + 3.0 = 6.0 = ds/dx"


def test_the_output_itself_and_a_node_that_does_not_reach_it():
    L = lecture()
    (itself,) = paths(L, L)
    assert itself.product == 1.0 and itself.steps == ()
    elsewhere = paths(L, Value(1.0, label="z"))
    assert len(elsewhere) == 0 and elsewhere.grad == 0.0
    assert elsewhere.summary() == "z does not reach L: no path, dL/dz = 0.0"


def chain_of_squares(n):
    """y = x^(2^n) as n squarings y = y * y: 2^n paths from x to y."""
    x = Value(1.0, label="x")
    y = x
    for _ in range(n):
        y = y * y
    y.label = "y"
    return y


def test_too_many_paths_are_refused_at_once():
    with pytest.raises(ValueError, match=r"x reaches y along 1,099,511,627,776 paths, more "
                                         r"than max_paths=1000.*explain\(y\)"):
        paths(chain_of_squares(40), "x")
    with pytest.raises(ValueError, match="16 paths, more than max_paths=8"):
        paths(chain_of_squares(4), "x", max_paths=8)
    assert len(paths(chain_of_squares(3), "x", max_paths=8)) == 8


@pytest.mark.parametrize("call, error, message", [
    (lambda: paths(2.0, "x"), TypeError, "output Value"),
    (lambda: paths(lecture(), "q"), KeyError, "no node named 'q'"),
    (lambda: paths(lecture(), 3), TypeError, "a Value or a node's name"),
    (lambda: paths(lecture(), "a", max_paths=0), ValueError, "max_paths"),
])
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_html_escapes_names():
    x = Value(2.0, label="<i>x</i>")
    y = x * x
    page = paths(y, x)._repr_html_()
    assert "<i>x</i>" not in page and "&lt;i&gt;x&lt;/i&gt;" in page


@given(graphs)
def test_on_random_graphs_the_paths_sum_to_the_gradient(graph):
    root = build(graph)
    reference = build(graph)
    reference.backward()
    order, twin = topological_order(root), topological_order(reference)
    for node, engine in zip(order, twin):
        if not node.is_leaf:
            continue
        ps = paths(root, node, max_paths=5000)
        assert ps.grad == engine.grad
        for p in ps:
            assert p.product == pytest.approx(math.prod(s.local for s in p.steps), rel=1e-12)
            assert p.steps[0].input is node and p.steps[-1].node is root
        assert ps.total == pytest.approx(engine.grad, rel=1e-9, abs=1e-12)


def test_a_very_deep_shared_chain_is_refused_with_the_power_of_ten():
    """(Before: Python's "Exceeds the limit (4300 digits)" from printing 2^15000.)"""
    with pytest.raises(ValueError, match=r"x reaches y along about 10\^4,515 paths, more than "
                                         r"max_paths=1000"):
        paths(chain_of_squares(15_000), "x")
    with pytest.raises(ValueError, match=r"along 562,949,953,421,312 paths"):
        paths(chain_of_squares(49), "x")                 # exact up to 10^15
    with pytest.raises(ValueError, match=r"along about 10\^15 paths"):
        paths(chain_of_squares(50), "x")                 # 2^50 = 1.126e15


def test_a_name_two_nodes_share_is_refused():
    a1, a2 = Value(2.0, label="a"), Value(3.0, label="a")
    with pytest.raises(ValueError, match="'a' is ambiguous"):
        paths(a1 * a2, "a")
    assert len(paths(a1 * a2, a2)) == 1

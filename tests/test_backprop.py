"""The backward pass: fast path = table, accumulation semantics, grad(), no_grad, depth."""

from __future__ import annotations

import contextlib

import math
import sys
import threading

import pytest
from optable import case_points, point_id

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograd import Value, explain, grad, no_grad, register_op, topological_order
from autograd.ops import Op
from autograd.value import apply_op
from autograd import backprop
from examples import micrograd_readme


# ---------------------------------------------------------------- fast path == op table

@pytest.mark.parametrize("upstream", [1.0, -0.37])
@pytest.mark.parametrize("case,point", case_points(), ids=point_id)
def test_fast_path_equals_the_readable_step_exactly(case, point, upstream):
    """_propagate's spelled-out ops give bit for bit chain_rule_step's upstream * local."""
    leaves = [Value(x) for x in point]
    out = case.build(*leaves)
    step = backprop.chain_rule_step(out, upstream)
    out.backward(upstream)
    for inp, _local, contribution in step:
        expected = 0.0 if contribution is None else contribution
        assert inp.grad == expected, (case.name, out.op, inp.grad, expected)


def test_local_grads_create_graph_gives_values():
    x = Value(0.3)
    y = x.tanh()
    (d,) = backprop.local_grads(y, create_graph=True)
    assert isinstance(d, Value) and d.data == 1 - math.tanh(0.3) ** 2
    assert backprop.local_grads(x) == ()


# ---------------------------------------------------------------- topological order

def test_topological_order_inputs_before_outputs_each_node_once():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert order[-1] is e
    assert len(order) == len(set(order)) == 5
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for inp in node.inputs:
            assert position[inp] < position[node]


def test_topological_order_of_a_leaf():
    x = Value(1.0)
    assert topological_order(x) == [x]


# ---------------------------------------------------------------- simple graphs

def test_x_times_x():
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_x_plus_x():
    x = Value(3.0)
    (x + x).backward()
    assert x.grad == 2.0


def test_node_used_many_times():
    x = Value(1.5)
    y = x * 2.0
    total = y
    for _ in range(9):
        total = total + y  # y used 10 times: d total / dx = 20
    total.backward()
    assert x.grad == 20.0
    assert y.grad == 10.0


def test_backward_on_a_leaf_sets_its_grad_to_one():
    x = Value(5.0)
    x.backward()
    assert x.grad == 1.0
    x.backward()
    assert x.grad == 2.0


def test_backward_with_upstream_gradient():
    x = Value(2.0)
    y = x ** 3
    y.backward(0.5)
    assert y.grad == 0.5 and x.grad == 0.5 * 12.0


# ---------------------------------------------------------------- repeated backward

def test_repeated_backward_doubles_leaves_and_keeps_intermediates():
    """micrograd's bug: y = x*x; z = y + y. PyTorch semantics: 12 then 24, y.grad stays 2."""
    x = Value(3.0)
    y = x * x
    z = y + y
    z.backward()
    assert (x.grad, y.grad, z.grad) == (12.0, 2.0, 1.0)
    z.backward()
    assert x.grad == 24.0
    assert (y.grad, z.grad) == (2.0, 1.0)


def test_repeated_backward_is_exactly_twice_on_a_messy_graph():
    a, b = Value(0.3), Value(-1.7)
    c = (a * b).tanh()
    loss = (c * a + b.sigmoid() * c).exp() / (1 + a * a)
    loss.backward()
    first = (a.grad, b.grad)
    loss.backward()
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1])


def test_intermediate_grads_are_those_of_the_latest_pass():
    x = Value(2.0)
    y = x * x
    y.backward()
    z = y * 3.0
    z.backward()
    assert y.grad == 3.0  # not 1 + 3
    assert x.grad == 4.0 + 12.0


# ---------------------------------------------------------------- grad()

def test_grad_does_not_touch_dot_grad():
    x, y = Value(2.0), Value(3.0)
    x.grad = 7.0
    out = x * y
    assert grad(out, [x, y]) == [3.0, 2.0]
    assert (x.grad, y.grad, out.grad) == (7.0, 0.0, 0.0)


def test_grad_of_unrelated_input_is_zero():
    x, unrelated = Value(2.0), Value(3.0)
    assert grad(x * x, [x, unrelated]) == [4.0, 0.0]
    (second,) = grad(x * x, [unrelated], create_graph=True)
    assert isinstance(second, Value) and second.data == 0.0


def test_grad_accepts_a_single_value_and_grad_output():
    x = Value(2.0)
    assert grad(x ** 2, x, grad_output=0.5) == [2.0]


def test_grad_with_respect_to_an_intermediate_node():
    x = Value(0.5)
    y = x.exp()
    z = y * y
    assert grad(z, [y, x]) == [2 * y.data, 2 * y.data * y.data]


def test_grad_of_output_with_respect_to_itself():
    x = Value(2.0)
    assert grad(x, [x]) == [1.0]


# ---------------------------------------------------------------- higher derivatives

def nth_derivative(f, x0: float, n: int) -> float:
    x = Value(x0)
    y = f(x)
    for _ in range(n - 1):
        (y,) = grad(y, [x], create_graph=True)
    return grad(y, [x])[0]


def test_third_derivative_of_tanh():
    x0 = 0.4
    t = math.tanh(x0)
    # tanh''' = -2 (1 - t^2)(1 - 3 t^2)
    assert math.isclose(nth_derivative(lambda x: x.tanh(), x0, 3),
                        -2 * (1 - t * t) * (1 - 3 * t * t), rel_tol=1e-12)


@pytest.mark.parametrize("x0", [-2.0, 0.0, 0.7, 3.1])
def test_fourth_derivative_of_sin_is_sin(x0):
    assert math.isclose(nth_derivative(lambda x: x.sin(), x0, 4), math.sin(x0),
                        rel_tol=1e-12, abs_tol=1e-15)


def test_fifth_derivative_of_x_to_the_fifth_at_zero():
    assert nth_derivative(lambda x: x ** 5, 0.0, 5) == 120.0
    assert nth_derivative(lambda x: x ** 5, 0.0, 6) == 0.0


def test_hessian_of_a_two_variable_function():
    # f = x^2 y + sin(x y): H = [[2y - y^2 sin, 2x + cos - xy sin], [same, -x^2 sin]]
    x, y = Value(0.6), Value(-1.3)
    f = x * x * y + (x * y).sin()
    gx, gy = grad(f, [x, y], create_graph=True)
    hessian = [grad(gx, [x, y]), grad(gy, [x, y])]
    xv, yv = 0.6, -1.3
    s, c = math.sin(xv * yv), math.cos(xv * yv)
    expected = [[2 * yv - yv * yv * s, 2 * xv + c - xv * yv * s],
                [2 * xv + c - xv * yv * s, -xv * xv * s]]
    for i in range(2):
        for j in range(2):
            assert math.isclose(hessian[i][j], expected[i][j], rel_tol=1e-12)


def test_newtons_method_converges_on_a_minimum():
    """Minimise f(x) = x^4 - 3x^2 + x + exp(x/2) with x <- x - f'(x)/f''(x)."""
    def f(x):
        return x ** 4 - 3 * x ** 2 + x + (x / 2).exp()

    x0 = 1.5
    for _ in range(30):
        x = Value(x0)
        (d1,) = grad(f(x), [x], create_graph=True)
        (d2,) = grad(d1, [x])
        step = d1.data / d2
        x0 -= step
        if abs(step) < 1e-14:
            break
    derivative = 4 * x0 ** 3 - 6 * x0 + 1 + 0.5 * math.exp(x0 / 2)
    assert abs(derivative) < 1e-12
    assert 12 * x0 ** 2 - 6 + 0.25 * math.exp(x0 / 2) > 0  # a minimum, not a maximum


def test_create_graph_then_backward_on_the_gradient():
    x = Value(1.5)
    (d1,) = grad(x ** 3, [x], create_graph=True)
    d1.backward()
    assert x.grad == 6 * 1.5


# ---------------------------------------------------------------- depth

def test_deep_chain_no_recursion_error():
    limit = sys.getrecursionlimit()
    x = Value(0.5)
    y = x
    for _ in range(5 * limit):
        y = y * 1.0 + 0.0
    assert len(topological_order(y)) > 5 * limit
    y.backward()
    assert x.grad == 1.0
    assert grad(y, [x]) == [1.0]


@pytest.mark.slow
def test_million_op_chain():
    """1,000,000 ops (a multiply and an add per step), one after the other."""
    x = Value(1.0)
    y = x
    for _ in range(500_000):
        y = y * 1.0000001 + 1e-9
    assert len(topological_order(y)) == 2_000_001  # ops, their constants and x
    y.backward()
    assert math.isclose(x.grad, 1.0000001 ** 500_000, rel_tol=1e-9)


def test_deep_chain_create_graph():
    x = Value(0.1)
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = y * 1.0
    (d1,) = grad(y * y, [x], create_graph=True)
    assert grad(d1, [x]) == [2.0]


# ---------------------------------------------------------------- the order of backward()

DEEP = backprop.DEEP
FMA3 = Op("fma3", lambda a, b, c: a * b + c, lambda a, b, c, out: (b, a, 1.0), 3)  # unregistered


@st.composite
def dags(draw) -> tuple[list[Value], Value]:
    """A random graph: leaves, an optional chain that reaches DEEP, then random steps over all
    earlier nodes (shared often, the same node on both sides sometimes), summed at the end."""
    nodes = [Value(draw(st.floats(-1.0, 1.0)), label=f"x{i}")
             for i in range(draw(st.integers(1, 4)))]
    leaves = list(nodes)
    chain = draw(st.sampled_from([0, 0, DEEP - 3, DEEP + 20]))
    for _ in range(chain):
        nodes.append(nodes[-1] * 0.999 + 0.001)
    pick = st.integers(0, 10 ** 6)
    for _ in range(draw(st.integers(1, 40))):
        a, b, c = (nodes[draw(pick) % len(nodes)] for _ in range(3))
        kind = draw(st.sampled_from(["+", "*", "-", "tanh", "**2", "relu", "fma", "const"]))
        nodes.append({"+": lambda: a + b, "*": lambda: a * b, "-": lambda: a - b,
                      "tanh": a.tanh, "**2": lambda: a ** 2, "relu": a.relu,
                      "fma": lambda: apply_op(FMA3, (a, b, c)), "const": lambda: 0.5 * a}[kind]())
    used = {id(x) for n in nodes for x in n.inputs}
    root = nodes[-1]
    for n in nodes[:-1]:
        if id(n) not in used:
            root = root + n
    return leaves, root


def same_bits(x: float, y: float) -> bool:
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)


ORDER = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ORDER
@given(dags())
def test_property_depth_is_one_more_than_the_deepest_input_up_to_DEEP(graph):
    _leaves, root = graph
    for node in topological_order(root):
        expected = 0 if node.is_leaf else min(DEEP, 1 + max(x._depth for x in node.inputs))
        assert node._depth == expected


@ORDER
@given(dags())
def test_property_backward_takes_each_node_after_all_its_consumers(graph):
    """backward_order (read-only, with sets) is the order _prepare makes with marks in the
    grads, and it is an order for the chain rule: a node comes after every node that uses it."""
    _leaves, root = graph
    order = backprop.backward_order(root)
    ops_ = [n for n in topological_order(root) if not n.is_leaf]
    assert len(order) == len(ops_) and set(order) == set(ops_) and order[0] is root
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for x in node.inputs:
            assert x.is_leaf or position[x] > position[node]
    with backprop.graph_lock:
        prepared, leaves, previous = backprop._prepare(root, float(0))
    assert [id(n) for n in prepared] == [id(n) for n in order]
    assert {id(x) for x in leaves} == {id(n) for n in topological_order(root) if n.is_leaf}
    assert len(previous) == len(leaves)


@ORDER
@given(dags(), st.integers(0, 2))
def test_property_backward_grad_and_explain_give_the_same_bits(graph, earlier_passes):
    """grad() and explain() add a node's contributions in backward()'s order, so what they say
    is the .grad backward() sets, to the last bit."""
    _leaves, root = graph
    for _ in range(earlier_passes):
        root.backward()
    nodes = topological_order(root)
    by_grad = grad(root, nodes)
    trace = explain(root)
    root.backward()
    for node, g in zip(nodes, by_grad):
        assert same_bits(g, trace.grads[node]), node
        if not node.is_leaf:
            assert same_bits(node.grad, g), node
        elif not earlier_passes:  # a leaf adds this pass to what it held: 0.0 + g
            assert same_bits(node.grad, 0.0 + g), node


def test_each_pass_marks_the_nodes_it_reached_with_its_own_zero():
    """backward() tells the nodes it has reached by their grad being its own float(0): that
    needs a new float object per call (CPython, Pyodide too), and no mark left behind may
    fool the next pass on the same graph."""
    first, second = float(0), float(0)
    assert first is not second and first == second == 0.0
    x = Value(2.0)
    y = (x * x).relu() * 0.0  # every intermediate grad of this graph ends at 0.0
    for _ in range(3):
        y.backward()
        assert x.grad == 0.0 and y.inputs[0].grad == 0.0
    z = x * x + x
    for passes in (1, 2):
        z.backward()
        assert x.grad == passes * 5.0


def test_a_zero_passed_on_by_a_dead_branch_still_counts():
    """relu at 0 passes nothing back, so its input keeps this pass's zero mark as its grad;
    that node then passes 0.0 on to s, which counts as s's first contribution: the -0.0 that
    comes after makes 0.0 + -0.0 = 0.0, not -0.0 (found by the property test below)."""
    x = Value(0.0)
    s = x + x
    deep = ((x * 1.0) * 1.0) * 1.0
    dead = (s + deep).relu()  # deeper than live: backward takes it first
    live = s * Value(-0.0)  # passes -0.0 back to s
    root = dead + live
    (expected,) = grad(root, [s])
    root.backward()
    assert same_bits(s.grad, expected) and same_bits(s.grad, 0.0)


def test_a_graph_deeper_than_DEEP_is_ordered_depth_first():
    """Past DEEP ops the depths stop counting: backward() walks the graph depth-first, the
    order in which an expression is written (and its nodes were made)."""
    x = Value(0.5)
    shallow = (x * x).tanh()
    y = shallow
    for _ in range(DEEP + 10):
        y = y * 1.0001 + shallow
    assert y._depth == DEEP and shallow._depth == 2
    order = backprop.backward_order(y)
    assert order == [n for n in reversed(topological_order(y)) if not n.is_leaf]
    assert order[-2:] == [shallow, shallow.inputs[0]]
    y.backward()
    assert x.grad == grad(y, [x])[0] and x.grad > 0


# ---------------------------------------------------------------- no_grad

def test_no_grad_context_manager():
    x = Value(2.0)
    with no_grad():
        y = x * 3 + 1
    assert y.data == 7.0 and y.is_leaf and y.inputs == () and y.op == ""
    z = x * 3
    assert z.inputs[0] is x


def test_no_grad_decorator_with_and_without_parentheses():
    x = Value(2.0)

    @no_grad
    def plain(v):
        """doc kept"""
        return v.exp()

    @no_grad()
    def called(v):
        return v.tanh()

    assert plain(x).is_leaf and called(x).is_leaf
    assert plain.__name__ == "plain" and plain.__doc__ == "doc kept"
    assert not (x.exp()).is_leaf  # the decorator left grad mode on outside


def test_no_grad_nested_and_restored_after_an_exception():
    x = Value(1.0)
    with no_grad():
        with no_grad():
            assert (x + 1).is_leaf
        assert (x + 1).is_leaf
    assert not (x + 1).is_leaf
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            x / 0
    assert not (x + 1).is_leaf


def test_no_grad_in_one_thread_does_not_affect_another():
    inside = threading.Event()
    checked = threading.Event()
    results = {}

    def without_grad():
        with no_grad():
            inside.set()
            checked.wait(5)
            results["no_grad thread"] = (Value(1.0) * 2).is_leaf

    def with_grad():
        inside.wait(5)
        results["other thread"] = (Value(1.0) * 2).is_leaf
        checked.set()

    threads = [threading.Thread(target=without_grad), threading.Thread(target=with_grad)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {"no_grad thread": True, "other thread": False}
    assert not (Value(1.0) * 2).is_leaf


# ---------------------------------------------------------------- micrograd compatibility

def test_micrograd_lecture_manual_backward_walk():
    # the neuron of the micrograd lecture: o = tanh(x1 w1 + x2 w2 + b)
    x1, x2 = Value(2.0, "x1"), Value(0.0, "x2")
    w1, w2 = Value(-3.0, "w1"), Value(1.0, "w2")
    b = Value(6.8813735870195432, "b")
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    assert o._prev == {n} and o._op == "tanh" and n._prev == {s, b} and n._op == "+"
    o.grad = 1.0
    for node in (o, n, s, x2w2, x1w1):
        node._backward()
    assert math.isclose(n.grad, 0.5, rel_tol=1e-9)
    assert math.isclose(x1.grad, -1.5, rel_tol=1e-9) and math.isclose(w1.grad, 1.0, rel_tol=1e-9)
    assert math.isclose(x2.grad, 0.5, rel_tol=1e-9) and w2.grad == 0.0
    assert x1._prev == set() and x1._op == "" and x1._backward() is None


def test_micrograd_readme_example():
    g, a, b = micrograd_readme()
    g.backward()
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_backward_error_names_the_node_and_leaves_grads_unchanged():
    def bad_rule(x, out):
        raise ArithmeticError("this rule always fails")

    broken = register_op("broken_rule", lambda x: 2.0 * x, bad_rule)
    x = Value(1.0)
    y = broken(x) * 3.0
    x.grad = 3.0
    with pytest.raises(ArithmeticError, match="this rule always fails") as caught:
        y.backward()
    assert "'broken_rule' node" in "".join(caught.value.__notes__)
    assert x.grad == 3.0


# ---------------------------------------------------------------- derivatives at the edges

@pytest.mark.parametrize("build", [lambda x: x ** 0, lambda x: x ** 0.0,
                                   lambda x: x ** Value(0.0)], ids=["**0", "**0.0", "**Value(0)"])
@pytest.mark.parametrize("x0", [0.0, -2.0, 3.0])
def test_power_zero_is_flat_everywhere_even_at_zero(build, x0):
    """x^0 = 1: gradient 0 (PyTorch too), not 0 * (1/0) = ZeroDivisionError."""
    x = Value(x0)
    y = build(x)
    y.backward()
    assert (y.data, x.grad) == (1.0, 0.0)
    (d1,) = grad(build(x), [x], create_graph=True)
    assert d1.data == 0.0


@pytest.mark.parametrize("build,x0,expected", [
    (lambda x: x ** 2, 0.0, 0.0), (lambda x: x ** 1, 0.0, 1.0), (lambda x: x ** 3, 0.0, 0.0),
    (lambda x: abs(x), 0.0, 0.0), (lambda x: x.relu(), 0.0, 0.0),
    (lambda x: x.leaky_relu(0.2), 0.0, 0.2), (lambda x: Value(0.0) ** x, 2.0, 0.0),
    (lambda x: x / x, 2.0, 0.0), (lambda x: x - x, 2.0, 0.0), (lambda x: +x, 2.0, 1.0),
])
def test_derivatives_at_kinks_and_zero(build, x0, expected):
    """The conventions at kinks match PyTorch: relu'(0) = |x|'(0) = 0, leaky_relu'(0) = slope."""
    x = Value(x0)
    build(x).backward()
    assert x.grad == expected


def test_backward_of_a_result_computed_inside_no_grad_is_refused():
    """It left every .grad at 0 without a word (PyTorch: "element 0 of tensors does not
    require grad"). A constant made inside no_grad is still an ordinary leaf."""
    x = Value(2.0)
    with no_grad():
        y = (x * 3.0).tanh()
        constant = Value(5.0)
    for call in (lambda: y.backward(), lambda: grad(y, [x])):
        with pytest.raises(RuntimeError, match=r"computed inside no_grad\(\).*outside the "
                                               r"no_grad block"):
            call()
    assert x.grad == 0.0 and y.grad == 0.0
    constant.backward()
    assert constant.grad == 1.0
    x.detach().backward()   # a detached copy is a constant too
    z = y * x               # a graph built on the result outside no_grad works
    z.backward()
    assert x.grad == y.data and y.grad == 2.0


def test_property_backward_refuses_exactly_the_results_made_without_a_graph():
    """Random expressions: built inside no_grad (and not a plain leaf), backward raises and
    changes no gradient; built outside, backward works; leaves always work."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(deadline=None)
    @given(st.lists(st.sampled_from(["+", "*", "tanh", "sin", "leaf"]), min_size=1,
                    max_size=6), st.booleans())
    def check(steps, inside):
        x = Value(0.3)
        with (no_grad() if inside else contextlib.nullcontext()):
            v = x
            for step in steps:
                v = (v + 1.0 if step == "+" else v * 0.5 if step == "*" else
                     v.tanh() if step == "tanh" else v.sin() if step == "sin" else v)
        made_by_op = v is not x
        if inside and made_by_op:
            with pytest.raises(RuntimeError, match="no_grad"):
                v.backward()
            assert x.grad == 0.0
        else:
            expected = grad(v, [x])[0]
            v.backward()
            assert x.grad == expected and v.grad == 1.0

    check()

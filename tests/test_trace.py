"""explain(): the chain-rule steps of the backward pass, checked against the engine itself."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value, explain, register_op, topological_order
from autograd.backprop import backward_order
from autograd.display import format_number, node_names
from autograd.trace import BackwardTrace, ChainRuleStep
from examples import labelled_leaves, lecture, micrograd_readme

# ------------------------------------------------------------------ the seeds' examples


def lecture_case():
    L = lecture()
    return L, labelled_leaves(L)


def seed_001():
    """y = (3x + 2)^2 at x = 1: dy/dx = 6(3x + 2) = 30."""
    x = Value(1.0, label="x")
    return (3 * x + 2) ** 2, {"x": x}


def seed_004():
    """y = (x^2 + 1)^3 at x = 2: dy/dx = 3(x^2 + 1)^2 * 2x = 300."""
    x = Value(2.0, label="x")
    return (x ** 2 + 1) ** 3, {"x": x}


def micrograd_readme_case():
    g, a, b = micrograd_readme()
    return g, {"a": a, "b": b}


CASES = [
    # build,             root data, {leaf: expected grad}, tolerance
    (lecture_case, -8.0, {"a": 6.0, "b": -4.0, "c": -2.0, "f": 4.0}, 0.0),
    (seed_001, 25.0, {"x": 30.0}, 0.0),
    (seed_004, 125.0, {"x": 300.0}, 0.0),
    (micrograd_readme_case, 24.7041, {"a": 138.8338, "b": 645.5773}, 5e-5),
]
IDS = ["lecture", "seed001", "seed004", "micrograd_readme"]

FORMULA = re.compile(
    r"^d(?P<root>.+)/d(?P<inp>.+) \+= d(?P=root)/d(?P<node>.+) · ∂(?P=node)/∂(?P=inp) = "
    r"(?P<upstream>\(?-?[\d.e+-]+\)?) · (?P<local>\(?-?[\d.e+-]+\)?) = (?P<contribution>-?[\d.e+-]+)$")


def _number(text: str) -> float:
    return float(text.strip("()"))


@pytest.mark.parametrize("build, data, expected, tol", CASES, ids=IDS)
def test_seed_examples_give_the_known_gradients(build, data, expected, tol):
    root, leaves = build()
    root.backward()
    explain(root)
    assert root.data == pytest.approx(data, abs=tol)
    for name, grad in expected.items():
        assert leaves[name].grad == pytest.approx(grad, abs=tol), name


@pytest.mark.parametrize("build, data, expected, tol", CASES, ids=IDS)
def test_every_formula_is_its_step_written_out(build, data, expected, tol):
    root, _ = build()
    trace = explain(root)
    assert len(trace) == sum(len(node.inputs) for node in trace.order)
    for step in trace:
        assert step.contribution == step.upstream * step.local
        match = FORMULA.match(step.formula)
        assert match, step.formula
        assert match["root"] == trace.names[root]
        assert (match["node"], match["inp"]) == (step.node_name, step.input_name)
        shown = [_number(match[k]) for k in ("upstream", "local", "contribution")]
        assert shown == [float(format_number(v)) for v in
                         (step.upstream, step.local, step.contribution)]
        # The shown (rounded) product equals the shown contribution to the shown precision
        # (4 significant digits: each factor within 5e-4 relative).
        assert shown[0] * shown[1] == pytest.approx(shown[2], rel=2e-3, abs=1e-12)


@pytest.mark.parametrize("build, data, expected, tol", CASES, ids=IDS)
def test_contributions_into_each_node_add_up_to_its_grad(build, data, expected, tol):
    root, _ = build()
    trace = explain(root)
    total = {node: 0.0 for node in trace.order}
    total[root] = 1.0
    for step in trace:
        total[step.input] += step.contribution
        assert step.grad == total[step.input]  # the running sum, exactly
    for node in trace.order:
        assert total[node] == trace.grads[node], trace.names[node]


@pytest.mark.parametrize("build, data, expected, tol", CASES, ids=IDS)
def test_steps_follow_the_order_of_backward(build, data, expected, tol):
    root, _ = build()
    trace = explain(root)
    last_in: dict[Value, int] = {}
    first_out: dict[Value, int] = {}
    for step in trace:
        last_in[step.input] = step.index
        first_out.setdefault(step.node, step.index)
    # A node passes its gradient on only once every contribution into it has arrived.
    for node, i in first_out.items():
        assert last_in.get(node, -1) < i, trace.names[node]
    nodes = [step.node for step in trace]
    assert list(dict.fromkeys(nodes)) == backward_order(root)
    for step in trace:
        assert step.node.inputs[step.position] is step.input
        assert step.op == step.node.op
    assert [s.index for s in trace] == list(range(len(trace)))
    assert trace.steps[0].node is root


# ------------------------------------------------------------------ same semantics as backward()

def test_grads_are_exactly_those_of_backward():
    g1, leaves1 = micrograd_readme_case()
    g2, leaves2 = micrograd_readme_case()
    trace = explain(g1)
    g2.backward()
    assert [trace.grads[n] for n in topological_order(g1)] == [
        n.grad for n in topological_order(g2)]
    assert trace.steps[0].upstream == 1.0


def _grads(root):
    return [n.grad for n in topological_order(root)]


def test_explain_only_looks_before_and_after_backward():
    g, leaves = micrograd_readme_case()
    explain(g)
    assert set(_grads(g)) == {0.0}  # a fresh graph stays without gradients
    g.backward()
    seen = _grads(g)
    trace = explain(g)
    explain(g)
    assert _grads(g) == seen  # not doubled (it was: 6 -> 12 -> 18 for the lecture's a)
    # What the table says is what the learner sees after one backward().
    assert [trace.grads[n] for n in topological_order(g)] == seen


def test_after_two_backward_calls_the_table_says_why_a_grad_differs():
    L = lecture()
    assert "note" not in str(explain(L))            # before backward(): nothing to compare
    L.backward()
    assert "note" not in str(explain(L))            # one pass: the table is the .grads
    L.backward()
    trace = explain(L)
    note = str(trace).splitlines()[1]
    assert note.startswith("note: the .grad of a, b, c, f differs from this pass's gradient")
    assert "zero_grad()" in note and "zero_grad()" in trace._repr_html_()


def test_a_reused_node_gets_one_step_per_use():
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    z = y + y
    trace = explain(z)
    assert [(s.node_name, s.input_name, s.position) for s in trace] == [
        ("add1", "y", 0), ("add1", "y", 1), ("y", "x", 0), ("y", "x", 1)]
    assert [s.grad for s in trace] == [1.0, 2.0, 6.0, 12.0]
    assert trace.grads[x] == 12.0 and x.grad == 0.0


def test_a_leaf_root_has_no_steps():
    x = Value(5.0, label="x")
    trace = explain(x)
    assert len(trace) == 0 and list(trace) == []
    assert trace.grads[x] == 1.0 and x.grad == 0.0
    assert "0 chain-rule steps" in str(trace)


def test_one_step_is_one_step_not_steps():
    x = Value(1.0, label="x")
    assert "1 chain-rule step, " in str(explain(x.tanh()))
    assert "2 chain-rule steps" in str(explain(x * x))


def test_local_derivatives_come_from_the_op_table_also_for_registered_ops():
    cube = register_op("cube", lambda a: a ** 3, lambda a, out: (3 * a * a,))
    x = Value(2.0, label="x")
    y = cube(x)
    (step,) = explain(y).steps
    assert (step.op, step.local, step.grad) == ("cube", 12.0, 12.0)


def test_a_failing_rule_leaves_every_grad_as_it_was():
    def broken(a, out):
        raise ValueError("broken rule")

    bad = register_op("bad", lambda a: 2 * a, broken)
    x = Value(1.0, label="x")
    x.grad = 7.0
    y = bad(x) * x
    y.grad = 3.0
    with pytest.raises(ValueError, match="broken rule"):
        explain(y)
    assert (x.grad, y.grad) == (7.0, 3.0)


def test_unlabelled_nodes_get_the_shared_automatic_names():
    x = Value(1.5)
    y = (x * 2).tanh()
    trace = explain(y)
    assert trace.names == node_names(topological_order(y))
    assert {s.node_name for s in trace} | {s.input_name for s in trace} <= set(
        trace.names.values())


@pytest.mark.parametrize("bad", [3.0, None, "x", [Value(1.0)]])
def test_explain_needs_a_value(bad):
    with pytest.raises(TypeError, match=f"explain.*{type(bad).__name__}"):
        explain(bad)


# ------------------------------------------------------------------ text and HTML tables

def test_text_table_is_aligned_and_complete():
    L = lecture()
    trace = explain(L)
    lines = str(trace).splitlines()
    assert lines[0].startswith("backward pass of L = -8.0: 6 chain-rule steps")
    header, rows = lines[1], lines[2:]
    assert header.split()[:10] == ["#", "node", "op", "input", "local", "rule", "upstream",
                                   "local", "contribution", "grad"]
    assert len(rows) == len(trace)
    column = header.index("chain rule")
    for row, step in zip(rows, trace):
        assert row[column:] == step.formula  # the formula column starts at the same place
    assert "dL/da += dL/de · ∂e/∂a = (-2.0) · (-3.0) = 6.0" in rows[4]


def test_html_table_escapes_labels():
    evil = "<script>alert(1)</script>"
    x = Value(2.0, label=evil)
    y = x * Value(3.0, label='a & "b"')
    y.label = "y"
    trace = explain(y)
    page = trace._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &amp; &quot;b&quot;" in page
    assert page.count("<tr>") == 1 + len(trace)
    assert evil in str(trace)  # plain text keeps the label as it is


def test_repr_and_step_fields():
    L = lecture()
    trace = explain(L)
    assert repr(trace) == "<BackwardTrace of L = -8.0: 6 steps>"
    assert isinstance(trace, BackwardTrace) and isinstance(trace[0], ChainRuleStep)
    assert trace[-1].formula == "dL/db += dL/de · ∂e/∂b = (-2.0) · 2.0 = -4.0"




# ------------------------------------------------------------------ random graphs

UNARY = [lambda v: v.tanh(), lambda v: v.relu(), lambda v: v ** 2, lambda v: -v,
         lambda v: v.sigmoid(), lambda v: v.sin()]
BINARY = [lambda u, v: u + v, lambda u, v: u * v, lambda u, v: u - v]


@given(st.lists(st.floats(-2, 2), min_size=1, max_size=4),
       st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 100),
                          st.integers(0, 100)), min_size=1, max_size=12))
def test_random_graphs_match_backward_exactly(leaf_data, program):
    def build():
        nodes = [Value(v) for v in leaf_data]
        for binary, op, i, j in program:
            if binary:
                nodes.append(BINARY[op % 3](nodes[i % len(nodes)], nodes[j % len(nodes)]))
            else:
                nodes.append(UNARY[op](nodes[i % len(nodes)]))
        return nodes[-1]

    explained, plain = build(), build()
    trace = explain(explained)
    plain.backward()
    order = topological_order(explained)
    assert [trace.grads[n] for n in order] == [n.grad for n in topological_order(plain)]
    total = {node: 0.0 for node in order}
    total[explained] = 1.0
    for step in trace:
        total[step.input] += step.contribution
    assert all(total[n] == trace.grads[n] for n in order)


def test_an_infinite_derivative_is_shown_as_pytorch_gives_it():
    x = Value(0.0, label="x")
    y = x.sqrt()  # sqrt(0) = 0 exists; d/dx = 1 / (2 sqrt(0)) = inf, as PyTorch's float64
    y.label = "y"
    (step,) = explain(y).steps
    assert (step.local, step.contribution, step.grad) == (math.inf, math.inf, math.inf)
    assert step.rule == "∂y/∂x = 0.5/y"
    assert step.formula == "dy/dx += dy/dy · ∂y/∂x = 1.0 · inf = inf"

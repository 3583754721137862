"""Teaching tools only look: explain, the stepper, Exercise, paths and draw_graph never change
any node's ``.grad``, whether ``backward()`` ran before or not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Exercise, draw_graph, explain, paths, stepper, topological_order
from examples import build, graphs, lecture


def _look_with_every_exercise_method(root):
    ex = Exercise(root)
    for node in ex.ask:
        ex.hint(node)
        ex.solution(node)
    ex.check({node: 1.0 for node in ex.ask})
    ex.check_grads()


TOOLS = {
    "explain": lambda root: str(explain(root)),
    "stepper": lambda root: stepper(root),
    "stepper_quiz": lambda root: stepper(root, quiz=True),
    "exercise": _look_with_every_exercise_method,
    "paths": lambda root: [paths(root, leaf).summary()
                           for leaf in topological_order(root) if leaf.is_leaf],
    "draw_graph": lambda root: draw_graph(root).source,
    "draw_graph_svg": lambda root: draw_graph(root).svg(),
}


def _grads(root):
    return [repr(node.grad) for node in topological_order(root)]  # repr: nan == nan, -0.0


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("passes", [0, 1, 2])
def test_a_tool_changes_no_grad(tool, passes):
    L = lecture()
    for _ in range(passes):
        L.backward()
    before = _grads(L)
    TOOLS[tool](L)
    TOOLS[tool](L)
    assert _grads(L) == before
    a = next(n for n in topological_order(L) if n.label == "a")
    assert a.grad == 6.0 * passes  # 6 after one backward(), not 12 after a look


@settings(max_examples=25)
@given(graphs, st.integers(0, 2))
def test_no_tool_changes_any_grad_of_a_random_graph(graph, passes):
    root = build(graph)
    for _ in range(passes):
        root.backward()
    before = _grads(root)
    for name, tool in TOOLS.items():
        if name != "draw_graph_svg":  # the stepper renders too
            tool(root)
        assert _grads(root) == before, name


def test_explain_after_backward_shows_the_grads_the_learner_sees():
    L = lecture()
    L.backward()
    trace = explain(L)
    assert {n: n.grad for n in trace.order} == trace.grads
    last = {step.input: step.grad for step in trace}  # each input's final running sum
    assert all(node.grad == grad for node, grad in last.items())

"""Exercise: gradients checked by name, each kind of slip diagnosed, hints and worked steps."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Exercise, Value, explain, topological_order
from autograd.backprop import local_grads
from autograd.exercise import KINDS
from examples import build, graphs, lecture, used_twice


def tanh_of_product():
    """t = tanh(w·x) at w = 0.5, x = 2: dt/dp = 1 - t·t with p = w·x."""
    w, x = Value(0.5, label="w"), Value(2.0, label="x")
    p = w * x
    p.label = "p"
    t = p.tanh()
    t.label = "t"
    return t


def true_grads(root):
    """The engine's gradients by name (as explain computes them, on the side)."""
    trace = explain(root)
    return {trace.names[node]: trace.grads[node] for node in trace.order}


def contributions_into(root, name):
    trace = explain(root)
    return [s.contribution for s in trace if s.input_name == name]


# ------------------------------------------------------------------ right answers pass

@pytest.mark.parametrize("build", [lecture, used_twice, tanh_of_product])
def test_the_true_gradients_pass_and_nothing_is_diagnosed(build):
    root = build()
    ex = Exercise(root)
    answers = {name: g for name, g in true_grads(build()).items() if name in
               {ex.names[n] for n in ex.ask}}
    report = ex.check(answers)
    assert report.passed and report.diagnosis is None
    assert all(m.ok for m in report.marks) and len(report.marks) == len(ex.ask)
    assert "all done" in str(report)


def test_an_exercise_touches_no_grad_and_asks_for_every_named_node():
    L = lecture()
    ex = Exercise(L)
    ex.check({"a": 1.0})
    ex.hint("a"), ex.solution("a")
    assert all(node.grad == 0.0 for node in topological_order(L))
    assert [ex.names[n] for n in ex.ask] == ["f", "d", "c", "e", "b", "a"]  # backward order
    assert repr(ex) == "<Exercise: 6 gradients of L = -8.0 to find>"


# ------------------------------------------------------------------ each kind of slip

# build, wrong answers (every other asked node gets its true gradient), forward values given,
# the node diagnosed, the kind, words the diagnosis must contain
SLIPS = [
    (lecture, {"a": 7.0}, {}, "a", "wrong_local",
     ["'*' node", "∂e/∂a = b, with b = -3.0", "dL/de = -2.0"]),
    (lecture, {"a": -3.0}, {}, "a", "upstream_forgotten",
     ["local derivative ∂e/∂a = b alone", "upstream gradient dL/de = -2.0"]),
    (lecture, {"a": -6.0}, {}, "a", "sign_slip", ["wrong sign", "∂e/∂a = b"]),
    (lecture, {"a": -4.0}, {}, "a", "wrong_forward",      # used a's value for b: -2 · 2
     ["evaluated with b = 2.0, which is a's value", "b = -3.0"]),
    (lecture, {"f": 5.0}, {"d": 5.0}, "f", "wrong_forward",  # dL/df = d, with the learner's d
     ["your forward value d = 5.0, but d = 4.0", "fix the forward pass first"]),
    (used_twice, {"x": -6.0}, {}, "x", "missing_contribution",
     ["x is used twice", "by d = x + y, by c = x·y", "Add the one through c"]),
    (used_twice, {"x": 17.0}, {}, "x", "wrong_local",
     ["x is used twice", "dL/dd · ∂d/∂x + dL/dc · ∂c/∂x",
      "∂c/∂x = y, with y = -2.0"]),
    (used_twice, {"x": 8.0}, {}, "x", "sign_slip", ["wrong sign", "2 contributions"]),
    (used_twice, {"x": 1.0 + -2.0}, {}, "x", "upstream_forgotten",  # ∂d/∂x + ∂c/∂x
     ["sum of the local derivatives alone"]),
    (tanh_of_product, {"p": 1 - 1.0 ** 2}, {}, "p", "wrong_forward",  # 1 - p·p, not 1 - t·t
     ["∂t/∂p = 1 - t·t", "evaluated with t = 1.0, which is p's value"]),
]


@pytest.mark.parametrize("build, wrong, data, node, kind, words", SLIPS,
                         ids=[f"{case[0].__name__}-{case[4]}" for case in SLIPS])
def test_each_kind_of_slip_is_diagnosed(build, wrong, data, node, kind, words):
    ex = Exercise(build())
    answers = {**{n: g for n, g in true_grads(build()).items()
                  if n in {ex.names[v] for v in ex.ask}}, **wrong}
    report = ex.check(answers, data=data)
    assert not report.passed
    d = report.diagnosis
    assert (d.kind, d.name, d.what, d.answer) == (kind, node, "grad", wrong[node])
    for text in words:
        assert text in d.text, d.text
    wrong_marks = [m for m in report.marks if m.ok is False and m.what == "grad"]
    assert [m.name for m in wrong_marks] == [node]
    assert f"✘ dL/d{node}" in str(report) or f"✘ d{ex.root_name}/d{node}" in str(report)
    assert KINDS[kind] in str(report)


def test_every_kind_has_a_case():
    assert {case[4] for case in SLIPS} == set(KINDS)


def test_a_wrong_forward_value_alone_is_diagnosed_in_the_forward_pass():
    ex = Exercise(lecture())
    report = ex.check(data={"e": -6.0, "d": 16.0})
    assert [(m.name, m.ok) for m in report.marks if m.what == "data"] == [("e", True),
                                                                           ("d", False)]
    d = report.diagnosis
    assert (d.kind, d.name, d.what) == ("wrong_forward", "d", "data")
    assert d.text == "d = e + c with e = -6.0, c = 10.0: recompute (-6.0) + 10.0."


def test_the_first_wrong_answer_in_backward_order_is_diagnosed():
    ex = Exercise(lecture())
    report = ex.check({"d": 2.0, "a": 7.0, "f": 4.0})   # d comes before a going backward
    assert report.diagnosis.name == "d"
    assert [m.name for m in report.marks if m.ok is False] == ["d", "a"]


# ------------------------------------------------------------------ random graphs

@given(graphs, st.integers(0, 1000), st.floats(0.01, 10.0), st.booleans())
def test_random_graphs_true_gradients_pass_and_a_perturbed_one_is_named(graph, pick, size,
                                                                        negative):
    root = build(graph)
    reference = build(graph)
    reference.backward()
    true = dict(zip(topological_order(root), (n.grad for n in topological_order(reference))))
    ex = Exercise(root)
    assert ex.check({n: true[n] for n in ex.ask}).passed
    if not ex.ask:
        return
    node = ex.ask[pick % len(ex.ask)]
    delta = (1.0 + abs(true[node])) * size * (-1.0 if negative else 1.0)
    report = ex.check({n: true[n] + (delta if n is node else 0.0) for n in ex.ask})
    assert not report.passed
    assert report.diagnosis.name == ex.names[node] and report.diagnosis.kind in KINDS


@given(graphs, st.integers(0, 1000))
def test_random_graphs_constructed_slips_get_their_diagnosis(graph, pick):
    root = build(graph)
    ex = Exercise(root)
    trace = explain(root)            # the engine's steps (Exercise reads no .grad)
    true = trace.grads
    asked = [n for n in ex.ask if math.isfinite(true[n])]
    if not asked:
        return
    node = asked[pick % len(asked)]
    steps = [s for s in trace if s.input is node]

    def diagnose(answer):
        report = ex.check({**{n: true[n] for n in ex.ask}, node: answer})
        return None if report.passed else report.diagnosis.kind

    def differs(value):
        return not ex.close(value, true[node])

    # a use left out: the sum over all but the last use
    if len(steps) > 1:
        partial = sum(s.contribution for s in steps[:-1])
        assert diagnose(partial) == ("missing_contribution" if differs(partial) else None)
    if len(steps) == 1:
        (step,) = steps
        local = local_grads(step.node)[step.position] or 0.0
        if differs(local):                      # the upstream gradient forgotten
            assert diagnose(local) == "upstream_forgotten"
        if differs(-true[node]):                # the sign
            expected = ("upstream_forgotten" if ex.close(-true[node], local) else "sign_slip")
            assert diagnose(-true[node]) == expected


# ------------------------------------------------------------------ hints and worked steps

def test_hint_gives_the_formula_and_solution_the_numbers():
    ex = Exercise(used_twice())
    assert ex.hint("x") == ("x is used twice: add one term per use. dL/dx = dL/dd · ∂d/∂x + "
                            "dL/dc · ∂c/∂x, where d = x + y, so ∂d/∂x = 1; c = x·y, so "
                            "∂c/∂x = y.")
    assert ex.solution("x") == ("dL/dx = dL/dd · ∂d/∂x + dL/dc · ∂c/∂x = (-6.0) · 1.0 + "
                                "1.0 · (-2.0) = (-6.0) + (-2.0) = -8.0")
    assert "-8.0" not in ex.hint("x")
    assert ex.hint("L") == "dL/dL = 1: the backward pass starts here."
    assert ex.solution("L") == "dL/dL = 1.0"


def test_a_square_names_each_operand():
    x = Value(3.0, label="x")
    s = x * x
    s.label = "s"
    ex = Exercise(s)
    assert "ds/ds · ∂s/∂x (operand 1) + ds/ds · ∂s/∂x (operand 2)" in ex.hint("x")
    d = ex.check({"x": 3.0}).diagnosis
    assert d.kind == "missing_contribution" and "Add the one through s (operand 2)" in d.text


# ------------------------------------------------------------------ the interface

def test_answers_by_value_by_hand_set_grads_and_tolerance():
    L = lecture()
    ex = Exercise(L, ask=["a", "b"])
    a, b = (n for n in topological_order(L) if n.label in ("a", "b"))
    assert ex.check({a: 6.0, b: -4.0}).passed
    a.grad, b.grad = 6.0, -4.0                        # micrograd's by-hand backprop
    assert ex.check_grads().passed
    b.grad = -4.001
    assert not ex.check_grads().passed
    assert Exercise(L, ask=["b"], rtol=1e-3).check_grads().passed
    assert [m.name for m in ex.check({"e": -2.0}).marks] == ["e", "b", "a"]


@pytest.mark.parametrize("call, error, message", [
    (lambda ex: ex.check({"q": 1.0}), KeyError, "no node named 'q'"),
    (lambda ex: ex.check({"aa": 1.0}), KeyError, "did you mean 'a'"),
    (lambda ex: ex.check({"a": "6"}), TypeError, "answer for 'a' must be a number"),
    (lambda ex: ex.check([("a", 6.0)]), TypeError, "dict"),
    (lambda ex: ex.check({Value(1.0): 1.0}), ValueError, "not a node of the graph of L"),
    (lambda ex: ex.hint(3), TypeError, "name a node by its name"),
    (lambda ex: Exercise(3.0), TypeError, "Exercise() needs the Value"),
    (lambda ex: Exercise(lecture(), rtol=-1), ValueError, "rtol"),
])
def test_bad_input_is_named(call, error, message):
    ex = Exercise(lecture())
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(ex)


def test_text_and_html_reports():
    evil = "<b>&x</b>"
    x = Value(2.0, label=evil)
    y = x * 3.0
    y.label = "y"
    ex = Exercise(y)
    report = ex.check({evil: 5.0})
    text = str(report)
    assert text.splitlines()[0] == "0 of 1 gradients right, 1 wrong."
    assert f"✘ dy/d{evil} = 5.0" in text
    page = report._repr_html_()
    assert evil not in page and "&lt;b&gt;&amp;x&lt;/b&gt;" in page
    assert "<script" not in ex._repr_html_() and evil not in ex._repr_html_()
    assert "y = " in str(ex) and "dy/d" in str(ex)

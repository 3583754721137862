"""Exercise: gradients checked by name, each kind of slip diagnosed, hints and worked steps."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from autograd import Exercise, Value, explain, paths, topological_order
from autograd.backprop import local_grads
from autograd.display import format_number
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
    """The engine's gradients by name (explain runs backward on a copy of the numbers)."""
    trace = explain(root)
    return {trace.names[node]: node.grad for node in trace.order}


def mean_of_squares():
    """m = (p·p + q·q) · (1/2) at p = 1, q = 3: a mean over 2 terms (dm/dp = 1, dm/ds = 0.5)."""
    p, q = Value(1.0, label="p"), Value(3.0, label="q")
    s = p * p + q * q
    s.label = "s"
    m = s * (1 / 2)
    m.label = "m"
    return m


def chain(n=8):
    """y = x·w0·w1·...: a chain, every node on the way asked (dy/dx = product of the w)."""
    x = Value(0.5, label="x")
    y = x
    for i in range(n):
        y = y * Value(1.0 + i / 10, label=f"w{i}")
        y.label = f"y{i}"
    return y


def printed(ex, node):
    """The number ``ex.solution`` prints last: the answer as a learner copies it."""
    return float(ex.solution(node).rsplit("= ", 1)[1])


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
    (lecture, {"a": 18.0}, {}, "a", "value_for_grad",     # e's value -6 for dL/de = -2: -6 · -3
     ["by e's value, e = -6.0", "e's gradient, the upstream dL/de = -2.0"]),
    (lecture, {"c": 10.0}, {}, "c", "value_for_grad", ["That is c's value, c = 10.0"]),
    (used_twice, {"x": 1.0 * 1 + -6.0 * -2.0}, {}, "x", "value_for_grad",  # d, c's values
     ["value of the node it feeds instead of that node's gradient"]),
    (mean_of_squares, {"p": 2.0}, {}, "p", "mean_forgotten",
     ["That is 2 times dm/dp", "m = s·0.5 is a mean over 2 terms", "1/2 = 0.5"]),
    (mean_of_squares, {"s": 1.0}, {}, "s", "mean_forgotten", ["That is 2 times dm/ds"]),
    (lecture, {"a": 6.1}, {}, "a", "close",               # 0.1 off of 6.0: 2%
     ["Within 2% of dL/da", "the method is right", "to 4 significant digits", "ex.solution('a')"]),
    (lecture, {"a": 6.004}, {}, "a", "close", ["Within 0.1% of dL/da"]),
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
    truth = true_grads(build())[node]                     # the right answer: no diagnosis
    assert ex.check({**answers, node: truth}).passed
    assert ex.check({**answers, node: float(format_number(truth))}).passed


def test_every_kind_has_a_case():
    assert {case[4] for case in SLIPS} == set(KINDS)


def test_a_near_miss_or_a_known_slip_is_never_called_a_wrong_local_derivative():
    ex = Exercise(lecture(), ask=[])
    assert ex.check({"a": 6.25}).diagnosis.kind == "close"       # 4% off
    assert ex.check({"a": 6.4}).diagnosis.kind == "wrong_local"  # 7% off: not a slip of digits
    assert ex.check({"a": 5.7}).diagnosis.kind == "close"


def test_the_printed_four_digits_are_right_and_a_digit_more_or_less_is_not():
    w, x = Value(0.5, label="w"), Value(0.2805, label="x")
    z = (w * x).tanh()
    z.label = "z"
    ex = Exercise(z, ask=[x, w])
    assert ex.solution("x").endswith("= 0.4903")
    assert ex.grads[x] != 0.4903                          # the true number has more digits
    assert ex.check({"x": 0.4903, "w": printed(ex, "w")}).passed
    assert not ex.check({"x": 0.4913}).passed             # the third digit wrong
    assert not ex.check({"x": -0.4903}).passed            # signs count


@pytest.mark.parametrize("true, right, wrong", [
    (0.14024, [0.1402, 0.14031, 0.1403], [0.1398, 0.1401 - 1e-5, -0.1402]),
    (-723.46, [-723.5, -723.4], [-723.3, 723.5]),
    (1.5e-7, [1.5e-7, 1.501e-7], [1.502e-7, 0.0]),          # tiny: digits, not an absolute 1e-6
    (2.5e12, [2.5e12, 2.5009e12], [2.502e12]),
    (0.0, [0.0, -0.0, 1e-17], [1e-9]),                       # 0: only float noise is 0
    (1.0, [1.0, 1.0005, 0.9995], [1.002, 0.998]),
])
def test_tolerance_is_one_unit_in_the_fourth_significant_digit(true, right, wrong):
    ex = Exercise(lecture())
    assert all(ex.close(a, true) for a in right), [ex.tolerance(true)]
    assert not any(ex.close(a, true) for a in wrong)


def test_digits_and_tolerances_are_configurable():
    ex = Exercise(lecture(), ask=["a"], digits=2)
    assert ex.check({"a": 6.05}).passed and not ex.check({"a": 6.2}).passed
    strict = Exercise(lecture(), ask=["a"], digits=None, rtol=1e-6)
    assert strict.check({"a": 6.0}).passed and not strict.check({"a": 6.001}).passed
    with pytest.raises(ValueError, match="digits"):
        Exercise(lecture(), digits=0)


def test_answers_that_follow_from_an_earlier_wrong_answer_say_so():
    y = chain(8)
    ex = Exercise(y, ask=[n for n in topological_order(y) if n.label.startswith("y")
                          and n is not y])
    # dy7/dy6 = w7 doubled by mistake; every later answer computed correctly from it:
    # dy7/dy(i-1) = dy7/dyi · wi
    answers, upstream = {}, 2 * 1.7
    for i in range(6, -1, -1):
        answers[f"y{i}"] = upstream
        upstream *= 1.0 + i / 10
    report = ex.check(answers)
    assert [m.ok for m in report.marks] == [False] * 7
    assert [m.follows for m in report.marks] == [()] + [(f"y{i}",) for i in range(6, 0, -1)]
    assert report.diagnosis.name == "y6" and report.diagnosis.kind == "wrong_local"
    text = str(report)
    assert text.splitlines()[0] == ("0 of 7 gradients right, 7 wrong (6 of them follow from "
                                    "your dy7/dy6: fix it first).")
    assert "✘ dy7/dy5 = " in text and "(follows from your dy7/dy6)" in text
    assert "follows from your dy7/dy6" in report._repr_html_()


def test_an_answer_carried_from_an_earlier_right_but_rounded_answer_is_right():
    """L = (x·w)·c: dL/dn = c = 0.123456, printed 0.1235; carried on, 0.1235 · 80 = 9.88 is
    4 units of the 4th digit off the true dL/dx = 9.876 but follows from a right answer."""
    x, w, c = Value(2.0, label="x"), Value(80.0, label="w"), Value(0.123456, label="c")
    n = x * w
    n.label = "n"
    L = n * c
    L.label = "L"
    ex = Exercise(L, ask=[n, x])
    assert printed(ex, n) == 0.1235 and printed(ex, x) == 9.876
    assert not ex.close(0.1235 * 80, ex.grads[x])           # off the truth ...
    assert ex.check({n: 0.1235, x: 0.1235 * 80}).passed      # ... but carried right
    alone = Exercise(L, ask=[x])
    assert alone.check({x: 9.876}).passed
    assert not alone.check({x: 9.88}).passed                # without dL/dn: off the truth
    assert ex.check({n: 0.1235, x: 9.9}).diagnosis.kind == "close"


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
    true = {n: n.grad for n in trace.order}
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


@given(graphs)
def test_random_graphs_the_answers_solution_prints_are_right(graph):
    ex = Exercise(build(graph))
    answers = {n: printed(ex, n) for n in ex.ask if math.isfinite(ex.grads[n])}
    report = ex.check(answers)
    assert all(m.ok for m in report.marks if m.answer is not None), report
    assert report.diagnosis is None


@given(graphs, st.integers(0, 1000), st.floats(0.003, 0.045), st.booleans())
def test_random_graphs_a_near_miss_is_close_or_a_named_slip(graph, pick, off, below):
    ex = Exercise(build(graph))
    asked = [n for n in ex.ask if 1e-6 < abs(ex.grads[n]) < 1e100]  # (atol: 1e-12)
    assume(asked)
    node = asked[pick % len(asked)]
    answer = ex.grads[node] * (1 - off if below else 1 + off)
    report = ex.check({node: answer})
    assert not report.passed and report.diagnosis.name == ex.names[node]
    assert report.diagnosis.kind != "wrong_local"        # a slip of digits, not of method
    if report.diagnosis.kind == "close":
        assert report.diagnosis.text.startswith("Within ")


@given(graphs, st.integers(0, 1000))
def test_random_graphs_answers_carried_from_one_wrong_answer_follow_from_it(graph, pick):
    """One wrong answer, every other answer worked out correctly from the learner's numbers:
    only that one is diagnosed; every other wrong one follows from a wrong answer."""
    ex = Exercise(build(graph))
    asked = [n for n in ex.ask if math.isfinite(ex.grads[n])]
    assume(asked)
    slip = asked[pick % len(asked)]
    wrong = ex.grads[slip] + 0.5 * (1.0 + abs(ex.grads[slip]))
    learner = {n: 0.0 for n in ex.order}
    learner[ex.root] = 1.0
    done = set()
    for step in ex.steps:                 # the backward pass, with the learner's number
        if step.node not in done:
            done.add(step.node)
            if step.node is slip:
                learner[slip] = wrong
        learner[step.input] += learner[step.node] * step.local
    learner[slip] = wrong
    assume(all(math.isfinite(learner[n]) for n in ex.ask))
    report = ex.check({n: learner[n] for n in ex.ask})
    assert report.diagnosis.name == ex.names[slip]
    for mark in report.marks:
        if mark.name != ex.names[slip]:
            assert mark.ok or mark.follows, report


def test_a_node_used_4000_times_is_diagnosed_without_trying_every_subset():
    """(Before: 80 s, the subsets' texts built in quadratic time; now linear.)"""
    x = Value(0.5, label="x")
    uses = [x * (700.0 if i == 17 else float(i % 7 + 1)) for i in range(4000)]
    total = uses[0]
    for use in uses[1:]:
        total = total + use
    total.label = "L"
    ex = Exercise(total, ask=[x])
    true = ex.grads[x]
    d = ex.check({x: true - 700.0}).diagnosis        # the use x·700.0 left out
    assert d.kind == "missing_contribution" and "x is used 4000 times" in d.text
    assert "yours has 3,999. Add the one through" in d.text and "3,994 more" in d.text
    assert ex.check({x: 700.0}).diagnosis.kind == "missing_contribution"   # that use alone
    assert len(d.text) < 1000
    assert ex.check({x: true * 1.01}).diagnosis.kind == "close"


def test_an_ambiguous_name_is_refused_with_its_candidates():
    a1, a2 = Value(2.0, label="a"), Value(3.0, label="a")
    p = a1 * a2
    p.label = "p"
    ex = Exercise(p)
    for call in (lambda: ex.check({"a": 2.0}), lambda: ex.hint("a"),
                 lambda: Exercise(p, ask=["a"]), lambda: paths(p, "a")):
        with pytest.raises(ValueError, match="'a' is ambiguous: 2 nodes of the graph of p are "
                                             "labelled 'a', shown as ") as caught:
            call()
        message = str(caught.value)
        assert f"{ex.names[a1]!r}, {ex.names[a2]!r}" in message and "the Value itself" in message
    assert ex.check({a1: 3.0, a2: 2.0}).passed       # by Value: no doubt which one
    if ex.names[a2] != "a":                           # a distinct display name works too
        assert ex.check({ex.names[a2]: 2.0}).passed


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
    b.grad = -4.001                                   # 4 digits agree: right
    assert ex.check_grads().passed
    b.grad = -4.01
    assert not ex.check_grads().passed
    assert Exercise(L, ask=["b"], rtol=1e-2).check_grads().passed
    assert [m.name for m in ex.check({"e": -2.0}).marks] == ["e", "b", "a"]


@pytest.mark.parametrize("call, error, message", [
    (lambda ex: ex.check({"q": 1.0}), KeyError, "no node named 'q'"),
    (lambda ex: ex.check({"aa": 1.0}), KeyError, "did you mean 'a'"),
    (lambda ex: ex.check({"a": "6"}), TypeError, "answer for 'a' must be a number"),
    (lambda ex: ex.check({"a": True}), TypeError, "answer for 'a' must be a number"),
    (lambda ex: ex.check({"a": None}), TypeError, "answer for 'a' must be a number"),
    (lambda ex: ex.check({"a": Value(6.0)}), TypeError, "must be a number (give its .data)"),
    (lambda ex: ex.check({"a": 10 ** 400}), ValueError,
     "answer for 'a' is 1000000000000000000000000000000000000000..., too large for a float"),
    (lambda ex: ex.check(data={"e": -10 ** 400}), ValueError, "answer for 'e' is -1000"),
    (lambda ex: ex.check({"a": math.nan}), ValueError, "answer for 'a' is nan, not a number"),
    (lambda ex: ex.check({"a": 6.0, ex.order[0]: 7.0}), ValueError,
     "'a' is answered twice, 6.0 and 7.0"),
    (lambda ex: ex.check([("a", 6.0)]), TypeError, "dict"),
    (lambda ex: ex.check({Value(1.0): 1.0}), ValueError, "not a node of the graph of L"),
    (lambda ex: ex.hint(3), TypeError, "name a node by its name"),
    (lambda ex: Exercise(3.0), TypeError, "Exercise() needs the Value"),
    (lambda ex: Exercise(lecture(), rtol=-1), ValueError, "rtol"),
    (lambda ex: Exercise(lecture(), digits=2.5), ValueError, "digits"),
])
def test_bad_input_is_named(call, error, message):
    ex = Exercise(lecture())
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call(ex)


def test_an_infinite_answer_is_a_number_to_check():
    x = Value(0.0, label="x")
    y = x.sqrt()
    y.label = "y"
    assert Exercise(y).check({"x": math.inf}).passed          # sqrt'(0) = inf, as the engine
    assert not Exercise(lecture()).check({"a": math.inf}).passed


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

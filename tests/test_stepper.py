"""stepper(): the page it builds, its data (forward and backward steps, inspector, quiz,
folding), its escaping and how it saves and shows in Jupyter.

What the page does in a browser is checked in test_stepper_browser.py.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies

from autograd import Value, explain, stepper
from autograd.display import format_number
from autograd.viz import draw_graph
from autograd.html_page import json_for_script
from autograd.viz.stepper import Stepper
from conftest import page_data
from examples import COLLAPSE_MODES, batch_loss, lecture, used_twice


@pytest.fixture(scope="module")
def lecture_page():
    L = lecture()
    return L, stepper(L)


def test_page_is_one_self_contained_document(lecture_page):
    _, s = lecture_page
    page = s.html
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 1 and page.count("<script") == 2 == page.count("</script>")
    for needle in ("<?xml", "<!DOCTYPE svg", "<link", "@import", "src=", 'href="http',
                   "url(", "fetch(", "XMLHttpRequest", "cdn"):
        assert needle not in page, needle  # nothing to load: works offline, in any browser
    for control in ('id="back"', 'id="next"', 'id="play"', 'id="reset"', 'id="slider"',
                    'id="formula"', "ArrowLeft", "ArrowRight"):
        assert control in page, control


def test_page_data_is_the_trace(lecture_page):
    L, s = lecture_page
    trace = explain(lecture())  # same graph shape, same numbers
    data = page_data(s.html)
    assert [st["formula"] for st in data["backward"]] == [st.formula for st in trace]
    order = s.trace.order
    ids = draw_graph(L).node_ids
    assert [e["id"] for e in data["elements"]] == [ids[node] for node in order]
    assert [n["name"] for n in data["nodes"]] == [s.trace.names[node] for node in order]
    for st, step in zip(data["backward"], s.trace):
        assert data["elements"][st["element"]]["id"] == ids[step.node]
        assert st["edges"] == [f"e{order.index(step.node)}_{step.position}",
                               f"e{order.index(step.node)}"]
        assert st["updates"] == [[order.index(step.input), format_number(step.grad)]]
        assert st["quiz"] is None
    assert data["root"] == "L" and data["root_index"] == len(order) - 1
    # A node's gradient is complete after the last step that adds into it.
    complete = {e["name"]: e["complete"] for e in data["elements"]}
    assert complete == {"L": 0, "d": 1, "f": 2, "e": 3, "c": 4, "a": 5, "b": 6}


def test_the_forward_phase_computes_each_op_node_in_order(lecture_page):
    _, s = lecture_page
    data = page_data(s.html)
    assert [st["formula"] for st in data["forward"]] == [
        "e = a·b = 2.0·(-3.0) = -6.0", "d = e + c = (-6.0) + 10.0 = 4.0",
        "L = d·f = 4.0·(-2.0) = -8.0"]
    computed = {e["name"]: e["computed"] for e in data["elements"]}
    assert computed == {"a": 0, "b": 0, "e": 1, "c": 0, "d": 2, "f": 0, "L": 3}
    assert data["forward"][0]["edges"] == ["e2_0", "e2_1", "e2"]
    assert page_data(stepper(lecture(), forward=False).html)["forward"] == []


def test_every_edge_and_node_of_a_step_is_in_the_svg(lecture_page):
    _, s = lecture_page
    data = page_data(s.html)
    svg_ids = set(re.findall(r'<g id="([^"]+)"', s.html))
    for st in data["forward"] + data["backward"]:
        element = data["elements"][st["element"]]
        assert {element["id"], element["op_id"], *st["edges"]} <= svg_ids
        assert {data["elements"][t]["id"] for t in st.get("targets", [])} <= svg_ids


def test_the_inspector_data_has_each_local_derivative_and_each_use():
    data = page_data(stepper(used_twice()).html)
    nodes = {n["name"]: n for n in data["nodes"]}
    assert [(u["name"], u["contribution"]) for u in nodes["x"]["uses"]] == [
        ("d", "-6.0"), ("c", "-2.0")]
    assert [(i["name"], i["formula"], i["local"]) for i in nodes["c"]["inputs"]] == [
        ("x", "y", "-2.0"), ("y", "x", "3.0")]
    assert [(i["name"], i["formula"], i["local"]) for i in nodes["d"]["inputs"]] == [
        ("x", "", "1.0"), ("y", "", "1.0")]   # a number is not repeated as its formula
    assert nodes["c"]["made"] == "x·y" and nodes["x"]["leaf"]


def test_quiz_data_carries_the_exercise_diagnoses():
    from autograd.exercise import KINDS, contribution_slips

    s = stepper(lecture(), quiz=True)
    data = page_data(s.html)
    assert data["quiz"] is True and data["rtol"] == 2e-3
    for st, step in zip(data["backward"], s.trace):
        quiz = st["quiz"]
        slips = contribution_slips(step, "L", s.trace.names)
        assert quiz["answer"] == step.contribution
        assert quiz["slips"] == [{"value": slip.value, "title": KINDS[slip.kind],
                                  "text": slip.text} for slip in slips[:-1]]
        assert quiz["fallback"]["text"] == slips[-1].text
        assert quiz["prompt"].endswith("· ? = ?")
    svg = s.html[s.html.index("<svg"):s.html.index("</svg>")]
    assert "∂" not in svg   # the edges do not give the local derivatives away


def test_collapse_steps_a_model_neuron_by_neuron():
    from nn import MLP, mse_loss

    model = MLP(2, [2, 1], seed=0)
    loss = mse_loss(model([1.0, -2.0]), 1.0)
    s = stepper(loss, collapse="neuron")
    data = page_data(s.html)
    groups = [e for e in data["elements"] if e["group"]]
    assert sorted(g["name"] for g in groups) == ["neuron L1.N1", "neuron L1.N2", "neuron L2.N1"]
    steps = [data["elements"][st["element"]]["name"] for st in data["backward"]]
    assert steps == ["loss", "err", "err", "neuron L2.N1", "neuron L1.N2", "neuron L1.N1"]
    forward = [data["elements"][st["element"]]["name"] for st in data["forward"]]
    assert forward == ["neuron L1.N1", "neuron L1.N2", "neuron L2.N1", "err", "loss"]
    final = {}
    for st in data["backward"]:
        final.update({n: text for n, text in st["updates"]})
    order = s.trace.order
    assert len(final) == len(order) - 1                  # every node but the root
    for i, text in final.items():                        # ends with the engine's gradients
        assert text == format_number(s.trace.grads[order[i]]), s.trace.names[order[i]]
    neuron = data["backward"][3]
    assert neuron["formula"].startswith("neuron L2.N1: dloss/dL2.N1.out = ")
    assert neuron["text"].startswith("its parameters get dloss/dL2.N1.b = -2.306, "
                                     "dloss/dL2.N1.w0 = ")


def element_users(s, data):
    """For each element of the page, the elements that read one of its values."""
    element_of = [n["element"] for n in data["nodes"]]
    index = {node: i for i, node in enumerate(s.trace.order)}
    users = [set() for _ in data["elements"]]
    for node in s.trace.order:
        for inp in node.inputs:
            source, user = element_of[index[inp]], element_of[index[node]]
            if source != user:
                users[source].add(user)
    return users


def assert_steps_in_a_true_order(s):
    """Forward: an element is computed after every element it reads (a folded box computes
    all its outputs before any is used), and every value is computed by the end. Backward:
    an element's step comes when its gradient is complete, i.e. after every element that
    uses it; no gradient is changed by a step of an element whose gradient is unknown."""
    data = page_data(s.html)
    elements, users = data["elements"], element_users(s, data)
    computed = [e["computed"] for e in elements]
    assert sorted(c for e, c in zip(elements, computed) if not e["leaf"]) == \
        list(range(1, len(data["forward"]) + 1)), "every value computed once, in the forward"
    for e, element in enumerate(elements):
        for user in users[e]:
            assert computed[e] < computed[user], (element["name"], elements[user]["name"])
    complete = [e["complete"] for e in elements]   # after which backward step a grad is final
    node_element = [n["element"] for n in data["nodes"]]
    for b, step in enumerate(data["backward"]):
        e = step["element"]
        assert complete[e] <= b, f"step {b + 1} of {elements[e]['name']} before its grad is known"
        for i, _ in step["updates"]:
            assert node_element[i] != e or elements[e]["group"]   # a value passes to inputs
    for e, element in enumerate(elements):
        for user in users[e]:
            assert complete[user] <= complete[e], (element["name"], elements[user]["name"])


@pytest.mark.parametrize("collapse", COLLAPSE_MODES)
@pytest.mark.parametrize("quiz", [False, True])
def test_a_two_example_loss_steps_in_a_true_order(collapse, quiz):
    """Forward step 1 used to compute a = L2.N1.out[1] - y[1] while the folded neuron L2.N1
    still showed data ?; its backward passed L1 its gradient before L2.N1's was known."""
    s = stepper(batch_loss(), collapse=collapse, quiz=quiz)
    assert_steps_in_a_true_order(s)
    data = page_data(s.html)
    first = data["elements"][data["forward"][0]["element"]]
    assert first["group"] == (collapse is not None)   # the first thing computed: layer 1


@settings(max_examples=20, deadline=None)
@given(sizes=strategies.sampled_from([(1,), (2, 1), (3, 1), (2, 2, 1)]),
       examples=strategies.integers(1, 3), seed=strategies.integers(0, 20),
       loss=strategies.sampled_from(["mse", "hinge"]),
       collapse=strategies.sampled_from(COLLAPSE_MODES))
def test_every_folding_of_a_batch_loss_steps_in_a_true_order(sizes, examples, seed, loss,
                                                             collapse):
    assert_steps_in_a_true_order(stepper(batch_loss(sizes, examples, seed, loss),
                                         collapse=collapse, max_nodes=5000))


@pytest.mark.parametrize("sizes, examples, kind", [((2, 1), 2, "mse"), ((2, 2, 1), 3, "mse"),
                                                   ((3, 1), 2, "hinge")])
@pytest.mark.parametrize("collapse", [c for c in COLLAPSE_MODES if c])
def test_a_folded_quiz_asks_for_parameters_never_for_targets_nor_twice(collapse, sizes,
                                                                        examples, kind):
    loss = batch_loss(sizes, examples, loss=kind)
    s = stepper(loss, collapse=collapse, quiz=True)
    data = page_data(s.html)
    elements, names = data["elements"], s.trace.names
    questions = [(elements[st["element"]], st["quiz"]) for st in data["backward"] if st["quiz"]]
    prompts = [q["prompt"] for _, q in questions]
    assert len(prompts) == len(set(prompts)), "nothing asked twice"
    targets = {names[v] for v in s.trace.order if v.is_leaf and v.scope is not None
               and v.scope.kind == "input"}
    assert targets >= {f"y[{k + 1}]" for k in range(examples)}
    for _, q in questions:
        assert not any(f"/d{t} " in q["prompt"] for t in targets), q["prompt"]
    boxes = [(e, q) for e, q in questions if e["group"]]
    assert len(boxes) == len([e for e in elements if e["group"]]), "every box asks"
    grads = {names[v]: s.trace.grads[v] for v in s.trace.order}
    for box, q in boxes:   # a bias's gradient: the sum over both examples
        if q["what"] == "contribution":   # its parameter is used in another box too (the
            assert collapse == "example" and " += " in q["prompt"]   # other examples'): a share
            continue
        bias = q["what"].split("/d", 1)[1]
        assert bias.endswith(".b") and q["answer"] == pytest.approx(grads[bias], abs=1e-12)
        assert q["prompt"].startswith(f"dloss/d{bias} = ")
        assert all(abs(slip["value"] - q["answer"]) > 1e-9 for slip in q["slips"])
    one_use = [slip for _, q in boxes for slip in q["slips"]
               if slip["title"] == "missing contribution"]
    assert one_use or collapse == "example", "one example's share alone is recognised"


def test_stepper_shows_the_grads_of_backward_and_sets_none():
    L = lecture()
    s = stepper(L)
    a = next(node for node in s.trace.order if node.label == "a")
    assert (s.trace.grads[a], s.trace.grads[L]) == (6.0, 1.0)
    assert (a.grad, L.grad) == (0.0, 0.0)
    assert repr(s) == "<Stepper: 6 chain-rule steps of L>"


def test_labels_are_text_never_markup():
    evil = "</script><script>alert(1)</script>"
    x = Value(2.0, label=evil)
    y = Value(3.0, label="a & b \u2028 <!-- c")
    z = x * y
    z.label = "<b>z</b>"
    s = stepper(z)
    page = s.html
    assert page.count("<script") == 2 and page.count("</script>") == 2   # data, then code
    assert "<b>z</b>" not in page and "alert(1)</script>" not in page
    script = page[page.index("<script"):page.index("</script>")]
    assert "\u2028" not in script and "<!--" not in script
    data = page_data(page)
    assert [n["name"] for n in data["nodes"]] == [evil, "a & b \u2028 <!-- c", "<b>z</b>"]
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page  # in the SVG text
    assert ("<title>Forward and backward pass of &lt;b&gt;z&lt;/b&gt; = 6.0</title>"
            in page)
    quiz = stepper(z, quiz=True).html                   # the quiz's texts carry names too
    assert quiz.count("<script") == 2 and "alert(1)</script>" not in quiz
    assert evil in json.dumps(page_data(quiz)["backward"], ensure_ascii=False)


#: Texts the page's template or script could mistake for its own: its placeholders, tags, quotes.
TRICKY_LABELS = ["__DATA__", "__SVG__", "__TITLE__", "__STYLE__", "__SCRIPT__", "</script>",
                 "</style>", 'say "hi"', "it's", "${x}", "\\u003c", "$&", "\\1"]
LABEL = strategies.sampled_from(TRICKY_LABELS) | strategies.text(max_size=8)


@settings(max_examples=25, deadline=None)
@given(labels=strategies.lists(LABEL, min_size=3, max_size=3))
def test_labels_never_change_the_page_around_them(labels):
    """A label that reads like a placeholder of the page (``__DATA__`` ...) stays that text:
    the page is filled in one pass, so the data and the SVG appear once each, where the
    template puts them."""
    x, y = Value(2.0, label=labels[0]), Value(-3.0, label=labels[1])
    z = x * y + x
    z.label = labels[2]
    for quiz in (False, True):
        page = stepper(z, quiz=quiz).html
        assert page.count("<svg") == 1 and page.count("</svg>") == 1
        assert page.count("<script") == 2 and page.count("<style>") == 1
        assert page.count('id="page-data"') == 1
        data = page_data(page)
        names = {n["name"] for n in data["nodes"]}
        assert {label for label in labels if label} <= names
        assert page_data(stepper(z, quiz=quiz).html) == data   # the same every time


@pytest.mark.parametrize("text, escaped", [
    ("</script>", "\\u003c/script\\u003e"), ("a&b", "a\\u0026b"), ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"), ("<!--", "\\u003c!--"), ("plain", "plain")])
def test_json_for_script_escapes(text, escaped):
    out = json_for_script({"k": text})
    assert out == '{"k": "' + escaped + '"}'
    assert json.loads(out) == {"k": text}


def test_jupyter_shows_the_page_in_an_isolated_iframe(lecture_page):
    _, s = lecture_page
    shown = s._repr_html_()
    match = re.fullmatch(r'<iframe srcdoc="([^"]*)" style="[^"]*height:(\d+)px[^"]*" '
                         r'sandbox="allow-scripts" title="[^"]*"></iframe>', shown)
    assert match, shown[:200]
    assert html.unescape(match.group(1)) == s.html
    assert "<script" not in shown  # the notebook itself gets no script, only the iframe does
    assert 200 < int(match.group(2)) <= 1000


def test_save_writes_the_page(tmp_path, lecture_page):
    _, s = lecture_page
    path = s.save(tmp_path / "backprop.html")
    assert (tmp_path / "backprop.html").read_text(encoding="utf-8") == s.html
    assert path == str(tmp_path / "backprop.html")
    with pytest.raises(ValueError, match=r"\.html"):
        s.save(tmp_path / "backprop.png")
    assert not (tmp_path / "backprop.png").exists()


def test_a_leaf_root_gives_a_page_with_only_step_zero():
    x = Value(4.0, label="x")
    s = stepper(x)
    assert isinstance(s, Stepper) and len(s.trace) == 0
    assert page_data(s.html)["backward"] == page_data(s.html)["forward"] == []


def test_a_reused_input_has_one_edge_per_operand():
    x = Value(3.0, label="x")
    y = x * x
    data = page_data(stepper(y).html)
    assert [st["edges"] for st in data["backward"]] == [["e1_0", "e1"], ["e1_1", "e1"]]


@pytest.mark.parametrize("bad", [2.0, None, "L"])
def test_stepper_needs_a_value(bad):
    with pytest.raises(TypeError, match=f"stepper.*{type(bad).__name__}"):
        stepper(bad)


def test_a_graph_too_big_to_draw_is_refused_before_any_grad_changes():
    x = Value(0.5, label="x")
    y = x
    for _ in range(30):
        y = (y * 1.01).tanh()
    with pytest.raises(ValueError, match=r"stepper\(\) cannot show.*max_nodes"):
        stepper(y, max_nodes=20)
    assert x.grad == 0.0 and y.grad == 0.0
    assert len(stepper(y, max_nodes=200).trace) == 90  # per layer: y and 1.01 into *, then tanh


def test_a_steps_text_writes_the_local_derivative_with_partials():
    """The sentence under the formula said 'times the local derivative de/da', the symbol of
    the total derivative, while the formula above it writes ∂e/∂a."""
    data = page_data(stepper(lecture()).html)
    texts = [step["text"] for step in data["backward"]]
    assert "times the local derivative ∂e/∂a = -3.0" in " ".join(texts)
    assert not any(re.search(r"local derivative d\w", text) for text in texts)

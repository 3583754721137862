"""The stepper page in a real headless Chromium (Playwright): buttons, keys, numbers, offline;
the forward phase, the node inspector, the quiz and a folded model."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_module

from autograd import Value, explain, stepper
from autograd.display import format_number
from autograd.viz import draw_graph
from examples import lecture, used_twice

pytestmark = pytest.mark.browser

# What the page shows: the step number, the highlighted node's and edge's SVG ids, the formula,
# and every record's grad field by node id.
STATE = """() => {
  const ids = (sel) => Array.from(document.querySelectorAll(sel)).map(g => g.id);
  const fields = (word) => {
    const found = {};
    for (const g of document.querySelectorAll("g.node:not([id^=legend])")) {
      const t = Array.from(g.querySelectorAll("text")).filter(
        t => t.textContent.startsWith(word + " "));
      if (t.length) found[g.id] = t[t.length - 1].textContent.slice(word.length + 1);
    }
    return found;
  };
  return {step: Number(document.body.dataset.step), phase: document.body.dataset.phase,
          current: ids("g.node.current"), target: ids("g.node.target"),
          edges: ids("g.edge.active"), formula: document.getElementById("formula").textContent,
          grads: fields("grad"), data: fields("data")};
}"""

# The inspector's fields by name (data-field), when it is open.
INSPECTOR = """() => {
  const box = document.getElementById("inspector");
  if (box.hidden) return null;
  const found = {title: box.querySelector("h2").textContent, element: box.dataset.element};
  for (const td of box.querySelectorAll("[data-field]")) found[td.dataset.field] = td.textContent;
  return found;
}"""


@pytest.fixture()
def page(browser):
    page = browser.new_page(viewport={"width": 1100, "height": 650})
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # Anything but the page's own file would be a network request: refuse and record it.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else route.abort())
    yield page
    page.close()


def test_next_walks_through_the_forward_pass_then_every_step_of_explain(tmp_path, page):
    L = lecture()
    L.backward()  # the stepper only looks: the engine's .grads to compare with
    path = stepper(L).save(tmp_path / "backprop.html")
    trace = explain(lecture())  # the same graph built again: the engine's steps and numbers
    ids = draw_graph(L).node_ids
    order = {node.label: ids[node] for node in ids}
    url = Path(path).as_uri()
    page.goto(url)

    state = page.evaluate(STATE)
    assert state["step"] == 0 and state["current"] == [] and state["edges"] == []
    assert set(state["grads"].values()) == {"?"}
    assert state["data"] == {"n0": "2.0", "n1": "-3.0", "n2": "?", "n3": "10.0", "n4": "?",
                             "n5": "-2.0", "n6": "?"}   # only the leaves are known

    # The forward pass: one op node per step, inputs first, with the numbers that make it.
    for i, (name, formula) in enumerate([("e", "e = a·b = 2.0·(-3.0) = -6.0"),
                                         ("d", "d = e + c = (-6.0) + 10.0 = 4.0"),
                                         ("L", "L = d·f = 4.0·(-2.0) = -8.0")]):
        page.click("#next")
        state = page.evaluate(STATE)
        node = order[name]
        assert (state["step"], state["phase"]) == (i + 1, "forward")
        assert state["current"] == [node] and state["formula"] == formula
        assert state["edges"] == [f"e{node[1:]}_0", f"e{node[1:]}_1", f"e{node[1:]}"]
        assert state["data"][node] == formula.rsplit(" = ", 1)[1]
    assert "?" not in state["data"].values() and set(state["grads"].values()) == {"?"}
    forward = len(state["data"]) - 4

    for i, step in enumerate(trace.steps):
        page.click("#next")
        state = page.evaluate(STATE)
        node, inp = order[step.node.label], order[step.input.label]
        assert (state["step"], state["phase"]) == (forward + i + 1, "backward")
        assert state["current"] == [node], step.formula
        assert state["target"] == [inp]
        assert state["edges"] == [f"e{node[1:]}_{step.position}", f"e{node[1:]}"]
        assert state["formula"] == step.formula
        assert float(state["grads"][inp]) == pytest.approx(step.grad, rel=1e-3)

    # The end is the finished backward pass: every displayed grad is the engine's.
    assert page.is_disabled("#next")
    for node in ids:
        assert float(state["grads"][ids[node]]) == pytest.approx(node.grad, rel=1e-3), node.label
    assert "complete" in page.text_content("#text")

    shot = tmp_path / "stepper.png"
    page.screenshot(path=str(shot))
    require_module("PIL")
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert len(colours) > 100, "the screenshot looks blank"
    assert max(count for count, _ in colours) < 0.95 * image.width * image.height

    assert page.requests == [url], "the page must not load anything"
    assert page.errors == []


def test_keys_slider_back_reset_and_play(tmp_path, page):
    L = lecture()
    stepper(L, forward=False).save(tmp_path / "backprop.html")
    page.goto((tmp_path / "backprop.html").as_uri())
    step = lambda: page.evaluate("() => Number(document.body.dataset.step)")  # noqa: E731

    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert step() == 2
    page.keyboard.press("ArrowLeft")
    assert step() == 1
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")  # stays at 0
    assert step() == 0 and page.is_disabled("#back")

    page.fill("#slider", "6")  # the slider jumps straight to a step
    assert step() == 6
    page.focus("#slider")
    page.keyboard.press("ArrowLeft")  # one step, not two (slider and page both listening)
    assert step() == 5
    page.click("#back")
    assert step() == 4
    page.click("#reset")
    state = page.evaluate(STATE)
    assert state["step"] == 0 and set(state["grads"].values()) == {"?"}

    page.click("#play")
    page.wait_for_function("() => Number(document.body.dataset.step) >= 1", timeout=3000)
    assert page.text_content("#play") == "Pause"
    page.click("#play")
    assert page.text_content("#play") == "Play"
    assert page.errors == []


def test_reused_input_highlights_the_edge_of_each_operand(tmp_path, page):
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    stepper(y, forward=False).save(tmp_path / "square.html")
    page.goto((tmp_path / "square.html").as_uri())
    page.keyboard.press("ArrowRight")
    first = page.evaluate(STATE)
    page.keyboard.press("ArrowRight")
    second = page.evaluate(STATE)
    assert first["edges"] == ["e1_0", "e1"] and second["edges"] == ["e1_1", "e1"]
    assert (first["grads"]["n0"], second["grads"]["n0"]) == ("3.0", "6.0")


def test_the_network_check_sees_requests(tmp_path, page):
    # The no-network assertion above is only worth something if a request would be seen.
    (tmp_path / "fetches.html").write_text('<img src="http://127.0.0.1:9/x.png">')
    url = (tmp_path / "fetches.html").as_uri()
    page.goto(url)
    assert page.requests == [url, "http://127.0.0.1:9/x.png"]


def test_two_steppers_inline_in_a_notebook_page_work_independently(tmp_path, page):
    # What Jupyter (or nbconvert's static HTML) shows: each stepper in its own srcdoc iframe.
    first, second = lecture(), Value(2.0, label="x").tanh()
    notebook = f"<html><body>{stepper(first)._repr_html_()}<p>text</p>" \
               f"{stepper(second, forward=False)._repr_html_()}</body></html>"
    (tmp_path / "notebook.html").write_text(notebook, encoding="utf-8")
    page.goto((tmp_path / "notebook.html").as_uri())
    frames = [frame for frame in page.frames if frame is not page.main_frame]
    assert len(frames) == 2
    for frame in frames:
        frame.wait_for_selector("#next")
    frames[1].click("#next")
    first_state, second_state = frames[0].evaluate(STATE), frames[1].evaluate(STATE)
    assert (first_state["step"], second_state["step"]) == (0, 1)
    assert second_state["formula"] == explain(Value(2.0, label="x").tanh()).steps[0].formula
    assert page.errors == []


def test_fit_width_toggles_full_size(tmp_path, page):
    x = Value(0.5, label="x")
    y = x
    for _ in range(12):
        y = (y * 1.01).tanh()
    stepper(y).save(tmp_path / "wide.html")
    page.goto((tmp_path / "wide.html").as_uri())
    width = "() => document.querySelector('#graph svg').getBoundingClientRect().width"
    fitted = page.evaluate(width)
    assert fitted <= 1100
    page.uncheck("#fit")
    assert page.evaluate(width) > fitted
    page.check("#fit")
    assert page.evaluate(width) == fitted


# ------------------------------------------------------------------ the inspector

def test_clicking_a_node_inspects_it_with_the_engines_numbers(tmp_path, page):
    L = used_twice()
    L.backward()  # the engine's numbers (the stepper only looks)
    stepper(L).save(tmp_path / "twice.html")
    ids = draw_graph(L).node_ids
    node = {v.label: v for v in ids}
    page.goto((tmp_path / "twice.html").as_uri())
    page.click(f"#{ids[node['x']]}")
    seen = page.evaluate(INSPECTOR)
    assert seen["title"] == "node x" and (seen["data"], seen["grad"]) == ("3.0", "?")
    assert (seen["use-0"], seen["use-1"], seen["sum"]) == ("?", "?", "?")

    page.click("#slider")
    page.fill("#slider", page.get_attribute("#slider", "max"))   # the end
    seen = page.evaluate(INSPECTOR)   # the open inspector follows the step
    engine = explain(used_twice())
    uses = [s.contribution for s in engine if s.input.label == "x"]
    assert [float(seen["use-0"]), float(seen["use-1"])] == uses          # -6.0, -2.0
    assert float(seen["sum"]) == float(seen["grad"]) == node["x"].grad == sum(uses)

    page.click(f"#{ids[node['c']]}")
    seen = page.evaluate(INSPECTOR)
    assert seen["title"] == "node c" and seen["op"] == "*: c = x·y"
    assert (seen["local-0"], seen["local-1"]) == ("y = -2.0", "x = 3.0")   # ∂c/∂x, ∂c/∂y
    assert float(seen["grad"]) == node["c"].grad

    page.click("#close-inspector")
    assert page.evaluate(INSPECTOR) is None
    page.focus(f"#{ids[node['d']]}")                     # keyboard: Tab to a node, Enter
    page.keyboard.press("Enter")
    assert page.evaluate(INSPECTOR)["title"] == "node d"
    assert page.errors == []


# ------------------------------------------------------------------ the quiz

def test_quiz_diagnoses_a_wrong_contribution_then_advances_on_the_right_one(tmp_path, page):
    from autograd.exercise import KINDS, contribution_slips

    L = lecture()
    s = stepper(L, quiz=True)
    s.save(tmp_path / "quiz.html")
    trace = s.trace
    page.goto((tmp_path / "quiz.html").as_uri())
    for _ in range(3):                                   # the forward pass is not asked
        page.click("#next")
    assert page.evaluate(STATE)["step"] == 3
    page.click("#next")                                  # the first backward step: asked
    assert page.get_attribute("body", "data-asking") == "0"
    assert page.is_visible("#answer") and page.evaluate(STATE)["step"] == 3
    assert page.text_content("#formula") == "dL/dd += dL/dL · ∂L/∂d = 1.0 · ? = ?"
    page.keyboard.press("ArrowRight")                    # no skipping the question by key
    assert page.evaluate(STATE)["step"] == 3

    first = trace.steps[0]                               # dL/dd = 1.0 · f = -2.0
    sign = next(x for x in contribution_slips(first, "L", trace.names) if x.kind == "sign_slip")
    page.fill("#answer", "2")                            # the wrong sign
    page.click("#check")
    assert page.text_content("#feedback") == f"✘ {KINDS['sign_slip']}. {sign.text}"
    assert page.evaluate(STATE)["step"] == 3
    page.fill("#answer", "two")
    page.press("#answer", "Enter")
    assert "Type a number" in page.text_content("#feedback")
    page.fill("#answer", "-2")                           # right: the step is revealed
    page.press("#answer", "Enter")
    state = page.evaluate(STATE)
    assert state["step"] == 4 and state["formula"] == first.formula
    assert page.get_attribute("body", "data-asking") is None

    for step in trace.steps[1:-1]:                       # the next ones right at once
        page.click("#next")
        page.fill("#answer", format_number(step.contribution))
        page.click("#check")
    page.click("#next")
    page.click("#reveal")                                # the last one given up
    assert page.evaluate(STATE)["step"] == 3 + len(trace)
    assert page.text_content("#score") == "Score: 4 / 6 right at the first try"
    page.click("#back")                                  # answered steps can be reviewed
    page.keyboard.press("ArrowRight")
    assert page.evaluate(STATE)["step"] == 3 + len(trace)
    assert page.errors == []


def test_a_quizs_unknown_slip_names_the_op_and_its_rule(tmp_path, page):
    from autograd.exercise import contribution_slips

    s = stepper(lecture(), quiz=True, forward=False)
    s.save(tmp_path / "quiz.html")
    page.goto((tmp_path / "quiz.html").as_uri())
    page.click("#next")
    page.fill("#answer", "17")
    page.click("#check")
    fallback = contribution_slips(s.trace.steps[0], "L", s.trace.names)[-1]
    assert fallback.kind == "wrong_local" and "'*' node" in fallback.text
    assert page.text_content("#feedback").endswith(fallback.text)


# ------------------------------------------------------------------ collapse

def test_a_folded_model_steps_neuron_by_neuron(tmp_path, page):
    from nn import MLP, mse_loss

    model = MLP(2, [2, 1], seed=0)
    loss = mse_loss(model([1.0, -2.0]), 1.0)
    loss.backward()  # the engine's numbers (the stepper only looks)
    s = stepper(loss, collapse="neuron")
    s.save(tmp_path / "mlp.html")
    ids = draw_graph(loss, collapse="neuron").node_ids
    page.goto((tmp_path / "mlp.html").as_uri())
    neuron = ids[model.layers[0].neurons[1].w[0]]        # the box of neuron L1.N2
    page.click("#next")
    state = page.evaluate(STATE)
    assert state["current"][0].startswith("g") and state["formula"].startswith("L1.N")
    page.fill("#slider", page.get_attribute("#slider", "max"))
    state = page.evaluate(STATE)
    out = next(v for v in s.trace.order if s.trace.names[v] == "L1.N2.out")
    assert state["grads"][neuron] == format_number(out.grad)   # the box shows its output
    page.click(f"#{neuron}")
    seen = page.evaluate(INSPECTOR)
    assert seen["title"] == "neuron L1.N2"
    shown = page.evaluate("""() => Array.from(document.querySelectorAll('#inspector tr'))
                             .map(tr => Array.from(tr.cells).map(c => c.textContent))""")
    params = {row[0]: row[2] for row in shown}
    for p in model.layers[0].neurons[1].parameters():
        assert params[p.scope.path] == f"grad {format_number(p.grad)}"
    assert page.errors == []


def test_a_folded_quiz_asks_only_single_steps(tmp_path, page):
    from nn import MLP, mse_loss

    loss = mse_loss(MLP(2, [2, 1], seed=0)([1.0, -2.0]), 1.0)
    s = stepper(loss, collapse="neuron", quiz=True, forward=False)
    s.save(tmp_path / "mlp.html")
    page.goto((tmp_path / "mlp.html").as_uri())
    last = int(page.get_attribute("#slider", "max"))
    asked = 0
    while page.evaluate(STATE)["step"] < last:
        page.click("#next")
        if page.get_attribute("body", "data-asking") is not None:
            asked += 1
            page.click("#reveal")
    assert asked == 3                  # loss -> a, a -> L2.N1.out, a -> y; neurons: shown
    assert page.text_content("#score") == "Score: 0 / 3 right at the first try"
    assert page.errors == []

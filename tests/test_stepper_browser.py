"""The stepper page in a real headless Chromium (Playwright): buttons, keys, numbers, offline;
the forward phase, the node inspector, the quiz and a folded model."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import page_data, require_module

from autograd import Value, explain, stepper
from autograd.display import format_number
from autograd.viz import draw_graph
from examples import COLLAPSE_MODES, batch_loss, lecture, used_twice
from test_stepper import element_users

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


def lecture_neuron() -> Value:
    """micrograd's lecture neuron: o = tanh(x1·w1 + x2·w2 + b), a wide graph."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    n = x1 * w1 + x2 * w2 + Value(6.8813735870195432, label="b")
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


# The graph's box and size, its smallest node text's font size in pixels, and whether the page
# itself scrolls.
SIZES = """() => {
  const box = document.getElementById("graph"), svg = box.querySelector("svg");
  const px = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;  // per unit
  const texts = Array.from(svg.querySelectorAll("g.node:not([id^=legend]) text"))
      .map(t => parseFloat(t.getAttribute("font-size")) * px);
  const r = svg.getBoundingClientRect(), b = box.getBoundingClientRect();
  return {svg: [r.width, r.height], box: [b.width, b.height, box.scrollWidth, box.clientWidth],
          text: Math.min(...texts), pageScrolls: document.documentElement.scrollHeight >
          window.innerHeight, natural: [svg.width.baseVal.value, svg.height.baseVal.value]};
}"""


@pytest.mark.parametrize("viewport", [(1280, 800), (1920, 1080), (800, 900)])
def test_fit_uses_the_visible_area_and_keeps_text_readable(tmp_path, page, viewport):
    """The lecture neuron at 1280 x 800 was drawn 1256 px wide with 6-7 px text, half the
    screen empty: fitted, its node text is at least 10 px, the page does not scroll, and a
    graph wider than that scrolls in its box, which follows the step."""
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    stepper(lecture_neuron()).save(tmp_path / "neuron.html")
    page.goto((tmp_path / "neuron.html").as_uri())
    page.screenshot(path=str(tmp_path / "neuron.png"))
    fitted = page.evaluate(SIZES)
    assert fitted["text"] >= 9.99 and not fitted["pageScrolls"], fitted
    assert fitted["svg"][0] <= fitted["natural"][0] + 0.5
    assert fitted["box"][1] <= viewport[1]
    if fitted["box"][2] > fitted["box"][3]:          # scrolls sideways: follows the step
        page.fill("#slider", "5")
        (left, right) = page.evaluate("""() => { const r = document.querySelector(
            '#graph g.node.current').getBoundingClientRect(); return [r.left, r.right]; }""")
        assert 0 <= left and right <= viewport[0]
    page.uncheck("#fit")                              # actual size
    actual = page.evaluate(SIZES)
    assert actual["svg"] == pytest.approx(actual["natural"], abs=0.1)
    page.check("#fit")
    assert page.evaluate(SIZES)["svg"] == pytest.approx(fitted["svg"], abs=0.1)


def test_fit_shows_a_small_graph_whole_at_most_at_actual_size(tmp_path, page):
    stepper(Value(2.0, label="x") * Value(3.0, label="y")).save(tmp_path / "small.html")
    page.goto((tmp_path / "small.html").as_uri())
    fitted = page.evaluate(SIZES)
    assert fitted["svg"] == pytest.approx(fitted["natural"], abs=0.1)   # not blown up
    assert fitted["box"][2] <= fitted["box"][3] and not fitted["pageScrolls"]
    x = Value(0.5, label="x")
    y = x
    for _ in range(12):
        y = (y * 1.01).tanh()
    stepper(y).save(tmp_path / "wide.html")
    page.goto((tmp_path / "wide.html").as_uri())
    assert page.evaluate(SIZES)["text"] >= 9.99
    assert page.errors == []


# ------------------------------------------------------------------ the inspector

def test_clicking_a_node_inspects_it_with_the_engines_numbers(tmp_path, page):
    L = used_twice()
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
    assert page.text_content("#formula") == "dL/dd += dL/dL · dL/dd = 1.0 · ? = ?"
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


def test_a_folded_quiz_asks_each_box_for_a_bias_gradient(tmp_path, page):
    s = stepper(batch_loss(), collapse="neuron", quiz=True, forward=False)
    s.save(tmp_path / "mlp.html")
    page.goto((tmp_path / "mlp.html").as_uri())
    last = int(page.get_attribute("#slider", "max"))
    prompts = []
    while page.evaluate(STATE)["step"] < last:
        page.click("#next")
        if page.get_attribute("body", "data-asking") is not None:
            prompts.append(page.text_content("#formula"))
            page.click("#reveal")
    assert not any("/dy[" in prompt for prompt in prompts), prompts   # never the target's
    biases = [p.split(" = ")[0] for p in prompts if " = Σ" in p]
    assert biases == ["dloss/dL2.N1.b", "dloss/dL1.N2.b", "dloss/dL1.N1.b"]
    assert page.text_content("#score") == f"Score: 0 / {len(prompts)} right at the first try"
    assert page.errors == []


def test_labels_like_the_pages_own_text_show_as_text_and_the_page_works(tmp_path, page):
    """A node labelled __DATA__ once got the whole JSON blob drawn inside its box."""
    x, y = Value(2.0, label="__DATA__"), Value(-3.0, label="__SVG__")
    z = Value(0.5, label='</script><b>"q"</b>')
    out = x * y + z
    out.label = "__TITLE__"
    s = stepper(out, quiz=True)
    s.save(tmp_path / "tricky.html")
    page.goto((tmp_path / "tricky.html").as_uri())
    texts = page.evaluate("""() => Array.from(document.querySelectorAll('#graph g.node text'))
                             .map(t => t.textContent)""")
    for label in ("__DATA__", "__SVG__", '</script><b>"q"</b>', "__TITLE__"):
        assert label in texts, label
    assert page.title() == page.text_content("h1") == "Quiz of __TITLE__ = -5.5"
    assert page.evaluate("document.querySelectorAll('b, svg').length") == 1   # no <b> made
    for _ in range(2):
        page.click("#next")
    page.click("#next")                                  # the first backward step: asked
    page.fill("#answer", format_number(s.trace.steps[0].contribution))
    page.press("#answer", "Enter")
    assert page.evaluate(STATE)["formula"] == s.trace.steps[0].formula
    assert page.errors == []


# ------------------------------------------------------------------ every collapse mode

# Each element's shown data, grad and grad state (unknown, partial, complete) by SVG id.
FIELDS = """() => {
  const found = {};
  for (const g of document.querySelectorAll("g.node")) {
    const texts = Array.from(g.querySelectorAll("text"));
    const last = (word) => texts.filter(t => t.textContent.trim().startsWith(word + " ")).pop();
    const data = last("data"), grad = last("grad");
    if (!data && !grad) continue;
    found[g.id] = {data: data ? data.textContent.trim().slice(5) : null,
                   grad: grad ? grad.textContent.trim().slice(5) : null,
                   complete: Boolean(grad && grad.classList.contains("grad-known"))};
  }
  return {step: Number(document.body.dataset.step), fields: found,
          current: Array.from(document.querySelectorAll("g.node.current")).map(g => g.id)};
}"""


@pytest.mark.parametrize("collapse", COLLAPSE_MODES)
def test_every_step_of_every_collapse_mode_shows_only_what_is_known(tmp_path, page, collapse):
    """Walking a two-example MLP loss step by step: a value's data is shown once every value
    it reads is; the forward phase ends with every value computed; a step passes back only a
    gradient its page already shows complete, and a gradient is complete only once every
    element that uses it shows its own complete."""
    s = stepper(batch_loss(), collapse=collapse)
    s.save(tmp_path / "steps.html")
    data = page_data(s.html)
    elements, users = data["elements"], element_users(s, data)
    reads = {e: [] for e in range(len(elements))}
    for e, found in enumerate(users):
        for user in found:
            reads[user].append(e)
    ids = [e["id"] for e in elements]
    forward, last = len(data["forward"]), len(data["forward"]) + len(data["backward"])
    page.goto((tmp_path / "steps.html").as_uri())
    before = page.evaluate(FIELDS)
    assert {f["grad"] for f in before["fields"].values()} == {"?"}
    for k in range(1, last + 1):
        page.click("#next")
        now = page.evaluate(FIELDS)
        fields = now["fields"]
        assert now["step"] == k and len(now["current"]) == 1
        (current,) = [e for e, i in enumerate(ids) if i == now["current"][0]]
        if k <= forward:   # the forward pass: this element computed from what is shown
            assert before["fields"][ids[current]]["data"] == "?"
            assert fields[ids[current]]["data"] != "?"
            for source in reads[current]:
                assert before["fields"][ids[source]]["data"] != "?", \
                    (k, elements[current]["name"], elements[source]["name"])
            if k == forward:
                assert all(f["data"] != "?" for f in fields.values() if f["data"] is not None)
        else:              # the backward pass
            assert before["fields"][ids[current]]["complete"] or k == forward + 1, \
                (k, elements[current]["name"])
            assert fields[ids[current]]["complete"]
            changed = [e for e, i in enumerate(ids) if i in fields
                       and fields[i]["grad"] != before["fields"][i]["grad"]]
            seed = [current] if k == forward + 1 else []   # dloss/dloss = 1 appears
            assert all(current in users[e] for e in changed if e not in seed), (k, changed)
            for e, i in enumerate(ids):
                if i in fields and fields[i]["complete"]:
                    for user in users[e]:
                        assert fields[ids[user]]["complete"], \
                            (k, elements[e]["name"], elements[user]["name"])
        before = now
    assert all(f["complete"] for f in before["fields"].values() if f["grad"] is not None)
    assert page.errors == []


# ------------------------------------------------------------------ inside Jupyter's output

def test_the_quiz_works_inside_jupyters_sandboxed_iframe(tmp_path, page):
    """Jupyter (and the playground) show the page in an iframe with sandbox="allow-scripts":
    no form submission there, so Check and Enter must work without one."""
    from autograd.exercise import KINDS

    s = stepper(lecture(), quiz=True, forward=False)
    (tmp_path / "notebook.html").write_text(
        f"<!DOCTYPE html><html><body><h1>Out[3]:</h1>{s._repr_html_()}</body></html>",
        encoding="utf-8")
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.goto((tmp_path / "notebook.html").as_uri())
    assert page.get_attribute("iframe", "sandbox") == "allow-scripts"
    frame = page.frame_locator("iframe")
    first, second = s.trace.steps[0], s.trace.steps[1]
    frame.locator("#next").click()
    frame.locator("#answer").fill(format_number(-first.contribution))   # the wrong sign
    frame.locator("#check").click()
    assert frame.locator("#feedback").text_content().startswith(f"✘ {KINDS['sign_slip']}.")
    frame.locator("#answer").fill(format_number(first.contribution))    # right: Enter
    frame.locator("#answer").press("Enter")
    assert frame.locator("body").get_attribute("data-step") == "1"
    assert frame.locator("#formula").text_content() == first.formula
    frame.locator("#next").click()
    frame.locator("#answer").fill(format_number(second.contribution))   # right: Check
    frame.locator("#check").click()
    assert frame.locator("body").get_attribute("data-step") == "2"
    assert not [text for text in console if "form" in text.lower()], console
    assert page.errors == []

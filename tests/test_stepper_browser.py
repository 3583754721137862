"""The stepper page in a real headless Chromium (Playwright): buttons, keys, numbers, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_module, require_program

from autograd import Value, explain, stepper
from autograd.viz import draw_graph
from examples import lecture

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# What the page shows: the step number, the highlighted node's and edge's SVG ids, the formula,
# and every record's grad field by node id.
STATE = """() => {
  const ids = (sel) => Array.from(document.querySelectorAll(sel)).map(g => g.id);
  const grads = {};
  for (const g of document.querySelectorAll("g.node")) {
    const t = Array.from(g.querySelectorAll("text")).filter(t => /^grad /.test(t.textContent));
    if (t.length) grads[g.id] = t[t.length - 1].textContent.slice(5);
  }
  return {step: Number(document.body.dataset.step), current: ids("g.node.current"),
          target: ids("g.node.target"), edges: ids("g.edge.active"),
          formula: document.getElementById("formula").textContent, grads: grads};
}"""


@pytest.fixture(scope="module")
def browser():
    executable = require_program("chromium")
    require_module("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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


def test_next_walks_through_every_step_of_explain(tmp_path, page):
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
    assert state["formula"] == "Forward pass: L = -8.0"

    for i, step in enumerate(trace.steps):
        page.click("#next")
        state = page.evaluate(STATE)
        node, inp = order[step.node.label], order[step.input.label]
        assert state["step"] == i + 1
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
    stepper(L).save(tmp_path / "backprop.html")
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
    stepper(y).save(tmp_path / "square.html")
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
               f"{stepper(second)._repr_html_()}</body></html>"
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

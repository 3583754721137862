"""``chainrule course``: the course as a website, built once (offline flavour) for this file.

Every lesson has its page with its outputs, no page loads anything from outside the site, and
notebook 08 opens from its page in JupyterLite and runs to the end in headless Chromium with
every outside request refused. The versions the site depends on (JupyterLite, its kernel,
Pyodide, KaTeX) are checked to agree with each other.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from conftest import require_module, require_npm_package, static_server
from hypothesis import given
from hypothesis import strategies as st

from autograd.cli import main
from autograd.course import GUIDE, MARKER, REPOSITORY_IMAGES
from autograd.course.lite import (
    JUPYTERLITE_VERSION,
    PRELOAD,
    PYODIDE_CDN,
    PYODIDE_MARKERS,
    patched_lock,
)
from autograd.course.notebooks import imports, lesson
from autograd.playground import PYODIDE_VERSION

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL_READY_MS = 180_000     # Pyodide and the kernel's wheels, on a busy 2-core machine
RUN_ALL_MS = 300_000


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The offline site, built once: ``chainrule course -o DIR --offline``."""
    for name in ("pyodide", "katex"):
        require_npm_package(name)
    for name in ("mkdocs", "mkdocs_jupyter", "jupyterlite_core"):
        require_module(name)
    folder = tmp_path_factory.mktemp("course") / "site"
    start = time.perf_counter()
    assert main(["course", "-o", str(folder), "--offline"]) == 0
    print(f"course site built in {time.perf_counter() - start:.0f} s, "
          f"{sum(f.stat().st_size for f in folder.rglob('*') if f.is_file()) / 1e6:.0f} MB")
    return folder


@pytest.fixture(scope="module")
def server(site):
    with static_server(site) as url:
        yield url


# --- the pages -------------------------------------------------------------------------------

@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_lesson_has_a_page_with_its_outputs_and_its_browser_link(site, notebook):
    page = (site / "notebooks" / notebook.stem / "index.html").read_text(encoding="utf-8")
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    printing = [c for c in code if "print(" in "".join(c["source"])]
    outputs = len(re.findall(r'class="[^"]*\bjp-OutputArea-output\b', page))
    assert outputs >= len(printing) > 0, f"{notebook.stem}: {outputs} outputs"
    assert "Traceback" not in page and "jp-OutputArea-error" not in page
    assert f'href="../../lite/lab/index.html?path={notebook.name}"' in page
    assert (site / "lite" / "files" / notebook.name).is_file()
    source = "".join("".join(c["source"]) for c in code)
    if "draw_graph(" in source:
        assert 'data-mime-type="image/svg+xml"' in page
    if "stepper(" in source:
        assert "&lt;svg" in page                             # in the stepper's iframe
    if "plt.show()" in source:
        assert 'src="data:image/png;base64,' in page


def test_each_lesson_says_whether_it_runs_offline_from_its_imports(site):
    said = {}
    for notebook in NOTEBOOKS:
        page = (site / "notebooks" / notebook.stem / "index.html").read_text(encoding="utf-8")
        said[notebook.stem] = "with no network too" in page
        needs = imports(json.loads(notebook.read_text(encoding="utf-8")))
        assert said[notebook.stem] == (not needs & {"numpy", "matplotlib"}), notebook.stem
    assert said["08_backprop_by_hand"]


def test_the_home_page_the_api_reference_and_the_playground(site):
    home = (site / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", home)
    assert "24.7041 138.8338 645.5773" in text and 'src="example.svg"' in home
    assert (site / "example.svg").read_text(encoding="utf-8").lstrip().startswith(("<?xml",
                                                                                   "<svg"))
    for notebook in NOTEBOOKS:
        assert f'href="notebooks/{notebook.stem}/"' in home
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("Value", "draw_graph", "explain", "stepper", "MLP", "SGD", "fit"):
        assert 'id="autograd.' in api and re.search(rf'id="[\w.]*\.{name}"', api), name
    assert (site / "playground" / "app" / "index.html").is_file()
    assert (site / "assets" / "katex" / "katex.min.js").is_file()
    assert (site / MARKER).read_text() == "offline\n"


@pytest.mark.parametrize("name", [name for _, name in GUIDE])
def test_every_guide_page_is_in_the_site_with_its_pictures(site, name):
    # What the README links to by its repository path is in the site too, in its navigation.
    page = (site / "guide" / Path(name).stem / "index.html").read_text(encoding="utf-8")
    source = (ROOT / "autograd" / "course" / "site" / "guide" / name).read_text("utf-8")
    title = source.splitlines()[0].removeprefix("# ")
    assert "<h1" in page and title in re.sub(r"<[^>]+>", "", page)
    for picture in re.findall(re.escape(REPOSITORY_IMAGES) + r"([^)]+)\)", source):
        assert f'src="../images/{picture}"' in page
        assert (site / "guide" / "images" / picture).is_file()
    home = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="guide/{Path(name).stem}/"' in home


# --- nothing from outside the site -----------------------------------------------------------

#: Attributes whose URL the browser loads by itself (a link the reader follows is not one).
LOADED = {("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src"),
          ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data"),
          ("input", "src"), ("track", "src")}
ABSOLUTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


class LoadedURLs(HTMLParser):
    """Every URL an HTML document makes the browser load, iframes' srcdoc included."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if value is None:
                continue
            if (tag, name) in LOADED or (tag == "link" and name == "href"):
                self.urls.append(value)
            elif name == "srcdoc":
                inner = LoadedURLs()
                inner.feed(value)
                self.urls.extend(inner.urls)
            elif name == "style":
                self.urls.extend(css_urls(value))


def css_urls(text: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""", text)] + \
        re.findall(r"""@import\s+['"]([^'"]+)['"]""", text)


def js_urls(text: str) -> list[str]:
    """Modules and scripts a script loads by itself: import ... from, import(), importScripts."""
    return re.findall(r"""(?:\bfrom\s*|\bimport\s*\(\s*|\bimportScripts\s*\(\s*)["'`]"""
                      r"""((?:https?:)?//[^"'`]+)""", text)


def outside_urls(site: Path) -> dict[str, list[str]]:
    found = {}
    for path in site.rglob("*"):
        if path.suffix not in (".html", ".css", ".js", ".mjs") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":
            parser = LoadedURLs()
            parser.feed(text)
            urls = parser.urls + [u for style in re.findall(r"<style[^>]*>(.*?)</style>", text,
                                                          re.DOTALL) for u in css_urls(style)]
        elif path.suffix == ".css":
            urls = css_urls(text)
        else:
            urls = js_urls(text)
        outside = [u for u in urls if ABSOLUTE.match(u)]
        if outside:
            found[str(path.relative_to(site))] = outside
    return found


def test_no_page_loads_anything_from_outside_the_site(site):
    assert outside_urls(site) == {}


def test_the_outside_url_finder_finds_what_a_browser_would_load(tmp_path):
    (tmp_path / "a.html").write_text(
        '<script src="https://cdn.example/x.js"></script><a href="https://example.org">ok</a>'
        '<link rel="stylesheet" href="//fonts.example/f.css"><img src="local.png">'
        '<iframe srcdoc="&lt;img src=&quot;http://x.example/i.png&quot;&gt;"></iframe>'
        '<style>body { background: url("https://x.example/b.png") }</style>')
    (tmp_path / "b.css").write_text("@import 'https://x.example/c.css'; a { b: url(c.png) }")
    (tmp_path / "c.js").write_text('import x from "https://esm.example/m.js"; '
                                   'const docs = "https://example.org/docs";')
    assert outside_urls(tmp_path) == {
        "a.html": ["https://cdn.example/x.js", "//fonts.example/f.css",
                   "http://x.example/i.png", "https://x.example/b.png"],
        "b.css": ["https://x.example/c.css"],
        "c.js": ["https://esm.example/m.js"]}


def test_the_offline_kernel_loads_only_wheels_of_the_site(site):
    pyodide = site / "lite" / "static" / "pyodide"
    lock = json.loads((pyodide / "pyodide-lock.json").read_text(encoding="utf-8"))
    for entry in lock["packages"].values():
        assert (pyodide / entry["file_name"]).is_file(), entry["name"]
    assert {e["name"] for e in lock["packages"].values()} >= set(PRELOAD)
    config = json.loads((site / "lite" / "jupyter-lite.json").read_text(encoding="utf-8"))
    settings = config["jupyter-config-data"]["litePluginSettings"][
        "@jupyterlite/pyodide-kernel-extension:kernel"]
    assert settings["pyodideUrl"] == "./static/pyodide/pyodide.mjs"
    assert settings["disablePyPIFallback"] is True
    assert settings["loadPyodideOptions"]["packages"] == list(PRELOAD)


@pytest.mark.browser
def test_a_wide_graph_keeps_its_size_and_scrolls(server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 900})
    try:
        page.goto(server + "notebooks/01_values_and_the_chain_rule/")
        sizes = page.evaluate("""() => [...document.querySelectorAll('.jp-RenderedSVG img')]
            .map(img => [img.naturalWidth, img.getBoundingClientRect().width,
                         img.parentElement.scrollWidth, img.parentElement.clientWidth])""")
    finally:
        page.close()
    assert sizes and all(abs(natural - shown) < 1 for natural, shown, _, _ in sizes)
    assert any(scroll > client for _, _, scroll, client in sizes)    # micrograd's example


# --- notebook 08 in the browser --------------------------------------------------------------

@pytest.mark.browser
def test_notebook_08_opens_from_its_page_and_runs_to_the_end_offline(site, server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside = []

    def only_this_server(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    try:
        page.goto(server + "notebooks/08_backprop_by_hand/")
        start = time.perf_counter()
        page.click("a:has-text('Open in the browser')")
        page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=KERNEL_READY_MS)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=KERNEL_READY_MS)
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        page.wait_for_function(
            """() => {
                 const prompts = [
                   ...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
                 return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
               }""", timeout=RUN_ALL_MS)
        print(f"notebook 08 ran in JupyterLite {time.perf_counter() - start:.0f} s after the "
              "link was clicked")
        errors = page.locator(".jp-OutputArea-output[data-mime-type="
                              "'application/vnd.jupyter.error']")
        assert errors.count() == 0, errors.first.text_content()
        pictures = sum(frame.evaluate("() => document.querySelectorAll('svg g.node').length")
                       for frame in page.frames[1:])
        pictures += page.locator(".jp-OutputArea-output svg g.node").count()
        assert pictures > 0, "no graph picture in the outputs"
    finally:
        context.close()
    assert outside == []


# --- the pieces, without building ------------------------------------------------------------

def notebook_with(*sources: str) -> dict:
    return {"cells": [{"cell_type": "code", "source": s} for s in sources]}


@pytest.mark.parametrize("sources, expected", [
    (["import math\nfrom autograd import Value"], {"math", "autograd"}),
    (["%matplotlib inline\nimport matplotlib.pyplot as plt"], {"matplotlib"}),
    (["!pip install x\nfrom nn.plot import plot_history", "import torch, numpy as np"],
     {"nn", "torch", "numpy"}),
    (["from . import sibling\nx = 1"], set()),
    (["def f(:"], set()),                       # not Python: nothing claimed
])
def test_imports_are_read_from_the_code_cells(sources, expected):
    assert imports(notebook_with(*sources)) == expected


@given(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), max_size=6))
def test_every_imported_module_is_found(names):
    source = "\n".join(f"import {n}.sub as x{i}" if i % 2 else f"from {n} import y"
                       for i, n in enumerate(names))
    assert imports(notebook_with(source)) == set(names)


@pytest.mark.parametrize("source, online, local_only", [
    ("import math\nfrom autograd import Value", (), ()),
    ("import numpy as np\nimport matplotlib.pyplot as plt", ("matplotlib", "numpy"), ()),
    ("import torch\nfrom autograd import grad", (), ("torch",)),
])
def test_a_lesson_runs_offline_online_or_locally_by_its_imports(tmp_path, source, online,
                                                                local_only):
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": "# A title"},
                                          {"cell_type": "code", "source": source}]}))
    found = lesson(path, bundled=["autograd", "nn"], distribution=["numpy", "matplotlib"])
    assert (found.title, found.online, found.local_only) == ("A title", online, local_only)


def fake_wheel(folder: Path, name: str, version: str, requires=()) -> Path:
    import zipfile

    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name}/__init__.py", "")
        archive.writestr(f"{name}-{version}.dist-info/METADATA",
                         f"Name: {name}\nVersion: {version}\n"
                         + "".join(f"Requires-Dist: {r}\n" for r in requires) + "\nText\n")
    return path


@pytest.mark.parametrize("offline", [True, False])
def test_the_lock_describes_the_sites_wheels_and_nothing_else_offline(tmp_path, offline):
    lock = {"info": {}, "packages": {
        "micropip": {"name": "micropip", "version": "1", "file_name": "micropip-1-x.whl",
                     "sha256": "pyodides", "depends": ["numpy"], "imports": ["micropip"]},
        "numpy": {"name": "numpy", "version": "2", "file_name": "numpy-2-wasm.whl",
                  "sha256": "n", "depends": [], "imports": ["numpy"]}}}
    wheels = [fake_wheel(tmp_path, "micropip", "1"),
              fake_wheel(tmp_path, "chainrule", "0.1",
                         ["graphviz", "wasmtime; sys_platform != 'emscripten'"]),
              fake_wheel(tmp_path, "graphviz", "0.21")]
    packages = patched_lock(lock, wheels, offline=offline)["packages"]
    assert packages["micropip"]["file_name"] == "micropip-1-py3-none-any.whl"
    assert packages["micropip"]["sha256"] != "pyodides"
    assert packages["chainrule"]["depends"] == ["graphviz"]
    assert packages["chainrule"]["imports"] == ["chainrule"]
    if offline:
        assert "numpy" not in packages and packages["micropip"]["depends"] == []
    else:
        assert packages["numpy"]["file_name"] == PYODIDE_CDN + "numpy-2-wasm.whl"
        assert packages["micropip"]["depends"] == ["numpy"]
    assert lock["packages"]["micropip"]["sha256"] == "pyodides"     # the input is left alone


def test_a_folder_that_is_not_a_course_site_is_left_alone(tmp_path, capsys):
    (tmp_path / "essay.txt").write_text("mine")
    assert main(["course", "-o", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("chainrule course: error: ") and error.count("\n") == 1
    assert "is not an empty folder nor a course site" in error
    assert [p.name for p in tmp_path.iterdir()] == ["essay.txt"]


def test_a_folder_without_notebooks_is_named(tmp_path, capsys):
    (tmp_path / "lessons").mkdir()
    assert main(["course", "-o", str(tmp_path / "site"), "--notebooks",
                 str(tmp_path / "lessons")]) == 2
    error = capsys.readouterr().err
    assert error == (f"chainrule course: error: no notebooks (*.ipynb) in {tmp_path / 'lessons'}"
                     ": run this in a chainrule checkout, or pass --notebooks with the folder "
                     "of the lessons\n")
    assert not (tmp_path / "site").exists()


def test_lessons_without_the_guides_pictures_are_named(tmp_path, capsys):
    lessons = tmp_path / "lessons"
    lessons.mkdir()
    (lessons / "01.ipynb").write_text("{}")
    assert main(["course", "-o", str(tmp_path / "site"), "--notebooks", str(lessons)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("chainrule course: error: the guide page ") and error.count("\n") == 1
    assert f"shows {lessons / 'images'}" in error and "pass --notebooks" in error
    assert not (tmp_path / "site").exists()


# --- the versions agree ----------------------------------------------------------------------

def test_the_pinned_versions_agree():
    import jupyterlite_pyodide_kernel.constants as kernel

    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    course = pyproject["project"]["optional-dependencies"]["course"]
    for name in ("jupyterlite-core", "jupyterlite-pyodide-kernel"):
        assert f"{name}=={JUPYTERLITE_VERSION}" in course
        assert metadata.version(name) == JUPYTERLITE_VERSION
    for name in ("pyodide", "katex"):
        assert lock["packages"][f"node_modules/{name}"]["version"] == \
            package["devDependencies"][name]
    pyodide = package["devDependencies"]["pyodide"]
    assert pyodide == PYODIDE_VERSION
    # the kernel is built for one Pyodide series (314.0.x) and its Python
    assert pyodide.rsplit(".", 1)[0] == kernel.PYODIDE_VERSION.rsplit(".", 1)[0]
    assert kernel.PYODIDE_PYTHON_VERSION == PYODIDE_MARKERS["python_version"]
    runtime = require_npm_package("pyodide")
    info = json.loads((runtime / "pyodide-lock.json").read_text(encoding="utf-8"))["info"]
    assert info["python"].startswith(PYODIDE_MARKERS["python_version"] + ".")
    assert json.loads((runtime / "package.json").read_text())["version"] == pyodide

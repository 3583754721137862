"""A self-contained HTML page (the stepper, a training animation): saved to a file, and shown
inline in Jupyter inside its own iframe.

A page is three package files, ``NAME.html`` (the body), ``NAME.css`` and ``NAME.js``, put
together by ``fill_page`` in the frame every page shares (``autograd/page.html``: the head,
the title, the data and the script) with the data the Python side computed: the script reads
that data as JSON (``<script type="application/json" id="page-data">``), so the front end is
read, diffed and checked as what it is.
"""

from __future__ import annotations

import html
import json
import os
import re
from importlib import resources
from typing import Any, Union

__all__ = ["HtmlPage", "fill_page", "json_for_script"]

PathLike = Union[str, "os.PathLike[str]"]

#: ``__STYLE__``, ``__SCRIPT__``, ``__TITLE__``, ``__DATA__`` ... in a page's .html file.
_PLACEHOLDER = re.compile(r"__([A-Z]+)__")


def json_for_script(data: Any) -> str:
    """JSON that is safe inside <script>: no "</script>", no "<!--", no JS line separators."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


def fill_page(package: str, name: str, title: str, data: Any, **markup: str) -> str:
    """The page ``NAME.html`` of ``package`` in the frame ``autograd/page.html``, with its
    stylesheet (``NAME.css``), its script (``NAME.js``), ``title`` (escaped), ``data`` (as JSON
    for ``<script>``) and each ``markup`` part (``svg=`` fills ``__SVG__``: markup made by this
    library, never user text) put in.

    One pass over each template: what is put in is never searched again, so a label such as
    ``__DATA__`` inside the SVG or the data stays that text.
    """
    def read(where: str, file: str) -> str:
        return (resources.files(where) / file).read_text(encoding="utf-8")

    parts = {"STYLE": read(package, name + ".css"), "SCRIPT": read(package, name + ".js"),
             "TITLE": html.escape(title), "DATA": json_for_script(data),
             **{k.upper(): v for k, v in markup.items()}}

    def fill(template: str) -> str:
        return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], template)

    parts["BODY"] = fill(read(package, name + ".html"))
    return fill(read("autograd", "page.html"))


class HtmlPage:
    """One HTML document (``html``) that works offline: ``save(path)`` writes it, and
    Jupyter shows it in an iframe of ``height`` pixels called ``title``."""

    kind = "page"        # what the page is, for error messages ("stepper pages")
    title = "page"       # the iframe's title (read by screen readers)
    height = 560

    def __init__(self, page: str) -> None:
        self.html = page

    def save(self, path: PathLike) -> str:
        """Write the page to ``path`` (a ``.html`` file, e.g. ``"backprop.html"``); the path."""
        path = os.fspath(path)
        if not path.lower().endswith((".html", ".htm")):
            raise ValueError(f"{self.kind} are HTML: save to a .html file, not {path!r}")
        with open(path, "w", encoding="utf-8") as file:
            file.write(self.html)
        return path

    def _repr_html_(self) -> str:
        # An iframe keeps each page's ids and scripts apart from the notebook's and from other
        # pages on the same notebook; srcdoc needs no file or server (static HTML too).
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width:100%;height:{self.height}px;border:1px solid #ddd" '
                f'sandbox="allow-scripts" title="{html.escape(self.title)}"></iframe>')

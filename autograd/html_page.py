"""A self-contained HTML page (the stepper, a training animation): saved to a file, and shown
inline in Jupyter inside its own iframe."""

from __future__ import annotations

import html
import json
import os
from typing import Any, Union

__all__ = ["HtmlPage", "HEAD", "json_for_script"]

PathLike = Union[str, "os.PathLike[str]"]

#: How every page starts: the document's head up to its <style> (``__TITLE__`` filled in).
HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
"""


def json_for_script(data: Any) -> str:
    """JSON that is safe inside <script>: no "</script>", no "<!--", no JS line separators."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escape)
    return text


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

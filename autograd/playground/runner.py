"""Running a learner's code in the playground page's Web Worker, like a notebook cell.

``print`` goes to the page; ``display(x)`` and the value of the last expression show as the
picture, table or stepper that Jupyter would show (``_repr_html_``, ``_repr_svg_``), else
as ``repr``. Only imported inside the playground (by ``worker.mjs``).
"""

from __future__ import annotations

import ast
import traceback
from typing import Any, Callable

__all__ = ["run"]

FILENAME = "<playground>"


def run(code: str, post: Callable[[str, str], Any]) -> bool:
    """Run ``code`` in a fresh namespace; ``post(kind, text)`` sends each output to the page
    (kind ``html``, ``svg``, ``text`` or ``error``). Returns False if the code raised."""

    def display(*objects: Any) -> None:
        """Show each object as Jupyter would: HTML, else SVG, else its repr."""
        for obj in objects:
            if hasattr(obj, "_repr_html_"):
                post("html", obj._repr_html_())
            elif hasattr(obj, "_repr_svg_"):
                post("svg", obj._repr_svg_())
            else:
                post("text", repr(obj))

    namespace: dict[str, Any] = {"__name__": "__main__", "display": display}
    try:
        tree = ast.parse(code, FILENAME)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, FILENAME, "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), FILENAME, "eval"), namespace)
            if value is not None:
                display(value)
    except BaseException as error:  # noqa: BLE001 - the learner sees the traceback, as in Python
        # The learner's own lines only: a library's frames say nothing a learner can act on.
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if f.filename == FILENAME]
        lines = traceback.format_list(frames) if frames else []
        post("error", "Traceback (most recent call last):\n" * bool(lines) + "".join(lines)
             + "".join(traceback.format_exception_only(type(error), error)))
        return False
    return True

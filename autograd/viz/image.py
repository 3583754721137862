"""GraphImage: a drawn graph as DOT text that renders to SVG, PNG or PDF on demand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from autograd.value import Value

__all__ = ["GraphImage"]

_SAVERS = (".svg", ".png", ".pdf", ".dot")


class GraphImage:
    """A picture of a computational graph.

    ``source`` is the DOT text; ``node_ids`` maps each Value to the DOT id it is drawn as
    (``n{i}`` for ``topological_order(root)[i]``, ``g{i}`` for a folded module), which is also
    the ``id`` of its element in the SVG. ``svg()`` renders, ``save(path)`` writes by
    extension, and Jupyter shows it inline.
    """

    def __init__(self, source: str, node_ids: dict[Value, str],
                 engine: Optional[str] = None) -> None:
        self.source = source
        self.node_ids = node_ids
        self.engine = engine      # None: chosen when rendering (see autograd.viz.render)
        self._svg: Optional[str] = None

    def svg(self) -> str:
        """The picture as SVG text (rendered once, then cached)."""
        if self._svg is None:
            from autograd.viz.render import render

            self._svg = render(self.source, "svg", self.engine).decode("utf-8")
        return self._svg

    def save(self, path: Union[str, "os.PathLike[str]"]) -> Path:
        """Write the picture to ``path``; the extension picks the format: .svg .png .pdf .dot."""
        path = Path(path)
        ext = path.suffix.lower()
        if ext not in _SAVERS:
            raise ValueError(f"cannot save {str(path)!r}: unknown extension {ext or '(none)'!r}; "
                             f"use one of {', '.join(_SAVERS)}")
        if ext == ".dot":
            data = self.source.encode("utf-8")
        elif ext == ".svg":
            data = self.svg().encode("utf-8")
        else:
            from autograd.viz.render import render

            data = render(self.source, ext[1:], self.engine)
        path.write_bytes(data)    # rendered first, so a failure leaves no half-written file
        return path

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        groups = len(set(self.node_ids.values()))
        return f"<GraphImage of {len(self.node_ids)} values in {groups} nodes: .svg(), .save(path)>"

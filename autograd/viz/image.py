"""GraphImage: a drawn graph as DOT text that renders to SVG, PNG or PDF on demand."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

from autograd.value import Value

__all__ = ["GraphImage"]

PathLike = Union[str, "os.PathLike[str]"]
_SAVERS = (".svg", ".png", ".pdf", ".dot")


class GraphImage:
    """A picture of a computational graph.

    ``source`` is the DOT text; ``node_ids`` maps each Value to the DOT id it is drawn as
    (``n{i}`` for ``topological_order(root)[i]``, ``g{i}`` for a folded module), which is also
    the ``id`` of its element in the SVG. ``svg()`` renders, ``save(path)`` writes by
    extension, and Jupyter shows it inline. ``pipe``, ``render`` and ``view`` work as on a
    ``graphviz.Digraph`` (micrograd's ``draw_dot`` result), with the same back ends as ``svg()``.
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
            self._svg = self.pipe("svg", encoding="utf-8")
        return self._svg

    def pipe(self, format: str = "svg", encoding: Optional[str] = None) -> Union[bytes, str]:
        """The picture as bytes of ``format`` (svg, png, pdf), text if ``encoding`` is given."""
        from autograd.viz.render import render

        if format == "svg" and self._svg is not None:
            data = self._svg.encode("utf-8")
        else:
            data = render(self.source, format, self.engine)
        return data.decode(encoding) if encoding is not None else data

    def save(self, path: PathLike) -> Path:
        """Write the picture to ``path``; the extension picks the format: .svg .png .pdf .dot."""
        path = Path(path)
        ext = path.suffix.lower()
        if ext not in _SAVERS:
            raise ValueError(f"cannot save {str(path)!r}: unknown extension {ext or '(none)'!r}; "
                             f"use one of {', '.join(_SAVERS)}")
        data = self.source.encode("utf-8") if ext == ".dot" else self.pipe(ext[1:])
        path.write_bytes(data)    # rendered first, so a failure leaves no half-written file
        return path

    def render(self, filename: Optional[PathLike] = None, directory: Optional[PathLike] = None,
               view: bool = False, cleanup: bool = False, format: Optional[str] = None,
               outfile: Optional[PathLike] = None) -> str:
        """Save the DOT text to ``filename`` (default ``graph.gv``) and the picture beside it as
        ``filename.format`` (default svg), as ``graphviz.Digraph.render`` does; returns the
        picture's path.

        ``outfile`` names the picture instead (its extension gives the format); ``cleanup``
        removes the DOT file afterwards; ``view`` opens the picture.
        """
        base = Path(directory) if directory is not None else Path()
        if outfile is not None:
            picture = base / outfile
            format = format or picture.suffix[1:].lower()
            dot_file = base / filename if filename is not None else picture.with_suffix(".gv")
        else:
            dot_file = base / (filename if filename is not None else "graph.gv")
            format = format or "svg"
            picture = dot_file.with_name(f"{dot_file.name}.{format}")
        data = self.pipe(format)    # rendered before any file is written
        picture.parent.mkdir(parents=True, exist_ok=True)
        if not cleanup:
            dot_file.write_text(self.source, encoding="utf-8")
        picture.write_bytes(data)
        if view:
            _open(picture)
        return str(picture)

    def view(self, filename: Optional[PathLike] = None, directory: Optional[PathLike] = None,
             cleanup: bool = False) -> str:
        """Render as SVG (see ``render``) and open it in the system's viewer."""
        return self.render(filename, directory, view=True, cleanup=cleanup)

    def _repr_svg_(self) -> str:
        return self.svg()

    def __repr__(self) -> str:
        groups = len(set(self.node_ids.values()))
        return (f"<GraphImage of {len(self.node_ids)} values in {groups} nodes: "
                ".svg(), .save(path), .render(), .pipe(format)>")


def _open(path: Path) -> None:
    """Open a file in the system's default viewer (the graphviz package knows each system's)."""
    from autograd.viz.render import IN_PYODIDE, GraphvizNotFoundError

    if IN_PYODIDE:
        raise GraphvizNotFoundError(f"wrote {path}, but the browser (Pyodide) has no picture "
                                    "viewer to open it: show the picture inline instead")
    import graphviz

    graphviz.view(path, quiet=True)

"""Pictures of computational graphs: ``draw_graph`` (alias ``draw_dot``) and ``GraphImage``."""

from __future__ import annotations

from typing import Mapping, Optional

from autograd.value import Value
from autograd.viz.dot import build_dot
from autograd.viz.image import GraphImage
from autograd.viz.render import GraphvizNotFoundError

__all__ = ["draw_graph", "draw_dot", "GraphImage", "GraphvizNotFoundError"]


def draw_graph(root: Value, rankdir: str = "LR", show_grad: bool = True, show_local: bool = True,
               collapse: Optional[str] = None, max_nodes: int = 500, *, legend: bool = True,
               engine: Optional[str] = None,
               grads: Optional[Mapping[Value, float]] = None) -> GraphImage:
    """Draw the graph that computed ``root``: a record ``name | data | grad`` per Value, an
    ellipse per op, and on each edge the local derivative d out/d input that backprop uses
    (upstream grad x local = the input's share of the gradient).

    ``rankdir`` "LR" or "TB"; ``show_grad``/``show_local`` add grads and edge labels.
    Before ``backward()`` (every ``.grad`` still 0.0) no gradient is written: ``grad ?`` and
    one line "no gradients yet: call backward()"; ``grads`` (node -> dL/dnode, such as
    ``explain(root).grads``) writes those instead of the ``.grad``s. Drawing changes no
    ``.grad``. ``collapse="neuron"`` or ``"layer"`` folds what each nn module made into one
    node, ``"example"`` draws one example of a batch loss (neurons folded) and folds the
    other examples into one box; more than ``max_nodes`` drawn nodes raises ValueError with
    a fold (counted, not guessed) that fits. ``engine`` "dot" or "wasm" forces
    a Graphviz back end (default: $CHAINRULE_GRAPHVIZ, else ``dot`` if installed, else wasm).
    Colours: inputs (labelled leaves) blue, parameters (nn) amber, constants (unlabelled
    leaves) grey, intermediate values white, the output green, ops lilac, folded modules red.
    """
    if engine is not None:
        from autograd.viz.render import choose_engine

        choose_engine(engine)  # a bad name fails now, not at the first render
    source, node_ids = build_dot(root, rankdir, show_grad, show_local, collapse, max_nodes,
                                 legend=legend, grads=grads)
    return GraphImage(source, node_ids, engine)


draw_dot = draw_graph

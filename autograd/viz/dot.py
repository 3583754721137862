"""Building the DOT text of a computational graph: records, op nodes, local-derivative edges.

DOT ids follow the topological order ``order = topological_order(root)``: the record of
``order[i]`` is ``n{i}``, its op node ``n{i}op``; the edge from input ``k`` of ``order[i]``
is ``n{j} -> n{i}op`` (id ``e{i}_{k}``) and the op feeds its value by ``n{i}op -> n{i}``
(id ``e{i}``). A folded group (``collapse=``) is ``g{i}``, ``i`` the index of its first output.
The ids become the ``id`` attributes of the SVG elements too.

The text is built with the ``graphviz`` package (``graphviz.Digraph``): its quoting makes every
identifier and attribute value valid DOT, and its ``escape``/``nohtml`` keep backslashes and
``<...>`` literal. What it does not know, ``escape_label`` adds: record fields, entities,
newlines and control characters.
"""

from __future__ import annotations

from typing import Mapping, Optional

import graphviz

from autograd.backprop import graph_lock, local_grads, topological_order
from autograd.display import format_number, local_rules, node_names
from autograd.value import Value
from autograd.viz.collapse import Group, fold, scope_kinds

__all__ = ["build_dot", "shown_grads", "escape_label", "node_role", "ROLE_COLOURS",
           "NO_GRADIENTS"]

#: Longest local-derivative formula written on an edge; a longer one shows its number only.
EDGE_RULE_LENGTH = 28

RANKDIRS = ("LR", "TB", "RL", "BT")

#: Fill colour of each kind of node; the legend shows those that occur.
ROLE_COLOURS = {
    "input": "#cfe5ff",         # a labelled leaf: a variable the user named
    "parameter": "#ffe2a0",     # a leaf with a scope (an nn module's parameter)
    "constant": "#e6e6e6",      # an unlabelled leaf: a number that appeared in the expression
    "intermediate": "#ffffff",  # made by an op
    "output": "#c6efc6",        # the root the picture was drawn for
    "op": "#eadcff",            # the operation between a value and its inputs
    "module": "#ffd0c4",        # a folded neuron or layer (collapse=)
}


def escape_label(text: str, record: bool = False) -> str:
    """User text as a DOT label that Graphviz shows literally (``record=True`` for record fields).

    ``graphviz.escape`` makes backslashes literal and marks the text as no HTML label; the
    package's quoting escapes double quotes. Added here: ``&`` as ``&amp;`` (Graphviz decodes
    entities in labels), ``{ } | < >`` with a backslash inside records, a newline as a line
    break, tab and carriage return as a space, other control characters visible as ``\\xNN``.
    """
    out = []
    for ch in graphviz.escape(text):
        code = ord(ch)
        if ch == "&":
            out.append("&amp;")
        elif record and ch in "{}|<>":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch in "\r\t":
            out.append(" ")
        elif code < 32 or code == 127 or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            out.append(f"\\\\x{code:02x}")        # not valid in XML: show the code instead
        else:
            out.append(ch)
    return graphviz.nohtml("".join(out))


def node_role(node: Value, root: Value) -> str:
    """``output`` for the root, ``parameter`` for a leaf with a scope (an nn module's),
    ``input`` for a leaf with an ``input`` scope (nn's ``x0``) and other labelled leaves,
    ``constant`` for unlabelled leaves, else ``intermediate``."""
    if node is root:
        return "output"
    if not node.is_leaf:
        return "intermediate"
    if node.scope is not None:
        return "input" if node.scope.kind == "input" else "parameter"
    return "input" if node.label else "constant"


#: The line a picture carries while no gradient has been computed (every ``.grad`` is 0.0).
NO_GRADIENTS = "no gradients yet: call backward()"

#: The folds the refusal of a big graph may suggest, in the order it tries them.
SUGGESTED_FOLDS = {
    "neuron": "each nn neuron folded into one node",
    "layer": "each layer folded into one node",
    "example": "one example's network, the other examples of the batch folded into one box",
}


def build_dot(root: Value, rankdir: str = "LR", show_grad: bool = True, show_local: bool = True,
              collapse: Optional[str] = None, max_nodes: int = 500, legend: bool = True,
              grads: Optional[Mapping[Value, float]] = None) -> tuple[str, dict[Value, str]]:
    """The DOT source of the graph behind ``root`` and the DOT id of each Value.

    A pipeline whose data flows one way: order (the topological order) -> fold (``collapse=``
    groups; a refusal above ``max_nodes`` drawn nodes: values, ops and groups, the legend is
    free) -> name -> style (the text, colour and shape of every node and edge) -> emit (DOT).
    Folded Values map to their group's id. ``grads`` (a map node -> dL/dnode, such as
    ``explain(root).grads``) are the gradients written; by default the nodes' ``.grad`` once
    ``backward()`` has run, see ``shown_grads``.
    """
    _check_arguments(root, rankdir, max_nodes)
    with graph_lock:  # the grads drawn are those of one finished pass
        order = topological_order(root)
        folding = _fold(order, collapse, max_nodes)
        names = _name(order, folding)
        shown = (grads if grads is not None else shown_grads(order)) if show_grad else None
        picture = _style(root, folding, names, shown, show_grad, show_local)
    return _emit(picture, rankdir, collapse, legend), picture.node_ids


def shown_grads(order: list[Value]) -> Optional[dict[Value, float]]:
    """The ``.grad`` of every node, or None while none has been computed.

    The rule: ``backward()`` sets the root's grad to 1.0 (and a hand-run walk starts with
    ``o.grad = 1.0``), so a graph whose every ``.grad`` is 0.0 has not been through a backward
    pass yet; it is drawn with ``grad ?`` and the line ``NO_GRADIENTS``.
    """
    if all(node.grad == 0.0 for node in order):
        return None
    return {node: node.grad for node in order}


# ------------------------------------------------------------------ fold

class Folding:
    """The groups of a picture (``collapse=``) and the Values still drawn one by one."""

    def __init__(self, order: list[Value], collapse: Optional[str]) -> None:
        self.index = {node: i for i, node in enumerate(order)}
        self.group_of: dict[Value, Group] = {}
        self.groups: list[Group] = []
        if collapse is not None:
            self.group_of, self.groups = fold(order, collapse)
        self.drawn = [node for node in order if node not in self.group_of]
        # Groups inside a named scope (the neurons of layer L1) are boxed together.
        self.clusters: dict[object, list[Group]] = {}
        for group in sorted(self.groups, key=_path_key):
            parent = group.scope.parent if group.scope is not None else None
            self.clusters.setdefault(parent if parent is not None and parent.path else None,
                                     []).append(group)

    @property
    def count(self) -> int:
        """Drawn nodes: a group, a leaf or a value with its op node (2)."""
        return len(self.groups) + sum(1 if node.is_leaf else 2 for node in self.drawn)


def _check_arguments(root: Value, rankdir: str, max_nodes: int) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__} {root!r:.40}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir={rankdir!r} is not a Graphviz direction; use one of "
                         f"{', '.join(RANKDIRS)} (LR: left to right, TB: top to bottom)")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")


def _fold(order: list[Value], collapse: Optional[str], max_nodes: int) -> Folding:
    """Fold by ``collapse``; refuse above ``max_nodes`` with advice that was tried first."""
    if collapse is not None:
        kinds = scope_kinds(order) | set(SUGGESTED_FOLDS)
        if collapse not in kinds:
            raise ValueError(f"collapse={collapse!r} is not known; use None or a kind of scope "
                             f"in this graph: {', '.join(sorted(kinds))}")
    folding = Folding(order, collapse)
    if folding.count > max_nodes:
        raise ValueError(f"the graph has {folding.count} nodes to draw, more than "
                         f"max_nodes={max_nodes}; "
                         f"{_advice(order, collapse, folding.count, max_nodes)}")
    return folding


def _advice(order: list[Value], collapse: Optional[str], count: int, max_nodes: int) -> str:
    """A fold that draws the graph within ``max_nodes`` (each one counted here, never
    guessed), else the smallest ``max_nodes`` that draws it."""
    counts = {kind: Folding(order, kind).count for kind in SUGGESTED_FOLDS if kind != collapse}
    slow = "(Graphviz slows down on big graphs)"
    for kind, n in counts.items():
        if n <= max_nodes:
            return (f"try collapse={kind!r} ({n} nodes: {SUGGESTED_FOLDS[kind]}), or pass a "
                    f"larger max_nodes {slow}")
    kind, n = min(counts.items(), key=lambda item: item[1])
    if n < count:
        return (f"the smallest picture is collapse={kind!r} with {n} nodes: pass it with "
                f"max_nodes={n} {slow}")
    return f"pass max_nodes={count} {slow}"


# ------------------------------------------------------------------ name

def _name(order: list[Value], folding: Folding) -> dict[Value, str]:
    """Every Value's display name; an output of a group is called by its group from outside:
    L3.N1 (L2[4] for one of a layer's outputs), ``sum``, ``examples[k]``."""
    names = node_names(order)
    for group in folding.groups:
        many = len(group.outputs) > 1
        base = group.kind if group.kind in ("sum", "examples") else group.path
        for k, out in enumerate(group.outputs):
            names[out] = f"{base}[{k + 1}]" if many and group.kind != "sum" else base
    return names


# ------------------------------------------------------------------ style

class Node:
    """A DOT node (``id``, ``label``, ``attributes``); with ``nodes``, a box around those
    (``id`` its cluster name, ``label`` its title, ``column``: drawn as one column)."""

    __slots__ = ("id", "label", "attributes", "nodes", "column")

    def __init__(self, id: str, label: str, attributes: Optional[dict[str, str]] = None,
                 nodes: Optional[list["Node"]] = None, column: bool = False) -> None:
        self.id, self.label, self.attributes = id, label, attributes or {}
        self.nodes, self.column = nodes, column


class Picture:
    """What is drawn, as plain data: DOT nodes, boxes and edges with their text and colours."""

    def __init__(self) -> None:
        self.node_ids: dict[Value, str] = {}
        self.nodes: list[Node] = []           # in the order written, boxes in their place
        self.edges: list[tuple[str, str, Optional[str], dict[str, str]]] = []
        self.roles: list[str] = []                                  # for the legend
        self.note: Optional[str] = None                             # the picture's one line
        self.compound = False

    def colour(self, role: str) -> str:
        if role not in self.roles:
            self.roles.append(role)
        return ROLE_COLOURS[role]


def _style(root: Value, folding: Folding, names: dict[Value, str],
           grads: Optional[Mapping[Value, float]], show_grad: bool,
           show_local: bool) -> Picture:
    """The DOT nodes, boxes and edges of a folded, named graph, with their text and colours."""
    picture = Picture()
    if show_grad and grads is None:
        picture.note = NO_GRADIENTS
    index, group_of = folding.index, folding.group_of
    for node in folding.drawn:
        picture.node_ids[node] = f"n{index[node]}"
    for group in folding.groups:
        for member in group.members:
            picture.node_ids[member] = f"g{group.index}"
    node_ids = picture.node_ids

    def grad_text(nodes: list[Value]) -> str:
        values = [grads.get(n) for n in nodes] if grads is not None else [None]
        return "grad ?" if None in values else f"grad {_span(values)}"

    for node in folding.drawn:
        i = index[node]
        fields = [escape_label(names[node], record=True), f"data {format_number(node.data)}"]
        if show_grad:
            fields.append(grad_text([node]))
        record = graphviz.nohtml("{ " + " | ".join(fields) + " }")
        picture.nodes.append(Node(f"n{i}", record,
                                  {"fillcolor": picture.colour(node_role(node, root))}))
        if not node.is_leaf:
            picture.nodes.append(Node(f"n{i}op", escape_label(node.op),
                                      {"shape": "ellipse", "fillcolor": picture.colour("op")}))

    for parent, members in folding.clusters.items():
        drawn = []
        for group in members:
            lines = _group_lines(group)
            if show_grad:
                lines.append(grad_text(group.outputs))
            drawn.append(Node(f"g{group.index}", escape_label("\n".join(lines)), {
                "shape": "box", "style": "rounded,filled", "fillcolor": picture.colour("module"),
                "penwidth": "2" if root in group.outputs else "1"}))
        if parent is None:
            picture.nodes += drawn
        else:
            # One column per layer, whatever else its neurons feed (an L2 penalty reads all).
            picture.nodes.append(Node(_cluster_name(members),
                                      escape_label(f"{parent.kind} {parent.path}"),
                                      nodes=drawn, column=not _chained(members, group_of)))
    picture.compound = bool(folding.groups)

    # Edges into each drawn op node, one per operand position, labelled with the local
    # derivative that backprop multiplies by.
    for node in folding.drawn:
        if node.is_leaf:
            continue
        i = index[node]
        labels = _local_labels(node, names) if show_local else [None] * len(node.inputs)
        for k, (inp, label) in enumerate(zip(node.inputs, labels)):
            picture.edges.append((node_ids[inp], f"n{i}op", label, {"id": f"e{i}_{k}"}))
        picture.edges.append((f"n{i}op", f"n{i}", None, {"id": f"e{i}"}))
    _group_edges(picture, folding)
    return picture


def _span(values: list[float]) -> str:
    """One number, or the range of several: ``0.0 … 1.9``."""
    if len(values) == 1:
        return format_number(values[0])
    return f"{format_number(min(values))} … {format_number(max(values))}"


def _local_labels(node: Value, names: dict[Value, str]) -> list[str]:
    """The edge label of each input of ``node``: ``∂c/∂a = b = 3.0`` (the formula if short)."""
    inputs = node.inputs
    locals_ = local_grads(node)
    rules = local_rules(node, names)
    repeated = len(set(inputs)) < len(inputs)
    labels = []
    for k, inp in enumerate(inputs):
        which = f" (operand {k + 1})" if repeated else ""
        local = 0.0 if locals_[k] is None else locals_[k]  # None: no gradient flows
        head, _, formula = rules[k].partition(" = ")
        head = head or f"∂{names[node]}/∂{names[inp]}"
        shown = f" = {formula}" if _worth_showing(formula) else ""
        labels.append(escape_label(f"{head}{which}{shown} = {format_number(local)}"))
    return labels


def _group_edges(picture: Picture, folding: Folding) -> None:
    """Edges into each group from what it reads, once per source; between two layers that
    are fully connected, 16 x 16 lines say less than one arrow from box to box: that (a
    compound edge), and the individual lines only otherwise."""
    groups, group_of, node_ids = folding.groups, folding.group_of, picture.node_ids
    sources_of: dict[Group, list[str]] = {}
    for group in sorted(groups, key=_path_key):
        sources: list[str] = []
        for member in group.members:
            for inp in member.inputs:
                src = node_ids[inp]
                if group_of.get(inp) is not group and src not in sources:
                    sources.append(src)
        sources_of[group] = sources
    boxes = {parent: members for parent, members in folding.clusters.items()
             if parent is not None}
    cluster_name = {parent: _cluster_name(members) for parent, members in boxes.items()}
    # Likewise one arrow from a box into a single node that reads all of it (a folded sum).
    targets = [(dest, members) for dest, members in boxes.items()]
    targets += [(None, [g]) for g in groups if not any(g in m for m in boxes.values())]
    for dest, dest_members in targets:
        for source, source_members in boxes.items():
            ids = {f"g{g.index}" for g in source_members}
            if source == dest or not all(ids <= set(sources_of[g]) for g in dest_members):
                continue
            for g in dest_members:
                sources_of[g] = [src for src in sources_of[g] if src not in ids]
            tail = source_members[len(source_members) // 2]
            head = dest_members[len(dest_members) // 2]
            into = {"lhead": cluster_name[dest]} if dest is not None else {}
            text = (f"all {len(source_members)} → each of {len(dest_members)}"
                    if dest is not None else f"all {len(source_members)}")
            picture.edges.append((f"g{tail.index}", f"g{head.index}", text, {
                "ltail": cluster_name[source], **into, "penwidth": "2",
                "id": f"{cluster_name[source]}_{cluster_name.get(dest, f'g{head.index}')}"}))
    for group in sorted(groups, key=_path_key):
        for src in sources_of[group]:
            picture.edges.append((src, f"g{group.index}", None,
                                  {"id": f"{src}_g{group.index}"}))


# ------------------------------------------------------------------ emit

def _emit(picture: Picture, rankdir: str, collapse: Optional[str], legend: bool) -> str:
    """The DOT text of a styled picture (``graphviz.Digraph`` quotes every id and value)."""
    graph_attr = {"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "10"}
    if picture.compound:  # edges from or to a whole layer's box; newrank: rank=same inside
        graph_attr.update(compound="true", newrank="true")
    if picture.note is not None:
        graph_attr.update(label=escape_label(picture.note), labelloc="t")
    dot = graphviz.Digraph(
        "chainrule", graph_attr=graph_attr,
        node_attr={"shape": "record", "style": "filled", "fillcolor": "#ffffff",
                   "fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"})
    for node in picture.nodes:
        if node.nodes is None:
            dot.node(node.id, node.label, **node.attributes, id=node.id)
            continue
        box = graphviz.Digraph(name=node.id)
        box.attr("graph", label=node.label, style="rounded", color="#999999")
        for inner in node.nodes:
            box.node(inner.id, inner.label, **inner.attributes, id=inner.id)
        if node.column:
            column = graphviz.Digraph(graph_attr={"rank": "same"})
            for inner in node.nodes:
                column.node(inner.id)
            box.subgraph(column)
        dot.subgraph(box)
    for tail, head, label, attributes in picture.edges:
        dot.edge(tail, head, label, **attributes)
    if legend and picture.roles:
        dot.subgraph(_legend(picture.roles, collapse, rankdir))
    return dot.source


def _worth_showing(formula: str) -> bool:
    """A local-derivative formula goes on its edge if it is short and more than a number."""
    if not formula or len(formula) > EDGE_RULE_LENGTH:
        return False
    try:
        float(formula)
    except ValueError:
        return True
    return False


def _chained(members: list[Group], group_of: dict[Value, Group]) -> bool:
    """True if a group of the box computes from another one (the time steps of an RNN): a
    chain drawn left to right, not a column of parallel neurons."""
    inside = set(members)
    return any(group_of.get(inp, group) is not group and group_of.get(inp) in inside
               for group in members for node in group.members for inp in node.inputs)


def _cluster_name(members: list[Group]) -> str:
    """The DOT name of the box around the groups of one scope (a layer's neurons): ``cluster_L1``."""
    return "cluster_" + members[0].scope.parent.path.replace(".", "_")


def _path_key(group: Group) -> tuple:
    """Sort key of a group by its path, numerically: L1.N2 before L1.N10."""
    return (tuple(int("".join(c for c in part if c.isdigit()) or 0)
                  for part in group.path.split(".")), group.path)


def _group_lines(group: Group) -> list[str]:
    """The text of a folded group but its grad: the module, its activation and parameter
    count, how many outputs, its output data."""
    outputs = group.outputs
    lines = [group.name]
    if group.kind == "examples":
        lines.append("each like the example drawn")
    elif group.kind != "sum":
        kinds = "/".join(sorted({"linear" if out.op in ("+", "-") else out.op
                                 for out in outputs}))
        # A time step of an RNN owns no parameter: it reads the cell's, drawn outside.
        lines.append(f"{kinds}, {group.n_params} params" if group.n_params else kinds)
    if len(outputs) > 1:
        lines.insert(1, f"{len(outputs)} outputs")
    lines.append(f"data {_span([out.data for out in outputs])}")
    return lines


_LEGEND_TEXT = {
    "input": "input (labelled leaf)", "parameter": "parameter", "constant": "constant",
    "intermediate": "intermediate value", "output": "output", "op": "operation",
}


def _legend(roles: list[str], collapse: Optional[str], rankdir: str) -> graphviz.Digraph:
    """A box with one swatch per role that occurs (plain nodes: the WebAssembly Graphviz has
    no HTML-like labels)."""
    box = graphviz.Digraph(name="cluster_legend")
    box.attr("graph", label="legend", style="rounded", color="#bbbbbb", id="graph_legend")
    # Graphviz stacks same-rank nodes of a left-to-right graph bottom-up: emit in reverse.
    shown = [role for role in ROLE_COLOURS if role in roles]
    for role in reversed(shown) if rankdir in ("LR", "RL") else shown:
        folded = "neuron, examples" if collapse == "example" else collapse
        text = f"{folded} (folded)" if role == "module" else _LEGEND_TEXT[role]
        box.node(f"legend_{role}", text, shape="ellipse" if role == "op" else "box",
                 fillcolor=ROLE_COLOURS[role], fontsize="9", height="0.25",
                 id=f"legend_{role}")
    return box

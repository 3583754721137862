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

from typing import Optional

import graphviz

from autograd.backprop import graph_lock, local_grads, topological_order
from autograd.display import format_number, local_rules, node_names
from autograd.value import Value
from autograd.viz.collapse import Group, fold, scope_kinds

__all__ = ["build_dot", "escape_label", "node_role", "ROLE_COLOURS"]

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


def build_dot(root: Value, rankdir: str = "LR", show_grad: bool = True, show_local: bool = True,
              collapse: Optional[str] = None, max_nodes: int = 500,
              legend: bool = True) -> tuple[str, dict[Value, str]]:
    """The DOT source of the graph behind ``root`` and the DOT id of each Value.

    Folded Values (``collapse="neuron"``, ``"layer"`` or any scope kind) map to their
    group's id. Raises ValueError above ``max_nodes`` drawn nodes (values, ops and groups;
    the legend is free).
    """
    with graph_lock:  # the grads drawn are those of one finished pass
        return _build_dot(root, rankdir, show_grad, show_local, collapse, max_nodes, legend)


def _build_dot(root: Value, rankdir: str, show_grad: bool, show_local: bool,
               collapse: Optional[str], max_nodes: int,
               legend: bool) -> tuple[str, dict[Value, str]]:
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph needs a Value, got {type(root).__name__} {root!r:.40}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir={rankdir!r} is not a Graphviz direction; use one of "
                         f"{', '.join(RANKDIRS)} (LR: left to right, TB: top to bottom)")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")

    order = topological_order(root)
    if collapse is not None:
        kinds = scope_kinds(order) | {"neuron", "layer"}
        if collapse not in kinds:
            raise ValueError(f"collapse={collapse!r} is not known; use None or a kind of scope "
                             f"in this graph: {', '.join(sorted(kinds))}")
    index = {node: i for i, node in enumerate(order)}
    group_of: dict[Value, Group] = {}
    groups: list[Group] = []
    if collapse is not None:
        group_of, groups = fold(order, collapse)

    drawn = [node for node in order if node not in group_of]
    count = len(groups) + sum(1 if node.is_leaf else 2 for node in drawn)
    if count > max_nodes:
        hint = ("collapse='layer' to fold each layer into one node" if collapse == "neuron"
                else "collapse='neuron' to fold each nn neuron into one node"
                if collapse is None else "a smaller graph")
        raise ValueError(
            f"the graph has {count} nodes to draw, more than max_nodes={max_nodes}; "
            f"try {hint}, or pass a larger max_nodes (Graphviz slows down on big graphs)")

    names = node_names(order)
    node_ids: dict[Value, str] = {}
    for node in drawn:
        node_ids[node] = f"n{index[node]}"
    for group in groups:
        for member in group.members:
            node_ids[member] = f"g{group.index}"
        # An output seen from outside is called by its module: L3.N1 (or L2[4] for a layer).
        many = len(group.outputs) > 1
        for k, out in enumerate(group.outputs):
            names[out] = ("sum" if group.kind == "sum" else
                          f"{group.path}[{k + 1}]" if many else group.path)

    graph_attr = {"rankdir": rankdir, "fontname": "Helvetica", "fontsize": "10"}
    if groups:  # compound: edges from or to a whole layer's box; newrank: rank=same inside boxes
        graph_attr.update(compound="true", newrank="true")
    dot = graphviz.Digraph(
        "chainrule", graph_attr=graph_attr,
        node_attr={"shape": "record", "style": "filled", "fillcolor": "#ffffff",
                   "fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"})
    roles_used: list[str] = []

    def use(role: str) -> str:
        if role not in roles_used:
            roles_used.append(role)
        return ROLE_COLOURS[role]

    for node in drawn:
        i = index[node]
        role = node_role(node, root)
        fields = [escape_label(names[node], record=True), f"data {format_number(node.data)}"]
        if show_grad:
            fields.append(f"grad {format_number(node.grad)}")
        record = graphviz.nohtml("{ " + " | ".join(fields) + " }")
        dot.node(f"n{i}", record, fillcolor=use(role), id=f"n{i}")
        if not node.is_leaf:
            dot.node(f"n{i}op", escape_label(node.op), shape="ellipse", fillcolor=use("op"),
                     id=f"n{i}op")

    # Groups inside a named scope (the neurons of layer L1) are boxed together.
    clusters: dict[object, list[Group]] = {}
    for group in sorted(groups, key=_path_key):
        parent = group.scope.parent if group.scope is not None else None
        clusters.setdefault(parent if parent is not None and parent.path else None,
                            []).append(group)
    for parent, members in clusters.items():
        box = dot
        if parent is not None:
            box = graphviz.Digraph(name=_cluster_name(members))
            box.attr("graph", label=escape_label(f"{parent.kind} {parent.path}"),
                     style="rounded", color="#999999")
        for group in members:
            box.node(f"g{group.index}", _group_label(group, show_grad), shape="box",
                     style="rounded,filled", fillcolor=use("module"),
                     penwidth="2" if root in group.outputs else "1", id=f"g{group.index}")
        if parent is not None:
            if not _chained(members, group_of):
                # One column per layer, whatever else its neurons feed (an L2 penalty reads all).
                column = graphviz.Digraph(graph_attr={"rank": "same"})
                for group in members:
                    column.node(f"g{group.index}")
                box.subgraph(column)
            dot.subgraph(box)

    # Edges into each drawn op node, one per operand position, labelled with the local
    # derivative that backprop multiplies by.
    for node in drawn:
        if node.is_leaf:
            continue
        i = index[node]
        inputs = node.inputs
        locals_ = local_grads(node) if show_local else ()
        rules = local_rules(node, names) if show_local else ()
        repeated = len(set(inputs)) < len(inputs)
        for k, inp in enumerate(inputs):
            label = None
            if show_local:
                which = f" (operand {k + 1})" if repeated else ""
                local = 0.0 if locals_[k] is None else locals_[k]  # None: no gradient flows
                head, _, formula = rules[k].partition(" = ")
                head = head or f"∂{names[node]}/∂{names[inp]}"
                shown = f" = {formula}" if _worth_showing(formula) else ""
                label = escape_label(f"{head}{which}{shown} = {format_number(local)}")
            dot.edge(node_ids[inp], f"n{i}op", label, id=f"e{i}_{k}")
        dot.edge(f"n{i}op", f"n{i}", id=f"e{i}")
    # Edges into each group from what it reads, once per source.
    sources_of: dict[Group, list[str]] = {}
    for group in sorted(groups, key=_path_key):
        sources: list[str] = []
        for member in group.members:
            for inp in member.inputs:
                src = node_ids[inp]
                if group_of.get(inp) is not group and src not in sources:
                    sources.append(src)
        sources_of[group] = sources
    # Between two layers that are fully connected, 16 x 16 lines say less than one arrow
    # from box to box: draw that (a compound edge) and the individual lines only otherwise.
    boxes = {parent: members for parent, members in clusters.items() if parent is not None}
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
            dot.edge(f"g{tail.index}", f"g{head.index}", text, ltail=cluster_name[source],
                     **into, penwidth="2",
                     id=f"{cluster_name[source]}_{cluster_name.get(dest, f'g{head.index}')}")
    for group in sorted(groups, key=_path_key):
        for src in sources_of[group]:
            dot.edge(src, f"g{group.index}", id=f"{src}_g{group.index}")

    if legend and roles_used:
        dot.subgraph(_legend(roles_used, collapse, rankdir))
    return dot.source, node_ids


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


def _group_label(group: Group, show_grad: bool) -> str:
    """A few lines: the module, its activation and parameter count, its output data and grad."""
    outputs = group.outputs
    kinds = sorted({"linear" if out.op in ("+", "-") else out.op for out in outputs})
    lines = [group.name]
    if group.kind != "sum":
        lines.append(f"{'/'.join(kinds)}, {group.n_params} params")
    if len(outputs) == 1:
        lines.append(f"data {format_number(outputs[0].data)}")
        if show_grad:
            lines.append(f"grad {format_number(outputs[0].grad)}")
    else:
        data = [out.data for out in outputs]
        lines.insert(1, f"{len(outputs)} outputs")
        lines.append(f"data {format_number(min(data))} … {format_number(max(data))}")
        if show_grad:
            grads = [out.grad for out in outputs]
            lines.append(f"grad {format_number(min(grads))} … {format_number(max(grads))}")
    return escape_label("\n".join(lines))


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
        text = f"{collapse} (folded)" if role == "module" else _LEGEND_TEXT[role]
        box.node(f"legend_{role}", text, shape="ellipse" if role == "op" else "box",
                 fillcolor=ROLE_COLOURS[role], fontsize="9", height="0.25",
                 id=f"legend_{role}")
    return box

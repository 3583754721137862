"""draw_graph's DOT: records, op nodes, local-derivative edges, colours, folding, limits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograd import Scope, Value, draw_dot, draw_graph, topological_order
from autograd.display import format_number
from autograd.viz.dot import NO_GRADIENTS, ROLE_COLOURS, escape_label
from examples import lecture, micrograd_demo_loss, micrograd_readme

GOLDEN = Path(__file__).parent / "golden"


def micrograd_readme_drawn():
    """micrograd's README expression after backward, its output labelled g: (a, b, g)."""
    g, a, b = micrograd_readme()
    g.label = "g"
    g.backward()
    return a, b, g


# A hand-made stand-in for nn's modules, declaring scopes the way any library can: each
# module has an autograd.Scope (kind, name, parent); parameters and outputs carry them.
class Neuron:
    def __init__(self, weights, activation):
        self.scope = Scope("neuron")
        self.w = [Value(w) for w in weights]
        self.b = Value(0.1)
        for i, p in enumerate(self.w + [self.b]):
            p.scope = Scope("parameter", f"w{i}", self.scope)
        self.activation = activation

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        out = act.relu() if self.activation == "relu" else act
        out.scope = self.scope
        return out


class Layer:
    def __init__(self, weights, activation):
        self.scope = Scope("layer")
        self.neurons = [Neuron(w, activation) for w in weights]
        for j, n in enumerate(self.neurons):
            n.scope.parent, n.scope.name = self.scope, f"N{j + 1}"

    def __call__(self, x):
        return [n(x) for n in self.neurons]


class MLP:
    def __init__(self, nin, nouts):
        self.scope = Scope("mlp")
        sizes = [nin] + nouts
        self.layers = [Layer([[((i + j + k) % 7 - 3) / 4 for k in range(sizes[i])]
                              for j in range(sizes[i + 1])],
                             "relu" if i < len(nouts) - 1 else "linear")
                       for i in range(len(nouts))]
        for i, layer in enumerate(self.layers):
            layer.scope.parent, layer.scope.name = self.scope, f"L{i + 1}"

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x


def hinge_loss(model, x=(2.0, -1.0), y=-1.0):
    loss = (1 + -y * model([Value(v, label=f"x{i + 1}") for i, v in enumerate(x)])).relu()
    loss.label = "loss"
    loss.backward()
    return loss


def statements(source, pattern):
    return [line.strip() for line in source.splitlines() if re.match(pattern, line.strip())]


# One DOT attribute: name=value, the value bare (an ID) or a quoted string with \" escapes.
ATTRIBUTE = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]"]+)')


def attributes(statement):
    """The attributes of a DOT statement as a dict, quotes removed (escapes kept)."""
    return {name: value[1:-1] if value.startswith('"') else value
            for name, value in ATTRIBUTE.findall(statement.split("[", 1)[1])}


# ------------------------------------------------------------------ number format

# ------------------------------------------------------------------ the micrograd example

def test_micrograd_readme_records_ops_and_edges():
    a, b, g = micrograd_readme_drawn()
    order = topological_order(g)
    image = draw_graph(g)
    src = image.source
    records = statements(src, r"n\d+ \[")
    ops = statements(src, r"n\d+op \[")
    assert len(records) == len(order)
    assert len(ops) == sum(1 for v in order if v.inputs)
    op_names = sorted(attributes(line)["label"] for line in ops)
    assert set(op_names) == {"+", "*", "-", "**3", "**2", "/", "relu", "neg"}
    edges = statements(src, r"n\d+ -> n\d+op")
    assert len(edges) == sum(len(v.inputs) for v in order)
    i = order.index(g)
    assert f'n{i} [label="{{ g | data 24.7 | grad 1.0 }}"' in src
    assert f'n{order.index(a)} [label="{{ a | data -4.0 | grad 138.8 }}"' in src
    assert attributes(statements(src, rf"n{i} \[")[0])["id"] == f"n{i}"
    assert image.node_ids[g] == f"n{i}" and image.node_ids[a] == f"n{order.index(a)}"
    assert draw_dot is draw_graph


def test_edge_labels_are_the_local_derivatives_of_backprop():
    x = Value(3.0, label="x")
    w = Value(-2.0, label="w")
    y = (x * w).tanh()
    y.label = "y"
    y.backward()
    src = draw_graph(y).source
    # d(x*w)/dx = w, d(x*w)/dw = x, d tanh(u)/du = 1 - tanh(u)^2
    assert 'n0 -> n2op [label="∂mul1/∂x = w = -2.0" id=e2_0]' in src
    assert 'n1 -> n2op [label="∂mul1/∂w = x = 3.0" id=e2_1]' in src
    assert f'label="∂y/∂mul1 = 1 - y·y = {format_number(1 - y.data ** 2)}"' in src
    assert "n2op -> n2" in src and "n3op -> n3" in src


def test_a_square_by_multiplication_draws_two_edges_with_distinct_labels():
    x = Value(3.0, label="x")
    y = x * x
    y.backward()
    edges = statements(draw_graph(y).source, r"n0 -> n1op")
    assert len(edges) == 2
    labels = [attributes(e)["label"] for e in edges]
    assert labels == ["∂mul1/∂x (operand 1) = x = 3.0", "∂mul1/∂x (operand 2) = x = 3.0"]


def test_switches_leave_out_grads_and_local_derivatives():
    _, _, g = micrograd_readme_drawn()
    src = draw_graph(g, show_grad=False, show_local=False, rankdir="TB").source
    assert "grad " not in src and "∂" not in src and "rankdir=TB" in src


def test_colours_tell_roles_apart():
    x = Value(2.0, label="x")
    p = Value(0.5)
    p.scope = Scope("parameter", "w", Scope("neuron"))   # a parameter of some module
    y = (x * p + 1).tanh()
    y.backward()
    src = draw_graph(y).source

    def fill(i):
        return attributes(statements(src, rf"n{i} \[")[0])["fillcolor"]

    order = topological_order(y)
    roles = {order.index(x): "input", order.index(p): "parameter", order.index(y): "output"}
    constant = next(i for i, v in enumerate(order) if v.is_leaf and v not in (x, p))
    roles[constant] = "constant"
    intermediate = next(i for i, v in enumerate(order) if v.inputs and v is not y)
    roles[intermediate] = "intermediate"
    for i, role in roles.items():
        assert fill(i) == ROLE_COLOURS[role], role
    assert len({ROLE_COLOURS[r] for r in roles.values()}) == len(roles)
    legend = " ".join(statements(src, r"legend_\w+ \["))
    for text in ("input", "parameter", "constant", "intermediate", "output", "operation"):
        assert text in legend
    assert "subgraph cluster_legend" in src
    assert "legend" not in draw_graph(y, legend=False).source


def test_a_leaf_alone_is_one_record():
    v = Value(1.5, label="v")
    src = draw_graph(v).source
    assert statements(src, r"n\d+") == ['n0 [label="{ v | data 1.5 | grad ? }" '
                                         f'fillcolor="{ROLE_COLOURS["output"]}" id=n0]']


# ------------------------------------------------------------------ escaping

NASTY = 'q"{a|b}<c>&amp;\\n\\x<script>alert(1)</script>\nline2\x01'


@pytest.mark.parametrize("record", [True, False])
def test_escaped_and_quoted_labels_leave_no_dot_syntax_unescaped(record):
    import graphviz

    text = graphviz.quoting.quote(escape_label(NASTY, record=record))
    assert text.startswith('"') and text.endswith('"')          # one quoted string, not HTML
    inner = text[1:-1]
    assert not re.search(r'(?<!\\)(\\\\)*"', inner)          # every quote escaped
    if record:
        assert not re.search(r"(?<!\\)(\\\\)*[{}|<>]", inner)
    assert "\n" not in inner and "\x01" not in inner


def test_identifiers_and_values_go_through_the_graphviz_package_quoting():
    # A module class named {evil} names its layer's cluster: that identifier must be quoted.
    loss = hinge_loss(evil_mlp())
    src = draw_graph(loss, collapse="neuron").source
    assert 'subgraph "cluster_{1" {' in src
    assert 'ltail="cluster_{1"' in src and 'id="cluster_{1_cluster_{2"' in src
    # Bare words only where DOT allows them; every other token is a quoted string.
    for line in src.splitlines():
        for name, value in ATTRIBUTE.findall(line.split("[", 1)[1] if "[" in line else ""):
            assert value.startswith('"') or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*|-?[0-9.]+",
                                                         value), line


def evil_mlp():
    """An MLP whose layers' scopes are of a kind named {evil} and named {1, {2: DOT syntax
    in the cluster names, titles and paths that the picture derives from them."""
    model = MLP(2, [2, 1])
    for i, layer in enumerate(model.layers):
        layer.scope.kind, layer.scope.name = "{evil}", f"{{{i + 1}"
    return model


# ------------------------------------------------------------------ collapse

def test_neuron_folding_draws_one_node_per_neuron_in_a_box_per_layer():
    loss = hinge_loss(MLP(2, [3, 3, 1]))
    src = draw_graph(loss, collapse="neuron").source
    groups = statements(src, r"g\d+ \[")
    assert len(groups) == 7
    names = [attributes(g)["label"].split("\\n")[0] for g in groups]
    assert names == ["neuron L1.N1", "neuron L1.N2", "neuron L1.N3", "neuron L2.N1",
                     "neuron L2.N2", "neuron L2.N3", "neuron L3.N1"]
    assert "relu, 3 params" in groups[0] and "relu, 4 params" in groups[3]
    assert "linear, 4 params" in groups[6]
    assert [s.split()[1] for s in statements(src, r"subgraph cluster_L")] == [
        "cluster_L1", "cluster_L2", "cluster_L3"]
    # Fully connected layers: one arrow between boxes instead of 3 x 3 lines.
    compound = [attributes(e) for e in statements(src, r"g\d+ -> g\d+")]
    assert [(e["ltail"], e["lhead"]) for e in compound] == [("cluster_L1", "cluster_L2"),
                                                            ("cluster_L2", "cluster_L3")]
    # the two named inputs stay visible and feed every first-layer neuron
    assert len(statements(src, r"n\d+ -> g\d+")) == 2 * 3
    assert "x1" in src and "x2" in src and "loss" in src


def test_layer_folding_draws_one_node_per_layer():
    loss = hinge_loss(MLP(2, [3, 3, 1]))
    image = draw_graph(loss, collapse="layer")
    groups = statements(image.source, r"g\d+ \[")
    assert [attributes(g)["label"].split("\\n")[0] for g in groups] == [
        "layer L1", "layer L2", "layer L3"]
    assert "3 outputs" in groups[0] and "9 params" in groups[0] and "12 params" in groups[1]
    assert len(statements(image.source, r"g\d+ -> g\d+")) == 2
    assert "subgraph cluster_L" not in image.source
    # every folded Value maps to its group's node
    assert set(image.node_ids.values()) >= {re.match(r"(g\d+)", g).group(1) for g in groups}
    assert len(image.node_ids) == len(topological_order(loss))


def test_folding_keeps_the_numbers_of_the_neuron_output():
    model = MLP(2, [2, 1])
    loss = hinge_loss(model)
    out = loss.inputs[0].inputs[1]          # 1 + score: the score is the MLP output
    src = draw_graph(loss, collapse="neuron").source
    assert f"data {format_number(out.data)}\\ngrad {format_number(out.grad)}" in src


def test_max_nodes_refuses_big_graphs_and_suggests_collapse():
    loss = hinge_loss(MLP(2, [8, 8, 1]))
    with pytest.raises(ValueError, match=r"has \d+ nodes to draw, more than max_nodes=100; "
                                         r"try collapse='neuron'"):
        draw_graph(loss, max_nodes=100)
    draw_graph(loss, max_nodes=100, collapse="neuron")
    with pytest.raises(ValueError, match="collapse='layer'"):
        draw_graph(loss, max_nodes=10, collapse="neuron")


def follow_the_advice(root, max_nodes=500):
    """draw_graph as a learner would: after a refusal, do what its message says."""
    options: dict = {}
    tried = []
    while True:
        try:
            return draw_graph(root, max_nodes=max_nodes, **options), tried
        except ValueError as error:
            message = str(error)
            assert "\n" not in message and "Traceback" not in message
            tried.append(message)
            assert len(tried) <= 2, tried
            fold = re.search(r"collapse='(\w+)'", message)
            bigger = re.search(r"pass (?:it with )?max_nodes=(\d+)", message)
            assert fold or bigger, message
            if fold:
                options["collapse"] = fold[1]
            if bigger:
                max_nodes = int(bigger[1])


def test_micrograd_demo_loss_is_drawn_by_following_the_refusals_advice():
    loss = micrograd_demo_loss()
    loss.backward()
    image, tried = follow_the_advice(loss)
    assert len(tried) == 1 and "try collapse='example'" in tried[0]
    src = image.source
    assert "examples 2 … 100 (× 99)" in src and "sum of 100 terms" in src
    assert len(statements(src, r"g\d+ \[")) == 33 + 3   # neurons, the examples, two sums
    assert 'label="{ x0[1] |' in src                      # example 1, drawn
    # From a fold that does not fit, the advice is one that does (counted, not guessed).
    with pytest.raises(ValueError, match=r"more than max_nodes=500; try collapse='example'"):
        draw_graph(loss, collapse="neuron")


@pytest.mark.parametrize("n_samples, sizes, max_nodes", [
    (12, (4, 1), 40), (12, (4, 1), 15), (30, (3, 3, 1), 60), (5, (2, 1), 5),
])
def test_the_refusals_advice_always_leads_to_a_picture(n_samples, sizes, max_nodes):
    loss = micrograd_demo_loss(n_samples, sizes)
    image, tried = follow_the_advice(loss, max_nodes)
    assert tried and image.source.startswith("digraph")
    for collapse in (None, "neuron", "layer", "example"):
        try:
            draw_graph(loss, collapse=collapse, max_nodes=max_nodes)
        except ValueError as error:     # every fold the message names fits, or max_nodes does
            named = re.search(r"collapse='(\w+)' \((\d+) nodes", str(error))
            if named:
                assert int(named[2]) <= max_nodes
                draw_graph(loss, collapse=named[1], max_nodes=max_nodes)


def test_real_mlp_loss_fits_under_the_default_limit_when_folded():
    from nn import MLP

    model = MLP(2, [16, 16, 1], seed=0)
    loss = (1 + -1.0 * model([2.0, -1.0])).relu()
    loss.backward()
    assert len(topological_order(loss)) > 900    # values; with their ops ~1,900 to draw
    with pytest.raises(ValueError, match="max_nodes=500"):
        draw_graph(loss)
    src = draw_graph(loss, collapse="neuron").source
    assert len(statements(src, r"g\d+ \[")) == 33
    assert "neuron L2.N16" in src and "cluster_L2" in src
    assert len(statements(draw_graph(loss, collapse="layer").source, r"g\d+ \[")) == 3


def test_l2_penalised_batch_loss_of_a_real_mlp_folds_its_sums():
    # DESIGN's case: MLP(2,[16,16,1]) with an L2 term (about 1,400 raw nodes and more with a
    # batch) is drawn within max_nodes=500: p*p joins its neuron, long sums become one node.
    from nn import MLP

    model = MLP(2, [16, 16, 1], seed=0)
    batch = [([0.5, -1.0], 1.0), ([1.5, 0.25], -1.0), ([-0.5, 0.5], 1.0), ([2.0, 1.0], -1.0)]
    data_loss = sum((1 + -y * model(x)).relu() for x, y in batch) * (1 / len(batch))
    loss = data_loss + 1e-4 * sum(p * p for p in model.parameters())
    loss.backward()
    assert len(topological_order(loss)) > 3500
    image = draw_graph(loss, collapse="neuron")
    src = image.source
    assert "sum of 337 terms" in src and "sum of 4 terms" in src
    assert len(statements(src, r"g\d+ \[")) == 33 + 2
    assert 'label="all 16"' in src                       # one arrow per layer into the L2 sum
    assert "graph [rank=same]" in src and "newrank=true" in src  # one column per layer
    squares = [v for v in topological_order(loss) if v.op == "*" and v.inputs[0] is v.inputs[1]]
    assert len(squares) == 337 and all(image.node_ids[v].startswith("g") for v in squares)
    ET.fromstring(image.svg())


@pytest.mark.parametrize("kwargs, message", [
    (dict(rankdir="XY"), "rankdir='XY'"), (dict(collapse="module"), "collapse='module'"),
    (dict(max_nodes=0), "max_nodes"), (dict(engine="cairo"), "'cairo'"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        draw_graph(Value(1.0), **kwargs)


def test_a_non_value_is_a_type_error():
    with pytest.raises(TypeError, match="draw_graph needs a Value, got float"):
        draw_graph(1.0)


# ------------------------------------------------------------------ before backward()

def svg_texts(image) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(image.svg()).iter()
            if t.tag.endswith("text")]


@pytest.mark.parametrize("collapse", [None, "neuron"])
def test_a_picture_before_backward_shows_no_gradient_and_says_why(collapse):
    from nn import MLP, mse_loss

    L = lecture() if collapse is None else mse_loss(MLP(2, [2, 1], seed=0)([1.0, 2.0]), 1.0)
    before = draw_graph(L, collapse=collapse)
    grads = [t for t in svg_texts(before) if t.startswith("grad")]
    assert grads and set(grads) == {"grad ?"}          # not a row of 0.0s
    assert svg_texts(before).count(NO_GRADIENTS) == 1  # one visible line
    assert NO_GRADIENTS not in draw_graph(L, collapse=collapse, show_grad=False).source
    L.backward()
    after = draw_graph(L, collapse=collapse)
    assert NO_GRADIENTS not in after.source and "grad ?" not in after.source
    assert "grad 1.0" in svg_texts(after)              # the output's dL/dL


def test_a_hand_run_backward_counts_as_backward():
    # micrograd's lecture sets o.grad = 1.0 by hand, then calls _backward() node by node.
    L = lecture()
    L.grad = 1.0
    src = draw_graph(L).source
    assert NO_GRADIENTS not in src and "grad 1.0" in src and "grad 0.0" in src


# ------------------------------------------------------------------ determinism

def golden_cases():
    def neuron():
        return hinge_loss(MLP(2, [2, 2, 1]))
    return {
        "micrograd_readme.dot": lambda: draw_graph(micrograd_readme_drawn()[2]).source,
        "mlp_neuron.dot": lambda: draw_graph(neuron(), collapse="neuron").source,
        "mlp_layer.dot": lambda: draw_graph(neuron(), collapse="layer", rankdir="TB").source,
        "lecture_before_backward.dot": lambda: draw_graph(lecture()).source,
    }


@pytest.mark.parametrize("name", sorted(golden_cases()))
def test_dot_matches_the_golden_file(name):
    source = golden_cases()[name]()
    path = GOLDEN / name
    if os.environ.get("CHAINRULE_UPDATE_GOLDEN"):
        path.write_text(source, encoding="utf-8")
    assert source == path.read_text(encoding="utf-8"), "regenerate with CHAINRULE_UPDATE_GOLDEN=1"


def test_dot_is_the_same_in_a_fresh_process():
    code = ("import sys; sys.path.insert(0, 'tests'); import test_viz as t; "
            "sys.stdout.write(t.draw_graph(t.hinge_loss(t.MLP(2, [2, 2, 1])), "
            "collapse='neuron').source)")
    here = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "123"}).stdout
    assert here == draw_graph(hinge_loss(MLP(2, [2, 2, 1])), collapse="neuron").source

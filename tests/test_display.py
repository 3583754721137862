"""How numbers, names and rules are shown: one formatter for traces, pictures and the CLI."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Scope, Value, topological_order
from autograd.display import format_number, local_rules, node_names
from examples import build, graphs


@pytest.mark.parametrize("x, text", [
    (6.0, "6.0"), (-2.0, "-2.0"), (2.0, "2.0"), (0.0, "0.0"), (-0.0, "0.0"),
    (138.83381924, "138.8"), (24.70408, "24.7"), (0.7071067, "0.7071"), (-0.7071067, "-0.7071"),
    (0.1 + 0.2, "0.3"), (0.001, "0.001"), (1234.5, "1234.5"), (9999.96, "10000.0"),
    (123456.0, "123456.0"), (1e6, "1e+06"), (1234567.0, "1.235e+06"), (1e-7, "1e-07"),
    (-1e-7, "-1e-07"), (1e-30, "1e-30"), (0.0001, "0.0001"), (0.99999, "1.0"),
    (math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan"),
])
def test_format_number(x, text):
    assert format_number(x) == text


@given(st.floats(allow_nan=False, allow_infinity=False, max_value=1e300, min_value=-1e300))
def test_format_number_is_close_and_never_negative_zero(x):
    text = format_number(x)
    assert not re.fullmatch(r"-0\.0*", text)
    assert math.isclose(float(text), x, rel_tol=1e-3, abs_tol=0.0) or x == 0.0
    assert "." in text or "e" in text  # never reads as an exact integer by accident


def test_one_formatter_everywhere():
    """explain(), the picture and the stepper print the same digits for the same number."""
    from autograd import draw_graph, explain, stepper

    x = Value(0.7071067, label="x")
    y = x.tanh()
    trace = explain(y)
    text = format_number(trace[0].local)
    assert text in str(trace)
    assert text in draw_graph(y).source
    assert text in stepper(y).html


def test_local_rules_name_the_graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    assert local_rules(c, node_names([a, b, c])) == ["∂c/∂a = b", "∂c/∂b = a"]
    t = c.tanh()
    t.label = "t"
    assert local_rules(t, node_names([c, t])) == ["∂t/∂c = 1 - t·t"]
    cube = a ** 3
    cube.label = "q"
    assert local_rules(cube, node_names([a, cube])) == ["∂q/∂a = 3·a^2"]
    r = c.relu()
    r.label = "r"
    assert local_rules(r, node_names([c, r])) == ["∂r/∂c = 0 if c ≤ 0 else 1"]


# ------------------------------------------------------------------ names from scopes

class Doubler:
    """A module as any library may write one: a scope, a parameter, outputs tagged, and
    local_names for the nodes of a call (on demand, nothing stored per node)."""

    def __init__(self, name=""):
        self.scope = Scope("doubler", name, owner=self)
        self.k = Value(2.0)
        self.k.scope = Scope("parameter", "k", self.scope)

    def __call__(self, x):
        inner = self.k * x
        out = inner.tanh()
        out.scope = self.scope
        return out

    def local_names(self, out):
        return {out.inputs[0]: "kx"}


def test_scopes_name_parameters_outputs_and_what_the_module_names():
    outer = Scope("net", "")
    d = Doubler("D1")
    d.scope.parent = outer
    x = Value(0.5)
    x.scope = Scope("input", "x0")
    y = d(x)
    loss = y * y
    loss.scope = Scope("value", "loss")
    order = topological_order(loss)
    names = node_names(order)
    assert sorted(names.values()) == ["D1.k", "D1.kx", "D1.out", "loss", "x0"]


def doubled_plus_one():
    """x0 -> D1.kx = k * x0 -> D1.out = tanh(kx) -> root = out + 1: each node by its role."""
    d = Doubler("D1")
    x = Value(0.5)
    x.scope = Scope("input", "x0")
    out = d(x)
    root = out + 1.0
    return {"k": d.k, "x": x, "kx": out.inputs[0], "out": out, "one": root.inputs[1],
            "root": root}


@pytest.mark.parametrize("labels, expected", [
    ({}, dict(k="D1.k", x="x0", kx="D1.kx", out="D1.out", one="const1", root="add1")),
    # labels always win, also over a name that the module gives
    ({"out": "y", "kx": "product"},
     dict(k="D1.k", x="x0", kx="product", out="y", one="const1", root="add1")),
    # automatic names skip the names already in use
    ({"root": "const1"},
     dict(k="D1.k", x="x0", kx="D1.kx", out="D1.out", one="const2", root="const1")),
    # a label equal to a derived name: the derived one is numbered
    ({"root": "D1.out"},
     dict(k="D1.k", x="x0", kx="D1.kx", out="D1.out[1]", one="const1", root="D1.out")),
    # a label shared by several nodes: numbered from the second, in topological order
    ({"x": "a", "k": "a", "root": "a#2"},
     dict(k="a", x="a#3", kx="D1.kx", out="D1.out", one="const1", root="a#2")),
])
def test_labels_win_over_names_from_scopes(labels, expected):
    nodes = doubled_plus_one()
    for role, text in labels.items():
        nodes[role].label = text
    names = node_names(topological_order(nodes["root"]))
    assert {role: names[node] for role, node in nodes.items()} == expected


@given(graphs, st.lists(st.sampled_from(["a", "b", "", "a#2", "mul1", "const1"]),
                        min_size=12, max_size=12))
def test_names_are_unique_and_automatic_ones_are_never_a_single_letter(graph, labels):
    root = build(graph)
    order = topological_order(root)
    for node, label in zip(order, labels):
        node.label = label
    names = node_names(order)
    assert len(set(names.values())) == len(order)                  # nothing to confuse
    for node in order:
        if node.label:
            assert re.fullmatch(re.escape(node.label) + r"(#\d+)?", names[node])  # a, a#2
        else:
            assert names[node] not in {n.label for n in order}        # mul1, tanh2, const1
            assert re.fullmatch(r"(const|add|sub|mul|pow|neg|tanh|relu|sigmoid|sin|cos)\d+",
                                names[node]), names[node]


def test_a_name_derived_for_several_nodes_is_numbered_in_topological_order():
    d = Doubler("D1")
    xs = [Value(v) for v in (0.1, 0.2, 0.3)]
    for x in xs:
        x.scope = Scope("input", "x0")
    outs = [d(x) for x in xs]            # one call per example of a batch
    root = outs[0] + outs[1] + outs[2]
    names = node_names(topological_order(root))
    assert [names[x] for x in xs] == ["x0[1]", "x0[2]", "x0[3]"]
    assert [names[o] for o in outs] == ["D1.out[1]", "D1.out[2]", "D1.out[3]"]
    assert [names[o.inputs[0]] for o in outs] == ["D1.kx[1]", "D1.kx[2]", "D1.kx[3]"]
    assert names[d.k] == "D1.k"          # one parameter, shared: one name
    assert len(set(names.values())) == len(names)


def test_a_module_without_a_path_names_plainly():
    d = Doubler()                        # not inside anything: no path
    y = d(Value(1.0))
    names = node_names(topological_order(y))
    assert names[y] == "out" and names[d.k] == "k" and names[y.inputs[0]] == "kx"

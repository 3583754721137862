"""Neuron, Layer, MLP: micrograd compatibility, parameters, scope tags, state dicts, init."""

from __future__ import annotations

import math
import random
import re
import statistics
import subprocess
import sys

import pytest
from conftest import require_module

from autograd import Value
from nn import MLP, Layer, Module, Neuron, init


def test_moons_mlp_has_337_parameters_in_micrograd_order():
    model = MLP(2, [16, 16, 1], seed=0)
    assert len(model.parameters()) == 337
    names = [name for name, _ in model.named_parameters()]
    assert names[:4] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1",
                         "layers.0.neurons.0.b", "layers.0.neurons.1.w.0"]
    assert names[-1] == "layers.2.neurons.0.b"
    assert "layers.1.neurons.3.w.15" in names
    assert len(set(names)) == 337


def test_same_weights_and_outputs_as_micrograd_with_the_same_global_seed():
    micrograd_nn = require_module("micrograd.nn").nn
    random.seed(1337)
    theirs = micrograd_nn.MLP(2, [16, 16, 1])
    random.seed(1337)
    ours = MLP(2, [16, 16, 1])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    for x in ([0.5, -1.0], [2.0, 0.25], [-1.5, -0.5]):
        assert ours(x).data == pytest.approx(theirs(x).data, rel=1e-12)


def test_hidden_layers_nonlinear_last_layer_linear():
    model = MLP(3, [4, 5, 2], activation="tanh", seed=0)
    assert [layer.activation for layer in model.layers] == ["tanh", "tanh", "linear"]


@pytest.mark.parametrize("nouts", [[1], [1, 1], [4, 1, 1], [3, 1]])
def test_one_output_net_returns_a_single_value(nouts):
    out = MLP(2, nouts, seed=0)([0.3, -0.2])
    assert isinstance(out, Value)


def test_multi_output_net_returns_a_list():
    out = MLP(2, [4, 3], seed=0)([0.3, -0.2])
    assert isinstance(out, list) and len(out) == 3 and all(isinstance(v, Value) for v in out)


ACTIVATION_FORMULAS = {
    "relu": lambda z: max(z, 0.0),
    "tanh": math.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    "leaky_relu": lambda z: z if z > 0 else 0.01 * z,
    "linear": lambda z: z,
}


@pytest.mark.parametrize("activation", sorted(ACTIVATION_FORMULAS))
@pytest.mark.parametrize("x", [[0.5, -2.0, 1.5], [-3.0, 0.1, -0.7]])
def test_neuron_computes_act_of_w_dot_x_plus_b(activation, x):
    n = Neuron(3, activation=activation, seed=3)
    n.b.data = 0.25
    z = sum(w.data * xi for w, xi in zip(n.w, x)) + n.b.data
    expected = ACTIVATION_FORMULAS[activation](z)
    assert n(x).data == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert n.forward_floats(x) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert n([Value(v) for v in x]).data == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_gradient_flows_to_weights_and_value_inputs():
    n = Neuron(2, activation="linear", seed=0)
    xs = [Value(2.0), Value(-3.0)]
    out = n(xs)
    out.backward()
    assert [w.grad for w in n.w] == [2.0, -3.0]
    assert n.b.grad == 1.0
    assert [x.grad for x in xs] == [w.data for w in n.w]


def test_forward_floats_equals_value_forward():
    model = MLP(2, [5, 4, 3], activation="sigmoid", seed=2)
    for x in ([0.1, 0.2], [-2.0, 3.0]):
        assert model.forward_floats(x) == pytest.approx([v.data for v in model(x)], rel=1e-12)


def test_micrograd_nonlin_keyword():
    assert Neuron(2, nonlin=False, seed=0).activation == "linear"
    assert Layer(2, 3, nonlin=True, seed=0).activation == "relu"


def test_single_neuron_layer_returns_a_value_like_micrograd():
    assert isinstance(Layer(2, 1, seed=0)([1.0, 2.0]), Value)


# ---------------------------------------------------------------- scope tags

def test_parameter_scopes_name_their_place_in_the_model():
    n = Neuron(2, seed=0)
    assert [p.scope.path for p in n.parameters()] == ["w0", "w1", "b"]
    assert all(p.scope.kind == "parameter" and p.scope.parent is n.scope
               for p in n.parameters())
    layer = Layer(2, 3, seed=0)
    for j, neuron in enumerate(layer.neurons):
        assert neuron.scope.parent is layer.scope and neuron.scope.path == f"N{j + 1}"
    model = MLP(2, [3, 1], seed=0)
    for i, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            assert [p.scope.path for p in neuron.parameters()] == [
                f"L{i + 1}.N{j + 1}.{name}" for name in ("w0", "w1", "w2")[:len(neuron.w)]
            ] + [f"L{i + 1}.N{j + 1}.b"]
            chain = neuron.w[0].scope.chain()
            assert [s.kind for s in chain] == ["mlp", "layer", "neuron", "parameter"]
            assert [s.owner for s in chain[:3]] == [model, layer, neuron]


def test_outputs_carry_their_neurons_scope_and_intermediates_none():
    model = MLP(2, [3, 2], seed=0)
    outs = model([0.5, -0.5])
    last = model.layers[-1]
    for out, neuron in zip(outs, last.neurons):
        assert out.scope is neuron.scope and out.scope.path.startswith("L2.")
    hidden = model.layers[0]
    out = hidden([0.5, -0.5])[1]
    assert out.scope is hidden.neurons[1].scope
    n = Neuron(2, activation="tanh", seed=0)
    y = n([1.0, 2.0])
    assert y.scope is n.scope
    pre_activation = y.inputs[0]
    assert pre_activation.scope is None


def test_scopes_in_an_mlp_graph_name_the_owning_neuron():
    from autograd import topological_order
    model = MLP(2, [3, 1], seed=0)
    out = model([1.0, 2.0])
    tagged = [v for v in topological_order(out) if v.scope is not None]
    # 3*3 + 4 parameters, 3 hidden outputs, 1 final output, 2 inputs
    assert len(tagged) == 13 + 3 + 1 + 2
    params = set(model.parameters())
    inputs = [v for v in tagged if v.scope.kind == "input"]
    assert [(v.data, v.scope.path) for v in inputs] == [(1.0, "x0"), (2.0, "x1")]
    for v in tagged:
        if v in inputs:
            continue
        neuron = v.scope.find("neuron")
        assert neuron is not None and neuron.owner in {n for layer in model.layers
                                                      for n in layer.neurons}
        assert (v.scope.kind == "parameter") == (v in params)


def test_numbers_given_as_inputs_become_one_leaf_per_input():
    from autograd import topological_order
    model = MLP(2, [3, 1], seed=0)
    out = model([1.0, 2.0])
    leaves = [v for v in topological_order(out) if v.is_leaf and v not in model.parameters()]
    assert len(leaves) == 2                       # read by all three first-layer neurons
    x0 = leaves[0]
    first_layer_products = [v for v in topological_order(out) if x0 in v.inputs]
    assert len(first_layer_products) == 3
    out.backward()
    assert x0.grad == sum(n.w[0].data * p.grad for n, p in zip(
        model.layers[0].neurons, first_layer_products))
    given = Value(1.0, label="mine")              # a Value given as input is used as it is
    assert given in topological_order(model([given, 2.0]))


def test_any_one_input_op_is_an_activation_by_name():
    from autograd import register_op, ops
    register_op("swish", lambda x: x * ops._sigmoid(x),
                lambda x, out: (ops.sigmoid(x) + out * (1.0 - ops.sigmoid(x)),))
    model = MLP(2, [3, 1], activation="swish", seed=0)
    out = model([0.5, -1.0])
    hidden = model.layers[0]([0.5, -1.0])
    assert all(h.op == "swish" for h in hidden)
    assert model.forward_floats([0.5, -1.0]) == pytest.approx(out.data, rel=1e-15)
    softplus = MLP(2, [2, 1], activation="softplus", seed=0)
    assert all(h.op == "softplus" for h in softplus.layers[0]([1.0, 2.0]))
    with pytest.raises(ValueError, match="unknown activation 'nope'.*register_op"):
        MLP(2, [1], activation="nope")


# ---------------------------------------------------------------- seeds

def test_seed_is_reproducible_and_leaves_global_random_alone():
    random.seed(42)
    state = random.getstate()
    a = MLP(2, [8, 1], seed=7)
    b = MLP(2, [8, 1], seed=7)
    assert random.getstate() == state
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != MLP(2, [8, 1], seed=8).state_dict()


# ---------------------------------------------------------------- state dicts

def test_state_dict_round_trip():
    a, b = MLP(2, [4, 1], seed=1), MLP(2, [4, 1], seed=2)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert b([0.3, 0.4]).data == a([0.3, 0.4]).data


@pytest.mark.parametrize("change, error", [
    (lambda d: d.pop("layers.0.neurons.0.b"), KeyError),
    (lambda d: d.update({"layers.9.neurons.0.b": 1.0}), KeyError),
    (lambda d: d.update({"layers.1.neurons.0.b": "1.0"}), TypeError),
    (lambda d: d.update({"layers.1.neurons.0.b": None}), TypeError),
    (lambda d: d.update({"layers.1.neurons.0.b": True}), TypeError),
])
def test_bad_state_dict_raises_and_changes_nothing(change, error):
    model = MLP(2, [4, 1], seed=1)
    before = model.state_dict()
    new = {k: v + 1.0 for k, v in before.items()}  # every value would change
    change(new)
    with pytest.raises(error, match="nothing was loaded"):
        model.load_state_dict(new)
    assert model.state_dict() == before


def test_load_state_dict_non_strict_reports_skipped_keys():
    model = MLP(2, [2, 1], seed=1)
    d = {"layers.0.neurons.0.b": 5.0, "extra": 1.0}
    result = model.load_state_dict(d, strict=False)
    assert model.layers[0].neurons[0].b.data == 5.0
    assert result.unexpected_keys == ["extra"]
    assert len(result.missing_keys) == len(model.parameters()) - 1


def test_zero_grad():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_custom_module_finds_parameters_in_attributes():
    class Affine(Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.inner = Neuron(1, seed=0)
            self.extras = [Value(1.0), Value(3.0)]

    names = [n for n, _ in Affine().named_parameters()]
    assert names == ["scale", "inner.w.0", "inner.b", "extras.0", "extras.1"]


def test_repr_shows_architecture():
    text = repr(MLP(2, [16, 16, 1]))
    assert "MLP(2, [16, 16, 1]" in text and "337 parameters" in text
    assert repr(Neuron(3, activation="tanh", seed=0)) == "Neuron(3, activation='tanh')"


@pytest.mark.parametrize("make, match", [
    (lambda: MLP(2, 16), "list of layer sizes"),
    (lambda: MLP(2, []), "list of layer sizes"),
    (lambda: MLP(0, [1]), "nin"),
    (lambda: MLP(2, [3, 0]), "layer size"),
    (lambda: MLP(2, [1], activation="softmax"), "unknown activation"),
    (lambda: MLP(2, [1], init="zeros"), "unknown init"),
    (lambda: MLP(2, [1], seed="abc"), "seed"),
    (lambda: MLP(2, [1], seed=0)([1.0, 2.0, 3.0]), "takes 2 inputs, got 3"),
])
def test_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


# ---------------------------------------------------------------- init

@pytest.mark.parametrize("scheme, bound", [
    ("uniform", lambda fi, fo: 1.0),
    ("xavier_uniform", lambda fi, fo: math.sqrt(6 / (fi + fo))),
    ("he_uniform", lambda fi, fo: math.sqrt(6 / fi)),
])
def test_uniform_inits_stay_within_their_bound_and_fill_it(scheme, bound):
    layer = Layer(50, 30, init=scheme, seed=0)
    weights = [w.data for n in layer.neurons for w in n.w]
    a = bound(50, 30)
    assert max(abs(w) for w in weights) <= a
    assert max(abs(w) for w in weights) > 0.95 * a
    assert all(n.b.data == 0.0 for n in layer.neurons)


@pytest.mark.parametrize("scheme, std", [
    ("xavier_normal", lambda fi, fo: math.sqrt(2 / (fi + fo))),
    ("he_normal", lambda fi, fo: math.sqrt(2 / fi)),
])
def test_normal_inits_have_the_textbook_std(scheme, std):
    layer = Layer(100, 60, init=scheme, seed=0)
    weights = [w.data for n in layer.neurons for w in n.w]
    assert statistics.pstdev(weights) == pytest.approx(std(100, 60), rel=0.05)
    assert abs(statistics.fmean(weights)) < 0.1 * std(100, 60)


def test_init_accepts_a_function():
    model = MLP(2, [3, 1], init=lambda rng, fan_in, fan_out: 0.5, seed=0)
    assert all(n.w[0].data == 0.5 for layer in model.layers for n in layer.neurons)
    assert init.get("glorot_uniform") is init.xavier_uniform


def test_import_nn_loads_no_heavy_dependency():
    code = ("import sys, nn; heavy = [m for m in ('torch', 'matplotlib', 'tqdm', 'numpy') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- names in traces and pictures

def test_an_mlp_loss_trace_names_every_node_from_the_model():
    from autograd import explain
    from nn import mse_loss
    model = MLP(2, [2, 1], seed=0)
    trace = explain(mse_loss(model([1.0, -2.0]), 1.0))
    names = set(trace.names.values())
    assert not any(re.fullmatch(r"v\d+", name) for name in names), names
    assert {f"dloss/d{s.input_name}" for s in trace} >= {
        f"dloss/d{p.scope.path}" for p in model.parameters()}
    for p in model.parameters():                 # every parameter by its module path
        assert trace.names[p] == p.scope.path
    assert names == {
        "x0", "x1", "y", "loss", "err",         # err: the difference out - y
        *(p.scope.path for p in model.parameters()),
        *(f"L1.N{j}.{part}" for j in (1, 2) for part in ("w0x0", "s0", "w1x1", "z", "out")),
        "L2.N1.w0x0", "L2.N1.s0", "L2.N1.w1x1", "L2.N1.out"}   # linear: its sum is its out
    assert trace[0].formula.startswith("dloss/derr += dloss/dloss")


@pytest.mark.parametrize("activation, nin, expected", [
    ("tanh", 1, ["w0x0", "z", "out"]),
    ("relu", 3, ["w0x0", "s0", "w1x1", "s1", "w2x2", "z", "out"]),
    ("linear", 2, ["w0x0", "s0", "w1x1", "out"]),
])
def test_a_neurons_nodes_are_named_by_their_role(activation, nin, expected):
    from autograd.display import node_names
    from autograd import topological_order
    n = Neuron(nin, activation=activation, seed=0)
    out = n([0.5] * nin)
    names = node_names(topological_order(out))
    made = [names[v] for v in topological_order(out) if not v.is_leaf]
    assert made == expected
    assert [names[p] for p in n.parameters()] == [f"w{i}" for i in range(nin)] + ["b"]


def test_a_batch_numbers_each_examples_nodes():
    from autograd.display import node_names
    from autograd import topological_order
    from nn import hinge_loss
    model = MLP(2, [2, 1], seed=0)
    X = [[1.0, 2.0], [-1.0, 0.5], [0.0, 1.0]]
    loss = hinge_loss([model(x) for x in X], [1, -1, 1])
    names = node_names(topological_order(loss))
    assert len(set(names.values())) == len(names)
    assert {names[v] for v in topological_order(loss) if v.scope is not None
            and v.scope.kind == "input" and v.scope.name == "x0"} == {"x0[1]", "x0[2]", "x0[3]"}
    assert sum(name.startswith("L2.N1.out[") for name in names.values()) == 3
    assert names[loss] == "loss"
    assert names[model.layers[0].neurons[0].w[0]] == "L1.N1.w0"


def test_explicit_labels_win_over_the_models_names():
    from autograd import explain
    model = MLP(2, [1], seed=0)
    model.layers[0].neurons[0].w[1].label = "slope"
    out = model([1.0, 2.0])
    out.label = "prediction"
    names = set(explain(out).names.values())
    assert {"slope", "prediction", "L1.N1.w0", "L1.N1.b"} <= names
    assert "L1.N1.w1" not in names and "L1.N1.out" not in names


def test_fit_calls_its_loss_loss():
    from nn import SGD
    from nn.train import make_step
    model = MLP(1, [1], seed=0)
    seen = []

    def loss_fn(outputs, targets):
        total = sum(((o - t) ** 2 for o, t in zip(outputs, targets)), Value(0.0))
        seen.append(total)
        return total

    make_step(model, loss_fn, SGD(model.parameters(), lr=0.1))([[1.0]], [2.0])
    assert seen[0].scope.path == "loss"

"""nn.layers: Linear, activations, Sequential, Residual, Dropout; train()/eval(); scopes.

Parity with PyTorch (values and gradients in both modes) is in test_nn_torch_bridge.py.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, draw_graph, gradcheck
from nn import (MLP, Activation, BatchNorm1d, Dropout, LayerNorm, Linear, Module, ReLU, Residual,
                Sequential, Sigmoid, Tanh)
from nn.layers import call_on_batch, is_batch


def test_linear_is_w_x_plus_b_row_by_row():
    layer = Linear(3, 2, seed=0)
    x = [0.5, -1.0, 2.0]
    out = layer(x)
    assert len(out) == 2
    for j in range(2):
        expected = layer.bias[j].data + sum(w.data * xi for w, xi in zip(layer.weight[j], x))
        assert out[j].data == pytest.approx(expected, rel=1e-15)
    no_bias = Linear(3, 2, bias=False, seed=0)
    assert no_bias.bias is None and no_bias.num_parameters() == 6
    assert no_bias(x)[1].data == pytest.approx(
        sum(w.data * xi for w, xi in zip(no_bias.weight[1], x)), rel=1e-15)


def test_linear_default_init_is_pytorchs_uniform_and_a_scheme_starts_biases_at_zero():
    layer = Linear(16, 200, seed=1)
    bound = 1 / math.sqrt(16)
    weights = [w.data for row in layer.weight for w in row]
    assert max(map(abs, weights)) <= bound and max(map(abs, weights)) > 0.95 * bound
    assert max(abs(b.data) for b in layer.bias) > 0.9 * bound       # biases are drawn too
    xavier = Linear(16, 200, init="xavier_uniform", seed=1)
    assert all(b.data == 0.0 for b in xavier.bias)
    assert max(abs(w.data) for row in xavier.weight for w in row) <= math.sqrt(6 / 216)


def test_seeds_reproduce_weights_without_touching_global_random():
    random.seed(5)
    state = random.getstate()
    a, b = Linear(4, 3, seed=7), Linear(4, 3, seed=7)
    Dropout(0.5, seed=3)([1.0] * 10)
    assert random.getstate() == state
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != Linear(4, 3, seed=8).state_dict()


def test_parameter_names_follow_pytorch_layout():
    model = Sequential(Linear(2, 3, seed=0), Tanh(), Linear(3, 1, bias=False, seed=1))
    names = [name for name, _ in model.named_parameters()]
    assert names[:3] == ["layers.0.weight.0.0", "layers.0.weight.0.1", "layers.0.weight.1.0"]
    assert names[6:9] == ["layers.0.bias.0", "layers.0.bias.1", "layers.0.bias.2"]
    assert names[9:] == ["layers.2.weight.0.0", "layers.2.weight.0.1", "layers.2.weight.0.2"]


def test_scopes_make_linear_a_layer_of_neurons():
    model = Sequential(Linear(2, 3, seed=0), Tanh(), Linear(3, 1, seed=1))
    assert model.layers[0].weight[2][1].scope.path == "L1.N3.w1"
    assert model.layers[0].bias[2].scope.path == "L1.N3.b"
    assert model.layers[1].scope.path == "L2" and model.layers[1].scope.kind == "activation"
    hidden = model.layers[0]([0.5, -0.5])
    assert [h.scope.path for h in hidden] == ["L1.N1", "L1.N2", "L1.N3"]
    assert {h.scope.kind for h in hidden} == {"neuron"}
    assert hidden[0].scope.find("layer") is model.layers[0].scope


@pytest.mark.parametrize("collapse, boxes", [
    ("neuron", ["neuron L1.N1", "neuron L1.N2", "neuron L1.N3", "neuron L3.N1", "neuron L3.N2",
                "neuron L4.f.L1.N1", "neuron L4.f.L1.N2"]),
    ("layer", ["layer L1", "layer L3", "layer L4.f.L1"]),
    ("activation", ["activation L2", "activation L4.f.L2"]),
    ("residual", ["residual L4"]),
])
def test_draw_graph_folds_each_kind_of_scope(collapse, boxes):
    model = Sequential(Linear(2, 3, seed=0), Tanh(), Linear(3, 2, seed=1),
                       Residual(Sequential(Linear(2, 2, seed=2), Sigmoid())))
    x = [Value(0.5, label="x1"), Value(-1.0, label="x2")]
    loss = sum(model(x), Value(0.0))
    loss.backward()
    source = draw_graph(loss, collapse=collapse).source
    for box in boxes:
        assert f'label="{box}\\n' in source, box
    assert source.count(f'label="{collapse} L') == len(boxes)   # the legend says "(folded)"


def test_activations_apply_their_op_entrywise():
    x = [-1.5, 0.0, 2.0]
    assert [v.data for v in ReLU()(x)] == [0.0, 0.0, 2.0]
    assert [v.data for v in Tanh()(x)] == [math.tanh(v) for v in x]
    assert [v.data for v in Sigmoid()(x)] == pytest.approx([1 / (1 + math.exp(-v)) for v in x])
    assert Activation("softplus")([0.0])[0].data == pytest.approx(math.log(2))
    assert repr(Tanh()) == "Tanh()" and repr(Activation("relu")) == "Activation('relu')"


def test_sequential_returns_one_value_for_one_output_and_maps_a_batch():
    model = Sequential(Linear(2, 4, seed=0), ReLU(), Linear(4, 1, seed=1))
    one = model([0.5, 0.25])
    assert isinstance(one, Value)
    X = [[0.5, 0.25], [-1.0, 2.0], [0.0, 0.0]]
    batch = model(X)
    assert [v.data for v in batch] == [model(x).data for x in X]
    two = Sequential(Linear(2, 2, seed=0))
    assert isinstance(two([1.0, 2.0]), list) and len(two(X)) == 3
    assert len(model) == 3 and model[1].name == "relu"
    assert Sequential([Linear(1, 1, seed=0)]).num_parameters() == 2   # a list works too


def test_residual_adds_the_input_and_its_gradient_has_the_identity_path():
    f = Sequential(Linear(2, 2, seed=3), Tanh())
    block = Residual(f)
    out = block([0.3, -0.7])
    fx = [v.data for v in f([0.3, -0.7])]
    assert [o.data for o in out] == [0.3 + fx[0], -0.7 + fx[1]]
    assert all(o.scope is block.scope for o in out)
    assert gradcheck(lambda a, b: block([a, b])[0], [0.3, -0.7])
    # d out_1 / d x_1 = 1 + d f_1 / d x_1: the skip connection adds exactly 1
    x, z = [Value(0.3), Value(-0.7)], [Value(0.3), Value(-0.7)]
    block(x)[0].backward()
    f(z)[0].backward()
    assert x[0].grad == pytest.approx(1.0 + z[0].grad, rel=1e-15)
    assert x[1].grad == pytest.approx(z[1].grad, rel=1e-15)


def test_residual_refuses_a_module_that_changes_the_size():
    with pytest.raises(ValueError, match=r"maps 3 inputs to 2 outputs.*Linear\(3, 3\)"):
        Residual(Linear(3, 2, seed=0))([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="Residual takes an nn module"):
        Residual(lambda x: x)


@pytest.mark.parametrize("make, error, match", [
    (lambda: Linear(0, 2), ValueError, "Linear.nin. must be a positive int"),
    (lambda: Linear(2, 3, seed=0)([1.0, 2.0, 3.0]), ValueError, "takes 2 inputs, got 3"),
    (lambda: Linear(2, 3, seed=0)([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), ValueError,
     "a batch\\?"),
    (lambda: Linear(2, 3, seed=0)("ab"), TypeError, "takes a sample"),
    (lambda: Activation("linear"), ValueError, "would do nothing"),
    (lambda: Activation("nope"), ValueError, "unknown activation 'nope'"),
    (lambda: Sequential(), ValueError, "at least one module"),
    (lambda: Sequential(Linear(2, 2, seed=0), math.tanh), TypeError, "argument 1 is"),
    (lambda: Dropout(1.5), ValueError, r"probability in \[0, 1\]"),
    (lambda: Dropout(0.5, seed=1.5), TypeError, r"Dropout\(seed\) must be an int"),
])
def test_bad_arguments_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


# ---------------------------------------------------------------- dropout

def test_dropout_scales_what_it_keeps_by_one_over_one_minus_p():
    drop = Dropout(0.25, seed=0)
    x = [Value(float(i + 1)) for i in range(12)]
    out = drop(x)
    assert len(drop.mask) == 12 and 0 < sum(drop.mask) < 12
    for xi, yi, kept in zip(x, out, drop.mask):
        assert yi.data == (xi.data * (1 / 0.75) if kept else 0.0)   # as torch: x * (1/(1-p))
    sum(out, Value(0.0)).backward()
    assert [xi.grad for xi in x] == [(1 / 0.75 if kept else 0.0) for kept in drop.mask]


def test_dropout_masks_repeat_for_a_seed_and_differ_between_seeds():
    def masks(seed):
        drop = Dropout(0.5, seed=seed)
        found = []
        for _ in range(5):
            drop([1.0] * 20)
            found.append(drop.mask)
        return found

    assert masks(11) == masks(11)
    assert masks(11) != masks(12)
    assert masks(11)[0] != masks(11)[1]            # a fresh mask at every call


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_drops_the_expected_fraction_and_keeps_the_mean(p):
    drop = Dropout(p, seed=int(p * 10))
    n, draws = 1000, 20
    dropped = 0
    total = 0.0
    for _ in range(draws):
        out = drop([1.0] * n)
        dropped += n - sum(drop.mask)
        total += sum(v.data for v in out)
    count = n * draws
    sigma = math.sqrt(p * (1 - p) / count)        # binomial standard error of the fraction
    assert abs(dropped / count - p) < 5 * sigma
    # E[y] = x: the mean output is 1 within the same (scaled) error
    assert abs(total / count - 1.0) < 5 * sigma / (1 - p)


def test_dropout_edge_probabilities_and_evaluation_mode():
    x = [Value(1.0), Value(-2.0)]
    assert Dropout(0.0)(x) == x                       # nothing dropped: the inputs themselves
    assert [v.data for v in Dropout(1.0, seed=0)(x)] == [0.0, 0.0]
    drop = Dropout(0.5, seed=0).eval()
    assert drop(x) == x and drop.mask == []


def test_train_and_eval_reach_every_submodule():
    model = Sequential(Linear(2, 2, seed=0), Dropout(0.5),
                       Residual(Sequential(LayerNorm(2), Dropout(0.2))), BatchNorm1d(2))
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert [m.training for m in model.modules()] == [False] * 8
    model.train()
    assert all(m.training for m in model.modules())
    mlp = MLP(2, [3, 1], seed=0).eval()
    assert not mlp.layers[0].neurons[2].training
    with pytest.raises(TypeError, match="True or False"):
        model.train("no")


def test_modules_and_children_find_modules_in_attributes_and_lists():
    class Twin(Module):
        def __init__(self):
            self.left = Linear(1, 1, seed=0)
            self.pair = [Tanh(), Dropout(0.1)]
            self.note = "not a module"

    twin = Twin()
    assert [name for name, _ in twin.named_children()] == ["left", "pair.0", "pair.1"]
    assert len(twin.modules()) == 4 and not twin.needs_batch()


def test_a_batch_goes_whole_to_modules_that_need_it_and_row_by_row_to_the_others():
    seen = []

    class Spy(Module):
        def __init__(self, batch):
            self.batch = batch

        def needs_batch(self):
            return self.batch

        def __call__(self, x):
            seen.append(len(x))
            return x

    rows = [[1.0, 2.0, 3.0]] * 4
    call_on_batch(Spy(False), rows)
    call_on_batch(Spy(True), rows)
    assert seen == [3, 3, 3, 3, 4]
    assert is_batch(rows) and not is_batch(rows[0]) and not is_batch([])


@settings(max_examples=20)
@given(st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3))
def test_gradcheck_passes_through_every_layer(x):
    model = Sequential(Linear(3, 3, seed=0), LayerNorm(3), Tanh(),
                       Residual(Sequential(Linear(3, 3, seed=1), Sigmoid())), Linear(3, 1, seed=2))
    assert gradcheck(lambda a, b, c: model([a, b, c]), x, atol=1e-5, rtol=1e-3)


def test_nodes_of_pytorch_style_layers_are_named_from_the_model():
    """Like an MLP's: parameters, products, running sums and outputs by their place, the
    inputs x0, x1 shared by every unit (no a, b, ... or v123 for a node made by nn)."""
    import re

    from autograd import explain

    model = Sequential(Linear(2, 2, seed=0), ReLU(), Linear(2, 1, seed=1))
    names = set(explain(model([0.5, -1.0])).names.values())
    assert not [n for n in names if re.fullmatch(r"[a-z]|v\d+", n)], names
    assert {"x0", "x1", "L1.N2.w1x1", "L1.N2.s0", "L3.N1.out"} <= names

"""nn.to_torch / nn.from_torch: the same function, the same gradients, the same running
statistics, in float64, for every nn module in training and evaluation mode."""

from __future__ import annotations

import math
import random

import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value
from nn import (MLP, RNN, Activation, BatchNorm1d, Dropout, LayerNorm, LeakyReLU, Linear, ReLU,
                Residual, RNNCell, Sequential, Sigmoid, Tanh)
from nn.layers import MaskFeed, call_on_batch, sample

INPUTS = [[0.5, -1.0, 2.0], [-0.3, 0.8, 0.1], [1.5, 1.5, -2.5]]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "linear"])
@pytest.mark.parametrize("nouts", [[4, 1], [5, 4, 3]])
def test_to_torch_same_outputs_and_gradients(activation, nouts):
    torch = require_module("torch")
    model = MLP(3, nouts, activation=activation, seed=4)
    seq = nn.to_torch(model)
    assert isinstance(seq, torch.nn.Sequential)
    assert all(p.dtype == torch.float64 for p in seq.parameters())
    for x in INPUTS:
        xs = [Value(v) for v in x]
        out = model(xs)
        outs = [out] if isinstance(out, Value) else out
        loss = sum((o * (k + 1) for k, o in enumerate(outs)), Value(0.0))
        model.zero_grad()
        loss.backward()

        tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        seq.zero_grad()
        tout = seq(tx)
        assert tout.tolist() == pytest.approx([o.data for o in outs], rel=1e-12, abs=1e-14)
        (tout * torch.arange(1, len(outs) + 1, dtype=torch.float64)).sum().backward()
        assert tx.grad.tolist() == pytest.approx([v.grad for v in xs], rel=1e-12, abs=1e-14)
        linears = [m for m in seq if isinstance(m, torch.nn.Linear)]
        for layer, linear in zip(model.layers, linears):
            for j, neuron in enumerate(layer.neurons):
                assert linear.weight.grad[j].tolist() == pytest.approx(
                    [w.grad for w in neuron.w], rel=1e-12, abs=1e-14)
                assert linear.bias.grad[j].item() == pytest.approx(neuron.b.grad, abs=1e-14)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_from_torch_round_trip(activation):
    require_module("torch")
    model = MLP(3, [4, 2], activation=activation, seed=1)
    back = nn.from_torch(nn.to_torch(model))
    assert back.architecture() == model.architecture()
    assert back.state_dict() == model.state_dict()


def test_from_torch_reads_a_torch_built_network():
    torch = require_module("torch")
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    model = nn.from_torch(seq)
    assert model.architecture() == {"type": "MLP", "nin": 2, "nouts": [5, 1],
                                    "activation": "tanh"}
    x = [0.25, -0.5]
    assert model(x).data == pytest.approx(seq(torch.tensor(x)).item(), rel=1e-6)


@pytest.mark.parametrize("build, match", [
    (lambda t: t.nn.Sequential(t.nn.Linear(2, 3), t.nn.ReLU(), t.nn.Linear(4, 1)),
     "does not fit"),
    (lambda t: t.nn.Sequential(t.nn.Linear(2, 3), t.nn.Conv2d(1, 1, 1)), "layer 1 is Conv2d"),
    (lambda t: t.nn.Sequential(t.nn.Linear(2, 3), t.nn.LeakyReLU(0.2), t.nn.Linear(3, 1)),
     "slope 0.2"),
    (lambda t: t.nn.Sequential(), "empty"),
    (lambda t: t.nn.LSTM(2, 3), "the model is LSTM"),
    (lambda t: t.nn.RNN(2, 3, num_layers=2), "one layer"),
    (lambda t: t.nn.RNN(2, 3, bidirectional=True), "one direction"),
    (lambda t: t.nn.BatchNorm1d(3, track_running_stats=False), "running statistics"),
    (lambda t: t.nn.BatchNorm1d(3, bias=False), "no bias"),
    (lambda t: t.nn.LayerNorm((2, 3)), "one dimension"),
    (lambda t: "Linear(2, 3)", "torch.nn.Module"),
])
def test_from_torch_refuses_what_nn_cannot_be(build, match):
    torch = require_module("torch")
    with pytest.raises((TypeError, ValueError), match=match):
        nn.from_torch(build(torch))


def test_to_torch_refuses_what_torch_has_no_module_for():
    require_module("torch")
    with pytest.raises(ValueError, match="'softplus' has no PyTorch module"):
        nn.to_torch(Sequential(Linear(2, 2, seed=0), Activation("softplus")))
    with pytest.raises(TypeError, match="cannot convert Neuron"):
        nn.to_torch(nn.Neuron(2, seed=0))
    with pytest.raises(TypeError, match="needs an nn module"):
        nn.to_torch(lambda x: x)


# ---------------------------------------------------------------- the PyTorch-style modules
# Each is built, its parameters (and running statistics) set to random numbers, converted,
# then both run three mini-batches (so BatchNorm's running statistics move) in training or
# evaluation mode: the same outputs, input gradients, parameter gradients and buffers.

MODULES = {
    "Linear": lambda: Linear(3, 4, seed=0),
    "Linear(bias=False)": lambda: Linear(3, 2, bias=False, seed=1),
    "activations": lambda: Sequential(Linear(3, 4, seed=2), ReLU(), Linear(4, 4, seed=3), Tanh(),
                                      Linear(4, 4, seed=4), Sigmoid(), Linear(4, 3, seed=5),
                                      LeakyReLU()),
    "LayerNorm": lambda: LayerNorm(3),
    "LayerNorm(affine=False)": lambda: LayerNorm(3, eps=1e-3, elementwise_affine=False),
    "BatchNorm1d": lambda: BatchNorm1d(3),
    "BatchNorm1d(momentum=None)": lambda: BatchNorm1d(3, eps=1e-3, momentum=None),
    "BatchNorm1d(affine=False)": lambda: BatchNorm1d(3, momentum=0.5, affine=False),
    "Residual": lambda: Residual(Sequential(Linear(3, 3, seed=6), Tanh())),
    "deep": lambda: Sequential(Linear(3, 5, seed=7), BatchNorm1d(5), Tanh(),
                               Residual(Sequential(Linear(5, 5, seed=8), LayerNorm(5), Sigmoid())),
                               Dropout(0.0), Linear(5, 2, seed=9)),
    # in training mode torch draws other masks: tests/test_nn_layers.py checks that mode
    "Dropout (evaluation)": lambda: Sequential(Linear(3, 3, seed=10), Dropout(0.5, seed=0)),
}

batches = st.lists(st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3),
                   min_size=2, max_size=5)


def scramble(module: nn.Module, seed: int) -> None:
    """Random parameters, and running statistics as after some training."""
    rng = random.Random(seed)
    for p in module.parameters():
        p.data = rng.uniform(-1.5, 1.5)
    for bn in module.modules():
        if isinstance(bn, BatchNorm1d):
            bn.running_mean = [rng.uniform(-1.0, 1.0) for _ in range(bn.n)]
            bn.running_var = [rng.uniform(0.5, 2.0) for _ in range(bn.n)]
            bn.num_batches_tracked = rng.randint(0, 5)


def torch_buffers(twin) -> list[float]:
    return [x for _, b in twin.named_buffers() for x in b.flatten().tolist()]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(MODULES))
@settings(max_examples=15)
@given(st.lists(batches, min_size=3, max_size=3), st.integers(0, 2**16))
def test_modules_match_torch_float64(name, training, inputs, seed):
    torch = require_module("torch")
    torch.set_num_threads(1)  # tiny tensors: a thread pool costs ~1000x the work on a busy machine
    if training and name == "Dropout (evaluation)":
        return
    ours = MODULES[name]()
    scramble(ours, seed)
    ours.train(training)
    twin = nn.to_torch(ours)
    assert twin.training is training
    for X in inputs:
        xs = [[Value(v) for v in row] for row in X]
        rows = [sample(out, None, ours) for out in call_on_batch(ours, xs)]
        weights = [[math.cos(3 * r + k) for k in range(len(row))] for r, row in enumerate(rows)]
        loss = sum((w * v for row, ws in zip(rows, weights) for v, w in zip(row, ws)),
                   Value(0.0))
        ours.zero_grad()
        loss.backward()

        tX = torch.tensor(X, dtype=torch.float64, requires_grad=True)
        twin.zero_grad()
        tout = twin(tX)
        (tout * torch.tensor(weights, dtype=torch.float64)).sum().backward()
        close = dict(rel=1e-10, abs=1e-10)
        assert tout.flatten().tolist() == pytest.approx([v.data for row in rows for v in row],
                                                        **close)
        assert tX.grad.flatten().tolist() == pytest.approx([v.grad for row in xs for v in row],
                                                           **close)
        theirs = [g for p in twin.parameters() for g in p.grad.flatten().tolist()]
        assert theirs == pytest.approx([p.grad for p in ours.parameters()], **close)
        assert torch_buffers(twin) == pytest.approx([b for _, b in ours.named_buffers()],
                                                    **close)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_in_training_mode_matches_torch_given_torchs_mask(p):
    """torch draws its own masks; fed the same mask, Dropout gives torch's outputs and input
    gradients (the mask is read off torch's Dropout applied to ones with the same seed)."""
    torch = require_module("torch")
    twin = torch.nn.Dropout(p).train()
    x = [0.5, -1.25, 2.0, 0.75, -0.3, 1.5, 0.1, -2.0]
    torch.manual_seed(7)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tout = twin(tx)
    (tout * torch.arange(1.0, 9.0, dtype=torch.float64)).sum().backward()
    torch.manual_seed(7)
    factors = twin(torch.ones(8, dtype=torch.float64)).tolist()    # 0 or 1/(1-p)

    ours = Dropout(p)
    xs = [Value(v) for v in x]
    with MaskFeed(factors).attached(ours):
        out = ours(xs)
    sum((k * v for k, v in zip(range(1, 9), out)), Value(0.0)).backward()
    assert [v.data for v in out] == pytest.approx(tout.tolist(), rel=1e-15)
    assert [v.grad for v in xs] == pytest.approx(tx.grad.tolist(), rel=1e-15)
    # and our own masks are made of the same two factors, 0 and 1/(1-p)
    assert all(f == 0.0 or f == pytest.approx(1 / (1 - p), rel=1e-15)
               for f in factors + ours.draw(100))


@pytest.mark.parametrize("name", sorted(MODULES))
def test_from_torch_gives_back_the_same_module(name):
    require_module("torch")
    ours = MODULES[name]()
    scramble(ours, 1)
    ours.eval()
    back = nn.from_torch(nn.to_torch(ours))
    assert type(back) is type(ours)
    assert back.architecture() == ours.architecture()
    assert back.state_dict() == ours.state_dict()
    assert [m.training for m in back.modules()] == [False] * len(back.modules())


def test_from_torch_reads_a_torch_built_network_of_every_kind():
    torch = require_module("torch")
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.LayerNorm(4), torch.nn.ReLU(),
                              torch.nn.Dropout(0.25), torch.nn.BatchNorm1d(4),
                              torch.nn.Linear(4, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 1))
    seq.double()
    seq.train()(torch.randn(6, 2, dtype=torch.float64))   # running statistics move
    seq.eval()
    model = nn.from_torch(seq)
    assert isinstance(model, Sequential) and not model.training
    assert [type(m).__name__ for m in model.layers] == [
        "Linear", "LayerNorm", "Activation", "Dropout", "BatchNorm1d", "Linear", "Activation",
        "Linear"]
    assert model.layers[3].p == 0.25 and model.layers[4].num_batches_tracked == 1
    X = [[0.5, -1.0], [2.0, 0.25]]
    assert [v.data for v in model(X)] == pytest.approx(
        seq(torch.tensor(X, dtype=torch.float64)).flatten().tolist(), rel=1e-12, abs=1e-12)


def test_recurrent_modules_convert_both_ways():
    torch = require_module("torch")
    for ours in (RNNCell(2, 3, seed=0), RNN(2, 3, nonlinearity="relu", seed=1),
                 RNN(1, 2, bias=False, seed=2)):
        twin = nn.to_torch(ours)
        assert type(twin).__name__ == type(ours).__name__
        back = nn.from_torch(twin)
        assert back.architecture() == ours.architecture()
        assert back.state_dict() == ours.state_dict()
    # a cell of torch's own, with torch's initial weights
    torch.manual_seed(0)
    cell = torch.nn.RNNCell(2, 3, dtype=torch.float64)
    x, h = [0.5, -0.25], [0.1, 0.2, -0.3]
    expected = cell(torch.tensor(x, dtype=torch.float64),
                    torch.tensor(h, dtype=torch.float64)).tolist()
    assert [v.data for v in nn.from_torch(cell)(x, h)] == pytest.approx(expected, rel=1e-12)

"""nn.to_torch / nn.from_torch: the same function, the same gradients, in float64."""

from __future__ import annotations

import pytest
from conftest import require_module

import nn
from autograd import Value
from nn import MLP

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
    (lambda t: t.nn.Sequential(t.nn.Linear(2, 3), t.nn.Sigmoid()), "ends with Sigmoid"),
    (lambda t: t.nn.Sequential(t.nn.Linear(2, 3), t.nn.Dropout(), t.nn.Linear(3, 1)),
     "Dropout"),
    (lambda t: t.nn.Sequential(t.nn.Linear(2, 3), t.nn.ReLU(), t.nn.Linear(3, 3), t.nn.Tanh(),
                               t.nn.Linear(3, 1)), "one activation"),
    (lambda t: t.nn.Sequential(t.nn.Linear(2, 3), t.nn.ReLU(), t.nn.Linear(4, 1)),
     "does not fit"),
    (lambda t: t.nn.Linear(2, 3), "Sequential"),
])
def test_from_torch_refuses_what_an_mlp_cannot_be(build, match):
    torch = require_module("torch")
    with pytest.raises((TypeError, ValueError), match=match):
        nn.from_torch(build(torch))

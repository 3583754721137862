"""nn.RNNCell, nn.RNN and nn.tbptt: PyTorch float64 parity of values and every gradient,
backpropagation through time by hand, truncated BPTT against torch, one picture box per
time step."""

from __future__ import annotations

import math

import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value, draw_graph
from nn import RNN, SGD, Linear, Module, RNNCell, data, mse_loss, tbptt

CLOSE = dict(rel=1e-10, abs=1e-10)


@pytest.fixture(scope="module")
def torch():
    torch = require_module("torch")
    torch.set_num_threads(1)  # tiny tensors: a thread pool costs ~1000x the work on a busy machine
    return torch


sequences = st.lists(st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=2),
                     min_size=1, max_size=6)


@pytest.mark.parametrize("nonlinearity, bias", [("tanh", True), ("relu", True), ("tanh", False)])
@settings(max_examples=15)
@given(xs=sequences, h0=st.none() | st.lists(st.floats(-1.0, 1.0), min_size=3, max_size=3))
def test_rnn_matches_torch_values_and_all_gradients(torch, nonlinearity, bias, xs, h0):
    rnn = RNN(2, 3, bias=bias, nonlinearity=nonlinearity, seed=len(xs))
    twin = nn.to_torch(rnn)
    inputs = [[Value(v) for v in x] for x in xs]
    h_init = None if h0 is None else [Value(v) for v in h0]
    outputs, h_last = rnn(inputs, h_init)
    assert h_last is outputs[-1]
    weights = [[math.cos(t + 2 * j) for j in range(3)] for t in range(len(xs))]
    loss = sum((w * v for ws, hs in zip(weights, outputs) for w, v in zip(ws, hs)), Value(0.0))
    loss.backward()

    tx = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    th0 = None if h0 is None else torch.tensor([h0], dtype=torch.float64, requires_grad=True)
    tout, th = twin(tx, th0)
    (tout * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    assert tout.flatten().tolist() == pytest.approx([v.data for h in outputs for v in h], **CLOSE)
    assert th.flatten().tolist() == pytest.approx([v.data for v in h_last], **CLOSE)
    assert tx.grad.flatten().tolist() == pytest.approx([v.grad for x in inputs for v in x],
                                                       **CLOSE)
    if h0 is not None:
        assert th0.grad.flatten().tolist() == pytest.approx([v.grad for v in h_init], **CLOSE)
    theirs = [g for p in twin.parameters() for g in p.grad.flatten().tolist()]
    assert theirs == pytest.approx([p.grad for p in rnn.parameters()], **CLOSE)


def test_rnn_cell_is_one_step_of_the_recurrence(torch):
    cell = RNNCell(2, 3, seed=4)
    twin = nn.to_torch(cell)
    x, h = [0.5, -1.5], [0.25, 0.0, -0.75]
    expected = twin(torch.tensor(x, dtype=torch.float64),
                    torch.tensor(h, dtype=torch.float64)).tolist()
    out = cell(x, h)
    assert [v.data for v in out] == pytest.approx(expected, **CLOSE)
    assert all(v.scope is cell.scope for v in out)
    assert [v.data for v in cell(x)] == [v.data for v in cell(x, [0.0, 0.0, 0.0])]
    bound = 1 / math.sqrt(3)
    assert all(abs(p.data) <= bound for p in cell.parameters())      # PyTorch's init


def test_bptt_for_three_steps_by_hand():
    """h_t = tanh(w x_t + u h_(t-1) + b), L = (h_3 - y)^2: the chain rule through time."""
    cell_rnn = RNN(1, 1, seed=0)
    cell = cell_rnn.cell
    w, u = cell.weight_ih[0][0], cell.weight_hh[0][0]
    b_ih, b_hh = cell.bias_ih[0], cell.bias_hh[0]
    xs, y = [0.5, -1.0, 2.0], 0.3
    outputs, h_last = cell_rnn(xs)
    loss = (h_last[0] - y) ** 2
    loss.backward()

    h = [0.0] + [out[0].data for out in outputs]          # h_0 .. h_3
    delta = 2 * (h[3] - y)                                # dL/dh_3
    dw = du = db = 0.0
    for t in (3, 2, 1):
        a = delta * (1 - h[t] ** 2)                       # dL/d(pre-activation at t)
        dw += a * xs[t - 1]
        du += a * h[t - 1]
        db += a
        assert outputs[t - 1][0].grad == pytest.approx(delta, rel=1e-12)
        delta = a * u.data                                # dL/dh_(t-1)
    assert (w.grad, u.grad, b_ih.grad, b_hh.grad) == pytest.approx((dw, du, db, db), rel=1e-12)


class Forecaster(Module):
    """An RNN and a linear readout of each hidden state: model(xs, h) -> (predictions, h)."""

    def __init__(self, hidden: int, seed: int) -> None:
        self.rnn = RNN(1, hidden, seed=seed)
        self.head = Linear(hidden, 1, seed=seed + 1)

    def __call__(self, xs, h=None):
        hs, h = self.rnn(xs, h)
        return [self.head(h_t)[0] for h_t in hs], h


@pytest.mark.parametrize("k, clip", [(3, None), (4, 0.05), (100, None)])
def test_tbptt_matches_torch_truncated_backprop(torch, k, clip):
    xs, ys = data.make_sine_sequence(10, period=7.0, noise=0.1, seed=1)
    model = Forecaster(3, seed=2)
    rnn, head = nn.to_torch(model.rnn), nn.to_torch(model.head)
    history = tbptt(model, xs, ys, mse_loss, SGD(model.parameters(), lr=0.1), k=k, clip=clip)

    params = [*rnn.parameters(), *head.parameters()]
    optimizer = torch.optim.SGD(params, lr=0.1)
    h, losses, norms = None, [], []
    for start in range(0, len(xs), k):
        x = torch.tensor(xs[start:start + k], dtype=torch.float64).reshape(-1, 1)
        t = torch.tensor(ys[start:start + k], dtype=torch.float64)
        out, h = rnn(x, h)
        loss = ((head(out).flatten() - t) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(params, math.inf if clip is None else clip)
                     .item())
        optimizer.step()
        losses.append(loss.item())
        h = h.detach()                                  # the truncation
    assert len(history.loss) == math.ceil(10 / k)
    assert history.loss == pytest.approx(losses, **CLOSE)
    assert history.grad_norm == pytest.approx(norms, **CLOSE)
    theirs = [v for p in params for v in p.detach().flatten().tolist()]
    assert theirs == pytest.approx([p.data for p in model.parameters()], **CLOSE)


def test_tbptt_with_k_one_never_reaches_back_a_step():
    """After the cut no gradient flows into the previous chunk: with k = 1 the recurrent
    weights only get the gradient through h_(t-1) taken as a constant."""
    xs, ys = [0.5, -0.5, 1.0], [0.1, 0.2, 0.3]
    model = Forecaster(2, seed=0)
    optimizer = SGD(model.parameters(), lr=0.0)           # measure, do not move
    tbptt(model, xs[:2], ys[:2], mse_loss, optimizer, k=1)
    grads_k1 = [p.grad for p in model.parameters()]        # the second chunk's gradient
    _, h = model.rnn([xs[0]])
    model.zero_grad()
    predictions, _ = model([xs[1]], [v.detach() for v in h])
    mse_loss(predictions, ys[1:2]).backward()
    assert grads_k1 == [p.grad for p in model.parameters()]


def test_draw_graph_folds_each_time_step_into_one_box():
    rnn = RNN(1, 2, seed=0)
    for name, p in rnn.named_parameters():
        p.label = name
    outputs, h = rnn([0.5, -0.1, 0.3, 0.8, 0.2])
    loss = (h[0] - 0.2) ** 2 + h[1] ** 2
    loss.backward()
    source = draw_graph(loss, collapse="step").source
    assert [f'label="step t{t}\\n' in source for t in range(1, 6)] == [True] * 5
    assert source.count('label="step t') == 5
    assert "0 params" not in source and 'step t1\\n2 outputs\\ntanh\\n' in source  # no params
    # the shared weights are drawn once, feeding every step
    assert source.count('label="{ cell.weight_hh.0.1 |') == 1
    whole = draw_graph(loss, collapse="rnn").source
    assert whole.count('label="rnn ') == 1 and 'label="step' not in whole
    assert h[0].scope.path == "t5" and h[0].scope.find("rnn") is rnn.scope


def test_steps_of_a_named_rnn_are_drawn_in_a_row_not_a_column():
    class Named(Module):
        def __init__(self):
            self.rnn = RNN(1, 1, seed=0)
            self._adopt(self.rnn, "rnn")

    model = Named()
    _, h = model.rnn([0.5, 0.1, -0.3])
    h[0].backward()
    source = draw_graph(h[0], collapse="step").source
    assert "subgraph cluster_rnn" in source and "rank=same" not in source
    mlp = nn.MLP(2, [3, 1], seed=0)
    out = mlp([1.0, 2.0])
    out.backward()
    assert "rank=same" in draw_graph(out, collapse="neuron").source   # a layer stays a column


@pytest.mark.parametrize("make, error, match", [
    (lambda: RNN(1, 2, nonlinearity="sigmoid"), ValueError, "'tanh' or 'relu'"),
    (lambda: RNN(1, 2, seed=0)([]), ValueError, "non-empty sequence"),
    (lambda: RNN(2, 2, seed=0)([[1.0, 2.0], [3.0]]), ValueError, "takes 2 inputs, got 1"),
    (lambda: RNNCell(1, 2, seed=0)([1.0], [0.0]), ValueError,
     r"the hidden state h must be a list of nhidden = 2 .* got 1 entries \[0\.0\]"),
    (lambda: RNN(2, 3, seed=0)([[1.0, 2.0]], h0=[0.0, 0.0]), ValueError,   # "takes 3 inputs"
     r"the hidden state h0 must be a list of nhidden = 3 .* got 2 entries \[0\.0, 0\.0\]"),
    (lambda: RNN(2, 3, seed=0)([[1.0, 2.0]], h0=5), ValueError, r"h0 .* got int 5"),
    (lambda: tbptt(RNN(1, 2, seed=0), [1.0], [1.0], mse_loss, SGD([Value(0.0)]), k=1,
                   h0=[0.0]), ValueError, r"hidden state h0 .* got 1 entries"),
    (lambda: tbptt(RNN(1, 1, seed=0), [1.0, 2.0], [1.0], mse_loss, SGD([Value(0.0)]), k=1),
     ValueError, "2 inputs but 1 targets"),
    (lambda: tbptt(RNN(1, 1, seed=0), [1.0], [1.0], mse_loss, SGD([Value(0.0)]), k=0),
     ValueError, r"tbptt\(k\) must be a positive int"),
])
def test_bad_arguments_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()

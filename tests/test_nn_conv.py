"""nn.Conv1d: PyTorch's 1-D convolution on scalar Values (values, gradients and conversions
equal to torch's in float64), weight sharing seen by paths and pictures, names, save/load,
and the errors for bad arguments. Flatten, which hands a convolution to a Linear, too."""

from __future__ import annotations

import math
import random
import re

import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from autograd import Value, draw_graph, explain, gradcheck, paths
from nn import Conv1d, Dropout, Flatten, Linear, ReLU, Residual, Sequential, Tanh


def scramble(module: nn.Module, seed: int) -> None:
    rng = random.Random(seed)
    for p in module.parameters():
        p.data = rng.uniform(-1.5, 1.5)


def values(rows):
    return [[v.data for v in row] for row in rows]


def test_conv1d_is_the_sum_of_a_kernel_times_each_window():
    conv = Conv1d(1, 1, 3, seed=0)
    for w, data in zip(conv.weight[0][0], [1.0, -2.0, 0.5]):
        w.data = data
    conv.bias[0].data = 0.25
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    (y,) = conv([x])
    assert [v.data for v in y] == [0.25 + x[t] - 2 * x[t + 1] + 0.5 * x[t + 2] for t in range(3)]
    # stride 2 and padding 1: windows (0, x0, x1), (x1, x2, x3), (x3, x4, 0)
    conv2 = Conv1d(1, 1, 3, stride=2, padding=1, bias=False, seed=0)
    for w, data in zip(conv2.weight[0][0], [1.0, -2.0, 0.5]):
        w.data = data
    assert [v.data for v in conv2([x])[0]] == [-2 * 1 + 0.5 * 2, 2 - 2 * 3 + 0.5 * 4,
                                               4 - 2 * 5]


def test_output_shape_follows_pytorchs_formula():
    conv = Conv1d(2, 3, 4, stride=3, padding=2, seed=0)
    for length in range(1, 12):
        out = conv([[0.5] * length, [-0.5] * length])
        assert len(out) == 3
        assert {len(row) for row in out} == {(length + 4 - 4) // 3 + 1} == \
            {conv.output_length(length)}


def test_default_init_is_pytorchs_uniform_bound_and_seeds_reproduce_it():
    random.seed(3)
    state = random.getstate()
    conv = Conv1d(3, 4, 5, seed=7)
    assert random.getstate() == state                       # a seed leaves global random alone
    bound = 1 / math.sqrt(3 * 5)
    assert all(-bound <= p.data <= bound for p in conv.parameters())
    assert max(abs(p.data) for p in conv.parameters()) > 0.8 * bound
    assert Conv1d(3, 4, 5, seed=7).state_dict() == conv.state_dict()
    assert Conv1d(3, 4, 5, seed=8).state_dict() != conv.state_dict()
    schemed = Conv1d(2, 2, 3, init="xavier_uniform", seed=0)
    assert [b.data for b in schemed.bias] == [0.0, 0.0]
    limit = math.sqrt(6 / (2 * 3 + 2 * 3))                  # fan_in C*K, fan_out out*K
    assert all(abs(w.data) <= limit for row in schemed.weight for ws in row for w in ws)
    assert conv.num_parameters() == 4 * 3 * 5 + 4
    assert Conv1d(3, 4, 5, bias=False, seed=0).num_parameters() == 60


# ---------------------------------------------------------------- PyTorch float64 parity

@st.composite
def convolutions(draw):
    in_channels = draw(st.integers(1, 3))
    out_channels = draw(st.integers(1, 3))
    kernel_size = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 3))                      # may exceed the kernel (torch too)
    length = draw(st.integers(max(1, kernel_size - 2 * padding), 9))
    x = draw(st.lists(st.lists(st.floats(-3.0, 3.0), min_size=length, max_size=length),
                      min_size=in_channels, max_size=in_channels))
    conv = Conv1d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                  bias=draw(st.booleans()), seed=0)
    scramble(conv, draw(st.integers(0, 2**16)))
    return conv, x


def weighted_sum(rows):
    """A loss that gives every output its own upstream gradient cos(3o + t)."""
    return sum((math.cos(3 * o + t) * v for o, row in enumerate(rows) for t, v in enumerate(row)),
               Value(0.0))


@settings(max_examples=60, deadline=None)
@given(convolutions())
def test_values_and_gradients_equal_torch_float64(case):
    torch = require_module("torch")
    torch.set_num_threads(1)
    conv, x = case
    xs = [[Value(v) for v in row] for row in x]
    out = conv(xs)
    weighted_sum(out).backward()

    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    weight = torch.tensor([[[w.data for w in ws] for ws in kernel] for kernel in conv.weight],
                          dtype=torch.float64, requires_grad=True)
    bias = (torch.tensor([b.data for b in conv.bias], dtype=torch.float64, requires_grad=True)
            if conv.bias is not None else None)
    tout = torch.nn.functional.conv1d(tx.unsqueeze(0), weight, bias, stride=conv.stride,
                                      padding=conv.padding).squeeze(0)
    upstream = torch.tensor([[math.cos(3 * o + t) for t in range(tout.shape[1])]
                             for o in range(tout.shape[0])], dtype=torch.float64)
    (tout * upstream).sum().backward()

    close = dict(rel=1e-10, abs=1e-10)
    assert tout.tolist() == [pytest.approx(row, **close) for row in values(out)]
    assert tx.grad.tolist() == [pytest.approx([v.grad for v in row], **close) for row in xs]
    assert weight.grad.flatten().tolist() == pytest.approx(
        [w.grad for kernel in conv.weight for ws in kernel for w in ws], **close)
    if bias is not None:
        assert bias.grad.tolist() == pytest.approx([b.grad for b in conv.bias], **close)


@settings(max_examples=25, deadline=None)
@given(convolutions())
def test_to_torch_twin_computes_the_same_and_from_torch_gives_it_back(case):
    torch = require_module("torch")
    torch.set_num_threads(1)
    conv, x = case
    twin = nn.to_torch(conv)
    assert type(twin) is torch.nn.Conv1d and twin.weight.dtype == torch.float64
    out = conv(x)
    assert twin(torch.tensor(x, dtype=torch.float64)).tolist() == \
        [pytest.approx(row, rel=1e-12, abs=1e-12) for row in values(out)]
    back = nn.from_torch(twin)
    assert type(back) is Conv1d and back.architecture() == conv.architecture()
    assert back.state_dict() == conv.state_dict()


def conv_net():
    return Sequential(Conv1d(2, 3, 3, padding=1, seed=0), ReLU(), Conv1d(3, 2, 2, stride=2,
                                                                         seed=1),
                      Tanh(), Flatten(), Linear(6, 2, seed=2))


def residual_conv_net():
    """A residual block of convolutions, and dropout on channels (in evaluation mode here)."""
    block = Sequential(Conv1d(3, 3, 3, padding=1, seed=4), Tanh(), Conv1d(3, 3, 1, seed=5))
    return Sequential(Conv1d(2, 3, 2, seed=3), Residual(block), Dropout(0.5, seed=0), ReLU(),
                      Flatten(), Linear(15, 2, seed=6)).eval()


@pytest.mark.parametrize("build", [conv_net, residual_conv_net])
@settings(max_examples=15, deadline=None)
@given(st.lists(st.lists(st.lists(st.floats(-2.0, 2.0), min_size=6, max_size=6),
                         min_size=2, max_size=2), min_size=1, max_size=4),
       st.integers(0, 2**16))
def test_a_conv_net_on_a_batch_equals_its_torch_twin(build, batch, seed):
    torch = require_module("torch")
    torch.set_num_threads(1)
    model = build()
    scramble(model, seed)
    twin = nn.to_torch(model)
    xs = [[[Value(v) for v in row] for row in signal] for signal in batch]
    out = model(xs)                                  # a batch in, one output per signal
    assert len(out) == len(batch) and all(len(o) == 2 for o in out)
    weighted_sum(out).backward()
    tx = torch.tensor(batch, dtype=torch.float64, requires_grad=True)
    tout = twin(tx)
    upstream = torch.tensor([[math.cos(3 * o + t) for t in range(2)] for o in range(len(batch))],
                            dtype=torch.float64)
    (tout * upstream).sum().backward()
    close = dict(rel=1e-10, abs=1e-10)
    assert tout.flatten().tolist() == pytest.approx([v.data for o in out for v in o], **close)
    assert tx.grad.flatten().tolist() == pytest.approx(
        [v.grad for signal in xs for row in signal for v in row], **close)
    assert [g for p in twin.parameters() for g in p.grad.flatten().tolist()] == \
        pytest.approx([p.grad for p in model.parameters()], **close)


def test_from_torch_reads_torchs_own_conv_net():
    torch = require_module("torch")
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3, stride=2, padding=1), torch.nn.ReLU(),
                              torch.nn.Flatten(), torch.nn.Linear(12, 1)).double()
    model = nn.from_torch(seq)
    assert [type(m).__name__ for m in model.layers] == ["Conv1d", "Activation", "Flatten",
                                                        "Linear"]
    assert model.layers[0].architecture() == {
        "type": "Conv1d", "in_channels": 2, "out_channels": 4, "kernel_size": 3, "stride": 2,
        "padding": 1, "bias": True}
    signals = [[[0.5, -1.0, 2.0, 0.25, 1.5, -0.5], [1.0, 0.0, -2.0, 0.5, 0.75, 1.25]]] * 2
    expected = seq(torch.tensor(signals, dtype=torch.float64)).flatten().tolist()
    assert [v.data for v in model(signals)] == pytest.approx(expected, rel=1e-12, abs=1e-12)
    back = nn.to_torch(model)
    assert [type(m).__name__ for m in back] == ["Conv1d", "ReLU", "Flatten", "Linear"]
    assert nn.from_torch(back).state_dict() == model.state_dict()


@pytest.mark.parametrize("build, match", [
    (lambda t: t.nn.Conv1d(1, 1, 3, dilation=2), r"dilation=\(2,\)"),
    (lambda t: t.nn.Conv1d(2, 2, 3, groups=2), "groups=2"),
    (lambda t: t.nn.Conv1d(1, 1, 3, padding="same"), "padding='same'"),
    (lambda t: t.nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular"), "circular"),
    (lambda t: t.nn.Flatten(0), "start_dim=0"),
])
def test_from_torch_refuses_what_nn_conv1d_has_not(build, match):
    torch = require_module("torch")
    with pytest.raises(ValueError, match=match):
        nn.from_torch(build(torch))


# ---------------------------------------------------------------- save and load

def test_save_and_load_round_trip(tmp_path):
    model = conv_net()
    scramble(model, 5)
    path = tmp_path / "conv.json"
    nn.save(model, path)
    fresh = conv_net()
    assert fresh.state_dict() != model.state_dict()
    nn.load(fresh, path)
    assert fresh.state_dict() == model.state_dict()
    signal = [[0.5, -1.0, 2.0, 0.25, 1.5, -0.5], [1.0, 0.0, -2.0, 0.5, 0.75, 1.25]]
    assert [v.data for v in fresh(signal)] == [v.data for v in model(signal)]
    other = Sequential(Conv1d(2, 3, 3, padding=2, seed=0), ReLU(), Conv1d(3, 2, 2, stride=2,
                                                                          seed=1),
                       Tanh(), Flatten(), Linear(6, 2, seed=2))
    with pytest.raises(ValueError, match="different architecture"):
        nn.load(other, path)


def test_state_dict_names_follow_pytorchs_layout():
    conv = Conv1d(2, 3, 4, seed=0)
    names = [name for name, _ in conv.named_parameters()]
    assert names[:5] == ["weight.0.0.0", "weight.0.0.1", "weight.0.0.2", "weight.0.0.3",
                         "weight.0.1.0"]
    assert names[-4:] == ["weight.2.1.3", "bias.0", "bias.1", "bias.2"]
    assert conv.weight[2][1][3] is dict(conv.named_parameters())["weight.2.1.3"]


# ---------------------------------------------------------------- names, pictures, paths

def test_parameters_inputs_and_nodes_are_named_by_kernel_tap_and_position():
    model = Sequential(Conv1d(1, 2, 3, padding=1, seed=0), ReLU(), Flatten(), Linear(10, 1, seed=1))
    conv = model.layers[0]
    assert conv.weight[0][0][2].scope.path == "L1.k0.w2"
    assert conv.bias[1].scope.path == "L1.k1.b"
    out = conv([[0.5, -1.0, 2.0, 1.0, 0.0]])
    assert [v.scope.path for v in out[1]] == [f"L1.k1.p{t}" for t in range(5)]
    assert {v.scope.kind for row in out for v in row} == {"position"}
    assert out[0][0].scope.find("channel").path == "L1.k0"
    assert out[0][0].scope.find("layer") is conv.scope

    names = set(explain(model([[0.5, -1.0, 2.0, 1.0, 0.0]])).names.values())
    assert not [n for n in names if re.fullmatch(r"[a-z]|v\d+", n)], names
    # w2 of kernel 0 times x4 at position 3 (window x2, x3, x4), its running sums
    assert {"x0", "x4", "L1.k0.w2", "L1.k0.p3.w2x4", "L1.k0.p3.w0x2", "L1.k0.p3.s0",
            "L1.k0.p3.s1", "L1.k0.p3.out", "L1.k0.p0.w1x0", "L1.k1.b"} <= names
    assert "L1.k0.p0.w0x-1" not in " ".join(names)            # padding makes no node


def test_several_input_channels_name_channel_and_tap():
    conv = Conv1d(2, 1, 2, bias=False, seed=0)
    assert conv.weight[0][1][0].scope.path == "k0.w1_0"
    names = set(explain(sum(conv([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])[0], Value(0.0))).names
                .values())
    # no bias: the first product starts the sum, s1 adds the second term
    assert {"x0_0", "x1_2", "k0.p1.w0_0x0_1", "k0.p1.w1_1x1_2", "k0.p1.s1", "k0.p1.s2",
            "k0.p1.out"} <= names


def test_a_kernel_weights_gradient_is_the_sum_over_the_positions_that_use_it():
    conv = Conv1d(1, 1, 3, padding=1, seed=0)
    x = [0.5, -1.0, 2.0, 1.5]
    targets = [1.0, 0.0, -1.0, 0.5]
    out = conv([x])[0]
    loss = sum(((y - t) ** 2 for y, t in zip(out, targets)), Value(0.0))
    loss.backward()
    w2 = conv.weight[0][0][2]                # reads x[t + 1]: every position but the last
    upstream = [2 * (y.data - t) for y, t in zip(out, targets)]
    assert w2.grad == pytest.approx(sum(upstream[t] * x[t + 1] for t in range(3)), rel=1e-12)
    found = paths(loss, w2)
    assert len(found) == 3                     # position 3 reads the padding: no node, no path
    assert [p.nodes[1] for p in found] == ["k0.p2.w2x3", "k0.p1.w2x2", "k0.p0.w2x1"]
    assert found.total == pytest.approx(w2.grad, rel=1e-12)
    assert "k0.w2 is used 3 times: 3 paths" in found.summary()
    assert len(paths(loss, conv.weight[0][0][1])) == 4
    assert len(paths(loss, conv.bias[0])) == 4
    assert w2.grad == pytest.approx(found.grad)


@pytest.mark.parametrize("collapse, boxes", [
    ("position", [f"position k{o}.p{t}" for o in range(2) for t in range(4)]),
    ("channel", ["channel k0", "channel k1"]),
    ("layer", ["layer"]),
])
def test_draw_graph_folds_by_position_channel_or_layer(collapse, boxes):
    conv = Conv1d(1, 2, 2, seed=0)
    loss = sum((v * v for row in conv([[1.0, -0.5, 2.0, 0.25, 1.0]]) for v in row), Value(0.0))
    loss.backward()
    source = draw_graph(loss, collapse=collapse).source
    for box in boxes:
        assert f'label="{box}\\n' in source, box
    assert source.count(f'label="{collapse}') == len(boxes) + 1   # and the legend's "(folded)"
    weights = {f"k{o}.w{k}" for o in range(2) for k in range(2)}
    drawn = set(re.findall(r"k\d\.w\d", source))
    # folding by position leaves the shared weights outside, each with an edge per use
    assert (weights <= drawn) == (collapse == "position")


def test_paths_and_pictures_only_look_at_a_convolution():
    conv = Conv1d(1, 1, 2, seed=0)
    loss = sum(conv([[1.0, 2.0, 3.0]])[0], Value(0.0))
    loss.backward()
    before = [p.grad for p in conv.parameters()]
    paths(loss, conv.weight[0][0][0])
    assert draw_graph(loss, collapse="position").source
    assert [p.grad for p in conv.parameters()] == before


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-2.0, 2.0), min_size=5, max_size=5))
def test_gradcheck_through_a_convolution(x):
    conv = Conv1d(1, 2, 3, stride=2, padding=1, seed=0)
    assert gradcheck(lambda *xs: sum((v * v for row in conv([list(xs)]) for v in row),
                                     Value(0.0)), x)


def test_a_window_of_padding_only_gives_the_bias_or_zero():
    with_bias = Conv1d(1, 1, 2, padding=2, seed=0)
    out = with_bias([[3.0]])[0]                  # windows (0,0), (0,3), (3,0), (0,0)
    b, (w0, w1) = with_bias.bias[0], with_bias.weight[0][0]
    assert [v.data for v in out] == pytest.approx([b.data, b.data + 3 * w1.data,
                                                   b.data + 3 * w0.data, b.data])
    assert b.scope.kind == "parameter"           # the bias itself is never retagged
    sum(out, Value(0.0)).backward()
    assert b.grad == 4.0
    without = Conv1d(1, 1, 2, padding=2, bias=False, seed=0)
    assert without([[3.0]])[0][0].data == 0.0


# ---------------------------------------------------------------- in a network

def test_sequential_tells_a_signal_from_a_batch_of_signals():
    model = Sequential(Conv1d(1, 2, 3, seed=0), ReLU(), Flatten(), Linear(4, 1, seed=1))
    signal = [[0.5, -1.0, 2.0, 1.0]]
    one = model(signal)
    assert isinstance(one, Value)
    batch = model([signal, [[1.0, 1.0, 1.0, 1.0]]])
    assert isinstance(batch, list) and len(batch) == 2 and batch[0].data == one.data
    assert Sequential(Flatten(), Linear(4, 1, seed=1))(signal).data == \
        Linear(4, 1, seed=1)([0.5, -1.0, 2.0, 1.0])[0].data


def test_activation_and_flatten_take_channels():
    channels = [[-1.0, 2.0], [3.0, -4.0]]
    assert values(ReLU()(channels)) == [[0.0, 2.0], [3.0, 0.0]]
    assert Flatten()(channels) == [-1.0, 2.0, 3.0, -4.0]
    assert Flatten()([1.0, 2.0]) == [1.0, 2.0]
    assert repr(Flatten()) == "Flatten()"


def test_fit_trains_a_conv_net_to_detect_a_pattern():
    X, y = nn.data.make_pattern_signals(40, 8, noise=0.05, seed=0)
    model = Sequential(Conv1d(1, 2, 3, seed=0), ReLU(), Flatten(), Linear(12, 1, seed=1))
    history = nn.fit(model, X, y, loss="bce", optimizer=nn.Adam(model.parameters(), lr=0.1),
                     epochs=25, batch_size=10, progress=False)
    assert history.loss[-1] < 0.2 * history.loss[0]
    assert history.accuracy[-1] >= 0.95


def test_compiled_training_of_a_conv_net_equals_the_engines():
    """fit(compile=True) flattens a signal's channels into the compiled code's inputs and
    gives them back to the model as channels; Dropout draws one mask over every entry."""
    X, y = nn.data.make_pattern_signals(30, 8, noise=0.05, seed=3)
    trained = []
    for compile in (False, True):
        model = Sequential(Conv1d(1, 2, 3, seed=0), ReLU(), Dropout(0.2, seed=1), Flatten(),
                           Linear(12, 1, seed=1))
        history = nn.fit(model, X, y, loss="bce", optimizer=nn.Adam(model.parameters(), lr=0.1),
                         epochs=4, batch_size=10, progress=False, compile=compile)
        trained.append((history.loss, model.state_dict()))
    (loss, state), (compiled_loss, compiled_state) = trained
    assert compiled_loss == pytest.approx(loss, rel=1e-12)
    assert compiled_state == pytest.approx(state, rel=1e-12, abs=1e-14)


def test_residual_and_dropout_take_channels():
    conv = Conv1d(2, 2, 3, padding=1, seed=0)
    x = [[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]]
    fx = values(conv(x))
    assert values(Residual(conv)(x)) == [[a + b for a, b in zip(r, q)] for r, q in zip(x, fx)]
    with pytest.raises(ValueError, match=r"f maps channels of lengths \[3, 3\] to \[1, 1\]"):
        Residual(Conv1d(2, 2, 3, seed=0))(x)
    with pytest.raises(ValueError, match=r"lengths \[3, 3\] to \[6\]"):
        Residual(Sequential(Conv1d(2, 2, 3, padding=1, seed=0), Flatten()))(x)
    dropout = Dropout(0.5, seed=0)
    dropped = values(dropout([[1.0, 2.0], [3.0, 4.0]]))
    assert len(dropout.mask) == 4                            # one mask over every entry
    assert [v for row in dropped for v in row] == [2.0 * m * v for m, v in
                                                  zip(dropout.mask, [1.0, 2.0, 3.0, 4.0])]
    assert dropout.eval()(x) == x


def test_repr():
    assert repr(Conv1d(2, 4, 3, seed=0)) == "Conv1d(2, 4, kernel_size=3)"
    assert repr(Conv1d(1, 1, 5, stride=2, padding=1, bias=False, seed=0)) == \
        "Conv1d(1, 1, kernel_size=5, stride=2, padding=1, bias=False)"


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("make, error, match", [
    (lambda: Conv1d(1.0, 2, 3), ValueError, r"Conv1d\(in_channels\) must be a positive int, "
                                            r"got 1\.0"),
    (lambda: Conv1d(1, 0, 3), ValueError, r"Conv1d\(out_channels\) must be a positive int"),
    (lambda: Conv1d(1, 1, 2.5), ValueError, r"Conv1d\(kernel_size\) .* got 2\.5"),
    (lambda: Conv1d(1, 1, 3, stride=0), ValueError, r"Conv1d\(stride\)"),
    (lambda: Conv1d(1, 1, 3, padding=-1), ValueError, r"Conv1d\(padding\) must be an int >= 0"),
    (lambda: Conv1d(1, 1, 3, padding="same"), ValueError, r"Conv1d\(padding\)"),
    (lambda: Conv1d(1, 1, 3, bias=1), TypeError, r"Conv1d\(bias\) must be True or False"),
    (lambda: Conv1d(1, 1, True), ValueError, r"kernel_size"),
])
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("x, error, match", [
    ([[1.0, 2.0, 3.0]], ValueError, r"takes one signal of 2 channels.*got 1 channel$"),
    ([[1.0, 2.0], [1.0, 2.0], [3.0, 4.0]], ValueError, "got 3 channels"),
    ([[1.0, 2.0, 3.0], [1.0, 2.0]], ValueError, r"lengths \[3, 2\]"),
    ([[], []], ValueError, r"lengths \[0, 0\]"),
    ([[1.0], [2.0]], ValueError, r"kernel \(3 taps\) is longer than the padded input "
                                 r"\(length 1 \+ 2 \* padding 0 = 1\)"),
    ([[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]] * 2, ValueError, r"a batch of 2 signals; call "
                                                           r"nn.Sequential\(conv\)"),
    ("signal", TypeError, "got str"),
    (3.0, TypeError, "got float"),
    ([[1.0, "a", 2.0], [1.0, 2.0, 3.0]], TypeError, "str"),
])
def test_bad_inputs_are_named(x, error, match):
    conv = Conv1d(2, 1, 3, seed=0)
    with pytest.raises(error, match=match):
        conv(x)


def test_a_flat_list_to_a_one_channel_convolution_says_to_wrap_it():
    with pytest.raises(ValueError, match=r"wrap one channel in a list: \[\[x0, x1, ...\]\]"):
        Conv1d(1, 1, 2, seed=0)([1.0, 2.0, 3.0])

"""A 1-D convolution on scalar Values: one small kernel slid along a signal (PyTorch's
nn.Conv1d, unbatched).

For an input of C channels of length L, output channel o at position t is

    y[o][t] = b[o] + sum_c sum_k w[o][c][k] * x[c][t*stride + k - padding]

with t = 0 .. L_out - 1, L_out = (L + 2*padding - kernel_size) // stride + 1. The same
kernel weight w[o][c][k] is used at every position t: one node with many uses, so the chain
rule sums its gradient over them, dL/dw[o][c][k] = sum_t dL/dy[o][t] * x[c][t*stride + k -
padding]. The zeros of the padding are not made into nodes (zero times w adds nothing to a
value and nothing to a gradient), so ``paths(loss, w)`` lists one path per position that
really uses w.

Names (for ``explain``, pictures, ``paths``): output channel o is a scope of kind
``channel`` named ``k{o}`` (its kernel) inside the layer; it holds the parameters ``w{k}``
(``w{c}_{k}`` when there are several input channels) and ``b``, so a weight is
``L1.k0.w2`` inside a Sequential and ``k0.w2`` on its own. Each output number carries a
scope of kind ``position`` named ``p{t}`` inside its channel: ``k0.p3.out``; the products
and running sums behind it are ``k0.p3.w2x5`` (w2 times the input x5) and ``k0.p3.s1``.
Inputs given as numbers become leaves ``x{i}`` (``x{c}_{i}``). So ``draw_graph(loss,
collapse="position")`` draws one box per output number with the shared weights outside,
each with an edge to every position that uses it; ``collapse="channel"`` one box per output
channel, its kernel inside; ``collapse="layer"`` the whole convolution as one box.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from autograd.value import Scope, Value
from nn import init as _init
from nn.arguments import Seed, count, flag, show, weights_rng
from nn.layers import _parameter_of, _pytorch_uniform, is_batch
from nn.module import Module, _input_scope

__all__ = ["Conv1d"]

_CHANNEL_INPUT_SCOPES: dict[tuple[int, int], Scope] = {}


def _channel_input_scope(c: int, i: int) -> Scope:
    """The scope that names entry i of input channel c ``x{c}_{i}`` (one per place, shared)."""
    scope = _CHANNEL_INPUT_SCOPES.get((c, i))
    if scope is None:
        scope = _CHANNEL_INPUT_SCOPES[c, i] = Scope("input", f"x{c}_{i}")
    return scope


class Conv1d(Module):
    """``y[o][t] = b[o] + sum_c sum_k w[o][c][k] x[c][t*stride + k - padding]``: a kernel of
    ``kernel_size`` taps per input channel, slid with ``stride`` over the input padded with
    ``padding`` zeros at both ends (PyTorch's nn.Conv1d with dilation 1, one group).

    Called on one sample, a list of ``in_channels`` lists of equal length L (numbers or
    Values), it returns ``out_channels`` lists of L_out = (L + 2 padding - kernel_size) //
    stride + 1 Values. A batch (a list of samples) goes through ``nn.Sequential``, as for
    ``Linear``: a Sequential that starts with a Conv1d takes one sample or a batch.

    ``weight[o][c][k]`` and ``bias[o]`` as in PyTorch (``bias`` is None when ``bias=False``);
    ``init=None`` draws both from PyTorch's default U(-1/sqrt(n), 1/sqrt(n)), n =
    in_channels * kernel_size (its kaiming-uniform bound); a scheme of ``nn.init`` draws the
    weights from it (fan_in n, fan_out out_channels * kernel_size) and starts the biases at 0.
    ``seed`` as for every nn module: an int for reproducible weights.
    """

    scope_kind = "layer"
    #: One sample is channels x positions: two levels of lists (Sequential reads this).
    sample_depth = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, init: Any = None,
                 seed: Seed = None) -> None:
        count(in_channels, "Conv1d(in_channels)")
        count(out_channels, "Conv1d(out_channels)")
        count(kernel_size, "Conv1d(kernel_size)")
        self.stride = count(stride, "Conv1d(stride)")
        self.padding = count(padding, "Conv1d(padding)", low=0)
        flag(bias, "Conv1d(bias)")
        rng = weights_rng(seed)
        draw = _pytorch_uniform if init is None else _init.get(init)
        fan_in, fan_out = in_channels * kernel_size, out_channels * kernel_size
        self._channels = [Scope("channel", f"k{o}", self.scope, owner=self)
                          for o in range(out_channels)]
        self.weight = [[[_parameter_of(kernel, f"w{_place(c, k, in_channels)}",
                                       draw(rng, fan_in, fan_out))
                         for k in range(kernel_size)] for c in range(in_channels)]
                       for kernel in self._channels]
        self.bias: Optional[list[Value]] = None
        if bias:
            self.bias = [_parameter_of(kernel, "b", draw(rng, fan_in, fan_out)
                                       if init is None else 0.0) for kernel in self._channels]
        self._positions: dict[tuple[int, int], Scope] = {}     # (o, t) -> scope p{t}
        self._where: dict[Scope, tuple[int, int]] = {}         # and back
        self._taps = [{w: (c, k) for c, row in enumerate(kernel) for k, w in enumerate(row)}
                      for kernel in self.weight]

    @property
    def in_channels(self) -> int:
        return len(self.weight[0])

    @property
    def out_channels(self) -> int:
        return len(self.weight)

    @property
    def kernel_size(self) -> int:
        return len(self.weight[0][0])

    def output_length(self, length: int) -> int:
        """L_out = (L + 2 padding - kernel_size) // stride + 1 for an input of length L."""
        return (length + 2 * self.padding - self.kernel_size) // self.stride + 1

    def __call__(self, x: Sequence[Sequence[Any]]) -> list[list[Value]]:
        """The convolution of one sample (``in_channels`` lists of length L): ``out_channels``
        lists of L_out Values; ``y[o][t]`` carries the scope ``k{o}.p{t}``."""
        signal = self._signal(x)
        length = len(signal[0])
        start = -self.padding
        outputs = []
        for o, kernel in enumerate(self.weight):
            row = []
            for t in range(self.output_length(length)):
                act = self.bias[o] if self.bias is not None else None
                for xc, wc in zip(signal, kernel):
                    for k, w in enumerate(wc):
                        i = start + t * self.stride + k
                        if 0 <= i < length:   # a zero of the padding adds nothing
                            act = w * xc[i] if act is None else act + w * xc[i]
                if act is None or act.is_leaf:   # a window of padding only: 0 (+ the bias)
                    act = Value(0.0) if act is None else act + 0.0
                act.scope = self._position(o, t)
                row.append(act)
            outputs.append(row)
        return outputs

    def _signal(self, x: Any) -> list[list[Value]]:
        """One sample checked (channels, lengths, the kernel fits) and made of Values."""
        channels = self.in_channels
        what = (f"{self!r} takes one signal of {channels} channel{'s' * (channels > 1)}: a list "
                f"of {channels} list{'s' * (channels > 1)} of numbers of equal length")
        if isinstance(x, (str, bytes)) or not isinstance(x, (list, tuple)):
            raise TypeError(f"{what}, got {type(x).__name__} {show(x)}")
        if is_batch(x, depth=2):
            raise ValueError(f"{what}, got a batch of {len(x)} signals; call "
                             f"nn.Sequential(conv) on a batch")
        if any(isinstance(row, (str, bytes)) or not isinstance(row, (list, tuple)) for row in x):
            hint = ("; wrap one channel in a list: [[x0, x1, ...]]" if channels == 1 else "")
            raise ValueError(f"{what}, got {show(x)}{hint}")
        if len(x) != channels:
            raise ValueError(f"{what}, got {len(x)} channel{'s' * (len(x) != 1)}")
        lengths = {len(row) for row in x}
        if len(lengths) > 1 or 0 in lengths:
            raise ValueError(f"{what}, got channels of lengths {[len(row) for row in x]}")
        length = lengths.pop()
        if length + 2 * self.padding < self.kernel_size:
            raise ValueError(
                f"{self!r}: the kernel ({self.kernel_size} taps) is longer than the padded "
                f"input (length {length} + 2 * padding {self.padding} = "
                f"{length + 2 * self.padding}); use a longer signal, a smaller kernel_size or "
                f"more padding")
        return [[_input(v, c, i, channels) for i, v in enumerate(row)] for c, row in enumerate(x)]

    def _position(self, o: int, t: int) -> Scope:
        scope = self._positions.get((o, t))
        if scope is None:
            scope = self._positions[o, t] = Scope("position", f"p{t}", self._channels[o],
                                                  owner=self)
            self._where[scope] = (o, t)
        return scope

    def local_names(self, output: Value) -> dict[Value, str]:
        """The products ``w2x5`` (kernel tap w2 times input x5) and running sums ``s0, s1,
        ...`` behind ``y[o][t]``, named inside its position (``k0.p3.w2x5``); ``s_j`` is the
        sum up to term j, as in a Linear's neuron. Found by walking back from the output."""
        where = self._where.get(output.scope)
        if where is None:
            return {}
        o, t = where
        taps = self._taps[o]
        products: list[Value] = []   # the last term first
        sums: list[Value] = []
        act = output
        while act.op == "+" and act.inputs[1].op == "*" and act.inputs[1].inputs[0] in taps:
            sums.append(act)
            products.append(act.inputs[1])
            act = act.inputs[0]
        if act.op == "*" and act.inputs[0] in taps:   # the first term of a sum without bias
            products.append(act)
        n, channels = len(products), self.in_channels
        names: dict[Value, str] = {}
        for product in products:
            c, k = taps[product.inputs[0]]
            i = t * self.stride + k - self.padding
            names[product] = f"w{_place(c, k, channels)}x{_place(c, i, channels)}"
        for m, total in enumerate(sums[1:], start=1):   # sums[0] is the output itself
            names[total] = f"s{n - 1 - m}"
        return names

    def architecture(self) -> dict:
        return {"type": "Conv1d", "in_channels": self.in_channels,
                "out_channels": self.out_channels, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding, "bias": self.bias is not None}

    def __repr__(self) -> str:
        extra = "".join(f", {name}={value}" for name, value, default in (
            ("stride", self.stride, 1), ("padding", self.padding, 0),
            ("bias", self.bias is not None, True)) if value != default)
        return (f"Conv1d({self.in_channels}, {self.out_channels}, "
                f"kernel_size={self.kernel_size}{extra})")


def _place(c: int, k: int, channels: int) -> str:
    """Place k of channel c in a name: ``k`` for one channel (``w2``, ``x5``), ``c_k`` for
    several (``w1_2``, ``x1_5``)."""
    return f"{k}" if channels == 1 else f"{c}_{k}"


def _input(v: Any, c: int, i: int, channels: int) -> Value:
    """Entry i of input channel c as a Value: a number becomes the leaf ``x{i}`` (one channel,
    as a flat input) or ``x{c}_{i}``, shared by every position that reads it."""
    if isinstance(v, Value):
        return v
    value = Value(v)
    value.scope = _input_scope(i) if channels == 1 else _channel_input_scope(c, i)
    return value


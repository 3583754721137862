"""Recurrent networks: an RNN cell, the RNN unrolled over a sequence, and truncated
backpropagation through time (``tbptt``).

One step of the recurrence (PyTorch's nn.RNNCell):

    h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)

Unrolled over T steps, the same weights appear T times in one graph, and ``backward()``
through it is backpropagation through time (BPTT): each weight's gradient is the sum of
its contributions at every step. Each step's outputs carry a scope of kind ``step`` named
``t1, t2, ...`` inside the RNN's scope, so ``draw_graph(loss, collapse="step")`` draws one
box per time step.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Callable, Optional, Sequence

from autograd.value import Scope, Value
from nn.layers import _pytorch_uniform, _tag, sample
from nn.arguments import Seed, count, show, weights_rng
from nn.module import Module, _preview
from nn.optim import Optimizer, clip_grad_norm_
from nn.train import History

__all__ = ["RNNCell", "RNN", "tbptt"]

NONLINEARITIES = ("tanh", "relu")


class RNNCell(Module):
    """One step of an Elman RNN: ``h' = f(W_ih x + b_ih + W_hh h + b_hh)``, f = tanh or relu.

    ``weight_ih[j][i]``, ``weight_hh[j][k]``, ``bias_ih[j]``, ``bias_hh[j]`` as in PyTorch,
    all drawn from U(-1/sqrt(nhidden), 1/sqrt(nhidden)). ``cell(x, h=None)`` returns the new
    hidden state, a list of ``nhidden`` Values (``h=None``: zeros).
    """

    scope_kind = "rnncell"

    def __init__(self, nin: int, nhidden: int, bias: bool = True, nonlinearity: str = "tanh",
                 seed: Seed = None) -> None:
        count(nin, "RNNCell(nin)")
        count(nhidden, "RNNCell(nhidden)")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu' (PyTorch's choices), got "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        rng = weights_rng(seed)

        def draw(name: str) -> Value:
            return self._parameter(Value(_pytorch_uniform(rng, nhidden, nhidden)), name)

        self.weight_ih = [[draw(f"W_ih[{j},{i}]") for i in range(nin)] for j in range(nhidden)]
        self.weight_hh = [[draw(f"W_hh[{j},{k}]") for k in range(nhidden)]
                          for j in range(nhidden)]
        self.bias_ih: Optional[list[Value]] = None
        self.bias_hh: Optional[list[Value]] = None
        if bias:
            self.bias_ih = [draw(f"b_ih[{j}]") for j in range(nhidden)]
            self.bias_hh = [draw(f"b_hh[{j}]") for j in range(nhidden)]

    @property
    def nin(self) -> int:
        return len(self.weight_ih[0])

    @property
    def nhidden(self) -> int:
        return len(self.weight_hh)

    def __call__(self, x: Any, h: Optional[Sequence[Any]] = None) -> list[Value]:
        """The next hidden state f(W_ih x + b_ih + W_hh h + b_hh), tagged with the cell's scope."""
        return _tag(self.step(x, h), self.scope)

    def step(self, x: Any, h: Optional[Sequence[Any]]) -> list[Value]:
        """The next hidden state, untagged (``RNN`` tags it with the time step)."""
        x = sample(x, self.nin, self)
        h = [0.0] * self.nhidden if h is None else self._hidden(h, "h")
        out = []
        for j in range(self.nhidden):
            act = None
            if self.bias_ih is not None:
                act = self.bias_ih[j] + self.bias_hh[j]
            for w, xi in zip(self.weight_ih[j], x):
                act = w * xi if act is None else act + w * xi
            for w, hk in zip(self.weight_hh[j], h):
                act = act + w * hk
            out.append(act.tanh() if self.nonlinearity == "tanh" else act.relu())
        return out

    def _hidden(self, h: Any, name: str) -> list:
        """The hidden state ``h`` as a list of ``nhidden`` entries, or an error naming it."""
        if isinstance(h, (Value, Real)) and self.nhidden == 1:
            return [h]
        if not isinstance(h, (list, tuple)) or len(h) != self.nhidden:
            got = (f"{len(h)} entries {_preview(h)}" if isinstance(h, (list, tuple))
                   else f"{type(h).__name__} {show(h)}")
            raise ValueError(f"{self!r}: the hidden state {name} must be a list of nhidden = "
                             f"{self.nhidden} numbers or Values, got {got}")
        return list(h)

    def architecture(self) -> dict:
        return {"type": "RNNCell", "nin": self.nin, "nhidden": self.nhidden,
                "bias": self.bias_ih is not None, "nonlinearity": self.nonlinearity}

    def __repr__(self) -> str:
        return f"RNNCell({self.nin}, {self.nhidden}, nonlinearity={self.nonlinearity!r})"


class RNN(Module):
    """An RNN cell unrolled over a sequence: ``rnn(xs, h0=None) -> (outputs, h_last)``
    (PyTorch's nn.RNN with one layer, on one unbatched sequence).

    ``xs`` is a list of T inputs (each a list of ``nin`` numbers or Values, or one number
    when ``nin == 1``); ``outputs[t]`` is the hidden state after step t+1 (a list of
    ``nhidden`` Values) and ``h_last`` is ``outputs[-1]``. Step t's outputs carry a scope of
    kind ``step`` named ``t{t+1}`` inside the RNN's, for ``draw_graph(collapse="step")``.
    """

    scope_kind = "rnn"

    def __init__(self, nin: int, nhidden: int, bias: bool = True, nonlinearity: str = "tanh",
                 seed: Seed = None) -> None:
        self.cell = RNNCell(nin, nhidden, bias, nonlinearity, seed)
        self._adopt(self.cell, "cell")

    def __call__(self, xs: Sequence[Any], h0: Optional[Sequence[Any]] = None
                 ) -> tuple[list[list[Value]], list[Value]]:
        if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence) or len(xs) == 0:
            raise ValueError(f"{self!r} takes a non-empty sequence (a list of inputs, one per "
                             f"time step), got {_preview(xs)}")
        h = None if h0 is None else self.cell._hidden(h0, "h0")
        outputs = []
        for t, x in enumerate(xs):
            h = self.cell.step(x, h)
            _tag(h, Scope("step", f"t{t + 1}", self.scope, owner=self))
            outputs.append(h)
        return outputs, outputs[-1]

    def architecture(self) -> dict:
        return {**self.cell.architecture(), "type": "RNN"}

    def __repr__(self) -> str:
        cell = self.cell
        return f"RNN({cell.nin}, {cell.nhidden}, nonlinearity={cell.nonlinearity!r})"


def tbptt(model: Callable, xs: Sequence[Any], targets: Sequence[Any], loss: Callable,
          optimizer: Optimizer, k: int, clip: Optional[float] = None,
          h0: Optional[Sequence[Any]] = None) -> History:
    """One pass of truncated backpropagation through time over a long sequence.

    The sequence is cut into chunks of ``k`` steps. For each chunk: ``outputs, h =
    model(chunk, h)``, ``loss(outputs, chunk_targets)``, backward, the gradient norm clipped to
    ``clip``, ``optimizer.step()``; then ``h`` is detached, so the next chunk starts from its
    value but no gradient flows back past the cut. ``k >= len(xs)`` is full BPTT.

    ``model(xs, h) -> (outputs, h_last)`` is an ``RNN`` or any module with that call (an RNN
    and a readout). Returns a ``History`` with one entry per chunk: ``loss`` (before the
    update) and ``grad_norm`` (the gradient's norm before clipping).
    """
    count(k, "tbptt(k)")
    if len(xs) != len(targets):
        raise ValueError(f"tbptt: {len(xs)} inputs but {len(targets)} targets; give one target "
                         "per time step")
    params = optimizer.params
    history = History(loss=[], grad_norm=[])
    h = h0
    for start in range(0, len(xs), k):
        outputs, h = model(xs[start:start + k], h)
        chunk_loss = loss(outputs, targets[start:start + k])
        optimizer.zero_grad()
        chunk_loss.backward()
        history["grad_norm"].append(clip_grad_norm_(params, math.inf if clip is None else clip))
        optimizer.step()
        history["loss"].append(chunk_loss.data)
        h = [v.detach() if isinstance(v, Value) else v for v in h]  # the cut: no gradient past it
    return history

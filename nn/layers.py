"""PyTorch-style layers: Linear, activations, Sequential, Residual, Dropout, Flatten.

A layer maps one sample (a list of Values or numbers; a single number is a list of one) to a
list of Values; a ``Conv1d``'s sample is a list of channels (lists), which the activations,
``Residual`` and ``Dropout`` take too and ``Flatten`` turns into one list. ``Sequential`` chains layers and, like
``MLP``, returns one Value when the last layer has one output. Called on a batch (a list of
samples), ``Sequential`` and ``Residual`` return one output per sample: modules that need
the whole batch at once (``BatchNorm1d``) get it, the others are called on each sample in
turn.

Scopes (for ``draw_graph(collapse=...)`` and traces): a ``Linear`` is a ``layer`` whose
output ``j`` is made by a ``neuron`` scope ``N{j+1}`` holding ``w0, w1, ..., b``, so
``collapse="neuron"`` and ``"layer"`` fold it as they fold an MLP; every other module's
outputs carry its own scope (kind ``activation``, ``dropout``, ``residual``, ...).
"""

from __future__ import annotations

import contextlib
import math
import random
from numbers import Real
from typing import Any, Iterator, Optional, Sequence, Union

from autograd import ops
from autograd.value import Scope, Value
from nn import init as _init
from nn.arguments import Seed, count, weights_rng
from nn.module import (LINEAR, Module, _check_activation, _preview, input_values,
                       weighted_sum_names)

__all__ = ["Linear", "Activation", "ReLU", "Tanh", "Sigmoid", "LeakyReLU", "Sequential",
           "Residual", "Dropout", "Flatten", "is_batch", "sample_depth", "call_on_batch",
           "flatten_sample", "unflatten_sample"]

Sample = Union[Sequence[Any], Value, float]


def is_batch(x: Any, depth: int = 1) -> bool:
    """True for a batch (a list of samples), False for one sample, where a sample is
    ``depth`` levels of lists: 1 for a list of features, 2 for a Conv1d's channels of a
    signal (see ``sample_depth``)."""
    for _ in range(depth):
        if not isinstance(x, (list, tuple)) or len(x) == 0:
            return False
        x = x[0]
    return isinstance(x, (list, tuple))


def sample_depth(module: Any) -> int:
    """How many levels of lists one sample of ``module`` has: 2 for a ``Conv1d`` (channels of
    positions), and for a Sequential or Residual whose first module is one; else 1."""
    return getattr(module, "sample_depth", 1)


def call_on_batch(module: Any, rows: Sequence[Any]) -> list:
    """``module`` applied to every sample of ``rows``: one call on the whole batch if the
    module needs it (it contains BatchNorm), else one call per sample."""
    if isinstance(module, Module) and module.needs_batch():
        return list(module(list(rows)))
    return [module(row) for row in rows]


def sample(x: Any, n: Optional[int], who: Any) -> list:
    """One sample as a list (a single Value or number is a list of one), of length ``n``."""
    if isinstance(x, (Value, Real)):
        x = [x]
    elif not isinstance(x, (list, tuple)):
        raise TypeError(f"{who!r} takes a sample (a list of numbers or Values), got "
                        f"{type(x).__name__} {_preview(x)}")
    if n is not None and len(x) != n:
        hint = " (a batch? call nn.Sequential(module) on it)" if is_batch(x) else ""
        raise ValueError(f"{who!r} takes {n} inputs, got {len(x)}: {_preview(x)}{hint}")
    return list(x)


def flatten_sample(x: list) -> tuple[list, Optional[list[int]]]:
    """One sample's entries as one list, and the lengths of its channels (None for a flat
    sample) for ``unflatten_sample``: entrywise modules treat a signal's channels as one list."""
    if x and isinstance(x[0], (list, tuple)):
        return [v for row in x for v in row], [len(row) for row in x]
    return list(x), None


def unflatten_sample(flat: list, lengths: Optional[list[int]]) -> list:
    """The inverse of ``flatten_sample``: ``flat`` cut back into channels of ``lengths``."""
    if lengths is None:
        return flat
    rows, start = [], 0
    for n in lengths:
        rows.append(flat[start:start + n])
        start += n
    return rows


def _tag(outputs: list, scope: Scope) -> list[Value]:
    """The outputs of one module call, as Values that carry the module's scope."""
    tagged = [out if isinstance(out, Value) else Value(out) for out in outputs]
    for out in tagged:
        out.scope = scope
    return tagged


def _pytorch_uniform(rng: Any, fan_in: int, fan_out: int) -> float:
    """PyTorch's default for Linear and RNN weights and biases: U(-1/sqrt(n), 1/sqrt(n)),
    n = fan_in (the hidden size for an RNN)."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound)


class Linear(Module):
    """An affine map without activation: ``y_j = sum_i W_ji x_i + b_j`` (PyTorch's nn.Linear).

    ``weight[j][i]`` is W_ji (row j feeds output j); ``bias`` is None when ``bias=False``.
    ``init=None`` draws weights and biases from PyTorch's default U(-1/sqrt(nin), 1/sqrt(nin));
    a scheme of ``nn.init`` draws the weights from it and starts the biases at 0 (as Neuron).
    Returns a list of ``nout`` Values.
    """

    scope_kind = "layer"

    def __init__(self, nin: int, nout: int, bias: bool = True, init: Any = None,
                 seed: Seed = None) -> None:
        count(nin, "Linear(nin)")
        count(nout, "Linear(nout)")
        rng = weights_rng(seed)
        draw = _pytorch_uniform if init is None else _init.get(init)
        self._units = [Scope("neuron", f"N{j + 1}", self.scope, owner=self) for j in range(nout)]
        self.weight = [[_parameter_of(unit, f"w{i}", draw(rng, nin, nout)) for i in range(nin)]
                       for unit in self._units]
        self.bias: Optional[list[Value]] = None
        if bias:
            self.bias = [_parameter_of(unit, "b", draw(rng, nin, nout) if init is None else 0.0)
                         for unit in self._units]

    @property
    def nin(self) -> int:
        return len(self.weight[0])

    @property
    def nout(self) -> int:
        return len(self.weight)

    def __call__(self, x: Sample) -> list[Value]:
        """``W x + b`` for one sample: ``nout`` Values, output j tagged with neuron ``N{j+1}``."""
        x = input_values(sample(x, self.nin, self))
        outputs = []
        for j, (row, unit) in enumerate(zip(self.weight, self._units)):
            act = self.bias[j] if self.bias is not None else None
            for w, xi in zip(row, x):
                act = w * xi if act is None else act + w * xi
            act.scope = unit
            outputs.append(act)
        return outputs

    def local_names(self, output: Value) -> dict[Value, str]:
        """The products ``w0x0 ...`` and running sums ``s0 ...`` behind output j, named inside
        its unit ``N{j+1}`` (``L1.N2.w0x0``); see ``nn.module.weighted_sum_names``."""
        if output.scope not in self._units:
            return {}
        return weighted_sum_names(output, self.weight[self._units.index(output.scope)])

    def architecture(self) -> dict:
        return {"type": "Linear", "nin": self.nin, "nout": self.nout,
                "bias": self.bias is not None}

    def __repr__(self) -> str:
        return f"Linear({self.nin}, {self.nout}{', bias=False' if self.bias is None else ''})"


def _parameter_of(unit: Scope, name: str, data: float) -> Value:
    value = Value(data)
    value.scope = Scope("parameter", name, unit)
    return value


class Activation(Module):
    """A one-input op on every entry: ``y_i = f(x_i)`` (``Tanh()`` is ``Activation("tanh")``).

    ``name`` is any one-input op of ``autograd.ops``: ``relu``, ``tanh``, ``sigmoid``,
    ``leaky_relu`` (slope 0.01), ``softplus`` ... or one added with ``register_op``.
    """

    scope_kind = "activation"

    def __init__(self, name: str) -> None:
        if name == LINEAR:
            raise ValueError("Activation('linear') would do nothing; leave it out")
        self.name = _check_activation(name)

    def __call__(self, x: Sample) -> list:
        """``f`` on every entry: of a list, or of every channel of a Conv1d's output."""
        function = ops.lookup(self.name)
        flat, lengths = flatten_sample(sample(x, None, self))
        return unflatten_sample(_tag([function(v) for v in flat], self.scope), lengths)

    def architecture(self) -> dict:
        return {"type": "Activation", "name": self.name}

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"{kind}()" if kind != "Activation" else f"Activation({self.name!r})"


class ReLU(Activation):
    """relu(x) = max(0, x), entrywise."""

    def __init__(self) -> None:
        super().__init__("relu")


class Tanh(Activation):
    """tanh(x), entrywise."""

    def __init__(self) -> None:
        super().__init__("tanh")


class Sigmoid(Activation):
    """sigma(x) = 1 / (1 + e^-x), entrywise."""

    def __init__(self) -> None:
        super().__init__("sigmoid")


class LeakyReLU(Activation):
    """max(0, x) + 0.01 min(0, x), entrywise (PyTorch's default slope)."""

    def __init__(self) -> None:
        super().__init__("leaky_relu")


class Sequential(Module):
    """Modules applied in order: ``Sequential(f, g, h)(x) = h(g(f(x)))``.

    One sample in, the last module's output out (one Value if it has one entry, like
    ``MLP``). A batch (a list of samples) in, one output per sample out; a module that needs
    the whole batch (``BatchNorm1d``) is called on it at once. The modules are named
    ``L1, L2, ...`` in scopes and ``layers.0, layers.1, ...`` in ``state_dict``.
    """

    scope_kind = "sequential"

    def __init__(self, *modules: Module) -> None:
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = tuple(modules[0])
        if not modules:
            raise ValueError("Sequential needs at least one module")
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"Sequential takes nn modules; argument {i} is "
                                f"{type(module).__name__} {module!r:.40}")
        self.layers = list(modules)
        for i, module in enumerate(self.layers):
            self._adopt(module, f"L{i + 1}")

    @property
    def sample_depth(self) -> int:
        return sample_depth(self.layers[0])

    def __call__(self, x: Any) -> Any:
        if is_batch(x, self.sample_depth):
            rows = list(x)
            for module in self.layers:
                rows = call_on_batch(module, rows)
            return [_single(row) for row in rows]
        for module in self.layers:
            x = module(x)
        return _single(x)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def architecture(self) -> dict:
        return {"type": "Sequential", "layers": [m.architecture() for m in self.layers]}

    def __repr__(self) -> str:
        lines = [f"Sequential with {self.num_parameters()} parameters"]
        lines += [f"  ({i}): " + repr(module).replace("\n", "\n  ")
                  for i, module in enumerate(self.layers)]
        return "\n".join(lines)


def _single(out: Any) -> Any:
    return out[0] if isinstance(out, list) and len(out) == 1 else out


class Residual(Module):
    """A skip connection: ``y = x + f(x)`` for a module ``f`` that keeps the size of ``x``.

    The gradient reaches ``x`` twice, through ``f`` and straight along the identity path
    (dy/dx = 1 + df/dx), which is why deep stacks of residual blocks keep their gradients.
    """

    scope_kind = "residual"

    def __init__(self, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Residual takes an nn module, got {type(module).__name__}")
        self.module = module
        self._adopt(module, "f")

    @property
    def sample_depth(self) -> int:
        return sample_depth(self.module)

    def __call__(self, x: Any) -> list:
        if is_batch(x, self.sample_depth):
            return [self._add(row, out) for row, out in zip(x, call_on_batch(self.module, x))]
        return self._add(x, self.module(x))

    def _add(self, x: Sample, fx: Any) -> list:
        x, x_lengths = flatten_sample(sample(x, None, self))
        fx, fx_lengths = flatten_sample(sample(fx, None, self))
        if fx_lengths != x_lengths:   # a signal (channels of positions) on either side
            raise ValueError(f"{self!r}: x + f(x) needs f(x) of the shape of x, but f maps "
                             f"channels of lengths {x_lengths or [len(x)]} to "
                             f"{fx_lengths or [len(fx)]}; give the convolution as many output "
                             "channels as input channels and padding = (kernel_size - 1) / 2")
        if len(fx) != len(x):
            raise ValueError(f"{self!r}: x + f(x) needs f(x) of the size of x, but f maps "
                             f"{len(x)} inputs to {len(fx)} outputs; make the module map "
                             f"{len(x)} -> {len(x)} (e.g. Linear({len(x)}, {len(x)}))")
        return unflatten_sample(_tag([xi + fi for xi, fi in zip(x, fx)], self.scope), x_lengths)

    def architecture(self) -> dict:
        return {"type": "Residual", "module": self.module.architecture()}

    def __repr__(self) -> str:
        inner = repr(self.module)
        return f"Residual({inner})" if "\n" not in inner else \
            "Residual(\n  " + inner.replace("\n", "\n  ") + "\n)"


class Dropout(Module):
    """Inverted dropout: in training, ``y_i = x_i m_i / (1 - p)`` with ``m_i ~ Bernoulli(1 - p)``
    drawn afresh for every sample; in evaluation, ``y = x`` (the inputs themselves).

    Scaling by 1/(1 - p) keeps E[y_i] = x_i, so nothing changes at evaluation time.
    ``seed`` (an int) gives a private ``random.Random``: the same masks on every run, and
    the global ``random`` state is never touched (``seed=None``: a generator seeded by the
    system). ``mask`` is the last mask drawn (1 kept, 0 dropped).
    """

    scope_kind = "dropout"
    _feed: Optional["MaskFeed"] = None   # set while compiled code is traced

    def __init__(self, p: float = 0.5, seed: Optional[int] = None) -> None:
        if isinstance(p, bool) or not isinstance(p, Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout(p) is a probability in [0, 1], got {p!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"Dropout(seed) must be an int or None, got {seed!r}")
        self.p = float(p)
        self._rng = random.Random(seed)
        self.mask: list[int] = []

    def __call__(self, x: Sample) -> list:
        x = sample(x, None, self)
        if not self.training or self.p == 0.0:
            return x
        flat, lengths = flatten_sample(x)   # a signal's channels: one mask over every entry
        n = len(flat)
        factors = self.draw(n) if self._feed is None else self._feed.take(self, n)
        return unflatten_sample(_tag([xi * f for xi, f in zip(flat, factors)], self.scope),
                                lengths)

    def draw(self, n: int) -> list[float]:
        """A fresh mask for ``n`` inputs (kept into ``mask``) as factors: 1/(1 - p) or 0."""
        keep = 1.0 - self.p
        self.mask = [1 if self._rng.random() < keep else 0 for _ in range(n)]
        return [1.0 / keep if kept else 0.0 for kept in self.mask]

    def architecture(self) -> dict:
        return {"type": "Dropout", "p": self.p}

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class Flatten(Module):
    """One sample's channels joined into one list, channel after channel: ``[[a, b], [c, d]]``
    -> ``[a, b, c, d]`` (a flat list stays as it is). It makes no nodes: it hands a
    ``Conv1d``'s output to a ``Linear``. Its PyTorch twin is ``torch.nn.Flatten()``, which
    flattens each sample of a batch (start_dim=1)."""

    scope_kind = "flatten"
    #: It takes a Conv1d's output: a Sequential that starts with it takes signals.
    sample_depth = 2

    def __call__(self, x: Any) -> list:
        return flatten_sample(sample(x, None, self))[0]

    def architecture(self) -> dict:
        return {"type": "Flatten"}

    def __repr__(self) -> str:
        return "Flatten()"


class MaskFeed:
    """Dropout factors given from outside instead of drawn: how compiled code trains with
    dropout. While a feed is attached (``with feed.attached(model)``), every Dropout call
    in training mode takes its factors from ``values`` (the traced inputs) and is recorded in
    ``calls`` as ``(dropout, n)``; the compiled step then draws each row's masks with the
    Dropouts' own generators in that order, exactly the masks the engine would draw."""

    def __init__(self, values: Optional[Sequence[Any]] = None) -> None:
        self.values = None if values is None else list(values)
        self.calls: list[tuple[Dropout, int]] = []

    def take(self, dropout: Dropout, n: int) -> list:
        self.calls.append((dropout, n))
        if self.values is None:   # a dry run that only counts
            return [1.0] * n
        taken, self.values = self.values[:n], self.values[n:]
        return taken

    @contextlib.contextmanager
    def attached(self, model: Any) -> Iterator["MaskFeed"]:
        dropouts = [m for m in model.modules() if isinstance(m, Dropout)] \
            if isinstance(model, Module) else []
        for dropout in dropouts:
            dropout._feed = self
        try:
            yield self
        finally:
            for dropout in dropouts:
                dropout._feed = None

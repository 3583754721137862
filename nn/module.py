"""Module, Neuron, Layer, MLP: micrograd-compatible building blocks made of Values.

A ``Neuron(nin)`` computes ``act(sum_i w_i x_i + b)``; a ``Layer`` is ``nout`` neurons that
see the same inputs; an ``MLP(nin, nouts)`` chains layers, with the activation in every
hidden layer and a linear last layer (as in micrograd: ``MLP(2, [16, 16, 1])`` has 337
parameters and returns a single Value).

Scope tags (read by the graph pictures, ``draw_graph(collapse="neuron" | "layer")``):

* every parameter Value has ``_scope`` = the tuple of modules that own it, outermost first:
  a standalone Neuron sets ``(neuron,)``; building a Layer prepends the layer, building an
  MLP prepends the MLP, so in an MLP a weight has ``(mlp, layer, neuron)``;
* every output Value of ``Neuron.__call__`` gets ``_scope = (neuron,)``; ``Layer.__call__``
  prepends the layer to each output's ``_scope`` and ``MLP.__call__`` prepends the MLP to its
  output(s), so the final output of an MLP has ``(mlp, last_layer, neuron)``.

Only outputs and parameters are tagged (one tuple per neuron call, nothing per node).
Intermediate nodes have the slot unset, so readers use ``getattr(v, "_scope", None)``.
"""

from __future__ import annotations

import math
import random
from numbers import Real
from typing import Any, Mapping, NamedTuple, Optional, Sequence, Union

from autograd.ops import _sigmoid
from autograd.value import Value
from nn import init as _init

__all__ = ["Module", "Neuron", "Layer", "MLP", "ACTIVATIONS", "IncompatibleKeys"]

#: Activation name -> (function on a Value, function on a float).
ACTIVATIONS = {
    "relu": (Value.relu, lambda x: x if x > 0.0 else 0.0),
    "tanh": (Value.tanh, None),
    "sigmoid": (Value.sigmoid, None),
    "leaky_relu": (Value.leaky_relu, lambda x: x if x > 0.0 else 0.01 * x),
    "linear": (None, None),
}

Seed = Union[int, random.Random, None]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped: names missing from ``d`` and extra ones."""
    missing_keys: list
    unexpected_keys: list


def _rng(seed: Seed) -> Any:
    # seed=None draws from the global `random` (so micrograd's `random.seed(1337)` still
    # works); an int gets a private generator that leaves the global state alone.
    if seed is None or seed is random:
        return random
    if isinstance(seed, random.Random):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, a random.Random or None, got {seed!r}")
    return random.Random(seed)


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; use one of {list(ACTIVATIONS)}")
    return activation


def _check_count(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{what} must be a positive int, got {n!r}")
    return n


class Module:
    """Base class: finds parameters in attributes (Values, Modules, and lists of them).

    ``named_parameters()`` walks the attributes in the order they were set, so names are
    stable dotted paths such as ``layers.0.neurons.3.w.1``.
    """

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Value]]:
        """Every parameter with its dotted name, in definition order (micrograd's order)."""
        found: list[tuple[str, Value]] = []
        for name, item in vars(self).items():
            if name.startswith("_"):
                continue
            _collect(item, prefix + name, found)
        return found

    def parameters(self) -> list[Value]:
        """Every parameter Value, in the same order as ``named_parameters()``."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set ``p.grad = 0`` for every parameter (leaf gradients accumulate across backward)."""
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """``{name: p.data}`` for every parameter."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, d: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``d[name]`` into each parameter's ``data``.

        Everything is checked before anything changes: with ``strict=True`` a missing or an
        unexpected key raises ``KeyError``; any value that is not a real number raises
        ``TypeError``. On error the model is untouched. Returns the skipped keys
        (both empty when ``strict=True``).
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"load_state_dict needs a mapping name -> number, got "
                            f"{type(d).__name__}; use the result of state_dict() or nn.load")
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in d]
        unexpected = [name for name in d if name not in params]
        if strict and (missing or unexpected):
            raise KeyError(_key_error(type(self).__name__, missing, unexpected))
        updates = []
        for name, p in params.items():
            if name not in d:
                continue
            number = d[name]
            if isinstance(number, bool) or not isinstance(number, Real):
                raise TypeError(f"state_dict entry {name!r} must be a real number, got "
                                f"{type(number).__name__} {number!r:.40}; nothing was loaded")
            updates.append((p, float(number)))
        for p, number in updates:
            p.data = number
        return IncompatibleKeys(missing, unexpected)

    def architecture(self) -> Optional[dict]:
        """What is needed to rebuild this module's shape (saved by ``nn.save``), or None."""
        return None

    def num_parameters(self) -> int:
        """How many scalar parameters the module has."""
        return len(self.parameters())


def _collect(item: Any, name: str, found: list) -> None:
    if isinstance(item, Value):
        found.append((name, item))
    elif isinstance(item, Module):
        found.extend(item.named_parameters(name + "."))
    elif isinstance(item, (list, tuple)):
        for i, sub in enumerate(item):
            _collect(sub, f"{name}.{i}", found)


def _key_error(owner: str, missing: list, unexpected: list) -> str:
    parts = []
    if missing:
        parts.append(f"missing keys {_short(missing)}")
    if unexpected:
        parts.append(f"unexpected keys {_short(unexpected)}")
    return (f"state_dict does not match this {owner}: " + "; ".join(parts) +
            ". It was saved from a different architecture; nothing was loaded "
            "(use strict=False to load only the matching names)")


def _short(names: list) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return f"[{shown}{', ...' if len(names) > 5 else ''}] ({len(names)})"


def _tag(v: Value, owner: Module) -> None:
    v._scope = (owner,) + getattr(v, "_scope", ())


class Neuron(Module):
    """One neuron: ``act(sum_i w_i x_i + b)``; weights from ``init``, bias 0.

    ``activation`` is one of ``relu``, ``tanh``, ``sigmoid``, ``leaky_relu`` (slope 0.01),
    ``linear``. micrograd's ``nonlin=False`` is accepted and means ``linear``.
    """

    def __init__(self, nin: int, activation: str = "relu", init: Any = "uniform",
                 seed: Seed = None, fan_out: int = 1, nonlin: Optional[bool] = None) -> None:
        _check_count(nin, "Neuron(nin)")
        if nonlin is not None:
            activation = "relu" if nonlin else "linear"
        self.activation = _check_activation(activation)
        draw = _init.get(init)
        rng = _rng(seed)
        self.w = [Value(draw(rng, nin, fan_out)) for _ in range(nin)]
        self.b = Value(0.0)
        for p in self.w:
            p._scope = (self,)
        self.b._scope = (self,)

    def __call__(self, x: Sequence[Any]) -> Value:
        """act(w . x + b) for inputs ``x`` (floats or Values): one Value tagged with the neuron."""
        w = self.w
        if isinstance(x, (Value, Real)):
            x = [x]
        if len(x) != len(w):
            raise ValueError(f"{self!r} takes {len(w)} inputs, got {len(x)}: {_preview(x)}")
        act = self.b
        for wi, xi in zip(w, x):
            act = act + wi * xi
        fn = ACTIVATIONS[self.activation][0]
        out = fn(act) if fn is not None else act
        out._scope = (self,)
        return out

    def forward_floats(self, x: Sequence[float]) -> float:
        """The same output on plain floats (no graph): for plotting and evaluation."""
        act = self.b.data
        for wi, xi in zip(self.w, x):
            act += wi.data * xi
        name = self.activation
        if name == "linear":
            return act
        if name == "tanh":
            return math.tanh(act)
        if name == "sigmoid":
            return _sigmoid(act)
        return ACTIVATIONS[name][1](act)

    def architecture(self) -> dict:
        return {"type": "Neuron", "nin": len(self.w), "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons with the same ``nin`` inputs. Returns a list of Values (one Value if
    ``nout == 1``, as micrograd)."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", init: Any = "uniform",
                 seed: Seed = None, nonlin: Optional[bool] = None) -> None:
        _check_count(nin, "Layer(nin)")
        _check_count(nout, "Layer(nout)")
        if nonlin is not None:
            activation = "relu" if nonlin else "linear"
        _check_activation(activation)
        rng = _rng(seed)
        self.neurons = [Neuron(nin, activation, init, rng, fan_out=nout) for _ in range(nout)]
        for p in self.parameters():
            _tag(p, self)

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    def __call__(self, x: Sequence[Any]) -> Union[Value, list[Value]]:
        outs = [n(x) for n in self.neurons]
        for out in outs:
            out._scope = (self,) + out._scope
        return outs[0] if len(outs) == 1 else outs

    def forward_floats(self, x: Sequence[float]) -> list[float]:
        return [n.forward_floats(x) for n in self.neurons]

    def architecture(self) -> dict:
        return {"type": "Layer", "nin": len(self.neurons[0].w), "nout": len(self.neurons),
                "activation": self.activation}

    def __repr__(self) -> str:
        return (f"Layer({len(self.neurons[0].w)}, {len(self.neurons)}, "
                f"activation={self.activation!r})")


class MLP(Module):
    """A multi-layer perceptron: ``activation`` in every hidden layer, the last layer linear.

    ``MLP(2, [16, 16, 1])`` is micrograd's moons model (337 parameters). ``init`` names a
    scheme of ``nn.init``; ``seed`` (an int) makes the weights reproducible with a private
    ``random.Random``; ``seed=None`` draws from the global ``random`` like micrograd.
    Returns one Value when the last layer has one neuron, else a list of Values.
    """

    def __init__(self, nin: int, nouts: Sequence[int], activation: str = "relu",
                 init: Any = "uniform", seed: Seed = None) -> None:
        _check_count(nin, "MLP(nin)")
        if isinstance(nouts, int) or not nouts:
            raise ValueError(f"MLP(nouts) must be a non-empty list of layer sizes such as "
                             f"[16, 16, 1], got {nouts!r}")
        for n in nouts:
            _check_count(n, "every layer size in MLP(nouts)")
        _check_activation(activation)
        self.nin = nin
        self.nouts = list(nouts)
        self.activation = activation
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        rng = _rng(seed)
        sizes = [nin] + self.nouts
        last = len(self.nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], activation if i != last else "linear",
                             init, rng) for i in range(len(self.nouts))]
        for p in self.parameters():
            _tag(p, self)

    def __call__(self, x: Sequence[Any]) -> Union[Value, list[Value]]:
        for layer in self.layers:
            out = layer(x)
            x = [out] if isinstance(out, Value) else out
        for v in x:
            v._scope = (self,) + v._scope
        return x[0] if len(x) == 1 else x

    def forward_floats(self, x: Sequence[float]) -> Union[float, list[float]]:
        """The output on plain floats (no graph): fast evaluation for plots and metrics."""
        for layer in self.layers:
            x = layer.forward_floats(x)
        return x[0] if len(x) == 1 else x

    def architecture(self) -> dict:
        return {"type": "MLP", "nin": self.nin, "nouts": list(self.nouts),
                "activation": self.activation}

    def __repr__(self) -> str:
        lines = [f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}) with "
                 f"{self.num_parameters()} parameters"]
        lines += [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "\n".join(lines)


def _preview(x: Any) -> str:
    text = repr(list(x)) if not isinstance(x, (str, bytes)) else repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


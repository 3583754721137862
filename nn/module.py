"""Module, Neuron, Layer, MLP: micrograd-compatible building blocks made of Values.

A ``Neuron(nin)`` computes ``act(sum_i w_i x_i + b)``; a ``Layer`` is ``nout`` neurons that
see the same inputs; an ``MLP(nin, nouts)`` chains layers, with the activation in every
hidden layer and a linear last layer (as in micrograd: ``MLP(2, [16, 16, 1])`` has 337
parameters and returns a single Value).

Where each Value was made (read by the pictures, ``draw_graph(collapse="neuron" | "layer")``,
and by the names in traces): every module has an ``autograd.Scope`` (``module.scope``) of its
kind (``neuron``, ``layer``, ``mlp``), named by its place in its parent (``L1``, ``N3``), so a
neuron's path is ``L1.N3``. Every parameter's ``scope`` is a scope of kind ``parameter``
named ``w0``, ``b`` ... inside its neuron's, and every output of a neuron call carries the
neuron's scope. Numbers given as inputs become leaves of kind ``input`` named ``x0``, ``x1``
..., one per input shared by every neuron that reads it. Intermediate nodes carry nothing:
one pointer per module call. Their names are derived only when a trace or picture asks
(``autograd.display.node_names``): ``L1.N3.w0``, ``L1.N3.out``, and from
``Neuron.local_names`` the weighted sum ``L1.N3.z = b + w0·x0 + w1·x1 + ...``, its running
sums ``L1.N3.s0 = b + w0·x0``, ``s1 = s0 + w1·x1`` ... and products ``L1.N3.w0x0`` (in a
neuron's names ``x_i`` is its i-th input).

Modes and state besides parameters, as in PyTorch: ``module.training`` is True after
``train()`` and False after ``eval()``, set on every submodule (Dropout and BatchNorm act
differently); buffers (BatchNorm's running statistics, named by ``buffer_names``) are
numbers a module updates itself, saved with ``state_dict`` but never trained.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, Callable, Mapping, NamedTuple, Optional, Sequence, Union

from autograd import ops
from autograd.value import Scope, Value
from nn import init as _init
from nn.arguments import Seed, count, weights_rng

__all__ = ["Module", "Neuron", "Layer", "MLP", "IncompatibleKeys"]

#: The activations a neuron can have besides any one-input op of ``autograd.ops`` by name.
LINEAR = "linear"



class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped: names missing from ``d`` and extra ones."""
    missing_keys: list
    unexpected_keys: list




def _float_activation(op: Optional[ops.Op]) -> Callable[[float], float]:
    """An activation on floats: the op's own forward rule (leaky_relu with its default
    slope); relu's spelled out, as Value.relu does (its row is written with ops.where for
    the symbolic reading, one more call per neuron here)."""
    if op is None:  # linear
        return lambda x: x
    if op is ops.RELU:
        return lambda x: 0.0 if x <= 0.0 else x
    if op.has_param:
        return lambda x: op.forward(x, 0.01)
    return op.forward


# The float function of each activation's op, made once (forward_floats runs per neuron).
_float_activations: dict[Optional[ops.Op], Callable[[float], float]] = {}


def _check_activation(activation: str) -> str:
    """An activation name: "linear" or a one-input op (built-in or registered) by name."""
    if activation == LINEAR:
        return activation
    op = ops.OPS.get(activation) if isinstance(activation, str) else None
    if op is None or op.arity != 1 or activation not in ops.FUNCTIONS:
        known = [LINEAR] + sorted(n for n, o in ops.OPS.items() if o.arity == 1
                                  and n.isidentifier() and n in ops.FUNCTIONS)
        raise ValueError(f"unknown activation {activation!r}; use one of {known} (or "
                         "register a one-input op with autograd.register_op)")
    return activation




_INPUT_SCOPES: list[Scope] = []


def _input_scope(i: int) -> Scope:
    """The scope that names a model's i-th input ``x{i}`` (one per index, shared)."""
    while len(_INPUT_SCOPES) <= i:
        _INPUT_SCOPES.append(Scope("input", f"x{len(_INPUT_SCOPES)}"))
    return _INPUT_SCOPES[i]


def _inputs(module: "Module", x: Any, nin: int) -> list[Value]:
    """A module call's inputs as Values (see ``input_values``), checked to be ``nin``."""
    if isinstance(x, (Value, Real)):
        x = [x]
    if len(x) != nin:
        raise ValueError(f"{module!r} takes {nin} inputs, got {len(x)}: {_preview(x)}")
    return input_values(x)


def input_values(x: Sequence[Any]) -> list[Value]:
    """A model's inputs as Values: each number becomes one leaf ``x{i}``, so that every unit
    reading input i reads the same node (and dL/dx_i collects all their contributions).
    Done once per model call; the layers inside pass Values on."""
    values = []
    for i, xi in enumerate(x):
        if not isinstance(xi, Value):
            xi = Value(xi)
            xi.scope = _input_scope(i)
        values.append(xi)
    return values


def weighted_sum_names(act: Value, weights: Sequence[Value]) -> dict[Value, str]:
    """Names for the nodes of ``act = b + w0·x0 + w1·x1 + ...`` (or ``w0·x0 + ...``), found
    by walking back from it: the products ``w0x0, w1x1, ...`` and running sums ``s0, s1, ...``."""
    names: dict[Value, str] = {}
    for i in range(len(weights) - 1, -1, -1):  # act = (... + w_{i-1} x_{i-1}) + w_i x_i
        if act.op == "*" and act.inputs[0] is weights[i]:
            names[act] = f"w{i}x{i}"  # the first term of a sum without a bias
            break
        if act.op != "+":
            break
        total, term = act.inputs
        if term.op == "*" and term.inputs[0] is weights[i]:
            names[term] = f"w{i}x{i}"
        if i > 0 and total.op == "+":
            names[total] = f"s{i - 1}"
        act = total
    return names


class Module:
    """Base class: finds parameters in attributes (Values, Modules, and lists of them).

    ``named_parameters()`` walks the attributes in the order they were set, so names are
    stable dotted paths such as ``layers.0.neurons.3.w.1``. ``scope`` says where the
    module sits for pictures and traces; ``scope_kind`` (default: the class name in lowercase)
    is what ``draw_graph(collapse=...)`` folds by.
    """

    scope_kind = ""
    #: Training mode (Dropout drops, BatchNorm uses the batch's statistics); see ``train()``.
    training = True
    #: Names of attributes holding non-trained state (a number or a list of numbers) that
    #: ``state_dict`` saves, such as BatchNorm's ``running_mean``.
    buffer_names: tuple[str, ...] = ()

    @property
    def scope(self) -> Scope:
        """This module's place in a model, shared by everything it makes."""
        scope = self.__dict__.get("_scope")
        if scope is None:
            scope = self.__dict__["_scope"] = Scope(
                self.scope_kind or type(self).__name__.lower(), "", owner=self)
        return scope

    def _adopt(self, child: "Module", name: str) -> None:
        """Make ``child`` part of this module, called ``name`` (``L1``, ``N3``) in paths."""
        child.scope.parent = self.scope
        child.scope.name = name

    def _parameter(self, value: Value, name: str) -> Value:
        """Mark ``value`` as this module's parameter ``name`` (``w0``, ``b``) and return it."""
        value.scope = Scope("parameter", name, self.scope)
        return value

    def local_names(self, output: Value) -> dict[Value, str]:
        """Names for the nodes of the call that returned ``output``, relative to this module
        (``{z_node: "z"}``); traces and pictures prefix the module's path. Here: none."""
        return {}

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

    def named_children(self) -> list[tuple[str, "Module"]]:
        """The modules held directly in attributes (or lists of them), with their names."""
        found: list[tuple[str, Module]] = []
        for name, item in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(item, Module):
                found.append((name, item))
            elif isinstance(item, (list, tuple)):
                found += [(f"{name}.{i}", sub) for i, sub in enumerate(item)
                          if isinstance(sub, Module)]
        return found

    def modules(self) -> list["Module"]:
        """This module and every module inside it, depth first (PyTorch's ``modules()``)."""
        found: list[Module] = [self]
        for _, child in self.named_children():
            found += child.modules()
        return found

    def train(self, mode: bool = True) -> "Module":
        """Set training mode (``mode=False``: evaluation mode) here and in every submodule."""
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) takes True or False, got {mode!r}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``. Dropout passes inputs through, BatchNorm uses its
        running statistics."""
        return self.train(False)

    def needs_batch(self) -> bool:
        """True if the module (or a submodule, such as BatchNorm) must see a whole mini-batch:
        then it is called on a list of samples and returns one output per sample."""
        return any(child.needs_batch() for _, child in self.named_children())

    def named_buffers(self, prefix: str = "") -> list[tuple[str, float]]:
        """Every buffer entry with its dotted name (``running_mean.0``), submodules included."""
        return [(name, getattr(module, attr) if index is None else getattr(module, attr)[index])
                for name, module, attr, index in self._buffer_slots(prefix)]

    def _buffer_slots(self, prefix: str) -> list[tuple[str, "Module", str, Optional[int]]]:
        """(name, module, attribute, index or None) of every buffer number."""
        slots: list[tuple[str, Module, str, Optional[int]]] = []
        for attr in self.buffer_names:
            value = getattr(self, attr)
            if isinstance(value, list):
                slots += [(f"{prefix}{attr}.{i}", self, attr, i) for i in range(len(value))]
            else:
                slots.append((prefix + attr, self, attr, None))
        for name, child in self.named_children():
            slots += child._buffer_slots(f"{prefix}{name}.")
        return slots

    def zero_grad(self) -> None:
        """Set ``p.grad = 0`` for every parameter (leaf gradients accumulate across backward)."""
        for p in self.parameters():
            p.grad = 0.0

    def check_buffer(self, attr: str, number: Any) -> Optional[str]:
        """Why ``number`` can't be an entry of this module's buffer ``attr`` (None: it can);
        ``load_state_dict`` asks before loading anything."""
        return None

    def state_dict(self) -> dict[str, float]:
        """``{name: p.data}`` for every parameter, then ``{name: number}`` for every buffer."""
        state = {name: p.data for name, p in self.named_parameters()}
        state.update(self.named_buffers())
        return state

    def load_state_dict(self, d: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``d[name]`` into each parameter's ``data`` and each buffer.

        Everything is checked before anything changes: with ``strict=True`` a missing or an
        unexpected key raises ``KeyError``; any value that is not a real number raises
        ``TypeError``. On error the model is untouched. Returns the skipped keys
        (both empty when ``strict=True``).
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"load_state_dict needs a mapping name -> number, got "
                            f"{type(d).__name__}; use the result of state_dict() or nn.load")
        params = dict(self.named_parameters())
        buffers = {slot[0]: slot[1:] for slot in self._buffer_slots("")}
        missing = [name for name in [*params, *buffers] if name not in d]
        unexpected = [name for name in d if name not in params and name not in buffers]
        if strict and (missing or unexpected):
            raise KeyError(_key_error(type(self).__name__, missing, unexpected))
        updates = []
        for name in [*params, *buffers]:
            if name not in d:
                continue
            number = d[name]
            if isinstance(number, bool) or not isinstance(number, Real):
                raise TypeError(f"state_dict entry {name!r} must be a real number, got "
                                f"{type(number).__name__} {number!r:.40}; nothing was loaded")
            if name in buffers and isinstance(_buffer_value(*buffers[name]), int):
                if not float(number).is_integer():  # a count: BatchNorm's num_batches_tracked
                    raise TypeError(f"state_dict entry {name!r} is a count, so it must be a "
                                    f"whole number, got {number!r}; nothing was loaded")
                number = int(number)
            else:
                number = float(number)
            if name in buffers:
                module, attr, _ = buffers[name]
                problem = module.check_buffer(attr, number)
                if problem:
                    raise ValueError(f"state_dict entry {name!r} is {number!r}, but {problem}; "
                                     "nothing was loaded")
            updates.append((name, number))
        for name, number in updates:
            if name in params:
                params[name].data = number
            else:
                _set_buffer(*buffers[name], number)
        return IncompatibleKeys(missing, unexpected)

    def architecture(self) -> Optional[dict]:
        """What is needed to rebuild this module's shape (saved by ``nn.save``), or None."""
        return None

    def num_parameters(self) -> int:
        """How many scalar parameters the module has."""
        return len(self.parameters())


def _buffer_value(module: Module, attr: str, index: Optional[int]) -> Any:
    value = getattr(module, attr)
    return value if index is None else value[index]


def _set_buffer(module: Module, attr: str, index: Optional[int], number: Any) -> None:
    if index is None:
        setattr(module, attr, number)
    else:
        getattr(module, attr)[index] = number


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


class Neuron(Module):
    """One neuron: ``act(sum_i w_i x_i + b)``; weights from ``init``, bias 0.

    ``activation`` is ``linear`` or the name of a one-input op: ``relu``, ``tanh``,
    ``sigmoid``, ``leaky_relu`` (slope 0.01), ``softplus`` ... or one added with
    ``register_op``. micrograd's ``nonlin=False`` is accepted and means ``linear``.
    """

    def __init__(self, nin: int, activation: str = "relu", init: Any = "uniform",
                 seed: Seed = None, fan_out: int = 1, nonlin: Optional[bool] = None) -> None:
        count(nin, "Neuron(nin)")
        if nonlin is not None:
            activation = "relu" if nonlin else "linear"
        self.activation = _check_activation(activation)
        draw = _init.get(init)
        rng = weights_rng(seed)
        self.w = [self._parameter(Value(draw(rng, nin, fan_out)), f"w{i}") for i in range(nin)]
        self.b = self._parameter(Value(0.0), "b")

    def __call__(self, x: Sequence[Any]) -> Value:
        """act(w . x + b) for inputs ``x`` (floats or Values): one Value tagged with the neuron."""
        return self._forward(_inputs(self, x, len(self.w)))

    def _forward(self, x: list[Value]) -> Value:
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        out = act if self.activation == LINEAR else ops.lookup(self.activation)(act)
        out.scope = self.scope
        return out

    def local_names(self, output: Value) -> dict[Value, str]:
        """``z``, the running sums ``s0, s1, ...`` and the products ``w0x0, w1x1, ...`` of the
        call that returned ``output`` (found by walking back from it, never stored)."""
        names: dict[Value, str] = {}
        act = output
        if self.activation != LINEAR:
            if len(output.inputs) != 1:
                return names
            act = output.inputs[0]
            names[act] = "z"
        names.update(weighted_sum_names(act, self.w))
        return names

    def forward_floats(self, x: Sequence[float]) -> float:
        """The same output on plain floats (no graph): for plotting and evaluation."""
        act = self.b.data
        for wi, xi in zip(self.w, x):
            act += wi.data * xi
        op = ops.OPS.get(self.activation)  # None for linear
        activate = _float_activations.get(op)
        if activate is None:
            activate = _float_activations[op] = _float_activation(op)
        return activate(act)

    def architecture(self) -> dict:
        return {"type": "Neuron", "nin": len(self.w), "activation": self.activation}

    def __repr__(self) -> str:
        return f"Neuron({len(self.w)}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons with the same ``nin`` inputs. Returns a list of Values (one Value if
    ``nout == 1``, as micrograd)."""

    def __init__(self, nin: int, nout: int, activation: str = "relu", init: Any = "uniform",
                 seed: Seed = None, nonlin: Optional[bool] = None) -> None:
        count(nin, "Layer(nin)")
        count(nout, "Layer(nout)")
        if nonlin is not None:
            activation = "relu" if nonlin else "linear"
        _check_activation(activation)
        rng = weights_rng(seed)
        self.neurons = [Neuron(nin, activation, init, rng, fan_out=nout) for _ in range(nout)]
        for j, neuron in enumerate(self.neurons):
            self._adopt(neuron, f"N{j + 1}")

    @property
    def activation(self) -> str:
        return self.neurons[0].activation

    def __call__(self, x: Sequence[Any]) -> Union[Value, list[Value]]:
        outs = self._forward(_inputs(self, x, len(self.neurons[0].w)))
        return outs[0] if len(outs) == 1 else outs

    def _forward(self, x: list[Value]) -> list[Value]:
        return [n._forward(x) for n in self.neurons]

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
        count(nin, "MLP(nin)")
        if isinstance(nouts, int) or not nouts:
            raise ValueError(f"MLP(nouts) must be a non-empty list of layer sizes such as "
                             f"[16, 16, 1], got {nouts!r}")
        for n in nouts:
            count(n, "every layer size in MLP(nouts)")
        _check_activation(activation)
        self.nin = nin
        self.nouts = list(nouts)
        self.activation = activation
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        rng = weights_rng(seed)
        sizes = [nin] + self.nouts
        last = len(self.nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], activation if i != last else LINEAR,
                             init, rng) for i in range(len(self.nouts))]
        for i, layer in enumerate(self.layers):
            self._adopt(layer, f"L{i + 1}")

    def __call__(self, x: Sequence[Any]) -> Union[Value, list[Value]]:
        x = _inputs(self, x, self.nin)
        for layer in self.layers:
            x = layer._forward(x)
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


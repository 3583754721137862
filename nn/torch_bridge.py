"""A bridge to PyTorch: ``to_torch(module)`` and ``from_torch(torch_module)`` with the same
weights, buffers and mode.

For users who outgrow a scalar engine: train the same network with tensors, or bring
trained weights back to inspect them with chainrule. torch is imported only here, lazily.

Each nn module has one PyTorch twin: ``MLP`` and ``Sequential`` -> ``torch.nn.Sequential``,
``Linear``, ``Conv1d``, ``Flatten``, ``LayerNorm``, ``BatchNorm1d``, ``Dropout``, ``RNNCell``,
``RNN`` and the activations -> the torch module of the same name, ``Residual`` -> a small
torch module computing ``x + module(x)``. A leaf module's parameters are listed in PyTorch's
order (``weight`` row by row, then ``bias``), so its weights are copied as one flat list.
torch's ``Flatten()`` flattens each sample of a batch, so a twin with a ``Flatten`` takes
batches (N, channels, length), as torch's own networks do.
"""

from __future__ import annotations

import functools
from typing import Any

from autograd.optional import require
from nn.conv import Conv1d
from nn.layers import Activation, Dropout, Flatten, Linear, Residual, Sequential
from nn.module import MLP, Module
from nn.normalization import BatchNorm1d, LayerNorm
from nn.recurrent import RNN, RNNCell

__all__ = ["to_torch", "from_torch"]

# activation name -> torch.nn class name (and back)
_TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                      "leaky_relu": "LeakyReLU"}

_CONVERTIBLE = ("MLP, Sequential, Linear, Conv1d, Flatten, Residual, Dropout, LayerNorm, "
                "BatchNorm1d, RNNCell, RNN and the activations ReLU, Tanh, Sigmoid, "
                "LeakyReLU(0.01)")
# the modules whose parameters (and buffers) are copied as one flat list in PyTorch's order
_LEAVES = (Linear, Conv1d, LayerNorm, BatchNorm1d, RNNCell, RNN)


def to_torch(module: Module, dtype: Any = None) -> Any:
    """A PyTorch module computing the same function as ``module``, with its parameters and
    buffers copied (float64 unless ``dtype`` says otherwise) and the same training mode.

    An ``MLP`` becomes a ``torch.nn.Sequential`` of ``Linear`` layers and activations:
    neuron j of layer l becomes row j of that ``Linear``'s weight and entry j of its bias.
    """
    torch = require("torch", "nn.to_torch")

    if not isinstance(module, Module):
        raise TypeError(f"to_torch needs an nn module ({_CONVERTIBLE}), got "
                        f"{type(module).__name__}")
    return _to_torch(module, torch, torch.float64 if dtype is None else dtype)


def _to_torch(module: Module, torch: Any, dtype: Any) -> Any:
    tnn = torch.nn
    if isinstance(module, MLP):
        twin = _mlp_to_torch(module, torch, dtype)
    elif isinstance(module, Sequential):
        twin = tnn.Sequential(*[_to_torch(m, torch, dtype) for m in module.layers])
    elif isinstance(module, Residual):
        twin = _torch_residual_class()(_to_torch(module.module, torch, dtype))
    elif isinstance(module, Activation):
        if module.name not in _TORCH_ACTIVATIONS:
            raise ValueError(f"to_torch: the activation {module.name!r} has no PyTorch module; "
                             f"use one of {sorted(_TORCH_ACTIVATIONS)}")
        twin = getattr(tnn, _TORCH_ACTIVATIONS[module.name])()
    elif isinstance(module, Dropout):
        twin = tnn.Dropout(module.p)
    elif isinstance(module, Linear):
        twin = tnn.Linear(module.nin, module.nout, bias=module.bias is not None, dtype=dtype)
    elif isinstance(module, Conv1d):
        twin = tnn.Conv1d(module.in_channels, module.out_channels, module.kernel_size,
                          stride=module.stride, padding=module.padding,
                          bias=module.bias is not None, dtype=dtype)
    elif isinstance(module, Flatten):
        twin = tnn.Flatten()
    elif isinstance(module, LayerNorm):
        twin = tnn.LayerNorm(module.n, eps=module.eps,
                             elementwise_affine=module.weight is not None, dtype=dtype)
    elif isinstance(module, BatchNorm1d):
        twin = tnn.BatchNorm1d(module.n, eps=module.eps, momentum=module.momentum,
                               affine=module.weight is not None, dtype=dtype)
    elif isinstance(module, (RNNCell, RNN)):
        cell = module.cell if isinstance(module, RNN) else module
        kind = tnn.RNN if isinstance(module, RNN) else tnn.RNNCell
        twin = kind(cell.nin, cell.nhidden, bias=cell.bias_ih is not None,
                    nonlinearity=cell.nonlinearity, dtype=dtype)
    else:
        raise TypeError(f"to_torch cannot convert {type(module).__name__}; it converts "
                        f"{_CONVERTIBLE}")
    if isinstance(module, _LEAVES):
        _copy_to_torch(module, twin, torch)
    return twin.train(module.training)


def _copy_to_torch(module: Module, twin: Any, torch: Any) -> None:
    values = [p.data for p in module.parameters()]
    offset = 0
    with torch.no_grad():
        for tensor in twin.parameters():
            n = tensor.numel()
            tensor.copy_(torch.tensor(values[offset:offset + n], dtype=tensor.dtype)
                         .reshape(tensor.shape))
            offset += n
        for name, tensor in twin.named_buffers():
            tensor.copy_(torch.tensor(getattr(module, name), dtype=tensor.dtype))


def _mlp_to_torch(mlp: MLP, torch: Any, dtype: Any) -> Any:
    modules = []
    last = len(mlp.layers) - 1
    for i, layer in enumerate(mlp.layers):
        nin, nout = len(layer.neurons[0].w), len(layer.neurons)
        linear = torch.nn.Linear(nin, nout, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons],
                                             dtype=dtype))
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=dtype))
        modules.append(linear)
        if i != last and mlp.activation != "linear":
            if mlp.activation == "leaky_relu":
                modules.append(torch.nn.LeakyReLU(0.01))
            else:
                modules.append(getattr(torch.nn, _TORCH_ACTIVATIONS[mlp.activation])())
    return torch.nn.Sequential(*modules)


@functools.cache
def _torch_residual_class() -> type:
    torch = require("torch", "nn.to_torch")

    class Residual(torch.nn.Module):
        """x + module(x): the PyTorch twin of nn.Residual."""

        def __init__(self, module: Any) -> None:
            super().__init__()
            self.module = module

        def forward(self, x: Any) -> Any:
            return x + self.module(x)

    return Residual


def from_torch(model: Any) -> Module:
    """The nn module with the weights, buffers and mode of a PyTorch module.

    A ``torch.nn.Sequential`` of ``Linear`` layers with one kind of activation between them
    (ReLU, Tanh, Sigmoid, LeakyReLU(0.01) or none) and a linear last layer — the shape
    ``to_torch`` makes of an MLP — becomes an ``nn.MLP``; any other ``Sequential`` an
    ``nn.Sequential`` of the converted modules.
    """
    torch = require("torch", "nn.from_torch")

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"from_torch needs a torch.nn.Module, got {type(model).__name__}")
    return _from_torch(model, torch, "the model")


def _from_torch(model: Any, torch: Any, where: str) -> Module:
    tnn = torch.nn
    kind = type(model).__name__
    if isinstance(model, tnn.Sequential):
        if _is_mlp_shaped(model, torch):
            return _mlp_from_torch(model, torch).train(model.training)
        ours: Module = Sequential(*[_from_torch(child, torch, f"layer {i}")
                                    for i, child in enumerate(model)])
    elif isinstance(model, _torch_residual_class()):
        ours = Residual(_from_torch(model.module, torch, f"{where}'s module"))
    elif kind in _TORCH_ACTIVATIONS.values() and type(model) is getattr(tnn, kind):
        if kind == "LeakyReLU" and model.negative_slope != 0.01:
            raise ValueError(f"from_torch: {where} is LeakyReLU with slope "
                             f"{model.negative_slope}; nn uses 0.01")
        ours = Activation({v: k for k, v in _TORCH_ACTIVATIONS.items()}[kind])
    elif type(model) is tnn.Dropout:
        ours = Dropout(model.p)
    elif type(model) is tnn.Linear:
        ours = Linear(model.in_features, model.out_features, bias=model.bias is not None, seed=0)
    elif type(model) is tnn.Conv1d:
        ours = _conv1d_from_torch(model, where)
    elif type(model) is tnn.Flatten:
        if (model.start_dim, model.end_dim) != (1, -1):
            raise ValueError(f"from_torch: {where} is Flatten(start_dim={model.start_dim}, "
                             f"end_dim={model.end_dim}); nn.Flatten joins every channel of a "
                             "sample, torch's Flatten() (start_dim=1, end_dim=-1)")
        ours = Flatten()
    elif type(model) is tnn.LayerNorm:
        if len(model.normalized_shape) != 1 or (model.weight is None) != (model.bias is None):
            raise ValueError(f"from_torch: {where} is LayerNorm{tuple(model.normalized_shape)} "
                             f"with bias={model.bias is not None}; nn.LayerNorm normalises one "
                             "dimension, with both weight and bias or neither")
        ours = LayerNorm(model.normalized_shape[0], eps=model.eps,
                         elementwise_affine=model.weight is not None)
    elif type(model) is tnn.BatchNorm1d:
        if not model.track_running_stats:
            raise ValueError(f"from_torch: {where} is a BatchNorm1d without running "
                             "statistics (track_running_stats=False); nn.BatchNorm1d keeps them")
        if model.affine and model.bias is None:
            raise ValueError(f"from_torch: {where} is a BatchNorm1d with a weight but no bias; "
                             "nn.BatchNorm1d has both (affine=True) or neither")
        ours = BatchNorm1d(model.num_features, eps=model.eps, momentum=model.momentum,
                           affine=model.affine)
    elif type(model) is tnn.RNNCell:
        ours = RNNCell(model.input_size, model.hidden_size, bias=model.bias,
                       nonlinearity=model.nonlinearity, seed=0)
    elif type(model) is tnn.RNN:
        if model.num_layers != 1 or model.bidirectional or model.proj_size:
            raise ValueError(f"from_torch: {where} is an RNN with {model.num_layers} layers"
                             f"{', bidirectional' if model.bidirectional else ''}; nn.RNN has "
                             "one layer, one direction")
        ours = RNN(model.input_size, model.hidden_size, bias=model.bias,
                   nonlinearity=model.nonlinearity, seed=0)
    else:
        raise ValueError(f"from_torch: {where} is {kind}; chainrule converts {_CONVERTIBLE}")
    if isinstance(ours, _LEAVES):
        _copy_from_torch(model, ours, torch)
    return ours.train(model.training)


def _conv1d_from_torch(model: Any, where: str) -> Conv1d:
    """nn's Conv1d of a torch Conv1d, refusing what nn's has not (dilation, groups, padding
    other than zeros given as a number)."""
    unsupported = [f"{name}={value!r}" for name, value, plain in (
        ("dilation", model.dilation, (1,)), ("groups", model.groups, 1),
        ("padding_mode", model.padding_mode, "zeros")) if value != plain]
    if isinstance(model.padding, str):
        unsupported.append(f"padding={model.padding!r}")
    if unsupported:
        raise ValueError(f"from_torch: {where} is a Conv1d with {', '.join(unsupported)}; "
                         "nn.Conv1d has dilation 1, one group and zero padding of a given "
                         "size (an int)")
    return Conv1d(model.in_channels, model.out_channels, model.kernel_size[0],
                  stride=model.stride[0], padding=model.padding[0], bias=model.bias is not None,
                  seed=0)


def _copy_from_torch(model: Any, module: Module, torch: Any) -> None:
    values = [x for tensor in model.parameters()
              for x in tensor.detach().to(torch.float64).flatten().tolist()]
    for p, x in zip(module.parameters(), values, strict=True):
        p.data = x
    for name, tensor in model.named_buffers():
        setattr(module, name, tensor.detach().to(torch.float64).tolist()
                if tensor.is_floating_point() else int(tensor.item()))


def _is_mlp_shaped(model: Any, torch: Any) -> bool:
    """Linear layers, with one kind of activation that nn knows between every two (or none),
    ending with a Linear: what ``to_torch`` makes of an MLP."""
    children = list(model)
    if not children:
        raise ValueError("from_torch: the Sequential is empty")
    if all(type(child) is torch.nn.Linear for child in children):
        return True
    linears, between = children[::2], children[1::2]
    kinds = {type(child).__name__ for child in between}
    return (len(children) % 2 == 1 and all(type(c) is torch.nn.Linear for c in linears)
            and len(kinds) == 1 and kinds <= set(_TORCH_ACTIVATIONS.values())
            and all(getattr(child, "negative_slope", 0.01) == 0.01 for child in between))


def _mlp_from_torch(model: Any, torch: Any) -> MLP:
    names = {cls: name for name, cls in _TORCH_ACTIVATIONS.items()}
    linears = [child for child in model if isinstance(child, torch.nn.Linear)]
    activations = {names[type(child).__name__] for child in model
                   if not isinstance(child, torch.nn.Linear)}
    if not activations and len(linears) > 1:
        activation = "linear"
    else:
        activation = activations.pop() if activations else "relu"
    mlp = MLP(linears[0].in_features, [lin.out_features for lin in linears],
              activation=activation, seed=0)
    for layer, linear in zip(mlp.layers, linears):
        if linear.in_features != len(layer.neurons[0].w):
            raise ValueError(f"from_torch: Linear({linear.in_features}, {linear.out_features}) "
                             "does not fit the output size of the layer before it")
        weight = linear.weight.detach().to(torch.float64).tolist()
        bias = (linear.bias.detach().to(torch.float64).tolist() if linear.bias is not None
                else [0.0] * linear.out_features)
        for neuron, row, b in zip(layer.neurons, weight, bias):
            for w, x in zip(neuron.w, row):
                w.data = x
            neuron.b.data = b
    return mlp

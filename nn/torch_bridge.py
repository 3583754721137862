"""A bridge to PyTorch: ``to_torch(mlp)`` and ``from_torch(sequential)`` with the same weights.

For users who outgrow a scalar engine: train the same network with tensors, or bring
trained weights back to inspect them with chainrule. torch is imported only here, lazily.
"""

from __future__ import annotations

from typing import Any

from nn.module import MLP

__all__ = ["to_torch", "from_torch"]

# activation name -> torch.nn class name (and back)
_TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid",
                      "leaky_relu": "LeakyReLU"}


def to_torch(mlp: MLP, dtype: Any = None) -> Any:
    """A ``torch.nn.Sequential`` of ``Linear`` layers and activations computing the same
    function as ``mlp``, with its weights copied (float64 unless ``dtype`` says otherwise).

    Neuron j of layer l becomes row j of ``Linear.weight`` and entry j of ``Linear.bias``.
    """
    import torch

    if not isinstance(mlp, MLP):
        raise TypeError(f"to_torch needs an nn.MLP, got {type(mlp).__name__}")
    dtype = torch.float64 if dtype is None else dtype
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


def from_torch(model: Any) -> MLP:
    """An ``nn.MLP`` with the weights of a ``torch.nn.Sequential`` of ``Linear`` layers with
    one kind of activation between them (ReLU, Tanh, Sigmoid, LeakyReLU(0.01) or none) and a
    linear last layer: the shapes ``to_torch`` makes."""
    import torch

    if not isinstance(model, torch.nn.Sequential):
        raise TypeError(f"from_torch needs a torch.nn.Sequential, got {type(model).__name__}")
    linears, activations = [], set()
    names = {cls: name for name, cls in _TORCH_ACTIVATIONS.items()}
    children = list(model)
    for i, child in enumerate(children):
        if isinstance(child, torch.nn.Linear):
            linears.append(child)
            continue
        kind = type(child).__name__
        if kind not in names:
            raise ValueError(f"from_torch: layer {i} is {kind}; only Linear and "
                             f"{sorted(names)} can be converted to an nn.MLP")
        if i == len(children) - 1:
            raise ValueError(f"from_torch: the network ends with {kind}, but an nn.MLP's last "
                             "layer is linear; drop the final activation and apply it to the "
                             "output instead")
        if kind == "LeakyReLU" and child.negative_slope != 0.01:
            raise ValueError(f"from_torch: LeakyReLU slope {child.negative_slope} is not "
                             "supported (nn uses 0.01)")
        activations.add(names[kind])
    if not linears:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    if len(activations) > 1:
        raise ValueError(f"from_torch: an nn.MLP uses one activation, found {sorted(activations)}")
    if len(activations) == 0 and len(linears) > 1:
        activation = "linear"
    else:
        activation = activations.pop() if activations else "relu"
    nin = linears[0].in_features
    mlp = MLP(nin, [lin.out_features for lin in linears], activation=activation, seed=0)
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

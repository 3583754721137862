"""chainrule's nn: a small neural-network library on scalar Values (micrograd-compatible).

>>> from nn import MLP, SGD, fit, data
>>> X, y = data.make_moons(100, noise=0.1, seed=0, labels="pm1")
>>> model = MLP(2, [16, 16, 1], seed=0)
>>> history = fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.1),
...               epochs=20, progress=False)

``nn.plot`` (matplotlib) and ``nn.to_torch``/``nn.from_torch`` (torch) import their heavy
dependency only when called.
"""

from __future__ import annotations

import autograd as _autograd
from autograd.identity import clash as _clash

if _clash(_autograd):
    raise ImportError(_clash(_autograd))

from nn import data, init, losses, metrics, optim, plot, schedulers
from nn.conv import Conv1d
from nn.layers import (Activation, Dropout, Flatten, LeakyReLU, Linear, ReLU, Residual,
                       Sequential, Sigmoid, Tanh)
from nn.losses import (bce_with_logits, cross_entropy, hinge_loss, l2_penalty, log_softmax,
                       mse_loss, softmax)
from nn.metrics import accuracy
from nn.module import MLP, Layer, Module, Neuron
from nn.normalization import BatchNorm1d, LayerNorm
from nn.optim import SGD, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm_, clip_grad_value_
from nn.recurrent import RNN, RNNCell, tbptt
from nn.schedulers import (CosineAnnealingLR, ExponentialLR, LambdaLR, LinearWarmup,
                           LRScheduler, StepLR)
from nn.serialization import load, save
from nn.torch_bridge import from_torch, to_torch
from nn.train import History, evaluate, fit, make_compiled_step, make_step

__all__ = [
    "Module", "Neuron", "Layer", "MLP",
    "Linear", "Activation", "ReLU", "Tanh", "Sigmoid", "LeakyReLU", "Sequential", "Residual",
    "Dropout", "Flatten", "Conv1d", "LayerNorm", "BatchNorm1d", "RNNCell", "RNN", "tbptt",
    "mse_loss", "bce_with_logits", "cross_entropy", "hinge_loss", "l2_penalty",
    "log_softmax", "softmax", "accuracy",
    "Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "clip_grad_norm_", "clip_grad_value_",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearWarmup", "LambdaLR",
    "fit", "evaluate", "make_step", "make_compiled_step", "History", "save", "load", "to_torch",
    "from_torch",
    "data", "init", "losses", "metrics", "optim", "plot", "schedulers",
]

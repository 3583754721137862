"""Optimizers with PyTorch's update rules (``torch.optim``), on lists of Value parameters.

Each optimizer reads ``p.grad`` (written by ``loss.backward()``) and changes ``p.data``.
Notation per parameter: g = gradient, t = step number (from 1), lr = ``self.lr`` (which the
schedulers in ``nn.schedulers`` change between steps). The rules match torch.optim's
single-tensor code, so the same gradients give the same parameters to rounding.

Also here: gradient clipping, ``clip_grad_norm_`` and ``clip_grad_value_`` (torch.nn.utils).
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Iterable, Union

from autograd.value import Value

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "clip_grad_norm_", "clip_grad_value_"]

Params = Union[Iterable[Value], Any]


def _param_list(params: Params, where: str) -> list[Value]:
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    if isinstance(params, Value):
        params = [params]
    try:
        values = list(params)
    except TypeError:
        raise TypeError(f"{where} needs a list of Value parameters (e.g. model.parameters()), "
                        f"got {type(params).__name__}") from None
    for i, p in enumerate(values):
        if not isinstance(p, Value):
            raise TypeError(f"{where}: parameter {i} is {type(p).__name__} {p!r:.40}, not a "
                            "Value; pass model.parameters()")
    return values


def _number(x: Any, name: str, low: float = 0.0, high: float = math.inf,
            high_open: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, Real):
        raise TypeError(f"{name} must be a number, got {type(x).__name__} {x!r}")
    x = float(x)
    if not (low <= x < high if high_open else low <= x <= high):
        bound = f"< {high}" if high_open else f"<= {high}"
        raise ValueError(f"invalid {name}: {x!r} (it must be >= {low} and {bound})")
    return x


class Optimizer:
    """Base class: holds ``params``, the learning rate ``lr`` and per-parameter buffers.

    Buffers are lists of floats, one entry per parameter, named as in torch's state
    (``momentum_buffer``, ``square_avg``, ``exp_avg`` ...). ``step_count`` is t.
    """

    #: Names of the hyperparameters saved in ``state_dict`` besides ``lr``.
    hyperparameters: tuple[str, ...] = ()
    #: Names of the per-parameter buffers.
    buffers: tuple[str, ...] = ()

    def __init__(self, params: Params, lr: float) -> None:
        self.params = _param_list(params, type(self).__name__)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{type(self).__name__}: some parameters appear more than once")
        self.lr = _number(lr, "lr")
        self.step_count = 0
        for name in self.buffers:
            setattr(self, name, None)

    def zero_grad(self) -> None:
        """Set every parameter's grad to 0 (gradients of leaves accumulate across backward)."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Apply one update to every parameter from its current ``grad``."""
        raise NotImplementedError

    def _zeros(self) -> list[float]:
        return [0.0] * len(self.params)

    def state_dict(self) -> dict:
        """Everything needed to resume: type, lr, hyperparameters, step count and buffers."""
        return {
            "type": type(self).__name__,
            "lr": self.lr,
            "hyperparameters": {name: getattr(self, name) for name in self.hyperparameters},
            "step_count": self.step_count,
            "buffers": {name: (None if getattr(self, name) is None else list(getattr(self, name)))
                        for name in self.buffers},
        }

    def load_state_dict(self, d: dict) -> None:
        """Restore a ``state_dict()``; everything is checked first, so an error changes nothing."""
        kind = type(self).__name__
        if not isinstance(d, dict) or d.get("type") != kind:
            got = d.get("type") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"this state_dict is for {got!r}, not {kind!r}")
        lr = _number(d.get("lr"), "lr")
        hyper = d.get("hyperparameters", {})
        if not isinstance(hyper, dict) or set(hyper) != set(self.hyperparameters):
            raise ValueError(f"{kind}.load_state_dict: hyperparameters must be "
                             f"{sorted(self.hyperparameters)}, got {hyper!r:.80}")
        step_count = d.get("step_count")
        if isinstance(step_count, bool) or not isinstance(step_count, int) or step_count < 0:
            raise ValueError(f"{kind}.load_state_dict: step_count must be an int >= 0, "
                             f"got {step_count!r}")
        buffers = d.get("buffers", {})
        if not isinstance(buffers, dict) or set(buffers) != set(self.buffers):
            raise ValueError(f"{kind}.load_state_dict: buffers must be {sorted(self.buffers)}")
        n = len(self.params)
        for name, buf in buffers.items():
            if buf is None:
                continue
            if not isinstance(buf, list) or len(buf) != n or not all(
                    isinstance(x, Real) and not isinstance(x, bool) for x in buf):
                raise ValueError(f"{kind}.load_state_dict: buffer {name!r} must be a list of "
                                 f"{n} numbers (one per parameter) or None")
        self.lr = lr
        for name, value in hyper.items():
            setattr(self, name, value)
        self.step_count = step_count
        for name, buf in buffers.items():
            setattr(self, name, None if buf is None else [float(x) for x in buf])

    def __repr__(self) -> str:
        hyper = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr!r}, {hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as ``torch.optim.SGD``:

        g <- g + weight_decay * p
        b <- g                                  (first step)
        b <- momentum * b + (1 - dampening) * g (later steps)
        g <- g + momentum * b  if nesterov else  b          (when momentum != 0)
        p <- p - lr * g
    """

    hyperparameters = ("momentum", "dampening", "nesterov", "weight_decay")
    buffers = ("momentum_buffer",)

    def __init__(self, params: Params, lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _number(momentum, "momentum")
        self.dampening = _number(dampening, "dampening")
        self.weight_decay = _number(weight_decay, "weight_decay")
        if nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0 (as in torch)")
        self.nesterov = bool(nesterov)

    def step(self) -> None:
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        damp = 1.0 - self.dampening
        buf = self.momentum_buffer
        first = buf is None
        if mu != 0.0 and first:
            buf = self.momentum_buffer = self._zeros()
        for i, p in enumerate(self.params):
            g = p.grad
            if wd != 0.0:
                g = g + wd * p.data
            if mu != 0.0:
                b = g if first else mu * buf[i] + damp * g
                buf[i] = b
                g = g + mu * b if self.nesterov else b
            p.data -= lr * g
        self.step_count += 1


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop`` (v, gbar and b start at 0):

        g <- g + weight_decay * p
        v <- alpha * v + (1 - alpha) * g^2
        gbar <- alpha * gbar + (1 - alpha) * g;  d = sqrt(v - gbar^2) + eps  (centered)
                                                 d = sqrt(v) + eps           (otherwise)
        b <- momentum * b + g / d;  p <- p - lr * b       (momentum > 0)
        p <- p - lr * g / d                               (momentum = 0)
    """

    hyperparameters = ("alpha", "eps", "weight_decay", "momentum", "centered")
    buffers = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, lr)
        self.alpha = _number(alpha, "alpha")
        self.eps = _number(eps, "eps")
        self.weight_decay = _number(weight_decay, "weight_decay")
        self.momentum = _number(momentum, "momentum")
        self.centered = bool(centered)

    def step(self) -> None:
        if self.square_avg is None:
            self.square_avg = self._zeros()
            self.grad_avg = self._zeros() if self.centered else None
            self.momentum_buffer = self._zeros() if self.momentum > 0.0 else None
        lr, alpha, eps, wd, mu = self.lr, self.alpha, self.eps, self.weight_decay, self.momentum
        v, gbar, buf = self.square_avg, self.grad_avg, self.momentum_buffer
        for i, p in enumerate(self.params):
            g = p.grad
            if wd != 0.0:
                g = g + wd * p.data
            v[i] = alpha * v[i] + (1.0 - alpha) * g * g
            if self.centered:
                gbar[i] = gbar[i] + (1.0 - alpha) * (g - gbar[i])
                d = math.sqrt(v[i] - gbar[i] * gbar[i]) + eps
            else:
                d = math.sqrt(v[i]) + eps
            if mu > 0.0:
                buf[i] = mu * buf[i] + g / d
                p.data -= lr * buf[i]
            else:
                p.data -= lr * (g / d)
        self.step_count += 1


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (m, v start at 0; t counts steps from 1):

        g <- g + weight_decay * p
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g^2
        vmax <- max(vmax, v) and use vmax for v    (amsgrad)
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    i.e. p <- p - lr * m_hat / (sqrt(v_hat) + eps) with the bias-corrected m_hat, v_hat.
    """

    hyperparameters = ("betas", "eps", "weight_decay", "amsgrad")
    buffers = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_number(betas[0], "beta1", 0.0, 1.0, high_open=True),
                      _number(betas[1], "beta2", 0.0, 1.0, high_open=True))
        self.eps = _number(eps, "eps")
        self.weight_decay = _number(weight_decay, "weight_decay")
        self.amsgrad = bool(amsgrad)

    def load_state_dict(self, d: dict) -> None:
        super().load_state_dict(d)
        self.betas = tuple(self.betas)  # JSON turns the pair into a list

    def step(self) -> None:
        if self.exp_avg is None:
            self.exp_avg, self.exp_avg_sq = self._zeros(), self._zeros()
            self.max_exp_avg_sq = self._zeros() if self.amsgrad else None
        self.step_count += 1
        t = self.step_count
        lr, eps, wd = self.lr, self.eps, self.weight_decay
        beta1, beta2 = self.betas
        step_size = lr / (1.0 - beta1 ** t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** t)
        m, v, vmax = self.exp_avg, self.exp_avg_sq, self.max_exp_avg_sq
        for i, p in enumerate(self.params):
            g = p.grad
            if wd != 0.0:
                if self._decoupled:
                    p.data *= 1.0 - lr * wd
                else:
                    g = g + wd * p.data
            m[i] = m[i] + (1.0 - beta1) * (g - m[i])   # = beta1 m + (1 - beta1) g
            v[i] = beta2 * v[i] + (1.0 - beta2) * g * g
            if self.amsgrad:
                vmax[i] = max(vmax[i], v[i])
                denom = math.sqrt(vmax[i]) / bias_correction2_sqrt + eps
            else:
                denom = math.sqrt(v[i]) / bias_correction2_sqrt + eps
            p.data -= step_size * (m[i] / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``:

        p <- p * (1 - lr * weight_decay)
        then Adam's update without weight decay in g.
    """

    _decoupled = True

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


# ---------------------------------------------------------------- clipping

def clip_grad_norm_(params: Params, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so their norm is at most ``max_norm``; returns the norm.

    total = (sum_p |g_p|^q)^(1/q) over all parameters (q = ``norm_type``, ``inf`` for the max);
    if total > max_norm every g is multiplied by max_norm / (total + 1e-6), as in
    ``torch.nn.utils.clip_grad_norm_``. Returns total (before clipping).
    """
    values = _param_list(params, "clip_grad_norm_")
    max_norm = _number(max_norm, "max_norm")
    q = _number(norm_type, "norm_type", low=1e-12)
    grads = [p.grad for p in values]
    if not grads:
        return 0.0
    if q == math.inf:
        total = max(abs(g) for g in grads)
    elif q == 2.0:
        total = math.sqrt(math.fsum(g * g for g in grads))
    else:
        total = math.fsum(abs(g) ** q for g in grads) ** (1.0 / q)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for p in values:
            p.grad *= coef
    return total


def clip_grad_value_(params: Params, clip_value: float) -> None:
    """Clamp every gradient into [-clip_value, clip_value] (``torch.nn.utils.clip_grad_value_``)."""
    values = _param_list(params, "clip_grad_value_")
    c = _number(clip_value, "clip_value")
    for p in values:
        g = p.grad
        if g > c:
            p.grad = c
        elif g < -c:
            p.grad = -c


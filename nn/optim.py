"""Optimizers with PyTorch's update rules (``torch.optim``), on lists of Value parameters.

Each optimizer reads ``p.grad`` (written by ``loss.backward()``) and changes ``p.data``.
Notation per parameter: g = gradient, t = step number (from 1), lr = ``self.lr`` (which the
schedulers in ``nn.schedulers`` change between steps). The rules match torch.optim's
single-tensor code, so the same gradients give the same parameters to rounding.

Also here: gradient clipping, ``clip_grad_norm_`` and ``clip_grad_value_`` (torch.nn.utils).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Union

from autograd.value import Value
from nn.arguments import flag, number, real, show

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










def _sqrt(x: float) -> float:
    """sqrt(x), and nan for x < 0 as torch gives (no ValueError)."""
    return math.sqrt(x) if x >= 0.0 else math.nan


class Optimizer:
    """Base class: holds ``params``, the learning rate ``lr`` and per-parameter buffers.

    Buffers are lists of floats, one entry per parameter, named as in torch's state
    (``momentum_buffer``, ``square_avg``, ``exp_avg`` ...). ``step_count`` is t.
    Hyperparameters are checked by one function, ``check_hyperparameters``, both when the
    optimizer is built and when ``load_state_dict`` restores them.
    """

    #: Names of the hyperparameters saved in ``state_dict`` besides ``lr``.
    hyperparameters: tuple[str, ...] = ()
    #: Names of the per-parameter buffers.
    buffers: tuple[str, ...] = ()
    #: Buffers that are averages of squares, so never negative.
    nonnegative_buffers: tuple[str, ...] = ()

    def __init__(self, params: Params, lr: float, **hyperparameters: Any) -> None:
        self.params = _param_list(params, type(self).__name__)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{type(self).__name__}: some parameters appear more than once")
        self.lr = number(lr, "lr")
        vars(self).update(self.check_hyperparameters(**hyperparameters))
        self.step_count = 0
        for name in self.buffers:
            setattr(self, name, None)

    @staticmethod
    def check_hyperparameters(**hyperparameters: Any) -> dict[str, Any]:
        """The hyperparameters, checked and normalised; raises TypeError/ValueError naming
        the first bad one and its value."""
        return hyperparameters

    def buffers_used(self, hyperparameters: dict[str, Any]) -> tuple[str, ...]:
        """The buffers that ``step()`` creates, then reads, with these hyperparameters."""
        return self.buffers

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
        """Restore a ``state_dict()``; everything is checked first, so an error changes nothing.

        The lr and hyperparameters go through the constructor's checks; the step count must be
        an int >= 0; each buffer None or one number per parameter, and the buffers that
        ``step()`` reads with the loaded hyperparameters all present (or none: a fresh start).
        """
        kind = type(self).__name__
        if not isinstance(d, dict) or d.get("type") != kind:
            got = d.get("type") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"this state_dict is for {got!r}, not {kind!r}")
        hyper = d.get("hyperparameters")
        if not isinstance(hyper, dict) or set(hyper) != set(self.hyperparameters):
            raise ValueError(f"{kind}.load_state_dict: hyperparameters must be "
                             f"{sorted(self.hyperparameters)}, got {show(hyper)}")
        try:
            lr = number(d.get("lr"), "lr")
            hyper = self.check_hyperparameters(**hyper)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{kind}.load_state_dict: {error}") from None
        step_count = d.get("step_count")
        if isinstance(step_count, bool) or not isinstance(step_count, int) or step_count < 0:
            raise ValueError(f"{kind}.load_state_dict: step_count must be an int >= 0, "
                             f"got {show(step_count)}")
        buffers = d.get("buffers")
        if not isinstance(buffers, dict) or set(buffers) != set(self.buffers):
            raise ValueError(f"{kind}.load_state_dict: buffers must be {sorted(self.buffers)}, "
                             f"got {show(buffers)}")
        buffers = {name: None if buf is None else self._checked_buffer(name, buf)
                   for name, buf in buffers.items()}
        present = [name for name, buf in buffers.items() if buf is not None]
        needed = self.buffers_used(hyper)
        missing = [name for name in needed if buffers[name] is None]
        if present and missing:
            raise ValueError(f"{kind}.load_state_dict: buffer {missing[0]!r} is missing (None) "
                             f"while {present} are set; with these hyperparameters step() "
                             f"reads {list(needed)}")
        self.lr = lr
        vars(self).update(hyper)
        self.step_count = step_count
        vars(self).update(buffers)

    def _checked_buffer(self, name: str, buf: Any) -> list[float]:
        n = len(self.params)
        where = f"{type(self).__name__}.load_state_dict: buffer {name!r}"
        if not isinstance(buf, list) or len(buf) != n:
            raise ValueError(f"{where} must be a list of {n} numbers (one per parameter) or "
                             f"None, got {show(buf)}")
        values = [real(x, f"{where}[{i}]") for i, x in enumerate(buf)]
        if name in self.nonnegative_buffers:
            for i, x in enumerate(values):
                if x < 0.0:
                    raise ValueError(f"{where} holds averages of squares, which must be >= 0, "
                                     f"got {x!r} at index {i}")
        return values

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
        super().__init__(params, lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                         weight_decay=weight_decay)

    @staticmethod
    def check_hyperparameters(momentum: Any, dampening: Any, nesterov: Any,
                              weight_decay: Any) -> dict[str, Any]:
        momentum, dampening = number(momentum, "momentum"), number(dampening, "dampening")
        if flag(nesterov, "nesterov") and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0 (as in "
                             f"torch), got momentum={momentum!r}, dampening={dampening!r}")
        return dict(momentum=momentum, dampening=dampening, nesterov=nesterov,
                    weight_decay=number(weight_decay, "weight_decay"))

    def buffers_used(self, hyperparameters: dict[str, Any]) -> tuple[str, ...]:
        return self.buffers if hyperparameters["momentum"] != 0.0 else ()

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
    nonnegative_buffers = ("square_avg",)

    def __init__(self, params: Params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                         momentum=momentum, centered=centered)

    @staticmethod
    def check_hyperparameters(alpha: Any, eps: Any, weight_decay: Any, momentum: Any,
                              centered: Any) -> dict[str, Any]:
        # alpha <= 1 keeps v a weighted average of squares, so never negative (torch allows > 1)
        return dict(alpha=number(alpha, "alpha", 0.0, 1.0), eps=number(eps, "eps"),
                    weight_decay=number(weight_decay, "weight_decay"),
                    momentum=number(momentum, "momentum"), centered=flag(centered, "centered"))

    def buffers_used(self, hyperparameters: dict[str, Any]) -> tuple[str, ...]:
        return (("square_avg",) + ("grad_avg",) * hyperparameters["centered"]
                + ("momentum_buffer",) * (hyperparameters["momentum"] > 0.0))

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
                # v - gbar^2 >= 0 in exact arithmetic, but it can round to -1e-16: torch's
                # sqrt gives nan there (and so does this), it does not raise
                d = _sqrt(v[i] - gbar[i] * gbar[i]) + eps
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
    nonnegative_buffers = ("exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)

    @staticmethod
    def check_hyperparameters(betas: Any, eps: Any, weight_decay: Any,
                              amsgrad: Any) -> dict[str, Any]:
        if not isinstance(betas, (tuple, list)):  # a list: JSON's form of the pair
            raise TypeError(f"betas must be a pair (beta1, beta2) of numbers, got "
                            f"{type(betas).__name__} {show(betas)}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {show(tuple(betas))}")
        return dict(betas=(number(betas[0], "beta1", 0.0, 1.0, high_open=True),
                           number(betas[1], "beta2", 0.0, 1.0, high_open=True)),
                    eps=number(eps, "eps"), weight_decay=number(weight_decay, "weight_decay"),
                    amsgrad=flag(amsgrad, "amsgrad"))

    def buffers_used(self, hyperparameters: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + ("max_exp_avg_sq",) * hyperparameters["amsgrad"]

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

def clip_grad_norm_(params: Params, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so their norm is at most ``max_norm``; returns the norm.

    total = (sum_p |g_p|^q)^(1/q) over all parameters (q = ``norm_type``, ``inf`` for the max);
    every g is multiplied by max_norm / (total + 1e-6) when that is below 1, as in
    ``torch.nn.utils.clip_grad_norm_``. Returns total (before clipping). A nan gradient makes
    total nan (and, as in torch, every gradient nan); an infinite one makes it inf, unless
    ``error_if_nonfinite=True``: then a RuntimeError, and the gradients are left as they are.
    """
    values = _param_list(params, "clip_grad_norm_")
    max_norm = number(max_norm, "max_norm")
    q = number(norm_type, "norm_type", low=1e-12)
    total = _norm([p.grad for p in values], q)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {q} of the gradients is "
                           f"{total}, which cannot be clipped; find where the gradients became "
                           "non-finite, or pass error_if_nonfinite=False to scale them anyway")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:   # also when coef is nan: torch scales by nan
        for p in values:
            p.grad *= coef
    return total


def _norm(grads: list[float], q: float) -> float:
    """(sum |g|^q)^(1/q), without overflow or underflow: m (sum (|g|/m)^q)^(1/q), m = max |g|.
    A nan anywhere gives nan (whatever the order), else an inf gives inf."""
    magnitudes = [abs(g) for g in grads]
    if any(math.isnan(g) for g in magnitudes):
        return math.nan
    m = max(magnitudes, default=0.0)
    if q == math.inf or m == 0.0 or m == math.inf:
        return m
    if q == 2.0:
        return math.hypot(*magnitudes)
    return m * math.fsum((g / m) ** q for g in magnitudes) ** (1.0 / q)


def clip_grad_value_(params: Params, clip_value: float) -> None:
    """Clamp every gradient into [-clip_value, clip_value] (``torch.nn.utils.clip_grad_value_``)."""
    values = _param_list(params, "clip_grad_value_")
    c = number(clip_value, "clip_value")
    for p in values:
        g = p.grad
        if g > c:
            p.grad = c
        elif g < -c:
            p.grad = -c


"""Learning-rate schedules: ``optimizer.lr`` as a function of the epoch t (torch's lr_scheduler).

Use: build the scheduler after the optimizer (this sets the lr of epoch 0), then call
``scheduler.step()`` once per epoch, after that epoch's ``optimizer.step()`` calls. With
base = the optimizer's lr when the scheduler was made:

=====================  ==============================================================
``StepLR``             lr_t = base * gamma^floor(t / step_size)
``ExponentialLR``      lr_t = base * gamma^t
``CosineAnnealingLR``  lr_t = eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2
``LinearWarmup``       lr_t = base * (s + (1 - s) min(t, W) / W)   (torch's LinearLR to 1)
``LambdaLR``           lr_t = base * f(t)
=====================  ==============================================================

These are the closed forms of torch's schedules (torch updates the lr recursively; the two
agree to rounding, which the tests check). Hyperparameters are checked by one function,
``check_hyperparameters``, both when the scheduler is built and when ``load_state_dict``
restores them.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from nn.arguments import count, number, show
from nn.optim import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LinearWarmup",
           "LambdaLR"]


class LRScheduler:
    """Base class: ``lr_at(t)`` is the schedule; ``step()`` moves to the next epoch."""

    hyperparameters: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer, **hyperparameters: Any) -> None:
        vars(self).update(self.check_hyperparameters(**hyperparameters))
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an nn optimizer (SGD, Adam, ...), "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        optimizer.lr = self._checked_lr(0)

    @staticmethod
    def check_hyperparameters(**hyperparameters: Any) -> dict[str, Any]:
        """The hyperparameters, checked and normalised; raises TypeError/ValueError naming
        the first bad one and its value."""
        return hyperparameters

    def lr_at(self, t: int) -> float:
        """The learning rate of epoch ``t``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the optimizer's lr for it."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> float:
        """The lr set by the latest ``step()`` (or by the constructor)."""
        return self.optimizer.lr

    def state_dict(self) -> dict:
        """Type, base lr, epoch and hyperparameters (no functions)."""
        return {"type": type(self).__name__, "base_lr": self.base_lr,
                "last_epoch": self.last_epoch,
                "hyperparameters": {n: getattr(self, n) for n in self.hyperparameters}}

    def load_state_dict(self, d: dict) -> None:
        """Restore a ``state_dict()`` and set the optimizer's lr for its epoch; everything is
        checked first (the hyperparameters by the constructor's checks), so an error changes
        nothing."""
        kind = type(self).__name__
        if not isinstance(d, dict) or d.get("type") != kind:
            got = d.get("type") if isinstance(d, dict) else type(d).__name__
            raise ValueError(f"this state_dict is for {got!r}, not {kind!r}")
        hyper = d.get("hyperparameters", {})
        if not isinstance(hyper, dict) or set(hyper) != set(self.hyperparameters):
            raise ValueError(f"{kind}.load_state_dict: hyperparameters must be "
                             f"{sorted(self.hyperparameters)}, got {show(hyper)}")
        try:
            base_lr = number(d.get("base_lr"), "base_lr")
            hyper = self.check_hyperparameters(**hyper)
            epoch = count(d.get("last_epoch"), "last_epoch", low=0)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{kind}.load_state_dict: {error}") from None
        old = dict(vars(self))
        vars(self).update(hyper, base_lr=base_lr, last_epoch=epoch)
        try:
            self.optimizer.lr = self._checked_lr(epoch)
        except ValueError as error:
            vars(self).update(old)  # nothing changed
            raise ValueError(f"{kind}.load_state_dict: {error}") from None

    def _checked_lr(self, t: int) -> float:
        """``lr_at(t)``, or a ValueError when it can't be computed (overflow) or is not a
        learning rate (nan, negative)."""
        try:
            return number(self.lr_at(t), "lr")
        except (ArithmeticError, TypeError, ValueError) as error:
            raise ValueError(f"the learning rate of epoch {t} can't be computed ({error}); "
                             "check the epoch and the hyperparameters") from None

    def __repr__(self) -> str:
        hyper = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.hyperparameters)
        return f"{type(self).__name__}({hyper}, epoch={self.last_epoch}, lr={self.optimizer.lr})"


class StepLR(LRScheduler):
    """lr_t = base * gamma^floor(t / step_size): multiply by gamma every step_size epochs."""

    hyperparameters = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer, step_size=step_size, gamma=gamma)

    @staticmethod
    def check_hyperparameters(step_size: Any, gamma: Any) -> dict[str, Any]:
        return dict(step_size=count(step_size, "step_size"), gamma=number(gamma, "gamma"))

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(LRScheduler):
    """lr_t = base * gamma^t: multiply by gamma every epoch."""

    hyperparameters = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer, gamma=gamma)

    @staticmethod
    def check_hyperparameters(gamma: Any) -> dict[str, Any]:
        return dict(gamma=number(gamma, "gamma"))

    def lr_at(self, t: int) -> float:
        return self.base_lr * self.gamma ** t


class CosineAnnealingLR(LRScheduler):
    """lr_t = eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2.

    Falls from base to eta_min over T_max epochs (and, like torch, rises again after that).
    """

    hyperparameters = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer, T_max=T_max, eta_min=eta_min)

    @staticmethod
    def check_hyperparameters(T_max: Any, eta_min: Any) -> dict[str, Any]:
        return dict(T_max=count(T_max, "T_max"), eta_min=number(eta_min, "eta_min"))

    def lr_at(self, t: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (
            1.0 + math.cos(math.pi * t / self.T_max)) / 2.0


class LinearWarmup(LRScheduler):
    """lr_t = base * (s + (1 - s) * min(t, W) / W) with s = ``start_factor``, W = ``warmup_epochs``.

    Rises linearly from s * base at epoch 0 to base at epoch W, then stays at base.
    The same as ``torch.optim.lr_scheduler.LinearLR(start_factor=s, end_factor=1, total_iters=W)``.
    """

    hyperparameters = ("warmup_epochs", "start_factor")

    def __init__(self, optimizer: Optimizer, warmup_epochs: int,
                 start_factor: float = 0.1) -> None:
        super().__init__(optimizer, warmup_epochs=warmup_epochs, start_factor=start_factor)

    @staticmethod
    def check_hyperparameters(warmup_epochs: Any, start_factor: Any) -> dict[str, Any]:
        return dict(warmup_epochs=count(warmup_epochs, "warmup_epochs"),
                    start_factor=number(start_factor, "start_factor", 0.0, 1.0))

    def lr_at(self, t: int) -> float:
        s = self.start_factor
        return self.base_lr * (s + (1.0 - s) * min(t, self.warmup_epochs) / self.warmup_epochs)


class LambdaLR(LRScheduler):
    """lr_t = base * f(t) for a function f of the epoch.

    micrograd's moons demo decays 1.0 -> 0.1 over 100 steps: ``LambdaLR(opt, lambda t:
    1.0 - 0.9 * t / 100)`` with base lr 1.0. (``state_dict`` does not save f.)
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float]) -> None:
        if not callable(lr_lambda):
            raise TypeError(f"lr_lambda must be a function of the epoch, got {lr_lambda!r}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, t: int) -> float:
        return self.base_lr * float(self.lr_lambda(t))

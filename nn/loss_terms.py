"""The built-in losses as one term per example, so compiled training traces them with the model.

Each batch loss of ``nn.losses`` is a mean of per-example terms, ``loss = (1/N) sum_r term_r``,
where a term reads only its own example's outputs and target. ``make_compiled_step`` traces
``term(model(x), t)`` once, with the target ``t`` as inputs of the compiled code (numbers:
a class index becomes a one-hot row), and runs the whole batch through it with
``scale = 1/N``: the loss and its gradient are then compiled too, instead of being built by
the engine at every step. The terms are the losses' own formulas:

============  ==================================================  ====================
loss          term of one example (outputs o_k, targets t_k)      N (batch of n)
============  ==================================================  ====================
mse           sum_k (o_k - t_k)^2                                 n * outputs
bce           sum_k softplus(o_k) - t_k o_k                       n * outputs
hinge         sum_k relu(1 - t_k o_k)                             n * outputs
cross_entropy sum_k onehot(t)_k * -log_softmax(o)_k = lse(o) - o_t   n
============  ==================================================  ====================
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Optional, Sequence

from autograd.value import Value
from nn.losses import bce_with_logits, cross_entropy, hinge_loss, log_softmax, mse_loss

__all__ = ["LossTerm", "loss_term"]


class LossTerm(NamedTuple):
    """One built-in loss as per-example terms (see the module's table)."""

    term: Callable[[list[Value], list[Value]], Value]   # term(outputs, target inputs)
    targets: Callable[[Any, int], tuple[float, ...]]    # a target as k numbers (k outputs)
    per_output: bool                                     # N counts outputs, not examples

    def count(self, n: int, outputs: int) -> int:
        return n * outputs if self.per_output else n


def _total(terms: Sequence[Value]) -> Value:
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _numbers(t: Any, k: int) -> tuple[float, ...]:
    return tuple(float(v) for v in t) if k > 1 else (float(t),)


def _one_hot(t: Any, k: int) -> tuple[float, ...]:
    return tuple(1.0 if j == t else 0.0 for j in range(k))


_TERMS = {
    mse_loss: LossTerm(lambda o, t: _total([(a - b) ** 2 for a, b in zip(o, t)]), _numbers,
                       True),
    bce_with_logits: LossTerm(lambda o, t: _total([a.softplus() - b * a for a, b in zip(o, t)]),
                              _numbers, True),
    hinge_loss: LossTerm(lambda o, t: _total([(1 - b * a).relu() for a, b in zip(o, t)]),
                         _numbers, True),
    cross_entropy: LossTerm(lambda o, t: _total([b * -ls for ls, b in zip(log_softmax(o), t)]),
                            _one_hot, False),
}


def loss_term(loss_fn: Callable) -> Optional[LossTerm]:
    """The per-example form of a built-in loss; None for any other loss (the user's own,
    which compiled training computes with the engine, exactly as given)."""
    return _TERMS.get(loss_fn)

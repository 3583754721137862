"""Optimizers, schedulers and clipping against torch.optim, step by step, in float64."""

from __future__ import annotations

import math
import random

import pytest
from conftest import require_module

from autograd import Value
from nn import (SGD, Adam, AdamW, CosineAnnealingLR, ExponentialLR, LambdaLR, LinearWarmup,
                RMSprop, StepLR, clip_grad_norm_, clip_grad_value_)

STEPS = 100
N = 5


def gradient_sequence(seed: int = 0) -> list[list[float]]:
    """A fixed sequence of gradients, with varied scales and signs (and some exact zeros)."""
    rng = random.Random(seed)
    return [[0.0 if rng.random() < 0.05 else rng.gauss(0.0, 1.0) * 10 ** rng.uniform(-2, 1)
             for _ in range(N)] for _ in range(STEPS)]


INITIAL = [0.5, -1.25, 2.0, 0.0, -0.3]

# (ours, torch's name, hyperparameters): every combination that exists.
OPTIMIZERS = [
    (SGD, "SGD", dict(lr=0.05)),
    (SGD, "SGD", dict(lr=0.05, weight_decay=0.1)),
    (SGD, "SGD", dict(lr=0.05, momentum=0.9)),
    (SGD, "SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    (SGD, "SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    (SGD, "SGD", dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.01)),
    (SGD, "SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.05)),
    (RMSprop, "RMSprop", dict(lr=0.01)),
    (RMSprop, "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6)),
    (RMSprop, "RMSprop", dict(lr=0.01, weight_decay=0.1)),
    (RMSprop, "RMSprop", dict(lr=0.01, momentum=0.9)),
    (RMSprop, "RMSprop", dict(lr=0.01, centered=True)),
    (RMSprop, "RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.01)),
    (Adam, "Adam", dict(lr=0.01)),
    (Adam, "Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    (Adam, "Adam", dict(lr=0.01, weight_decay=0.1)),
    (Adam, "Adam", dict(lr=0.01, amsgrad=True)),
    (Adam, "Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05)),
    (AdamW, "AdamW", dict(lr=0.01)),
    (AdamW, "AdamW", dict(lr=0.01, weight_decay=0.1, betas=(0.5, 0.9))),
    (AdamW, "AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]


def assert_close(ours: list[float], theirs: list[float], rel: float = 1e-10) -> None:
    for a, b in zip(ours, theirs):
        assert a == pytest.approx(b, rel=rel, abs=1e-13), (ours, theirs)


def run_both(cls, torch_name, hyper, scheduler=None):
    """Ours and torch's parameters after every step of the same gradient sequence."""
    torch = require_module("torch")
    params = [Value(x) for x in INITIAL]
    tensor = torch.tensor(INITIAL, dtype=torch.float64, requires_grad=True)
    ours = cls(params, **hyper)
    theirs = getattr(torch.optim, torch_name)([tensor], **hyper)
    if scheduler is not None:
        our_sched, their_sched = scheduler(ours, theirs)
    trajectory = []
    for grads in gradient_sequence():
        for p, g in zip(params, grads):
            p.grad = g
        tensor.grad = torch.tensor(grads, dtype=torch.float64)
        ours.step()
        theirs.step()
        if scheduler is not None:
            our_sched.step()
            their_sched.step()
        trajectory.append(([p.data for p in params], tensor.detach().tolist()))
    return trajectory


@pytest.mark.parametrize("cls, torch_name, hyper", OPTIMIZERS,
                         ids=[f"{t}-{h}" for _, t, h in OPTIMIZERS])
def test_optimizer_matches_torch_for_100_steps(cls, torch_name, hyper):
    trajectory = run_both(cls, torch_name, hyper)
    for ours, theirs in trajectory:
        assert_close(ours, theirs)
    assert trajectory[-1][0] != INITIAL  # the parameters did move


def torch_schedulers():
    torch = require_module("torch")
    lrs = torch.optim.lr_scheduler
    return [
        ("StepLR", lambda o: StepLR(o, step_size=7, gamma=0.5),
         lambda o: lrs.StepLR(o, step_size=7, gamma=0.5)),
        ("StepLR-1", lambda o: StepLR(o, step_size=1, gamma=0.97),
         lambda o: lrs.StepLR(o, step_size=1, gamma=0.97)),
        ("ExponentialLR", lambda o: ExponentialLR(o, gamma=0.95),
         lambda o: lrs.ExponentialLR(o, gamma=0.95)),
        ("Cosine", lambda o: CosineAnnealingLR(o, T_max=100),
         lambda o: lrs.CosineAnnealingLR(o, T_max=100)),
        ("Cosine-restart", lambda o: CosineAnnealingLR(o, T_max=30, eta_min=0.001),
         lambda o: lrs.CosineAnnealingLR(o, T_max=30, eta_min=0.001)),
        ("Warmup", lambda o: LinearWarmup(o, warmup_epochs=10),
         lambda o: lrs.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10)),
        ("Warmup-half", lambda o: LinearWarmup(o, warmup_epochs=25, start_factor=0.5),
         lambda o: lrs.LinearLR(o, start_factor=0.5, end_factor=1.0, total_iters=25)),
        ("Lambda", lambda o: LambdaLR(o, lambda k: 1.0 - 0.9 * k / 100),
         lambda o: lrs.LambdaLR(o, lambda k: 1.0 - 0.9 * k / 100)),
    ]


@pytest.mark.parametrize("index", range(8))
def test_scheduler_matches_torch_lr_over_100_epochs(index):
    torch = require_module("torch")
    name, ours_factory, theirs_factory = torch_schedulers()[index]
    ours_opt = SGD([Value(1.0)], lr=0.1)
    theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    ours, theirs = ours_factory(ours_opt), theirs_factory(theirs_opt)
    for epoch in range(STEPS + 1):
        assert ours_opt.lr == pytest.approx(theirs.get_last_lr()[0], rel=1e-10, abs=1e-15), \
            (name, epoch)
        assert ours.get_last_lr() == ours_opt.lr
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()


@pytest.mark.parametrize("opt_index", [2, 10, 16, 19])
@pytest.mark.parametrize("sched_index", [0, 3, 5])
def test_optimizer_with_scheduler_matches_torch(opt_index, sched_index):
    cls, torch_name, hyper = OPTIMIZERS[opt_index]
    _, ours_factory, theirs_factory = torch_schedulers()[sched_index]
    trajectory = run_both(cls, torch_name, hyper,
                          scheduler=lambda o, t: (ours_factory(o), theirs_factory(t)))
    for ours, theirs in trajectory:
        assert_close(ours, theirs)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 5.0, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = require_module("torch")
    grads = [3.0, -4.0, 0.5, 0.0, 12.0]
    params = [Value(0.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    tensor = torch.zeros(len(grads), dtype=torch.float64, requires_grad=True)
    tensor.grad = torch.tensor(grads, dtype=torch.float64)
    total = clip_grad_norm_(params, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_([tensor], max_norm, norm_type)
    assert total == pytest.approx(expected.item(), rel=1e-12)
    assert_close([p.grad for p in params], tensor.grad.tolist(), rel=1e-12)


def test_clip_grad_norm_seed_example_max_norm_5():
    params = [Value(0.0), Value(0.0)]
    params[0].grad, params[1].grad = 30.0, 40.0   # norm 50
    assert clip_grad_norm_(params, 5.0) == 50.0
    assert math.hypot(params[0].grad, params[1].grad) == pytest.approx(5.0, rel=1e-6)
    assert params[0].grad / params[1].grad == pytest.approx(0.75)


def test_clip_grad_value_matches_torch():
    torch = require_module("torch")
    grads = [3.0, -4.0, 0.5, -0.5, 12.0]
    params = [Value(0.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    tensor = torch.zeros(len(grads), dtype=torch.float64, requires_grad=True)
    tensor.grad = torch.tensor(grads, dtype=torch.float64)
    clip_grad_value_(params, 1.0)
    torch.nn.utils.clip_grad_value_([tensor], 1.0)
    assert [p.grad for p in params] == tensor.grad.tolist()


@pytest.mark.parametrize("cls, torch_name, hyper", [OPTIMIZERS[i] for i in (3, 12, 17, 20)])
def test_state_dict_resumes_exactly(cls, torch_name, hyper):
    """Save after 50 steps, restore into a fresh optimizer: the same trajectory continues."""
    grads = gradient_sequence(1)
    params = [Value(x) for x in INITIAL]
    opt = cls(params, **hyper)
    for k, step_grads in enumerate(grads):
        if k == 50:
            saved_state = opt.state_dict()
            saved_params = [p.data for p in params]
        for p, g in zip(params, step_grads):
            p.grad = g
        opt.step()
    resumed = [Value(x) for x in saved_params]
    opt2 = cls(resumed, **hyper)
    import json
    opt2.load_state_dict(json.loads(json.dumps(saved_state)))  # survives JSON
    for step_grads in grads[50:]:
        for p, g in zip(resumed, step_grads):
            p.grad = g
        opt2.step()
    assert [p.data for p in resumed] == [p.data for p in params]


def test_load_state_dict_rejects_mismatch_and_changes_nothing():
    opt = Adam([Value(1.0), Value(2.0)], lr=0.1)
    before = opt.state_dict()
    other = SGD([Value(1.0)], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="SGD"):
        opt.load_state_dict(other)
    bad = Adam([Value(1.0), Value(2.0), Value(3.0)], lr=0.5)
    bad.params[0].grad = 1.0
    bad.step()
    with pytest.raises(ValueError, match="2 numbers"):
        opt.load_state_dict(bad.state_dict())
    assert opt.state_dict() == before


def test_zero_grad_and_schedulers_drive_lr_attribute():
    params = [Value(1.0), Value(2.0)]
    opt = SGD(params, lr=1.0)
    for p in params:
        p.grad = 5.0
    opt.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]
    sched = StepLR(opt, step_size=2, gamma=0.1)
    seen = []
    for _ in range(5):
        seen.append(opt.lr)
        sched.step()
    assert seen == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])


@pytest.mark.parametrize("make, match", [
    (lambda: SGD([], lr=0.1), "empty"),
    (lambda: SGD([1.0], lr=0.1), "not a Value"),
    (lambda: SGD([Value(1.0)], lr=-1.0), "lr"),
    (lambda: SGD([Value(1.0)], lr=0.1, nesterov=True), "nesterov"),
    (lambda: Adam([Value(1.0)], betas=(1.0, 0.999)), "beta1"),
    (lambda: Adam([Value(1.0)], betas=0.9), "betas"),
    (lambda: StepLR(SGD([Value(1.0)], lr=0.1), step_size=0), "step_size"),
    (lambda: StepLR("adam", step_size=2), "optimizer"),
    (lambda: SGD([Value(1.0)] * 2, lr=0.1), "more than once"),
])
def test_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_optimizer_accepts_a_module():
    from nn import MLP
    model = MLP(2, [3, 1], seed=0)
    opt = Adam(model, lr=0.1)
    assert opt.params == model.parameters()

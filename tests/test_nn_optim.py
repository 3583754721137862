"""Optimizers, schedulers and clipping against torch.optim, step by step, in float64."""

from __future__ import annotations

import math
import random
import re

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


# ------------------------------------------- hyperparameters: one check for __init__ and load

HUGE = 10 ** 400   # an int too large for a float


def _id(cls, change) -> str:
    text = f"{cls.__name__}-{change}"
    return text if len(text) < 50 else text[:47] + "..."


# (class, hyperparameters, error type, what the message must say)
BAD_HYPERPARAMETERS = [
    (Adam, dict(betas=(5.0, -3.0)), ValueError, r"beta1: 5\.0"),
    (Adam, dict(betas=(0.9, -3.0)), ValueError, r"beta2: -3\.0"),
    (Adam, dict(betas="evil"), TypeError, r"betas.*'evil'"),
    (Adam, dict(betas=(0.9, 0.99, 0.9)), ValueError, r"betas.*\(0\.9, 0\.99, 0\.9\)"),
    (Adam, dict(betas=(0.9, "0.99")), TypeError, r"beta2.*'0\.99'"),
    (Adam, dict(eps=-1.0), ValueError, r"eps: -1\.0"),
    (Adam, dict(eps=HUGE), ValueError, r"eps: 1000000"),
    (Adam, dict(weight_decay=None), TypeError, r"weight_decay.*None"),
    (Adam, dict(amsgrad="no"), TypeError, r"amsgrad.*'no'"),
    (AdamW, dict(betas=(0.9, 1.0)), ValueError, r"beta2: 1\.0"),
    (AdamW, dict(lr=-0.1), ValueError, r"lr: -0\.1"),
    (SGD, dict(lr="0.1"), TypeError, r"lr.*'0\.1'"),
    (SGD, dict(lr=True), TypeError, r"lr.*True"),
    (SGD, dict(lr=float("nan")), ValueError, r"lr: nan"),
    (SGD, dict(momentum=-0.9), ValueError, r"momentum: -0\.9"),
    (SGD, dict(dampening=float("nan")), ValueError, r"dampening: nan"),
    (SGD, dict(nesterov=True), ValueError, r"nesterov=True needs momentum > 0"),
    (SGD, dict(nesterov="yes", momentum=0.9), TypeError, r"nesterov.*'yes'"),
    (RMSprop, dict(alpha=-0.5), ValueError, r"alpha: -0\.5"),
    (RMSprop, dict(alpha=1.5), ValueError, r"alpha: 1\.5"),   # v would not be an average
    (RMSprop, dict(momentum=[0.9]), TypeError, r"momentum.*\[0\.9\]"),
    (RMSprop, dict(centered=None), TypeError, r"centered.*None"),
]


def _state_with(cls, hyper):
    """A valid state_dict of ``cls`` whose lr / hyperparameters are replaced by ``hyper``."""
    state = cls([Value(1.0), Value(2.0)]).state_dict()
    for name, value in hyper.items():
        if name == "lr":
            state["lr"] = value
        else:
            state["hyperparameters"][name] = value
    return state


def _stepped(cls, **hyper):
    opt = cls([Value(1.0), Value(2.0)], lr=0.1, **hyper)
    for p in opt.params:
        p.grad = 0.5
    opt.step()
    return opt


@pytest.mark.parametrize("cls, hyper, error, match", BAD_HYPERPARAMETERS,
                         ids=[_id(c, h) for c, h, _, _ in BAD_HYPERPARAMETERS])
def test_constructor_and_load_state_dict_refuse_the_same_hyperparameters(cls, hyper, error,
                                                                          match):
    with pytest.raises(error, match=match):
        cls([Value(1.0), Value(2.0)], **hyper)
    opt = _stepped(cls)
    before = opt.state_dict()
    with pytest.raises(error, match=match):
        opt.load_state_dict(_state_with(cls, hyper))
    assert opt.state_dict() == before


_DELETE = object()


def _with(state, **changes):
    """A copy of ``state`` with changes such as ``buffers__exp_avg=[...]`` (or ``_DELETE``)."""
    state = {**state, "hyperparameters": dict(state["hyperparameters"]),
             "buffers": dict(state["buffers"])}
    for path, value in changes.items():
        *keys, last = path.split("__")
        target = state
        for key in keys:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    return state


# (optimizer kind, how the state is damaged, what the message must say)
BAD_STATES = [
    (Adam, dict(step_count=-1), r"step_count.*-1"),
    (Adam, dict(step_count=1.5), r"step_count.*1\.5"),
    (Adam, dict(step_count=True), r"step_count.*True"),
    (Adam, dict(hyperparameters__amsgrad=_DELETE), r"hyperparameters must be"),
    (Adam, dict(hyperparameters__momentum=0.9), r"hyperparameters must be"),
    (Adam, dict(hyperparameters="evil"), r"hyperparameters must be"),
    (Adam, dict(buffers__exp_avg=_DELETE), r"buffers must be"),
    (Adam, dict(buffers__exp_avg=[0.1]), r"'exp_avg' must be a list of 2 numbers"),
    (Adam, dict(buffers__exp_avg=[0.1, "0.2"]), r"'exp_avg'.*'0\.2'"),
    (Adam, dict(buffers__exp_avg=[0.1, HUGE]), r"'exp_avg'.*too large"),
    (Adam, dict(buffers__exp_avg_sq=[0.1, -0.2]), r"'exp_avg_sq'.*>= 0.*-0\.2"),
    (Adam, dict(buffers__exp_avg_sq=None), r"'exp_avg_sq' is missing"),
    (Adam, dict(hyperparameters__amsgrad=True), r"'max_exp_avg_sq' is missing"),
    (RMSprop, dict(hyperparameters__centered=True), r"'grad_avg' is missing"),
    (RMSprop, dict(buffers__square_avg=[float("nan"), -1.0]), r"'square_avg'.*-1\.0"),
    (SGD, dict(lr=HUGE), r"lr: 1000000"),
    (SGD, dict(type="Adam"), r"'Adam', not 'SGD'"),
    (SGD, "not a dict", r"'str', not 'SGD'"),
]


@pytest.mark.parametrize("cls, damage, match", BAD_STATES,
                         ids=[_id(c, d) for c, d, _ in BAD_STATES])
def test_load_state_dict_refuses_a_bad_state_and_changes_nothing(cls, damage, match):
    opt = _stepped(cls, **({"momentum": 0.9} if cls is SGD else {}))
    before = opt.state_dict()
    state = damage if isinstance(damage, str) else _with(opt.state_dict(), **damage)
    with pytest.raises((TypeError, ValueError), match=match):
        opt.load_state_dict(state)
    assert opt.state_dict() == before


def _hyperparameter_value():
    from hypothesis import strategies as st
    number = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                       st.floats(-0.5, 1.5), st.integers(-3, 3), st.just(HUGE))
    junk = st.one_of(st.none(), st.booleans(), st.text(max_size=3),
                     st.lists(st.floats(0, 1), max_size=3).map(tuple))
    return st.one_of(number, junk, st.tuples(number, number))


def _outcome(action):
    """("ok", the optimizer's repr), or the error's type and message (without the
    "Adam.load_state_dict: " that load_state_dict puts first)."""
    try:
        opt = action()
    except (TypeError, ValueError) as error:
        return type(error), re.sub(r"^\w+\.load_state_dict: ", "", str(error))
    return "ok", repr(opt)


def test_property_load_state_dict_accepts_exactly_what_the_constructor_accepts():
    """For random hyperparameters, the constructor and load_state_dict agree: both accept
    (giving the same optimizer) or both raise the same error."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    choices = [(cls, name) for cls in (SGD, RMSprop, Adam, AdamW)
               for name in ("lr",) + cls.hyperparameters]

    @settings(max_examples=200)
    @given(st.sampled_from(choices), _hyperparameter_value(), st.booleans())
    def check(choice, value, momentum):
        cls, name = choice
        hyper = {name: value}
        if cls is SGD and momentum and name != "momentum":
            hyper["momentum"] = 0.5   # so that nesterov=True can be valid

        def construct():
            return cls([Value(1.0), Value(2.0)], **hyper)

        def load():
            opt = cls([Value(1.0), Value(2.0)])
            before = opt.state_dict()
            try:
                opt.load_state_dict(_state_with(cls, hyper))
            except (TypeError, ValueError):
                assert opt.state_dict() == before
                raise
            return opt

        assert _outcome(load) == _outcome(construct)

    check()


# ------------------------------------------------- RMSprop(centered): v - gbar^2 below zero

def _rmsprop_both(gradients, **hyper):
    """Our and torch's centered RMSprop on one parameter, step by step: (ours, torch's,
    torch's v - gbar^2 relative to v) after every step."""
    torch = require_module("torch")
    p = Value(0.5)
    tensor = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    ours = RMSprop([p], centered=True, **hyper)
    theirs = torch.optim.RMSprop([tensor], centered=True, **hyper)
    trajectory = []
    for g in gradients:
        p.grad = g
        tensor.grad = torch.tensor([g], dtype=torch.float64)
        ours.step()
        theirs.step()
        v, gbar = theirs.state[tensor]["square_avg"].item(), theirs.state[tensor]["grad_avg"].item()
        trajectory.append((p.data, tensor.item(), (v - gbar * gbar) / v if v else 0.0))
    return trajectory


def test_centered_rmsprop_never_raises_when_rounding_makes_the_variance_negative():
    # A constant gradient makes v - gbar^2 cancel to 0; at step 53 it rounds to -2e-16, whose
    # square root was a "math domain error". torch's sqrt gives nan there, and so does ours.
    trajectory = _rmsprop_both([1.1] * 60, lr=0.01, alpha=0.5)
    assert math.isnan(trajectory[-1][0])
    for ours, theirs, variance in trajectory[:10]:   # before the cancellation: torch's numbers
        assert variance > 1e-6
        assert ours == pytest.approx(theirs, rel=1e-9)


def test_centered_rmsprop_gives_torchs_nan_for_a_negative_variance():
    torch = require_module("torch")
    p, tensor = Value(1.0), torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    ours = RMSprop([p], alpha=0.5, centered=True)
    theirs = torch.optim.RMSprop([tensor], alpha=0.5, centered=True)
    ours.load_state_dict(_with(ours.state_dict(), buffers__square_avg=[0.0],
                               buffers__grad_avg=[0.5], step_count=1))
    theirs.state[tensor] = {"step": torch.tensor(1.0), "square_avg": torch.zeros(1).double(),
                            "grad_avg": torch.tensor([0.5]).double()}
    p.grad, tensor.grad = 0.5, torch.tensor([0.5]).double()   # v - gbar^2 = 0.125 - 0.25
    ours.step()
    theirs.step()
    assert math.isnan(p.data) and math.isnan(tensor.item())


def test_property_centered_rmsprop_matches_torch_and_never_raises():
    """Random gradient sequences made of runs of equal gradients, where v - gbar^2 cancels
    towards 0: no step raises, and every parameter equals torch's float64 one (rel 1e-9)
    until v - gbar^2 falls below 1e-4 v (there rounding errors of v are amplified 10^4 times,
    and further down both are rounding noise: torch even rounds with a fused multiply-add
    on CPUs that have one)."""
    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    gradient = st.one_of(st.sampled_from([1.1, 0.7, 0.1, -3.0, 1e-8]),
                         st.floats(-1e3, 1e3, allow_nan=False))
    runs = st.lists(st.tuples(gradient, st.integers(1, 40)), min_size=1, max_size=4)

    @settings(max_examples=40)
    @given(runs, st.sampled_from([0.5, 0.25, 0.9, 0.99]), st.sampled_from([0.0, 0.5]),
           st.sampled_from([0.0, 0.1]))
    @example([(1.1, 60)], 0.5, 0.0, 0.0)
    @example([(0.7, 60), (2.0, 5)], 0.5, 0.5, 0.0)
    def check(runs, alpha, momentum, weight_decay):
        gradients = [g for g, n in runs for _ in range(n)]
        trajectory = _rmsprop_both(gradients, lr=0.01, alpha=alpha, momentum=momentum,
                                   weight_decay=weight_decay)
        for ours, theirs, variance in trajectory:
            if not variance > 1e-4:
                break
            assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)

    check()


# ---------------------------------------------------- clip_grad_norm_: overflow, NaN, errors

def _with_grads(grads):
    params = [Value(0.0) for _ in grads]
    for p, g in zip(params, grads):
        p.grad = g
    return params


NAN, INF = math.nan, math.inf

# (gradients, norm_type, the norm, the gradients after clipping to max_norm = 1)
CLIP_CASES = [
    ([1e200, -1e200], 2.0, math.sqrt(2) * 1e200, [2 ** -0.5, -(2 ** -0.5)]),
    ([3e200, 4e200], 2.0, 5e200, [0.6, 0.8]),
    ([1e200, -1e200], 3.0, 2 ** (1 / 3) * 1e200, [2 ** (-1 / 3), -(2 ** (-1 / 3))]),
    ([1e200, -1e200], 1.0, 2e200, [0.5, -0.5]),
    ([3e-200, 4e-200], 2.0, 5e-200, [3e-200, 4e-200]),     # tiny: no underflow to 0
    ([1.0, NAN], 2.0, NAN, [NAN, NAN]),
    ([NAN, 1.0], 2.0, NAN, [NAN, NAN]),
    ([1.0, NAN], INF, NAN, [NAN, NAN]),
    ([NAN, 1.0], INF, NAN, [NAN, NAN]),
    ([INF, NAN], 1.0, NAN, [NAN, NAN]),
    ([INF, 1.0], 2.0, INF, [NAN, 0.0]),                      # torch: inf * 0 is nan
    ([1.0, -INF], INF, INF, [0.0, NAN]),
]


def _same_floats(a, b, rel=1e-12):
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=rel, abs=0.0)
        for x, y in zip(a, b))


@pytest.mark.parametrize("grads, norm_type, norm, clipped", CLIP_CASES,
                         ids=[f"{g}-{q}" for g, q, _, _ in CLIP_CASES])
def test_clip_grad_norm_has_no_overflow_and_nan_wins_in_any_order(grads, norm_type, norm,
                                                                  clipped):
    params = _with_grads(grads)
    total = clip_grad_norm_(params, 1.0, norm_type)
    assert _same_floats([total], [norm])
    assert _same_floats([p.grad for p in params], clipped)


@pytest.mark.parametrize("grads", [[1.0, NAN], [NAN, 1.0], [INF, 1.0], [1e308, 1e308]])
def test_clip_grad_norm_error_if_nonfinite_names_the_norm_and_changes_nothing(grads):
    params = _with_grads(grads)
    with pytest.raises(RuntimeError, match=r"total norm .*(nan|inf).*error_if_nonfinite=False"):
        clip_grad_norm_(params, 1.0, norm_type=1.0, error_if_nonfinite=True)
    assert _same_floats([p.grad for p in params], grads)
    assert _same_floats([clip_grad_norm_(_with_grads([3.0, 4.0]), 1.0,
                                         error_if_nonfinite=True)], [5.0])


def test_property_clip_grad_norm_matches_torch_for_every_magnitude():
    """Random gradients of any magnitude (subnormal to 1e308, zeros, nan, inf) and norm types:
    the norm and the clipped gradients are torch's float64 ones. Where torch's own sum of
    |g|^q would overflow or underflow, torch gets the gradients scaled by an exact power of
    two, 2^-k, and its norm is scaled back by 2^k."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    torch = require_module("torch")
    clip = torch.nn.utils.clip_grad_norm_
    gradient = st.one_of(st.floats(-1e3, 1e3), st.floats(), st.sampled_from([1e200, -1e-200]))

    @settings(max_examples=150)
    @given(st.lists(gradient, min_size=1, max_size=8), st.sampled_from([1.0, 2.0, 3.0, 0.5, INF]),
           st.one_of(st.floats(1e-3, 1e3), st.just(INF)))
    def check(grads, norm_type, max_norm):
        params = _with_grads(grads)
        total = clip_grad_norm_(params, max_norm, norm_type)
        tensor = torch.zeros(len(grads), dtype=torch.float64, requires_grad=True)
        finite = [abs(g) for g in grads if math.isfinite(g) and g != 0.0]
        if all(1e-60 < g < 1e60 for g in finite):   # torch's own arithmetic is exact enough
            tensor.grad = torch.tensor(grads, dtype=torch.float64)
            expected = clip([tensor], max_norm, norm_type).item()
            expected_grads = tensor.grad.tolist()
        else:
            k = math.frexp(max(finite))[1]
            tensor.grad = torch.tensor([math.ldexp(g, -k) for g in grads], dtype=torch.float64)
            try:
                expected = math.ldexp(clip([tensor], INF, norm_type).item(), k)
            except OverflowError:
                # the scaled norm rounds to 2^1024 (q < 1): the true norm is the largest
                # float or above it, so one ulp decides between it and inf; no reference
                assert total >= 1.7976931348623e308
                return
            coef = max_norm / (expected + 1e-6)
            expected_grads = [g * coef if not coef >= 1.0 else g for g in grads]
        assert _same_floats([total], [expected], rel=1e-12), (total, expected)
        assert _same_floats([p.grad for p in params], expected_grads, rel=1e-12)

    check()


# ------------------------------------------------- schedulers: load_state_dict checks first

SCHEDULERS = [(StepLR, dict(step_size=2, gamma=0.5)), (ExponentialLR, dict(gamma=0.9)),
              (CosineAnnealingLR, dict(T_max=5, eta_min=0.01)),
              (LinearWarmup, dict(warmup_epochs=3, start_factor=0.2))]

# (scheduler, what the state says, what the message must name)
BAD_SCHEDULER_STATES = [
    (StepLR, dict(hyperparameters__step_size=0), r"step_size.*0"),
    (CosineAnnealingLR, dict(hyperparameters__T_max=0), r"T_max.*0"),
    (LinearWarmup, dict(hyperparameters__warmup_epochs=0), r"warmup_epochs.*0"),
    (ExponentialLR, dict(hyperparameters__gamma=float("nan")), r"gamma: nan"),
    (StepLR, dict(hyperparameters__gamma=-2), r"gamma: -2"),
    (LinearWarmup, dict(hyperparameters__start_factor=7), r"start_factor: 7"),
    (StepLR, dict(hyperparameters=[2, 0.5]), r"hyperparameters must be.*\[2, 0\.5\]"),
    (ExponentialLR, dict(last_epoch=-1), r"last_epoch.*-1"),
    (ExponentialLR, dict(last_epoch=2.0), r"last_epoch.*2\.0"),
    (ExponentialLR, dict(hyperparameters__gamma=1.5, last_epoch=10 ** 6),
     r"learning rate of epoch 1000000"),
    (ExponentialLR, dict(base_lr="0.1"), r"base_lr"),
    (StepLR, dict(type="ExponentialLR"), r"'ExponentialLR', not 'StepLR'"),
]


def _scheduler_state(state, changes):
    state = {**state, "hyperparameters": dict(state["hyperparameters"])}
    for path, value in changes.items():
        *keys, last = path.split("__")
        (state[keys[0]] if keys else state)[last] = value
    return state


@pytest.mark.parametrize("cls, damage, match", BAD_SCHEDULER_STATES,
                         ids=[f"{c.__name__}-{list(d)[-1]}" for c, d, _ in BAD_SCHEDULER_STATES])
def test_scheduler_load_state_dict_refuses_a_bad_state_and_changes_nothing(cls, damage, match):
    opt = SGD([Value(1.0)], lr=0.1)
    scheduler = cls(opt, **dict(SCHEDULERS)[cls])
    scheduler.step()
    before = scheduler.state_dict(), opt.lr
    with pytest.raises((TypeError, ValueError), match=match):
        scheduler.load_state_dict(_scheduler_state(scheduler.state_dict(), damage))
    assert (scheduler.state_dict(), opt.lr) == before
    scheduler.step()   # still works
    assert scheduler.last_epoch == 2


def test_property_scheduler_load_state_dict_accepts_exactly_what_the_constructor_accepts():
    """For random hyperparameters, building a scheduler and loading them into one agree: both
    give the same scheduler and lr, or both raise the same error and nothing changes."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    choices = [(cls, name) for cls, _ in SCHEDULERS for name in cls.hyperparameters]

    @settings(max_examples=200)
    @given(st.sampled_from(choices), _hyperparameter_value())
    def check(choice, value):
        cls, name = choice
        hyper = {**dict(SCHEDULERS)[cls], name: value}

        def construct():
            return cls(SGD([Value(1.0)], lr=0.1), **hyper)

        def load():
            scheduler = cls(SGD([Value(1.0)], lr=0.1), **dict(SCHEDULERS)[cls])
            state = scheduler.state_dict()
            before = state, scheduler.optimizer.lr
            try:
                scheduler.load_state_dict({**state, "hyperparameters": hyper})
            except (TypeError, ValueError):
                assert (scheduler.state_dict(), scheduler.optimizer.lr) == before
                raise
            return scheduler

        assert _outcome(load) == _outcome(construct)

    check()

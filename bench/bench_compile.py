"""Benchmark: one training step of MLP(2, [16, 16, 1]) on 100 points, three ways, in one run.

- compiled: ``autograd.compile`` of the per-sample loss, ``batch`` over the 100 points;
- chainrule: the engine, building the whole batch's graph and calling ``backward()``;
- micrograd 0.1.0: the same model and loss in Karpathy's engine.

A step is zero_grad, forward of every point, the mean hinge loss, backward and an SGD update,
including the teardown of the graph (the garbage collector stays on; each timed block ends
with ``gc.collect()`` so cyclic garbage left by an engine is paid for by that engine).
The three models start from the same weights, so the losses printed must agree.

    python bench/bench_compile.py [--steps 3] [--blocks 3]
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import time
from typing import Any, Callable

from autograd import Value
from autograd import compile as compile_fn

SIZES = [2, 16, 16, 1]
LEARNING_RATE = 0.05


def moons(n: int, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles with a little noise; labels -1 and +1."""
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        t = math.pi * rng.random()
        if i % 2 == 0:
            x, y, label = math.cos(t), math.sin(t), -1.0
        else:
            x, y, label = 1.0 - math.cos(t), 0.5 - math.sin(t), 1.0
        xs.append([x + rng.gauss(0.0, 0.1), y + rng.gauss(0.0, 0.1)])
        ys.append(label)
    return xs, ys


def initial_weights(seed: int = 1) -> list[list[list[float]]]:
    """weights[layer][neuron] = [w_1, ..., w_nin, bias], uniform(-1, 1) like micrograd."""
    rng = random.Random(seed)
    return [[[rng.uniform(-1.0, 1.0) for _ in range(nin)] + [0.0] for _ in range(nout)]
            for nin, nout in zip(SIZES, SIZES[1:])]


def mlp(weights: list, make: Callable[[float], Any]) -> tuple[Callable, list]:
    """A relu MLP (linear last layer) whose parameters are made by ``make``; (model, params)."""
    layers = [[[make(w) for w in neuron] for neuron in layer] for layer in weights]
    params = [p for layer in layers for neuron in layer for p in neuron]

    def model(x: list) -> Any:
        for k, layer in enumerate(layers):
            outs = []
            for neuron in layer:
                act = sum((w * xi for w, xi in zip(neuron, x)), neuron[-1])
                outs.append(act.relu() if k < len(layers) - 1 else act)
            x = outs
        return x[0]

    return model, params


def hinge(score: Any, label: float) -> Any:
    """max(0, 1 - y * score): micrograd's demo loss for one point."""
    return (1 + -label * score).relu()


def engine_step(model: Callable, params: list, xs: list, ys: list) -> float:
    for p in params:
        p.grad = 0.0
    losses = [hinge(model(x), y) for x, y in zip(xs, ys)]
    loss = sum(losses) * (1.0 / len(losses))
    loss.backward()
    for p in params:
        p.data -= LEARNING_RATE * p.grad
    value = loss.data
    del losses, loss  # teardown of the graph is part of the step
    return value


def compiled_step(step: Any, params: list, rows: list) -> float:
    for p in params:
        p.grad = 0.0
    value = step.batch(rows, 1.0 / len(rows))
    for p in params:
        p.data -= LEARNING_RATE * p.grad
    return value


def timed(run: Callable[[], float], steps: int, blocks: int) -> tuple[float, list[float]]:
    """Median seconds per step over ``blocks`` blocks of ``steps`` steps; losses seen."""
    per_step, losses = [], []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(steps):
            losses.append(run())
        gc.collect()
        per_step.append((time.perf_counter() - start) / steps)
    return statistics.median(per_step), losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3, help="steps per timed block")
    parser.add_argument("--blocks", type=int, default=3, help="timed blocks per engine")
    args = parser.parse_args()
    gc.enable()
    xs, ys = moons(100)
    weights = initial_weights()
    rows = [(x[0], x[1], y) for x, y in zip(xs, ys)]

    model, params = mlp(weights, Value)
    start = time.perf_counter()
    step = compile_fn(lambda x1, x2, y: hinge(model([x1, x2]), y), [0.0, 0.0, 1.0])
    compile_time = time.perf_counter() - start
    t_compiled, l_compiled = timed(lambda: compiled_step(step, params, rows),
                                   args.steps, args.blocks)

    model, params = mlp(weights, Value)
    t_engine, l_engine = timed(lambda: engine_step(model, params, xs, ys), args.steps, args.blocks)

    try:
        from micrograd.engine import Value as MicroValue
    except ImportError:
        t_micro, l_micro = math.nan, []
    else:
        model, params = mlp(weights, MicroValue)
        t_micro, l_micro = timed(lambda: engine_step(model, params, xs, ys),
                                 args.steps, args.blocks)

    print(f"MLP{tuple(SIZES)} training step on {len(rows)} points "
          f"({len(step.leaves)} leaves, {step.num_nodes} nodes per sample graph, "
          f"{step.source.count(chr(10))} generated lines)")
    print(f"  compile time             {compile_time * 1e3:8.1f} ms (once)")
    print(f"  compiled step            {t_compiled * 1e3:8.2f} ms")
    print(f"  chainrule step           {t_engine * 1e3:8.2f} ms   "
          f"compiled is {t_engine / t_compiled:5.1f}x faster")
    print(f"  micrograd 0.1.0 step     {t_micro * 1e3:8.2f} ms   "
          f"compiled is {t_micro / t_compiled:5.1f}x faster")
    worst = max((abs(a - b) for a, b in zip(l_compiled, l_engine)), default=math.nan)
    print(f"  losses: compiled {l_compiled[-1]:.12f}, chainrule {l_engine[-1]:.12f}, "
          f"micrograd {l_micro[-1] if l_micro else math.nan:.12f} "
          f"(largest compiled-engine difference {worst:.1e})")


if __name__ == "__main__":
    main()

"""Benchmark: chainrule against micrograd, PyTorch scalar and plain Python floats.

    python bench/run.py            # full run (a few minutes)
    python bench/run.py --quick    # under 30 s
    python bench/run.py --json results.json
    python bench/run.py --only shallow mlp fresh

One process, engines interleaved (run 1 of every engine, then run 2 ...), GC on, medians
of several runs. Before anything is timed, every engine's values and gradients are checked
against each other. See bench/README.md for what each workload measures and why.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

clock = time.perf_counter

# ---------------------------------------------------------------- engines
# Each engine is a small adapter: how to make a leaf, relu, read a number and a gradient.
# The workloads below are written once and run unchanged on every engine.


class Engine:
    name = ""
    forward_only = False

    def leaf(self, x: float) -> Any: ...
    def relu(self, v: Any) -> Any: ...
    def number(self, v: Any) -> float: ...
    def grad(self, v: Any) -> float: ...

    def backward(self, root: Any) -> None:
        root.backward()

    def zero_grad(self, params: list) -> None:
        for p in params:
            p.grad = 0.0

    def sgd(self, params: list, lr: float) -> None:
        for p in params:
            p.data -= lr * p.grad


class Chainrule(Engine):
    name = "chainrule"

    def __init__(self) -> None:
        from autograd import Value
        self.Value = Value
        self.relu = Value.relu

    def leaf(self, x):
        return self.Value(x)

    def number(self, v):
        return v.data

    def grad(self, v):
        return v.grad


class Micrograd(Engine):
    name = "micrograd"

    def __init__(self) -> None:
        from micrograd.engine import Value
        self.Value = Value
        self.relu = Value.relu
        self.depth_needed = 0  # recursion depth its recursive topological sort needs

    def leaf(self, x):
        return self.Value(x)

    def number(self, v):
        return float(v.data)

    def grad(self, v):
        return float(v.grad)

    def backward(self, root):
        # micrograd sorts the graph recursively: for a fair fight raise the limit just for
        # its backward when the graph is deeper than the default allows, then restore it.
        old = sys.getrecursionlimit()
        if self.depth_needed + 200 > old:
            sys.setrecursionlimit(self.depth_needed + 200)
        try:
            root.backward()
        finally:
            sys.setrecursionlimit(old)


class TorchScalar(Engine):
    name = "torch"

    def __init__(self) -> None:
        import torch
        torch.set_num_threads(1)
        self.torch = torch
        self.relu = torch.relu

    def leaf(self, x):
        return self.torch.tensor(x, dtype=self.torch.float64, requires_grad=True)

    def number(self, v):
        return v.item()

    def grad(self, v):
        return 0.0 if v.grad is None else v.grad.item()

    def zero_grad(self, params):
        for p in params:
            p.grad = None

    def sgd(self, params, lr):
        with self.torch.no_grad():
            for p in params:
                p -= lr * p.grad


class Floats(Engine):
    """Plain Python floats, forward only: the interpreter's lower bound for the same code."""

    name = "floats"
    forward_only = True

    @staticmethod
    def relu(x):
        return x if x > 0.0 else 0.0

    def leaf(self, x):
        return x

    def number(self, v):
        return v


# ---------------------------------------------------------------- workload 1: expression DAG
ADD, MUL, RELU, SQUARE, CUBE = range(5)
BOUND = 2.0  # keep every intermediate within [-2, 2] so nothing overflows


def forward(op: int, a: float, b: float) -> float:
    """The value of one program step on floats (to keep every node within BOUND)."""
    return (a + b, a * b, a if a > 0.0 else 0.0, a * a, a * a * a)[op]


def make_program(n: int, seed: int = 0) -> tuple[list, int]:
    """A random DAG of about n nodes (10% leaves) as (op, i, j) steps, and its depth.

    The first operand is one of the 64 previous nodes (so the graph is deep, like a long
    expression); the second operand of + and * is the oldest node not used yet, so that
    nearly every node feeds the output. Ops that would leave [-2, 2] are redrawn. The
    program ends by summing the nodes nobody used, so the root depends on every node.
    """
    rng = random.Random(seed)
    program: list = []
    values: list[float] = []
    depth: list[int] = []
    used = bytearray(n)
    unused: collections.deque = collections.deque()
    for k in range(n):
        if k < 2 or rng.random() < 0.1:
            x = rng.uniform(-1.0, 1.0)
            program.append((-1, x, 0))
            values.append(x)
            depth.append(0)
            unused.append(k)
            continue
        while unused and used[unused[0]]:
            unused.popleft()
        for attempt in range(50):
            op = rng.randrange(5)
            i = rng.randrange(max(0, k - 64), k)
            j = unused[0] if unused and attempt < 25 else rng.randrange(k)
            a, b = values[i], values[j]
            v = forward(op, a, b)
            if abs(v) <= BOUND:
                break
        else:
            op, v = RELU, (a if a > 0.0 else 0.0)
        used[i] = 1
        if op <= MUL:
            used[j] = 1
        program.append((op, i, j))
        values.append(v)
        depth.append(1 + max(depth[i], depth[j] if op <= MUL else 0))
        unused.append(k)
    sinks = [k for k in range(n) if not used[k]]
    total = sinks[0]
    for k in sinks[1:]:
        program.append((ADD, total, k))
        depth.append(1 + max(depth[total], depth[k]))
        total = len(program) - 1
    return program, max(depth)


def make_shallow_program(n: int, seed: int = 0) -> tuple[list, int]:
    """A random DAG of n nodes (give or take one) whose operands are uniform over all earlier
    nodes, as (op, i, j) steps, and its depth.

    The nodes are those of make_program (10% leaves in [-1, 1]; + * relu **2 **3, redrawn
    when the result would leave [-2, 2]), but both operands are drawn from every node made
    so far, so the graph is shallow (depth 35 at 10k, 43 at 100k) and a walk from the root
    jumps all over it. Nearly half of the random nodes feed no other node: they are summed by
    a balanced tree of + (~30% of the n nodes, adding only ~log2 of their count to the
    depth), so the root depends on every node. Random nodes are drawn until they and that
    tree make n nodes.
    """
    rng = random.Random(seed)
    program: list = []
    values: list[float] = []
    depth: list[int] = []
    used = bytearray(n + 1)
    unused = 0  # nodes nobody uses yet; the final tree adds unused - 1 nodes
    while len(program) + unused - 1 < n:
        k = len(program)
        if k < 2 or rng.random() < 0.1:
            x = rng.uniform(-1.0, 1.0)
            program.append((-1, x, 0))
            values.append(x)
            depth.append(0)
            unused += 1
            continue
        for _ in range(50):
            op, i, j = rng.randrange(5), rng.randrange(k), rng.randrange(k)
            v = forward(op, values[i], values[j])
            if abs(v) <= BOUND:
                break
        else:
            op, v = RELU, forward(RELU, values[i], 0.0)
        for m in ((i, j) if op <= MUL else (i,)):
            if not used[m]:
                used[m] = 1
                unused -= 1
        program.append((op, i, j))
        values.append(v)
        depth.append(1 + max(depth[i], depth[j] if op <= MUL else 0))
        unused += 1
    sinks = [k for k in range(len(program)) if not used[k]]
    while len(sinks) > 1:
        pairs = []
        for i, j in zip(sinks[::2], sinks[1::2]):
            program.append((ADD, i, j))
            depth.append(1 + max(depth[i], depth[j]))
            pairs.append(len(program) - 1)
        sinks = pairs + sinks[len(pairs) * 2:]
    return program, max(depth)


def build_expr(engine: Engine, program: list) -> tuple[Any, list]:
    """Run the program on an engine; the root is its last node."""
    leaf, relu = engine.leaf, engine.relu
    nodes: list = []
    push = nodes.append
    leaves = []
    for op, i, j in program:
        if op == ADD:
            push(nodes[i] + nodes[j])
        elif op == MUL:
            push(nodes[i] * nodes[j])
        elif op == RELU:
            push(relu(nodes[i]))
        elif op == SQUARE:
            push(nodes[i] ** 2)
        elif op == CUBE:
            push(nodes[i] ** 3)
        else:
            v = leaf(i)
            leaves.append(v)
            push(v)
    return nodes[-1], leaves


# ---------------------------------------------------------------- workload 2: MLP step
def make_moons(n: int = 100, seed: int = 1) -> tuple[list, list]:
    """Two interleaving half circles with noise, labels -1/+1 (like sklearn's make_moons)."""
    rng = random.Random(seed)
    X, y = [], []
    for k in range(n):
        t = math.pi * rng.random()
        if k % 2:
            X.append([math.cos(t) + rng.gauss(0, 0.1), math.sin(t) + rng.gauss(0, 0.1)])
            y.append(-1.0)
        else:
            X.append([1 - math.cos(t) + rng.gauss(0, 0.1), 0.5 - math.sin(t) + rng.gauss(0, 0.1)])
            y.append(1.0)
    return X, y


def make_weights(sizes: list[int], seed: int = 2) -> list:
    """Per layer, per neuron: (weights, bias); micrograd's init (uniform(-1, 1), bias 0)."""
    rng = random.Random(seed)
    return [[([rng.uniform(-1, 1) for _ in range(nin)], 0.0) for _ in range(nout)]
            for nin, nout in zip(sizes, sizes[1:])]


class ScalarMLP:
    """MLP(2, [16, 16, 1]) from any engine's scalars: relu hidden layers, linear output."""

    def __init__(self, engine: Engine, weights: list) -> None:
        self.engine = engine
        self.layers = [[([engine.leaf(w) for w in ws], engine.leaf(b)) for ws, b in layer]
                       for layer in weights]

    def parameters(self) -> list:
        return [p for layer in self.layers for ws, b in layer for p in (*ws, b)]

    def __call__(self, x: list) -> Any:
        relu = self.engine.relu
        last = len(self.layers) - 1
        for k, layer in enumerate(self.layers):
            out = [sum((w * xi for w, xi in zip(ws, x)), b) for ws, b in layer]
            x = out if k == last else [relu(v) for v in out]
        return x[0]


def chainrule_mlp(weights: list) -> Any:
    """nn.MLP with these weights (its parameters are in micrograd's order: per neuron w, b)."""
    from nn import MLP

    model = MLP(2, [len(layer) for layer in weights])
    flat = [x for layer in weights for ws, b in layer for x in (*ws, b)]
    for p, x in zip(model.parameters(), flat):
        p.data = x
    return model


class Compiled(Chainrule):
    """chainrule with the training step traced once by ``autograd.compile`` (MLP only)."""

    name = "compiled"

    def prepare(self, model: Any, X: list, y: list, loss: str, alpha: float = 1e-4) -> float:
        """Compile mlp_loss's per-point term (and L2 term); returns the compile time in seconds."""
        from autograd import compile

        t0 = clock()
        if loss == "mse":
            self.sample = compile(lambda x1, x2, t: (model([x1, x2]) - t) ** 2, [*X[0], y[0]])
            self.reg = None
        else:
            self.sample = compile(lambda x1, x2, t: (1.0 + -t * model([x1, x2])).relu(),
                                  [*X[0], y[0]])
            self.reg = compile(lambda: alpha * sum(p * p for p in model.parameters()), [])
        self.rows = [(*x, t) for x, t in zip(X, y)]
        return clock() - t0

    def loss(self) -> float:
        """mlp_loss's value; its gradient is added into the parameters' .grad."""
        value = self.sample.batch(self.rows, 1.0 / len(self.rows))
        return value if self.reg is None else value + self.reg()[0]


MLP_LOSSES = ("mse", "hinge")


def mlp_loss(engine: Engine, model: Any, X: list, y: list, loss: str,
             alpha: float = 1e-4) -> Any:
    """The loss of a batch: "mse", mean (model(x) - y)^2, or "hinge", micrograd's demo loss,
    mean relu(1 - y model(x)) + alpha * sum of the parameters squared."""
    if loss == "mse":
        return sum((model(xi) - yi) ** 2 for xi, yi in zip(X, y)) * (1.0 / len(X))
    relu = engine.relu
    losses = [relu(1.0 + -yi * model(xi)) for xi, yi in zip(X, y)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg = alpha * sum(p * p for p in model.parameters())
    return data_loss + reg


# ---------------------------------------------------------------- workload 3: deep chain
def build_chain(engine: Engine, n: int) -> tuple[Any, Any]:
    x = engine.leaf(0.5)
    y = x
    for _ in range(n):
        y = y * 1.0001 + 0.0001
    return y, x


# ---------------------------------------------------------------- timing helpers
def close(a: float, b: float, rtol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)


def check_expr(engines: list[Engine], program: list) -> None:
    """Same root value and same leaf gradients on every engine (before timing)."""
    reference = None
    for engine in engines:
        root, leaves = build_expr(engine, program)
        value = engine.number(root)
        grads = None
        if not engine.forward_only:
            engine.backward(root)
            grads = [engine.grad(v) for v in leaves]
        if reference is None:
            reference = (engine.name, value, grads)
            continue
        name, value0, grads0 = reference
        assert close(value, value0), f"expr: {engine.name} value {value} != {name} {value0}"
        if grads is not None:
            bad = [k for k, (g, g0) in enumerate(zip(grads, grads0)) if not close(g, g0, 1e-7)]
            assert not bad, (f"expr: {engine.name} gradient of leaf {bad[0]} is "
                             f"{grads[bad[0]]}, {name} gives {grads0[bad[0]]}")
        del root, leaves
    gc.collect()


def check_mlp(engines: list[Engine], models: dict, X: list, y: list, loss: str) -> None:
    reference = None
    for engine in engines:
        model = models[engine.name]
        out = mlp_loss(engine, model, X, y, loss)
        params = list(model.parameters())
        engine.zero_grad(params)
        engine.backward(out)
        result = (engine.number(out), [engine.grad(p) for p in params])
        engine.zero_grad(params)
        if reference is None:
            reference = (engine.name, result)
            continue
        name, (loss0, grads0) = reference
        assert close(result[0], loss0), (f"mlp {loss}: {engine.name} loss {result[0]} != "
                                         f"{name} {loss0}")
        for k, (g, g0) in enumerate(zip(result[1], grads0)):
            assert close(g, g0, 1e-7), (f"mlp {loss}: {engine.name} grad of parameter {k}: "
                                        f"{g} != {name} {g0}")
    gc.collect()


def check_compiled(compiled: Compiled, model: Any, engine: Engine, reference: Any, X: list,
                   y: list, loss: str) -> None:
    """The compiled step gives chainrule's loss and gradients (before timing)."""
    out = mlp_loss(engine, reference, X, y, loss)
    engine.zero_grad(list(reference.parameters()))
    engine.backward(out)
    compiled.zero_grad(list(model.parameters()))
    value = compiled.loss()
    assert close(value, out.data), f"mlp {loss}: compiled loss {value} != chainrule {out.data}"
    for k, (p, p0) in enumerate(zip(model.parameters(), reference.parameters())):
        assert close(p.grad, p0.grad, 1e-9), (f"mlp {loss}: compiled grad {k}: {p.grad} != "
                                              f"chainrule {p0.grad}")
    gc.collect()


def time_expr(engine: Engine, program: list) -> dict:
    t0 = clock()
    root, leaves = build_expr(engine, program)
    t1 = clock()
    result = {"build": t1 - t0}
    if not engine.forward_only:
        engine.backward(root)
        result["backward"] = clock() - t1
    t2 = clock()
    del root, leaves
    gc.collect()
    result["teardown"] = clock() - t2
    return result


def time_mlp(engine: Engine, model: Any, X: list, y: list, loss: str) -> dict:
    """One SGD step: forward (build the loss), zero_grad, backward, update, teardown."""
    t0 = clock()
    out = mlp_loss(engine, model, X, y, loss)
    t1 = clock()
    params = list(model.parameters())
    engine.zero_grad(params)
    t2 = clock()
    engine.backward(out)
    t3 = clock()
    engine.sgd(params, 0.0)  # lr 0 keeps the parameters equal across runs and engines
    t4 = clock()
    del out, params
    gc.collect()
    t5 = clock()
    return {"forward": t1 - t0, "backward": t3 - t2, "update": (t2 - t1) + (t4 - t3),
            "teardown": t5 - t4, "step": t5 - t0}


def time_compiled_mlp(engine: Compiled, model: Any) -> dict:
    t0 = clock()
    params = list(model.parameters())
    engine.zero_grad(params)
    t1 = clock()
    engine.loss()
    t2 = clock()
    engine.sgd(params, 0.0)
    t3 = clock()
    gc.collect()  # nothing to tear down, but the same collection as the other engines
    t4 = clock()
    return {"forward+backward": t2 - t1, "update": (t1 - t0) + (t3 - t2), "teardown": t4 - t3,
            "step": t4 - t0}


def time_chain(engine: Engine, n: int) -> dict:
    t0 = clock()
    y, x = build_chain(engine, n)
    t1 = clock()
    result: dict = {"build": t1 - t0}
    try:
        engine.backward(y)
        result["backward"] = clock() - t1
        expected = 1.0001 ** n
        assert close(engine.grad(x), expected, 1e-6), (engine.name, engine.grad(x), expected)
    except RecursionError:
        result["error"] = "RecursionError"
    t2 = clock()
    del y, x
    gc.collect()
    result["teardown"] = clock() - t2
    return result


# ---------------------------------------------------------------- compiled vs PyTorch's tensors
def run_tensors(quick: bool) -> dict:
    """One SGD step of an MLP on 100 points with MSE: chainrule's compiled step (the model's
    dense layers as matrix products, the loss traced with it: ``fit(compile=True)``'s step)
    against PyTorch's vectorized step (``nn.Linear`` layers on a (100, 2) float64 tensor,
    one thread), interleaved in this process; and the compiled row loop (no numpy) for
    comparison. Both start from the same weights and are checked to give the same loss."""
    import torch
    from autograd import compiler
    import nn as cnn

    results = {}
    X, y = make_moons(100)
    repeats = 50 if quick else 300
    for sizes in ([2, 16, 16, 1], [2, 64, 64, 1]):
        weights = make_weights(sizes)
        model = chainrule_mlp(weights)
        t0 = clock()
        step = cnn.make_compiled_step(model, cnn.mse_loss, cnn.SGD(model.parameters(), lr=0.0))
        step(X[:2], y[:2])
        compile_time = clock() - t0
        net = torch.nn.Sequential(*[m for k, (a, b) in enumerate(zip(sizes, sizes[1:]))
                                    for m in ([torch.nn.Linear(a, b).double()] +
                                              ([torch.nn.ReLU()] if k < len(sizes) - 2 else []))])
        with torch.no_grad():
            linears = [m for m in net if isinstance(m, torch.nn.Linear)]
            for layer, neurons in zip(linears, weights):
                layer.weight.copy_(torch.tensor([w for w, _ in neurons], dtype=torch.float64))
                layer.bias.copy_(torch.tensor([b for _, b in neurons], dtype=torch.float64))
        tx = torch.tensor(X, dtype=torch.float64)
        ty = torch.tensor(y, dtype=torch.float64)[:, None]
        optimizer = torch.optim.SGD(net.parameters(), lr=0.0)

        def torch_step() -> float:
            optimizer.zero_grad()
            loss = ((net(tx) - ty) ** 2).mean()
            loss.backward()
            optimizer.step()
            return loss.item()

        ours, theirs = step(X, y)[0], torch_step()
        assert close(ours, theirs, 1e-9), f"tensors {sizes}: compiled {ours} != torch {theirs}"

        def row_loop() -> float:
            saved = compiler.LAYERED_MIN_ROWS, compiler.VECTOR_MIN_ROWS
            compiler.LAYERED_MIN_ROWS = compiler.VECTOR_MIN_ROWS = 10 ** 9
            try:
                return step(X, y)[0]
            finally:
                compiler.LAYERED_MIN_ROWS, compiler.VECTOR_MIN_ROWS = saved

        runs: dict[str, list] = {"compiled": [], "torch": [], "row loop": []}
        for k in range(repeats):
            for name, run in (("compiled", lambda: step(X, y)), ("torch", torch_step),
                              ("row loop", row_loop)):
                if name == "row loop" and k % 10:
                    continue  # slow: a tenth as many runs
                t0 = clock()
                run()
                runs[name].append(clock() - t0)
        found = {name: statistics.median(times) for name, times in runs.items()}
        found["compile_time"] = compile_time
        results["x".join(map(str, sizes))] = found
        print(f"\nMLP({sizes[0]}, {sizes[1:]}) SGD step on 100 points, MSE, in one process, "
              f"interleaved (ms, median of {repeats}; compiled in {compile_time * 1e3:.0f} ms)")
        for name in runs:
            print(f"{name:<12}{ms(found[name])}  {found[name] / found['torch']:5.2f}x "
                  "PyTorch's time")
    return results


# ---------------------------------------------------------------- memory
def bytes_per_node_traced(engine: Engine, program: list) -> float:
    """tracemalloc: memory held by the graph (with gradients) after backward, per node."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    root, leaves = build_expr(engine, program)
    if not engine.forward_only:
        engine.backward(root)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del root, leaves
    gc.collect()
    return held / len(program)


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def rss_child(engine_name: str, n: int) -> None:
    """In a fresh process: RSS growth from building + backpropagating the DAG, per node."""
    engine = ENGINES[engine_name]()
    program, depth = make_program(n)
    if isinstance(engine, Micrograd):
        engine.depth_needed = depth
    gc.collect()
    before = rss_kib()
    root, leaves = build_expr(engine, program)
    if not engine.forward_only:
        engine.backward(root)
    after = rss_kib()
    print(json.dumps({"bytes_per_node": (after - before) * 1024 / n}))


def bytes_per_node_rss(engine_name: str, n: int) -> float | None:
    try:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--rss-child",
                              engine_name, str(n)], capture_output=True, text=True, timeout=600,
                             check=True).stdout
        return json.loads(out.strip().splitlines()[-1])["bytes_per_node"]
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- fresh process, no torch
FRESH_GRAPHS = 7
FRESH_WORKLOADS = {"mlp_mse_25": "MLP B=25 MSE loss", "shallow_10000": "shallow DAG 10k"}


def fresh_child(engine_name: str, workload: str) -> None:
    """In a fresh process that imports only this engine (no torch, no gc.freeze), as a user's
    notebook runs it: backward() of FRESH_GRAPHS fresh graphs of one workload, which are the
    first backward() calls of the process. Prints the times, value and gradients as JSON."""
    engine = ENGINES[engine_name]()
    if workload == "mlp_mse_25":
        X, y = make_moons(25)
        weights = make_weights([2, 16, 16, 1])
        model = (chainrule_mlp(weights) if isinstance(engine, Chainrule) else
                 ScalarMLP(engine, weights))
        params = list(model.parameters())

        def build() -> tuple[Any, list]:
            return mlp_loss(engine, model, X, y, "mse"), params
    else:
        program, depth = make_shallow_program(10_000)
        if isinstance(engine, Micrograd):
            engine.depth_needed = depth

        def build() -> tuple[Any, list]:
            return build_expr(engine, program)
    times = []
    for _ in range(FRESH_GRAPHS):
        root, leaves = build()
        engine.zero_grad(leaves)
        t0 = clock()
        engine.backward(root)
        times.append(clock() - t0)
        value, grads = engine.number(root), [engine.grad(v) for v in leaves]
        del root, leaves
    print(json.dumps({"times": times, "value": value, "grads": grads,
                      "modules": sorted(m for m in ("torch", "numpy") if m in sys.modules)}))


def fresh_processes(rounds: int) -> dict:
    """fresh_child of chainrule and of micrograd for each workload, alternating, ``rounds``
    processes each.

    Checks that both engines got the same values and gradients, and returns per workload and
    engine each process's median, the median of those and their range."""
    results: dict = {}
    for workload in FRESH_WORKLOADS:
        runs: dict[str, list] = {"chainrule": [], "micrograd": []}
        for _ in range(rounds):
            for name in runs:
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--fresh-child",
                                      name, workload], capture_output=True, text=True,
                                     timeout=600, check=True)
                report = json.loads(out.stdout.strip().splitlines()[-1])
                assert not report["modules"], f"fresh {name}: imported {report['modules']}"
                runs[name].append(report)
        own, ref = runs["chainrule"][0], runs["micrograd"][0]
        assert close(own["value"], ref["value"]), (
            f"fresh {workload}: chainrule value {own['value']} != micrograd {ref['value']}")
        for k, (g, g0) in enumerate(zip(own["grads"], ref["grads"])):
            assert close(g, g0, 1e-7), (f"fresh {workload}: grad {k}: chainrule {g} != "
                                        f"micrograd {g0}")
        results[workload] = {}
        for name, reports in runs.items():
            medians = [statistics.median(r["times"]) for r in reports]
            results[workload][name] = {"backward": statistics.median(medians), "min": min(medians),
                                       "max": max(medians), "processes": medians}
    return results


# ---------------------------------------------------------------- driver
WORKLOADS = ["expr", "shallow", "mlp", "tensors", "chain", "memory", "fresh"]
ENGINES: dict[str, Callable[[], Engine]] = {
    "chainrule": Chainrule, "micrograd": Micrograd, "torch": TorchScalar, "floats": Floats}


def median_runs(runs: list[dict]) -> dict:
    keys = runs[0].keys()
    out: dict = {}
    for k in keys:
        values = [r[k] for r in runs]
        out[k] = values[0] if isinstance(values[0], str) else statistics.median(values)
    return out


def interleaved(engines: list[Engine], repeats: int, run: Callable[[Engine], dict]) -> dict:
    runs: dict[str, list] = {e.name: [] for e in engines}
    for _ in range(repeats):
        for engine in engines:
            runs[engine.name].append(run(engine))
    return {name: median_runs(r) for name, r in runs.items()}


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:9.1f}"


def ratio(value: float | None, reference: float | None) -> str:
    if not value or not reference:
        return "-"
    return f"{reference / value:5.2f}x"


def print_table(title: str, results: dict, columns: list[str],
                ratios: dict[str, list[str]]) -> None:
    """One row per engine: the columns in ms, then for each ratio (a name -> the columns it
    sums) how many times faster than micrograd ("name/mg") and than PyTorch ("name/th")."""
    legend = ", ".join(f"{name} = {'+'.join(keys)}" for name, keys in ratios.items())
    print(f"\n{title}\n(ms, median; x/mg, x/th: how many times faster than micrograd, PyTorch "
          f"on x; {legend})")
    heads = [f"{name}/{ref}" for ref in ("mg", "th") for name in ratios]
    head = (f"{'engine':<10}" + "".join(f"{c:>10}" for c in columns)
            + "".join(f"{h:>10}" for h in heads))
    print(head)
    print("-" * len(head))

    def total(name: str, keys: list[str]) -> float | None:
        r = results.get(name)
        if r is None or "error" in r or any(k not in r for k in keys):
            return None
        return sum(r[k] for k in keys)

    for name, r in results.items():
        cells = "".join(f"{ms(r.get(c)):>10}" for c in columns)
        cells += "".join(f"{ratio(total(name, keys), total(ref, keys)):>10}"
                         for ref in ("micrograd", "torch") for keys in ratios.values())
        note = f"  {r['error']}" if "error" in r else ""
        print(f"{name:<10}{cells}{note}")


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), "")
    except OSError:
        pass
    import torch
    import micrograd  # noqa: F401
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "cpu": cpu,
            "platform": platform.platform(), "torch": torch.__version__,
            "gc_threshold": gc.get_threshold()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under 30 s")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--only", nargs="+", choices=WORKLOADS, help="run only these workloads")
    parser.add_argument("--rss-child", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--fresh-child", nargs=2, metavar=("ENGINE", "WORKLOAD"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]))
        return {}
    if args.fresh_child:
        fresh_child(*args.fresh_child)
        return {}

    quick = args.quick
    todo = set(args.only or WORKLOADS)
    engines = [factory() for factory in ENGINES.values()]
    mg = next(e for e in engines if isinstance(e, Micrograd))
    info = machine()
    results: dict = {"machine": info, "quick": quick}
    print(f"Python {info['python']}, {info['cpus']} CPUs ({info['cpu']}), torch {info['torch']}, "
          f"GC on {info['gc_threshold']}{', quick mode' if quick else ''}")

    # Objects that exist before any workload (imported modules, torch) are moved out of the
    # collector's reach, so that gc time measures each engine's graph, not the imports.
    gc.collect()
    gc.freeze()

    if "expr" in todo:
        sizes = [10_000] if quick else [10_000, 100_000]
        for n in sizes:
            program, depth = make_program(n)
            mg.depth_needed = depth
            if n == sizes[0]:
                check_expr(engines, program)
            repeats = 3 if quick else (7 if n <= 10_000 else 5)
            res = interleaved(engines, repeats, lambda e: time_expr(e, program))
            results[f"expr_{n}"] = res
            print_table(f"Expression DAG, {n:,} nodes, depth {depth}", res,
                        ["build", "backward", "teardown"],
                        {"bwd": ["backward"], "b+b": ["build", "backward"]})

    if "shallow" in todo:
        sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000]
        for n in sizes:
            program, depth = make_shallow_program(n)
            mg.depth_needed = depth
            check_expr(engines, program)
            repeats = {1_000: 15, 10_000: 7, 100_000: 5}[n] // (2 if quick else 1)
            res = interleaved(engines, repeats, lambda e: time_expr(e, program))
            results[f"shallow_{n}"] = res
            print_table(f"Shallow random DAG, {len(program):,} nodes, depth {depth}", res,
                        ["build", "backward", "teardown"],
                        {"bwd": ["backward"], "b+b": ["build", "backward"]})

    if "mlp" in todo:
        weights = make_weights([2, 16, 16, 1])
        models = {e.name: chainrule_mlp(weights) if isinstance(e, Chainrule) else
                  ScalarMLP(e, weights) for e in engines}
        models["compiled"] = chainrule_mlp(weights)  # its own parameters, checked against these
        compiled = Compiled()
        configs = [("mse", 25), ("hinge", 25)] if quick else [
            (loss, batch) for loss in MLP_LOSSES for batch in (25, 100)]
        for loss, batch in configs:
            X, y = make_moons(batch)
            check_mlp([e for e in engines if not e.forward_only], models, X, y, loss)
            compile_time = compiled.prepare(models["compiled"], X, y, loss)
            check_compiled(compiled, models["compiled"], engines[0], models["chainrule"], X, y,
                           loss)

            def one_step(e: Engine) -> dict:
                if e.forward_only:
                    t0 = clock()
                    mlp_loss(e, models[e.name], X, y, loss)
                    return {"forward": clock() - t0}
                if isinstance(e, Compiled):
                    return time_compiled_mlp(e, models[e.name])
                return time_mlp(e, models[e.name], X, y, loss)

            res = interleaved([engines[0], compiled, *engines[1:]], 3 if quick else 7, one_step)
            results[f"mlp_{loss}_{batch}"] = res
            results[f"mlp_{loss}_{batch}_compile_time"] = compile_time
            what = "mean squared error" if loss == "mse" else "hinge + 1e-4 L2"
            print_table(f"MLP(2,[16,16,1]) SGD step on {batch} points, {what} (nn.MLP; "
                        f"compiled: autograd.compile, traced once in {compile_time * 1e3:.0f} ms)",
                        res, ["forward", "backward", "update", "teardown", "step"],
                        {"bwd": ["backward"], "step": ["step"]})
            own, fast = res["chainrule"]["step"], res["compiled"]["step"]
            print(f"compiled step: {own / fast:.1f}x faster than chainrule's engine step")
            work = fast - res["compiled"]["teardown"]  # the collection walks the whole process
            print(f"compiled step without the collection: {work * 1e3:.1f} ms; the plain-float "
                  f"forward pass alone: {res['floats']['forward'] * 1e3:.1f} ms")

    if "tensors" in todo:
        results["tensors"] = run_tensors(quick)

    if "chain" in todo:
        n = 100_000 if quick else 1_000_000
        res = {}
        for engine in engines:
            if engine.forward_only:
                t0 = clock()
                build_chain(engine, n)
                res[engine.name] = {"build": clock() - t0}
            else:
                res[engine.name] = time_chain(engine, n)
        results[f"chain_{n}"] = res
        print_table(f"Chain x -> x*1.0001 + 0.0001, {n:,} steps (one run)", res,
                    ["build", "backward", "teardown"], {"b+b": ["build", "backward"]})

    if "memory" in todo:
        n = 10_000 if quick else 100_000
        program, depth = make_program(n)
        mg.depth_needed = depth
        mem = {}
        for engine in engines:
            mem[engine.name] = {"tracemalloc": bytes_per_node_traced(engine, program),
                                "rss": bytes_per_node_rss(engine.name, n)}
        results[f"bytes_per_node_{n}"] = mem
        print(f"\nBytes per node, expression DAG of {n:,} nodes after backward "
              "(tracemalloc; RSS growth in a fresh process)")
        print("(tracemalloc does not see PyTorch's C++ allocator: use its rss figure)")
        ref, ref_rss = mem["micrograd"]["tracemalloc"], mem["micrograd"]["rss"]
        print(f"{'engine':<10}{'traced':>10}{'rss':>10}{'traced/mg':>11}{'rss/mg':>9}")
        for name, m in mem.items():
            rss = "-" if m["rss"] is None else f"{m['rss']:.0f}"
            rss_ratio = "-" if not (m["rss"] and ref_rss) else f"{m['rss'] / ref_rss:.2f}"
            print(f"{name:<10}{m['tracemalloc']:10.0f}{rss:>10}{m['tracemalloc'] / ref:11.2f}"
                  f"{rss_ratio:>9}")

    if "fresh" in todo:
        rounds = 1 if quick else 3
        fresh = fresh_processes(rounds)
        results["fresh"] = fresh
        print(f"\nbackward() in a fresh process without torch, as a notebook runs it: the "
              f"process's first {FRESH_GRAPHS} calls, on fresh graphs\n(ms; per process the "
              f"median of the {FRESH_GRAPHS}; median and range over {rounds} process(es) per "
              "engine, alternating; bwd/mg: how many times faster than micrograd)")
        print(f"{'workload':<22}{'chainrule':>20}{'micrograd':>20}{'bwd/mg':>10}")
        for workload, title in FRESH_WORKLOADS.items():
            own, ref = fresh[workload]["chainrule"], fresh[workload]["micrograd"]
            cells = "".join(f"{ms(r['backward']).strip():>8} ({ms(r['min']).strip()}-"
                            f"{ms(r['max']).strip()})".rjust(20) for r in (own, ref))
            print(f"{title:<22}{cells}{ratio(own['backward'], ref['backward']):>10}")

    gc.unfreeze()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"\nwrote {args.json}")
    return results


if __name__ == "__main__":
    main()

"""Benchmark: chainrule against micrograd, PyTorch scalar and plain Python floats.

    python bench/run.py            # full run (a few minutes)
    python bench/run.py --quick    # under 30 s
    python bench/run.py --json results.json

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
            v = (a + b, a * b, a if a > 0.0 else 0.0, a * a, a * a * a)[op]
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

    def prepare(self, model: Any, X: list, y: list, alpha: float = 1e-4) -> float:
        """Compile mlp_loss's two parts; returns the compile time in seconds."""
        from autograd import compile

        t0 = clock()
        self.sample = compile(lambda x1, x2, t: (1.0 + -t * model([x1, x2])).relu(),
                              [*X[0], y[0]])
        self.reg = compile(lambda: alpha * sum(p * p for p in model.parameters()), [])
        self.rows = [(*x, t) for x, t in zip(X, y)]
        return clock() - t0

    def loss(self) -> float:
        """mlp_loss's value; its gradient is added into the parameters' .grad."""
        return self.sample.batch(self.rows, 1.0 / len(self.rows)) + self.reg()[0]


def mlp_loss(engine: Engine, model: Any, X: list, y: list, alpha: float = 1e-4) -> Any:
    """micrograd's demo loss: mean hinge loss + alpha * L2 of the parameters."""
    relu = engine.relu
    losses = [relu(1.0 + -yi * model(xi)) for xi, yi in zip(X, y)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg = alpha * sum(p * p for p in model.parameters())
    return data_loss + reg


def mlp_step(engine: Engine, model: Any, X: list, y: list, lr: float = 0.01) -> float:
    """One SGD step: forward, zero_grad, backward, update; returns the loss."""
    loss = mlp_loss(engine, model, X, y)
    params = list(model.parameters())
    engine.zero_grad(params)
    engine.backward(loss)
    engine.sgd(params, lr)
    return engine.number(loss)


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


def check_mlp(engines: list[Engine], models: dict, X: list, y: list) -> None:
    reference = None
    for engine in engines:
        model = models[engine.name]
        loss = mlp_loss(engine, model, X, y)
        params = list(model.parameters())
        engine.zero_grad(params)
        engine.backward(loss)
        result = (engine.number(loss), [engine.grad(p) for p in params])
        engine.zero_grad(params)
        if reference is None:
            reference = (engine.name, result)
            continue
        name, (loss0, grads0) = reference
        assert close(result[0], loss0), f"mlp: {engine.name} loss {result[0]} != {name} {loss0}"
        for k, (g, g0) in enumerate(zip(result[1], grads0)):
            assert close(g, g0, 1e-7), f"mlp: {engine.name} grad of parameter {k}: {g} != {g0}"
    gc.collect()


def check_compiled(compiled: Compiled, model: Any, engine: Engine, reference: Any, X: list,
                   y: list) -> None:
    """The compiled step gives chainrule's loss and gradients (before timing)."""
    loss = mlp_loss(engine, reference, X, y)
    engine.zero_grad(list(reference.parameters()))
    engine.backward(loss)
    compiled.zero_grad(list(model.parameters()))
    value = compiled.loss()
    assert close(value, loss.data), f"mlp: compiled loss {value} != chainrule {loss.data}"
    for k, (p, p0) in enumerate(zip(model.parameters(), reference.parameters())):
        assert close(p.grad, p0.grad, 1e-9), f"mlp: compiled grad {k}: {p.grad} != {p0.grad}"
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


def time_mlp(engine: Engine, model: Any, X: list, y: list) -> dict:
    t0 = clock()
    loss = mlp_loss(engine, model, X, y)
    t1 = clock()
    params = list(model.parameters())
    engine.zero_grad(params)
    engine.backward(loss)
    engine.sgd(params, 0.0)  # lr 0 keeps the parameters equal across runs and engines
    t2 = clock()
    del loss, params
    gc.collect()
    t3 = clock()
    return {"forward": t1 - t0, "backward": t2 - t1, "teardown": t3 - t2, "step": t3 - t0}


def time_compiled_mlp(engine: Compiled, model: Any) -> dict:
    t0 = clock()
    params = list(model.parameters())
    engine.zero_grad(params)
    engine.loss()
    engine.sgd(params, 0.0)
    t1 = clock()
    gc.collect()  # nothing to tear down, but the same collection as the other engines
    t2 = clock()
    return {"forward+backward": t1 - t0, "teardown": t2 - t1, "step": t2 - t0}


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


# ---------------------------------------------------------------- driver
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


def print_table(title: str, results: dict, columns: list[str], total: list[str]) -> None:
    print(f"\n{title}  (ms, median; 'vs mg' / 'vs torch' = how many times faster than them "
          f"on {'+'.join(total)})")
    head = f"{'engine':<10}" + "".join(f"{c:>10}" for c in columns) + f"{'vs mg':>9}{'vs torch':>9}"
    print(head)
    print("-" * len(head))

    def tot(r: dict) -> float | None:
        if "error" in r:
            return None
        if "step" in r and "step" in columns:
            return r["step"]
        if any(k not in r for k in total):
            return None
        return sum(r[k] for k in total)

    mg = tot(results["micrograd"]) if "micrograd" in results else None
    th = tot(results["torch"]) if "torch" in results else None
    for name, r in results.items():
        cells = "".join(f"{ms(r.get(c)):>10}" for c in columns)
        note = f"  {r['error']}" if "error" in r else ""
        print(f"{name:<10}{cells}{ratio(tot(r), mg):>9}{ratio(tot(r), th):>9}{note}")


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
    parser.add_argument("--only", nargs="+", choices=["expr", "mlp", "chain", "memory"],
                        help="run only these workloads")
    parser.add_argument("--rss-child", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rss_child:
        rss_child(args.rss_child[0], int(args.rss_child[1]))
        return {}

    quick = args.quick
    todo = set(args.only or ["expr", "mlp", "chain", "memory"])
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
                        ["build", "backward", "teardown"], ["build", "backward"])

    if "mlp" in todo:
        X, y = make_moons(100)
        weights = make_weights([2, 16, 16, 1])
        models = {e.name: ScalarMLP(e, weights) for e in engines if not e.forward_only}
        models["chainrule"] = chainrule_mlp(weights)
        check_mlp([e for e in engines if not e.forward_only], models, X, y)
        models["floats"] = ScalarMLP(engines[-1], weights)
        compiled = Compiled()
        models["compiled"] = chainrule_mlp(weights)
        compile_time = compiled.prepare(models["compiled"], X, y)
        check_compiled(compiled, models["compiled"], engines[0], models["chainrule"], X, y)
        repeats = 3 if quick else 7

        def one_step(e: Engine) -> dict:
            if e.forward_only:
                t0 = clock()
                mlp_loss(e, models[e.name], X, y)
                return {"forward": clock() - t0}
            if isinstance(e, Compiled):
                return time_compiled_mlp(e, models[e.name])
            return time_mlp(e, models[e.name], X, y)

        res = interleaved([engines[0], compiled, *engines[1:]], repeats, one_step)
        results["mlp_step"] = res
        results["mlp_compile_time"] = compile_time
        print_table("MLP(2,[16,16,1]) SGD step on 100 points (nn.MLP; compiled: "
                    f"autograd.compile, traced once in {compile_time * 1e3:.0f} ms)",
                    res, ["forward", "backward", "teardown", "step"],
                    ["forward", "backward", "teardown"])
        own, fast = res["chainrule"]["step"], res["compiled"]["step"]
        print(f"compiled step: {own / fast:.1f}x faster than chainrule's engine step")

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
                    ["build", "backward", "teardown"], ["build", "backward"])

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

    gc.unfreeze()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
        print(f"\nwrote {args.json}")
    return results


if __name__ == "__main__":
    main()

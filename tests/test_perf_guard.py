"""Performance regression guard that times nothing: it counts what makes the engine fast.

Graph building is dominated by allocation and by Python's cyclic garbage collector, which
walks every GC-tracked object. The engine is designed so that a node is exactly one
GC-tracked object (a Value; its floats are not tracked), holds no reference cycle (no
closure, no back-pointer), and fits in a fixed number of bytes. If a change adds a tuple,
a set or a closure per node, or a cycle, these counts change long before timings get noisy.
"""

from __future__ import annotations

import gc
import random
from collections import Counter
import tracemalloc

import pytest

from autograd import Value, no_grad

N = 100_000
BYTES_PER_NODE_BOUND = 165  # issue 8: at most a quarter of micrograd's ~660 bytes/node


def random_graph(n: int, seed: int = 0) -> list[Value]:
    """n Values: 10% leaves, then +, *, relu, **2, **3 of recent and random earlier nodes."""
    rng = random.Random(seed)
    nodes = [Value(rng.uniform(-1.0, 1.0)) for _ in range(n // 10)]
    while len(nodes) < n:
        a = nodes[-1 - rng.randrange(min(64, len(nodes)))]
        b = nodes[rng.randrange(len(nodes))]
        op = rng.randrange(5)
        if op == 0:
            v = a + b
        elif op == 1:
            v = a * b
        elif op == 2:
            v = a.relu()
        elif op == 3:
            v = a ** 2
        else:
            v = a ** 3
        if abs(v.data) > 2.0:  # keep every value bounded: the graph stays finite
            v = a.relu()
        nodes.append(v)
    return nodes


def output_of(nodes: list[Value]) -> Value:
    """A root that depends on the last 100 nodes (and through them most of the graph)."""
    total = nodes[-1]
    for v in nodes[-100:-1]:
        total = total + v
    return total


@pytest.fixture
def gc_paused():
    """Pause automatic collection for the test so that counts are exact; always restore."""
    was_enabled = gc.isenabled()
    for _ in range(10):  # earlier tests' garbage, and what its finalizers leave (matplotlib)
        if gc.collect() == 0:
            break
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def tracked() -> Counter:
    """The GC-tracked objects by type. Counted by type because other threads of the test
    process (xdist's message thread, a page server's) may make some objects meanwhile: a
    per-node cost shows as thousands, so a few strays must not fail the count."""
    return Counter(type(o) for o in gc.get_objects())


def grown(before: Counter) -> tuple[int, int]:
    """(new Values, new objects of every other type) since ``before``."""
    new = tracked() - before
    values = new.pop(Value, 0)
    return values, sum(new.values())


# Objects other threads of the test process may make during a count: a page server left by
# an earlier test in the same worker made 26 weakrefs and 26 builtin methods (thread-locals)
# once. A cost per node shows as N (100,000), so 1% of that is still a sharp bound.
STRAYS = N // 100


def test_a_graph_has_no_reference_cycles(gc_paused):
    """Build, backpropagate and drop 100k nodes: refcounting frees all of it, gc finds nothing."""
    nodes = random_graph(N)
    root = output_of(nodes)
    root.backward()
    root.backward()  # a second pass (accumulation path) must not leave anything behind either
    assert nodes[0].grad != 0.0 or any(v.grad for v in nodes[: N // 10])  # it did run
    built = len(nodes) + 99  # output_of adds 99 additions
    values_before = sum(type(o) is Value for o in gc.get_objects()) - built
    del nodes, root
    left = sum(type(o) is Value for o in gc.get_objects()) - values_before
    assert left == 0, f"{left} nodes outlived their last reference: they are in a cycle"
    found = gc.collect()
    assert found < 10, f"{found} objects were only freed by the cyclic GC: a node holds a cycle"


def test_one_gc_tracked_object_per_node(gc_paused):
    """A node is one Value; data and grad are floats, which the GC does not track."""
    before = tracked()
    nodes = random_graph(N)
    values, others = grown(before)
    assert values == len(nodes) and others <= STRAYS, (
        f"{(values + others) / len(nodes):.3f} GC-tracked objects per node, not 1")

    root = output_of(nodes)
    extra = 99  # output_of's additions
    root.backward()
    values, others = grown(before)
    assert values == len(nodes) + extra and others <= STRAYS, (
        f"backward left {values + others - len(nodes) - extra} GC-tracked objects behind")


def test_a_constant_operand_costs_one_node():
    """x * 2.0 makes two nodes (the constant is a leaf, as in micrograd): exactly two objects."""
    x = Value(1.5)
    gc.collect()
    before = tracked()
    ys = [x * 2.0 for _ in range(1000)]
    values, others = grown(before)
    assert values == 2 * len(ys) and others < len(ys) // 10  # a cost per node shows as 1000


def test_no_grad_nodes_hold_no_inputs():
    x = Value(1.5)
    with no_grad():
        y = x * x + 1.0
    assert y.inputs == () and y.is_leaf


def test_bytes_per_node_with_gradients():
    """tracemalloc: a built, backpropagated graph costs at most BYTES_PER_NODE_BOUND per node."""
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        nodes = random_graph(N)
        root = output_of(nodes)
        root.backward()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    per_node = held / len(nodes)
    # Design: a Value (16 B GC header + 16 B object header + 8 slots of 8 B) = 96 B, its data
    # float (24 B), its grad float after backward (24 B), and the list entry that holds it (8 B).
    assert per_node <= BYTES_PER_NODE_BOUND, f"{per_node:.0f} bytes per node"
    assert per_node >= 96, f"{per_node:.0f} bytes per node is less than a Value: not measured"

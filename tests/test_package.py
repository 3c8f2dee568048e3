"""The package's own promises: strict typing, and honest `__all__` lists."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import runwatch

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_type_checks_strictly() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_package_exports_exactly_what_it_defines_in_all() -> None:
    for module_info in pkgutil.walk_packages(runwatch.__path__, "runwatch."):
        if not module_info.ispkg:
            continue
        module = importlib.import_module(module_info.name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            continue
        public = {name for name in vars(module) if not name.startswith("_")
                  and not isinstance(getattr(module, name), type(runwatch))}
        assert sorted(exported) == sorted(set(exported)), module_info.name
        assert set(exported) <= public, (module_info.name, set(exported) - public)

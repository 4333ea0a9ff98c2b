"""The end-to-end tests: real processes on loopback (tests/e2e/processes.py), each marked e2e."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.processes import start_router

__all__ = ["start_router"]

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e/ is marked ``e2e``, so ``-m "not e2e"`` leaves them out.

    (A ``pytestmark`` in a conftest.py marks nothing; this hook sees every collected
    item, so it marks only those collected from this folder.)"""
    for item in items:
        if item.path.resolve().is_relative_to(_HERE):
            item.add_marker(pytest.mark.e2e)

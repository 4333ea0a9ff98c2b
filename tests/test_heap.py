"""The long-lived heap is kept out of full collections, and a reload frees the old one."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router import heap
from router.app import create_app
from tests.helpers import settings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # later tests start from an ordinary heap


@pytest.mark.usefixtures("unfrozen")
def test_start_freezes_what_it_built_and_a_reload_frees_the_ruleset_it_replaced(
    tmp_path: Path,
) -> None:
    app = create_app(settings(tmp_path))
    with TestClient(app):
        assert gc.get_freeze_count() > 10_000  # modules, schemas, the ruleset and its index
        runtime = app.state.runtime
        old = weakref.ref(runtime.ruleset)
        runtime.reload()
        assert old() is None  # nothing keeps the ruleset it replaced (heartbeats did)
        assert gc.get_freeze_count() > 10_000


@pytest.mark.usefixtures("unfrozen")
def test_settle_frees_the_cycles_an_earlier_freeze_kept() -> None:
    class Node:
        me: object

    node = Node()
    node.me = node  # a reference cycle: only the collector frees it
    ref = weakref.ref(node)
    gc.freeze()
    del node
    gc.collect()
    assert ref() is not None  # frozen objects are never collected
    heap.settle()
    assert ref() is None
    assert gc.get_freeze_count() > 0

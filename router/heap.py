"""Garbage-collector pauses: what lives as long as the process is kept out of them.

CPython's full (generation 2) collection walks every object it tracks, and the
router keeps a large heap that never becomes garbage: modules, FastAPI's and
pydantic's schemas, SQLAlchemy's compiled statements, the ruleset and its search
index. Walking it took 67-95 ms a collection under load, a pause that every
request in flight waits out (p99 at peak load 95 ms; docs/benchmarks.md). Once
started, and after each reload, those objects are moved to the permanent
generation (``gc.freeze``): a full collection then walks only what requests
made, about 3 ms.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Free what is garbage now, then keep everything left out of later collections.

    A frozen object is never collected, so the last freeze is undone first: a
    replaced ruleset's reference cycles are freed here, at the next reload.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()

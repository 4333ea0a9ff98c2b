"""FastAPI dependencies: the running service, as the composition root built it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from router.runtime import Runtime


async def runtime(request: Request) -> Runtime:
    """Async: a plain function would be run in the thread pool, a hop per request."""
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]

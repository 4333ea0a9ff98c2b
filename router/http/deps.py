"""FastAPI dependencies: the running service, as the composition root built it.

Each endpoint's module declares the Protocol of what it uses of the service and
annotates ``Depends(runtime)`` with it (``WebhookDep``, ``SlackDep``, ``PageDep``...):
nothing here names the runtime, which sits above every HTTP module.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request


async def runtime(request: Request) -> Any:
    """Async: a plain function would be run in the thread pool, a hop per request."""
    return request.app.state.runtime

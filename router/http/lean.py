"""A route documented like any other, called without FastAPI's per-request machinery.

FastAPI builds an endpoint's OpenAPI entry from its signature, and on every request
solves its dependencies, validates its parameters and records telemetry: about a
sixth of a webhook's time on the HTTP side (docs/benchmarks.md). An endpoint that
reads its own body and takes only the request and path parameters (strings, as they
matched) needs none of that: ``LeanRoute`` calls it directly and keeps its entry in
/openapi.json and /docs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute


class LeanRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        extra = (dependant.query_params, dependant.header_params, dependant.cookie_params)
        if any(extra) or dependant.body_params or dependant.dependencies:
            raise TypeError(f"{self.path}: a lean route takes only the request and its path")
        if any(p.field_info.annotation is not str for p in dependant.path_params):
            raise TypeError(f"{self.path}: a lean route's path parameters are strings")
        if not inspect.iscoroutinefunction(self.endpoint):
            raise TypeError(f"{self.path}: a lean route's endpoint is async")
        endpoint: Callable[..., Coroutine[Any, Any, Response]] = self.endpoint
        request_name = dependant.request_param_name or "request"

        async def handler(request: Request) -> Response:
            return await endpoint(**request.path_params, **{request_name: request})

        return handler

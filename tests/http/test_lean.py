"""LeanRoute: called without FastAPI's per-request machinery, documented as any route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient

from router.http.lean import LeanRoute


async def echo(name: str, request: Request) -> Response:
    return JSONResponse({"name": name, "q": request.query_params.get("q")}, status_code=202)


def app_with(endpoint: Callable[..., Any], path: str = "/echo/{name}") -> FastAPI:
    router = APIRouter()
    router.add_api_route(
        path, endpoint, methods=["POST"], status_code=202, route_class_override=LeanRoute
    )
    app = FastAPI()
    app.include_router(router)
    return app


def test_the_endpoint_gets_its_path_and_request_and_is_documented() -> None:
    app = app_with(echo)
    with TestClient(app) as client:
        answer = client.post("/echo/x%20y?q=1")
        assert answer.status_code == 202
        assert answer.json() == {"name": "x y", "q": "1"}
        assert client.get("/echo/x").status_code == 405
        operation = client.get("/openapi.json").json()["paths"]["/echo/{name}"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["name"]
    assert "202" in operation["responses"]


async def with_query(name: str, q: int) -> Response:
    return Response()


async def with_int_path(name: int, request: Request) -> Response:
    return Response()


def blocking(name: str, request: Request) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [with_query, with_int_path, blocking])
def test_what_it_would_skip_is_refused_when_the_route_is_made(endpoint: Callable[..., Any]) -> None:
    with pytest.raises(TypeError, match="lean route"):
        app_with(endpoint)

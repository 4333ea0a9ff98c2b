"""/docs and /redoc from the router's own files: no CDN, the inline script allowed by hash."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from router.app import create_app
from tests.helpers import AppClients, settings


@pytest.fixture
def client(app_client: AppClients) -> TestClient:
    return app_client(run_dispatcher=False)


def assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_load_only_files_the_router_serves(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    urls = assets(response.text)
    assert urls, response.text
    assert "http://" not in response.text
    assert "https://" not in response.text
    for url in urls:
        assert url.startswith("/docs/static/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        assert len(served.content) > 1000
    assert "'self'" in response.headers["content-security-policy"]


def test_swagger_ui_points_at_the_schema_and_needs_no_validator(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "url: '/openapi.json'" in html
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io


def test_policy_allows_the_pages_own_inline_script_and_nothing_from_elsewhere(
    client: TestClient,
) -> None:
    response = client.get("/docs")
    (inline,) = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    policy = dict(
        d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert policy["default-src"] == "'none'"
    assert policy["img-src"] == "'self' data:"
    assert policy["connect-src"] == "'self'"  # Try it out: this router only
    assert policy["frame-ancestors"] == "'none'"


def test_behind_a_path_prefix_the_urls_keep_it(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path), run_dispatcher=False)
    with TestClient(app, root_path="/router") as client:
        html = client.get("/docs").text
    assert "url: '/router/openapi.json'" in html
    assert all(u.startswith("/router/docs/static/") for u in assets(html))


def test_the_docs_pages_are_not_in_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]

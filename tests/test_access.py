"""Who may reach what: read pages and JSON, admin endpoints, metrics, and what is always public."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from router.access import Surface, safe_next, surface
from tests.fakes.clock import FakeClock
from tests.helpers import ADMIN, BODY, AppClients

READ_TOKEN = "read-token-0123456789"
HTML = {"Accept": "text/html"}


def reader(app_client: AppClients, clock: FakeClock | None = None, **more: Any) -> TestClient:
    """The app as a client from another host reaches it, redirects not followed."""
    return app_client(
        run_dispatcher=False,
        clock=clock,
        follow_redirects=False,
        client=("10.1.2.3", 40000),
        **more,
    )


@pytest.fixture
def guarded(app_client: AppClients, clock: FakeClock) -> TestClient:
    return reader(app_client, clock, read_token=f"old,{READ_TOKEN}")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/healthz", Surface.PUBLIC),
        ("/readyz", Surface.PUBLIC),
        ("/webhooks/alertmanager", Surface.PUBLIC),
        ("/slack/commands", Surface.PUBLIC),
        ("/login", Surface.PUBLIC),
        ("/-/reload", Surface.ADMIN),
        ("/api/route", Surface.ADMIN),
        ("/metrics", Surface.METRICS),
        ("/runbooks", Surface.READ),
        ("/alerts/1", Surface.READ),
        ("/docs", Surface.READ),
        ("/docs/static/swagger-ui-bundle.js", Surface.READ),
        ("/redoc", Surface.READ),
        ("/openapi.json", Surface.READ),
        ("/anything-else", Surface.READ),
    ],
)
def test_every_path_has_a_surface(path: str, kind: Surface) -> None:
    assert surface(path) is kind


@pytest.mark.parametrize(
    "path",
    [
        "/runbooks",
        "/runbooks/RUN-001",
        "/alerts",
        "/docs",
        "/docs/static/swagger-ui.css",
        "/redoc",
        "/openapi.json",
    ],
)
def test_reads_need_the_token_when_it_is_set(guarded: TestClient, path: str) -> None:
    refused = guarded.get(path, headers={"Accept": "application/json"})
    assert refused.status_code == 401
    assert "ROUTER_READ_TOKEN" in refused.json()["error"]
    allowed = guarded.get(path, headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert allowed.status_code == 200


def test_a_browser_signs_in_once_and_gets_a_session(guarded: TestClient, clock: FakeClock) -> None:
    to_login = guarded.get("/runbooks/RUN-001?x=1", headers=HTML)
    assert to_login.status_code == 303
    assert to_login.headers["location"] == "/login?next=%2Frunbooks%2FRUN-001%3Fx%3D1"
    form = guarded.get(to_login.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/runbooks/RUN-001?x=1"' in form.text
    wrong = guarded.post("/login", content=b"token=nope&next=%2Frunbooks", headers=FORM)
    assert wrong.status_code == 401
    signed = guarded.post(
        "/login", content=f"token={READ_TOKEN}&next=%2Frunbooks%2FRUN-001".encode(), headers=FORM
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/runbooks/RUN-001"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert guarded.get("/runbooks/RUN-001", headers=HTML).status_code == 200
    clock.advance(13 * 3600)  # sessions last 12 hours
    assert guarded.get("/runbooks/RUN-001", headers=HTML).status_code == 303


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/alerts/3", "/alerts/3"),
        ("//evil.example/x", "/runbooks"),
        ("https://evil.example", "/runbooks"),
        ("/\\evil.example", "/runbooks"),
        ("", "/runbooks"),
    ],
)
def test_login_only_sends_you_back_to_this_server(target: str, safe: str) -> None:
    assert safe_next(target) == safe


def test_a_trusted_proxys_user_header_is_believed_only_from_the_proxy(
    app_client: AppClients,
) -> None:
    more: dict[str, Any] = {
        "trusted_user_header": "X-Auth-Request-User",
        "trusted_proxies": "10.1.0.0/16",
    }
    from_proxy = reader(app_client, None, **more)
    user = {"X-Auth-Request-User": "jane@example.com", "Accept": "application/json"}
    assert from_proxy.get("/alerts", headers=user).status_code == 200
    assert from_proxy.get("/alerts", headers={"Accept": "application/json"}).status_code == 401
    elsewhere = app_client(run_dispatcher=False, client=("192.0.2.7", 40000), **more)
    assert elsewhere.get("/alerts", headers=user).status_code == 401


def test_admin_endpoints_need_the_admin_token_and_json(app_client: AppClients) -> None:
    client = reader(app_client)
    assert client.post("/-/reload").status_code == 401
    assert client.post("/-/reload", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/-/reload", headers=ADMIN).status_code == 200
    form = {**ADMIN, "Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/-/reload", headers=form).status_code == 415  # a cross-site form
    no_type = {"Authorization": ADMIN["Authorization"]}
    assert client.post("/api/route", content=BODY, headers=no_type).status_code == 415
    assert client.post("/api/route", content=BODY, headers=ADMIN).status_code == 200
    off = reader(app_client, admin_token=None)
    refused = off.post("/-/reload", headers=ADMIN)
    assert refused.status_code == 401
    assert refused.json()["error"].startswith("ROUTER_ADMIN_TOKEN is not set")


def test_reload_takes_a_plain_post_as_prometheus_users_send_it(app_client: AppClients) -> None:
    """``curl -X POST -H 'Authorization: Bearer ...' .../-/reload``: no body, no type."""
    bearer = {"Authorization": ADMIN["Authorization"]}
    client = reader(app_client)
    plain = client.post("/-/reload", headers=bearer)
    assert (plain.status_code, plain.json()["status"]) == (200, "reloaded")
    empty = client.post("/-/reload", headers={**bearer, "Content-Length": "0"})
    assert empty.status_code == 200
    assert client.post("/-/reload").status_code == 401  # the token is still needed
    with_body = client.post("/-/reload", content=b"x=1", headers=bearer)
    assert with_body.status_code == 415
    assert with_body.json()["error"] == (
        "Content-Type: expected application/json (or no body), got none"
    )
    text = {**bearer, "Content-Type": "text/plain"}
    assert client.post("/-/reload", headers=text).status_code == 415  # a cross-site form


def test_metrics_token_is_optional(app_client: AppClients) -> None:
    client = reader(app_client)
    assert client.get("/metrics").status_code == 200
    client = reader(app_client, metrics_token="scrape-me")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).is_success


def test_public_surfaces_stay_public_and_readyz_names_no_host(guarded: TestClient) -> None:
    assert guarded.get("/healthz").status_code == 200
    assert guarded.get("/readyz").json() == {"status": "ready"}
    response = guarded.post("/webhooks/alertmanager", content=BODY)  # its own token decides
    assert response.status_code == 401
    assert "ALERTMANAGER_TOKEN" in response.json()["error"]


def test_readyz_when_the_database_is_down_says_only_that(app_client: AppClients) -> None:
    url = "postgresql://router@127.0.0.1:1/nowhere"
    client = reader(app_client, database_url=url)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_trailing_slash_redirects_stay_on_this_server(app_client: AppClients) -> None:
    client = reader(app_client)
    response = client.get("/runbooks/?q=disk", headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["location"] == "/runbooks?q=disk"


def test_html_pages_carry_security_headers(app_client: AppClients) -> None:
    client = reader(app_client)
    response = client.get("/runbooks/RUN-001")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


def test_explain_is_bounded_like_a_webhook(app_client: AppClients) -> None:
    many = {"alerts": [{"labels": {"alertname": f"A{i}"}} for i in range(1001)]}
    client = reader(app_client)
    response = client.post("/api/route", json=many, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"].startswith("alerts: 1001 alerts; explain at most 1000")


def test_an_alert_id_beyond_any_is_a_404(app_client: AppClients) -> None:
    client = reader(app_client)
    assert client.get("/alerts/99999999999999999999999").status_code == 404

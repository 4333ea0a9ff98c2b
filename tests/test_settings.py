"""Settings from the environment: ROUTER_PUBLIC_URL and the address links default to."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from router.settings import DEFAULT_PUBLIC_URL, Settings


def test_links_default_to_the_serve_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_PUBLIC_URL", raising=False)
    assert DEFAULT_PUBLIC_URL == "http://127.0.0.1:8080"
    assert Settings().links_to() == DEFAULT_PUBLIC_URL
    assert Settings().serving("127.0.0.1", 9090).links_to() == "http://127.0.0.1:9090"
    assert Settings().serving("::1", 9090).links_to() == "http://[::1]:9090"


def test_public_url_wins_over_the_serve_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_PUBLIC_URL", "https://router.example.com/")
    settings = Settings()
    assert settings.links_to() == "https://router.example.com"  # no trailing slash
    assert settings.serving("0.0.0.0", 8080).links_to() == "https://router.example.com"


def test_public_url_keeps_a_path_prefix() -> None:
    url = Settings(public_url=" https://ops.example.com/router// ").links_to()
    assert url == "https://ops.example.com/router"


@pytest.mark.parametrize("value", ["router.example.com", "ftp://router.example.com", "https://"])
def test_public_url_must_be_a_web_address(value: str) -> None:
    with pytest.raises(ValidationError, match="expected an http:// or https:// address"):
        Settings(public_url=value)


def test_an_empty_public_url_is_unset() -> None:
    assert Settings(public_url="").public_url is None

"""The API docs from files the router ships, so they load in an air-gapped cluster.

GET /docs            Swagger UI
GET /redoc           ReDoc
GET /docs/static/*   their scripts, stylesheet and icon

FastAPI's own /docs and /redoc load Swagger UI and ReDoc from a CDN (and ReDoc's
fonts from Google): with no way out, a white page. The same bundles come in the
``fastapi-offline`` wheel, a dependency, and are served from it as they are.
All of these are read surfaces (access.py), guarded like /openapi.json.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_URL = "/docs/static"
_ASSETS = Path(str(files("fastapi_offline") / "static"))
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
# Swagger UI's defaults, less the badge it would fetch from validator.swagger.io.
_SWAGGER_UI_PARAMETERS = {"validatorUrl": None}

router = APIRouter(include_in_schema=False)


def assets() -> StaticFiles:
    """The bundles; raises at start when the installed wheel lacks them."""
    return StaticFiles(directory=_ASSETS, check_dir=True)


def _guarded(page: HTMLResponse) -> HTMLResponse:
    """Nothing from elsewhere, whatever the bundles ask for; the page's own inline script by hash.

    ReDoc shows Redocly's logo from their CDN: refused here, it hides itself.
    """
    html = bytes(page.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(m.encode()).digest()).decode() + "'"
        for m in _INLINE_SCRIPT.findall(html)
    )
    page.headers.update(
        {
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'self' {hashes}; "
                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
                "connect-src 'self'; worker-src 'self' blob:; "
                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        }
    )
    return page


def _urls(request: Request) -> tuple[str, str]:
    root = request.scope.get("root_path", "")
    return f"{root}{request.app.openapi_url}", f"{root}{STATIC_URL}"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    openapi_url, static = _urls(request)
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=f"{static}/swagger-ui-bundle.js",
        swagger_css_url=f"{static}/swagger-ui.css",
        swagger_favicon_url=f"{static}/favicon.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters=_SWAGGER_UI_PARAMETERS,
    )
    return _guarded(page)


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    openapi_url, static = _urls(request)
    page = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} API",
        redoc_js_url=f"{static}/redoc.standalone.js",
        redoc_favicon_url=f"{static}/favicon.png",
        with_google_fonts=False,
    )
    return _guarded(page)

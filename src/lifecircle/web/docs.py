"""The interactive API documentation (Swagger UI) at ``/docs``, without a CDN.

FastAPI's own ``/docs`` page loads Swagger UI from cdn.jsdelivr.net and its favicon from
fastapi.tiangolo.com; this one names the copy of ``swagger-ui-dist`` vendored under
``static/vendor/swagger-ui/`` (served by :mod:`lifecircle.web.pages`), and turns off the
online spec validator badge, so that the page works offline like the rest of the platform.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

__all__ = ["SWAGGER_ASSETS", "install_docs", "with_script_csp"]

#: URL folder of the vendored Swagger UI files.
SWAGGER_ASSETS: Final = "/static/vendor/swagger-ui"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# Swagger UI's own code comes from this origin; its inline start-up script is allowed by its
# hash, not by 'unsafe-inline'; it styles elements inline and shows data: images
_DOCS_CSP: Final = (
    "default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def with_script_csp(response: HTMLResponse) -> HTMLResponse:
    """Give an HTML response a CSP that allows its inline scripts by their SHA-256 only."""
    html = bytes(response.body).decode("utf-8")
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode() + "'"
        for code in _INLINE_SCRIPT.findall(html)
    )
    response.headers["Content-Security-Policy"] = _DOCS_CSP.format(hashes=hashes)
    return response


def install_docs(app: FastAPI, *, docs_url: str = "/docs") -> None:
    """Serve Swagger UI for ``app.openapi_url`` at ``docs_url`` (create the app with
    ``docs_url=None`` so that FastAPI does not add its CDN version)."""
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect_url = docs_url.rstrip("/") + "/oauth2-redirect"

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} – API",
            oauth2_redirect_url=root + oauth2_redirect_url,
            swagger_js_url=f"{root}{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{SWAGGER_ASSETS}/favicon-32x32.png",
            init_oauth=app.swagger_ui_init_oauth,
            # no badge from validator.swagger.io: nothing leaves the machine
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
        return with_script_csp(page)

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return with_script_csp(get_swagger_ui_oauth2_redirect_html())

    app.add_route(docs_url, swagger_ui, include_in_schema=False)
    app.add_route(oauth2_redirect_url, oauth2_redirect, include_in_schema=False)

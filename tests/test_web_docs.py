"""The API documentation at /docs works offline: Swagger UI comes from the package, not a CDN."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from lifecircle.web.app import create_app
from lifecircle.web.config import Settings
from lifecircle.web.docs import SWAGGER_ASSETS
from lifecircle.web.pages import STATIC_DIR

with warnings.catch_warnings():
    # Starlette 1.x asks for the httpx2 package; httpx works the same for these tests
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """The platform's app without its start-up: /docs needs neither the database nor a city."""
    tmp: Path = tmp_path_factory.mktemp("docs")
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'db.sqlite'}", mode="dev")
    return TestClient(create_app(settings))


def test_docs_page_names_no_external_asset(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "SwaggerUIBundle(" in html
    assert not re.search(r"https?://", html), "the page names an asset of another site"
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(refs) == [
        f"{SWAGGER_ASSETS}/favicon-32x32.png",
        f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
        f"{SWAGGER_ASSETS}/swagger-ui.css",
    ]
    types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for ref in refs:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert asset.headers["content-type"].startswith(types[Path(ref).suffix]), ref
        local = STATIC_DIR / ref.removeprefix("/static/")
        assert asset.content == local.read_bytes()
    assert "SwaggerUIBundle" in client.get(f"{SWAGGER_ASSETS}/swagger-ui-bundle.js").text[:2000]
    spec = re.search(r"url: '([^']+)'", html)
    assert spec is not None and client.get(spec.group(1)).json()["info"]["title"]


def test_swagger_ui_licence_and_oauth_redirect_are_served(client: TestClient) -> None:
    assert "Apache License" in client.get(f"{SWAGGER_ASSETS}/LICENSE").text
    assert "SmartBear" in client.get(f"{SWAGGER_ASSETS}/NOTICE").text
    assert "swagger-ui-dist-5.35.0.tgz" in client.get(f"{SWAGGER_ASSETS}/PROVENANCE.md").text
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()
    assert not re.search(r"https?://", redirect.text)
    # the CDN version of FastAPI is not mounted anywhere
    paths = {getattr(r, "path", None) for r in client.app.routes}  # type: ignore[attr-defined]
    assert {"/docs", "/docs/oauth2-redirect"} <= paths
    assert "/redoc" not in paths

"""The HTML pages and bundled assets, served by lifecircle.web.pages alone (no browser needed)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI

from lifecircle.web import pages

with warnings.catch_warnings():
    # starlette 1.x asks for `httpx2` in its test client; httpx works the same here
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    app.include_router(pages.router)
    return TestClient(app)


@pytest.mark.parametrize(
    ("path", "page", "script"),
    [
        ("/", "resident", "resident.js"),
        ("/merchant", "merchant", "merchant.js"),
        ("/planner", "planner", "planner.js"),
        ("/board", "board", "board.js"),
        ("/survey/C001", "survey", "survey.js"),
        ("/login", "login", "login.js"),
    ],
)
def test_page_renders_with_its_script(
    client: TestClient, path: str, page: str, script: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    html = response.text
    assert f'data-page="{page}"' in html
    assert f"/static/js/{script}" in html
    assert 'lang="zh-CN"' in html
    # every asset the page names is served by the same router: no CDN, works offline
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert client.get(ref).status_code == 200, ref
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html


def test_survey_page_escapes_the_circle_id(client: TestClient) -> None:
    html = client.get('/survey/"><img src=x onerror=alert(1)>').text
    assert "<img src=x" not in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_vendored_leaflet_and_its_licence_are_served(client: TestClient) -> None:
    js = client.get("/static/vendor/leaflet/leaflet.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "Leaflet 1.9.4" in js.text[:300]
    assert (
        client.get("/static/vendor/leaflet/leaflet.css")
        .headers["content-type"]
        .startswith("text/css")
    )
    assert client.get("/static/vendor/leaflet/images/marker-icon.png").status_code == 200
    assert "BSD 2-Clause" in client.get("/static/vendor/leaflet/LICENSE").text


def test_cjk_font_is_served_from_the_report_package(client: TestClient) -> None:
    font = pages._FONTS_DIR / "DroidSansFallbackFull.ttf"
    response = client.get("/static/fonts/DroidSansFallbackFull.ttf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "font/ttf"
    assert len(response.content) == font.stat().st_size
    assert "max-age" in response.headers["cache-control"]
    css = client.get("/static/css/app.css").text
    assert 'url("/static/fonts/DroidSansFallbackFull.ttf")' in css
    # the font ships once, with the report package
    assert not list(pages.STATIC_DIR.rglob("*.ttf"))


@pytest.mark.parametrize(
    "path",
    [
        "/static/../pages.py",
        "/static/%2e%2e/pages.py",
        "/static/..%2fpages.py",
        "/static/fonts/../../web/pages.py",
        "/static/fonts/..%2f..%2fweb%2fpages.py",
        "/static/js/",
        "/static/js/nothing.js",
        "/static/",
    ],
)
def test_static_route_refuses_paths_outside_its_folders(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_resolve_inside_rejects_escapes(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    outside = tmp_path.parent / "outside.txt"
    assert pages._resolve_inside(tmp_path, "a.txt") == (tmp_path / "a.txt").resolve()
    assert pages._resolve_inside(tmp_path, "../outside.txt") is None
    assert pages._resolve_inside(tmp_path, str(outside)) is None
    assert pages._resolve_inside(tmp_path, "") is None
    assert pages._resolve_inside(tmp_path, "a.txt\x00") is None


def _keys_used() -> set[str]:
    keys: set[str] = set()
    for template in pages.TEMPLATES_DIR.glob("*.html"):
        text = template.read_text("utf-8")
        keys.update(re.findall(r'data-i18n="([a-z_]+\.[a-z_0-9.]+|[a-z_]+)"', text))
        for attr in re.findall(r'data-i18n-attr="([^"]+)"', text):
            keys.update(part.split(":")[1].strip() for part in attr.split(";"))
    for script in (pages.STATIC_DIR / "js").glob("*.js"):
        keys.update(re.findall(r'LC\.t\("([a-z_]+(?:\.[a-z_0-9]+)+)"', script.read_text("utf-8")))
    return keys


def _dictionary(lang: str) -> set[str]:
    text = (pages.STATIC_DIR / "js" / "i18n.js").read_text("utf-8")
    start = text.index(f"  {lang}: {{")
    end = text.index("\n  }", start)
    return set(re.findall(r'^\s+"([^"]+)":', text[start:end], flags=re.M))


def test_every_string_has_chinese_and_english() -> None:
    zh, en = _dictionary("zh"), _dictionary("en")
    assert zh == en, f"only zh: {sorted(zh - en)}; only en: {sorted(en - zh)}"
    missing = _keys_used() - zh
    assert not missing, f"keys used but not in i18n.js: {sorted(missing)}"


def test_pages_send_a_content_security_policy(client: TestClient) -> None:
    csp = client.get("/").headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "frame-ancestors 'none'" in csp
    assert "img-src 'self' data:;" in csp


@pytest.mark.parametrize(
    ("tile_url", "allowed"),
    [
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", " https://*.tile.example.org"),
        ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", " http://127.0.0.1:8080"),
        ("javascript:alert(1)", ""),
        (None, ""),
    ],
)
def test_csp_allows_images_from_the_configured_tile_server(
    tile_url: str | None, allowed: str
) -> None:
    app = FastAPI()
    app.include_router(pages.router)
    app.state.lifecircle = SimpleNamespace(settings=SimpleNamespace(tile_url=tile_url))
    csp = TestClient(app).get("/").headers["content-security-policy"]
    assert f"img-src 'self' data:{allowed};" in csp

"""The web platform: FastAPI app (``create_app``), API routes, pages, settings.

Importing this package starts nothing; build the app with :func:`lifecircle.web.app.create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lifecircle.web.app import create_app
    from lifecircle.web.config import Settings

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from lifecircle.web.app import create_app

        return create_app
    if name == "Settings":
        from lifecircle.web.config import Settings

        return Settings
    raise AttributeError(name)

"""The JSON API under ``/api``: one module per area."""

from __future__ import annotations

from fastapi import APIRouter

from lifecircle.web.routes import (
    accounts,
    admin,
    auth,
    board,
    circles,
    dashboard,
    merchant,
    meta,
    moderation,
    outlets,
    scenarios,
    voice,
)

__all__ = ["api_router"]

api_router = APIRouter()
_MODULES = (meta, outlets, circles, auth, merchant, moderation, voice, dashboard, scenarios, board,
            accounts, admin)  # fmt: skip
for _module in _MODULES:
    api_router.include_router(_module.router)

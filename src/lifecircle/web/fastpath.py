"""A lean path for ``GET /api/nearest``, the platform's hottest request.

Residents click the map and every click asks for the nearest outlets, so this request must stay
cheap under load.  :class:`NearestFastPath` answers plain, valid ``/api/nearest`` requests
itself (parse the query, search, write the JSON) before the app's middleware, routing,
dependency and validation machinery, which costs more than the search (the app's ``__call__``
asks it first: :class:`lifecircle.web.app.PlatformApp`).  Anything else — an unusual parameter,
a value out of range, an unknown 业态, an error of the search — goes on to the regular FastAPI
route, which owns the documented behaviour, the validation and the errors.  Both call the same
:meth:`lifecircle.web.city.City.nearest_json`, so the answers are the same.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from lifecircle.errors import LifecircleError

__all__ = ["NearestFastPath"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

_PATH = "/api/nearest"
_KEYS = frozenset({"lon", "lat", "k", "category"})
_HEADERS = [(b"content-type", b"application/json")]


class NearestFastPath:
    """Answers simple ``GET /api/nearest`` requests directly.

    Parameters
    ----------
    state
        The application state (:class:`lifecircle.web.deps.AppState`); its default city is used.
    """

    def __init__(self, state: Any) -> None:
        self.state = state

    async def answered(self, scope: Scope, send: Send) -> bool:
        """Answer the request if it is a plain nearest-outlet query; ``False`` otherwise."""
        if scope["type"] != "http" or scope["path"] != _PATH or scope["method"] != "GET":
            return False
        body = self._answer(scope)
        if body is None:
            return False
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True

    def _answer(self, scope: Scope) -> bytes | None:
        """The JSON body, or ``None`` to leave the request to the regular route."""
        cities = self.state.cities
        if cities is None:
            return None
        try:
            params = dict(parse_qsl(scope["query_string"].decode("ascii"), strict_parsing=True))
        except (UnicodeDecodeError, ValueError):
            return None
        if not params.keys() <= _KEYS or "lon" not in params or "lat" not in params:
            return None
        try:
            lon = float(params["lon"])
            lat = float(params["lat"])
            k = int(params.get("k", "5"))
        except ValueError:
            return None
        if not (math.isfinite(lon) and math.isfinite(lat)) or not (
            -180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0 and 1 <= k <= 20
        ):
            return None
        city = cities.get(None)
        categories = None
        if "category" in params:
            categories = params["category"].split(",")
            if not all(c in city._code_index for c in categories):
                return None  # names, aliases and errors are the route's business
            categories = sorted(set(categories))
        try:
            return city.nearest_json(lon, lat, categories=categories, k=k)
        except LifecircleError:
            return None

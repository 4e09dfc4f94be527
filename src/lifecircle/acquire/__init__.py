"""Getting a real city's data: provider place imports, OSM clips, boundaries, the bureau's tables.

* :func:`fetch_amap_places` / :func:`fetch_baidu_places`: every place of the chosen 业态 inside a
  boundary, with the user's own key; queries at the provider's cap are split into quadrants until
  every cell is under it; cached on disk (SQLite), rate-limited, retried.
* :func:`clip_osm`: cut a regional ``.osm.pbf`` to a boundary plus a buffer, streaming.
* :func:`read_boundary` / :func:`fetch_district`: the boundary polygon, from a file or from Amap.
* :func:`write_template` / :func:`read_template`: the Excel templates of the commerce bureau's
  outlet census and the housing bureau's 小区 list.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the exports as static tools (mypy, the API reference) see them
    from lifecircle.acquire._client import AcquireError, KeyInvalidError, QuotaExceededError
    from lifecircle.acquire._places import PlaceImport
    from lifecircle.acquire.amap import fetch_amap_places
    from lifecircle.acquire.baidu import fetch_baidu_places
    from lifecircle.acquire.boundary import (
        District,
        convert_geometry,
        fetch_district,
        read_boundary,
    )
    from lifecircle.acquire.osm_clip import ClipReport, clip_osm
    from lifecircle.acquire.templates import match_by_name, read_template, write_template

#: Public name → module that defines it (imported on first use: ``lifecircle --help`` stays
#: fast, and the CLI can register ``fetch``/``template`` without the numerical stack).
_WHERE = {
    "AcquireError": "_client",
    "KeyInvalidError": "_client",
    "QuotaExceededError": "_client",
    "PlaceImport": "_places",
    "fetch_amap_places": "amap",
    "fetch_baidu_places": "baidu",
    "District": "boundary",
    "convert_geometry": "boundary",
    "fetch_district": "boundary",
    "read_boundary": "boundary",
    "ClipReport": "osm_clip",
    "clip_osm": "osm_clip",
    "match_by_name": "templates",
    "read_template": "templates",
    "write_template": "templates",
}

__all__ = [
    "AcquireError",
    "ClipReport",
    "District",
    "KeyInvalidError",
    "PlaceImport",
    "QuotaExceededError",
    "clip_osm",
    "convert_geometry",
    "fetch_amap_places",
    "fetch_baidu_places",
    "fetch_district",
    "match_by_name",
    "read_boundary",
    "read_template",
    "write_template",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lifecircle.acquire' has no attribute {name!r}")
    return getattr(import_module(f"lifecircle.acquire.{module}"), name)

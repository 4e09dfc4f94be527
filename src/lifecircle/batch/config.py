"""The batch configuration: a TOML file listing the cities (or districts) of a batch run.

Each city is a city file (``[[city]] file = "xian/city.toml"``, with optional ``id``,
``group`` and run settings on top) or an inline table of the same schema as a city file
(:mod:`lifecircle.project.spec`); both are validated by the same code.  In a batch the reports
default to HTML and Excel without per-circle pages (``report_formats``, ``per_circle_reports``).

Example (paths are relative to the folder of the configuration file)::

    [batch]
    title = "陕西省 Shaanxi"            # heading of the roll-up report
    out = "results"                     # output folder; lifecircle batch --out overrides it

    [defaults]                          # every key of a [[city]], applied unless the city sets it
    rulebook = "default"                # a preset (default, shanxi_star, beijing_8) or a TOML file
    walk_speed = 4.2
    report = true
    report_formats = ["html", "xlsx"]
    [defaults.outlets]                  # layer tables merge key by key with the city's own
    crs = "bd09"
    lon = "lng_bd09"
    lat = "lat_bd09"

    [[city]]
    file = "cities/fuzhou/city.toml"    # a city file; settings below override its own
    group = "福州市"

    [[city]]
    name = "西安老城 Xi'an old town"
    id = "xian"                         # output folder name (default: from the name)
    group = "西安市"                     # roll-up group, e.g. the prefecture or province
    network = "data/xian_roads.gpkg"    # or a table: { path = "...", layer = "...", encoding = "gbk", crs = "EPSG:32649" }
    outlets = "data/poi.csv"            # or a table with the reader's options, see below
    residences = { path = "data/xiaoqu.csv", crs = "bd09", where = "city == '西安'", drop_missing = true, drop_outside = true }
    circles = "data/circles.geojson"    # optional boundaries (circle_id); or mapping = "mapping.csv"
    tiles = 4                           # split the city into 4 overlapping tiles ("auto": by tile_nodes)
    [city.rulebook_overrides.grade."基础型"]
    min_basic = 10

Keys of a city (and of ``[defaults]``):

``name`` (required), ``id``, ``group``; ``network``, ``outlets``, ``residences`` (required: a
path or a table with ``path`` and the reader's options); ``circles``, ``mapping``; ``rulebook``,
``rulebook_overrides``; ``walk_speed``; ``survey``, ``responses``, ``indicators``, ``scores``;
``circle_minutes``; ``tiles``, ``tile_nodes``, ``halo_m``; ``report``, ``report_formats``,
``lang``, ``per_circle_reports``.

Options of the layers (see :func:`lifecircle.ingest.read_network`,
:func:`~lifecircle.ingest.read_outlets`, :func:`~lifecircle.ingest.read_residences`):

* network: ``layer, encoding, crs, keep, min_component_nodes``;
* outlets: ``crs, lon, lat, id_column, name, encoding, source, where, layer, max_outside_m,
  drop_missing, drop_outside``;
* residences: the same without ``source``, plus ``households, population, kind,
  household_size, m2_per_household``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lifecircle._toml import read_toml
from lifecircle.project.spec import (
    CITY_KEYS,
    DEFAULT_TILE_NODES,
    LAYER_OPTIONS,
    CitySpec,
    LayerSpec,
    SpecReader,
    check_rulebook,
    default_city_id,
    suggest,
)

__all__ = [
    "DEFAULT_TILE_NODES",
    "BatchConfig",
    "CityConfig",
    "LayerSpec",
    "load_batch_config",
]

log = logging.getLogger(__name__)

#: A city of a batch is a city spec.
CityConfig = CitySpec

_WHAT = "batch configuration"
_TOP_KEYS = ("batch", "defaults", "city")
_BATCH_KEYS = ("title", "out")
#: Keys a ``[[city]] file = …`` entry may set on top of its city file (no paths).
_FILE_OVERRIDES = (
    "id",
    "group",
    "tiles",
    "tile_nodes",
    "halo_m",
    "report",
    "report_formats",
    "lang",
    "per_circle_reports",
    "projects",
)
#: Batch defaults that differ from a city file's (reports for many cities: lighter).
_BATCH_DEFAULTS = {
    "report_formats": ["html", "xlsx"],
    "per_circle_reports": False,
    "projects": False,
}


@dataclass(frozen=True)
class BatchConfig:
    """A validated batch: the cities and where results go.

    Attributes
    ----------
    path
        The configuration file.
    cities
        The cities in file order.
    out
        Output folder named in the file (absolute), if any.
    title
        Heading of the roll-up report.
    """

    path: Path
    cities: tuple[CitySpec, ...]
    out: Path | None = None
    title: str = ""


def _section(reader: SpecReader, where: str, raw: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        reader.add(where, f"expected a table, got {raw!r}", f"write [{where}] with key = value")
        return {}
    out = {}
    for key, value in raw.items():
        if key not in allowed:
            reader.add(f"{where}.{key}", f"unknown key '{key}'", suggest(key, allowed))
        else:
            out[key] = value
    return out


def _merge(defaults: Mapping[str, Any], city: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in city.items():
        if key in LAYER_OPTIONS and isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _file_city(reader: SpecReader, where: str, raw: Mapping[str, Any], i: int) -> CitySpec | None:
    """A ``[[city]] file = …`` entry: the city file, with the entry's settings on top."""
    path = reader.resolve(f"{where}.file", raw["file"])
    for key in raw:
        if key not in ("file", *_FILE_OVERRIDES):
            reader.add(
                f"{where}.{key}",
                f"'{key}' cannot be set beside file (set it in the city file)",
                suggest(key, ["file", *_FILE_OVERRIDES]),
            )
    if path is None:
        return None
    if path.is_dir():
        path = path / "city.toml"
    doc, text = read_toml(path, "city file", "check the TOML syntax near the position given")
    doc = {**_BATCH_DEFAULTS, **doc, **{k: v for k, v in raw.items() if k != "file"}}
    sub = SpecReader(path, text)
    spec = sub.city("", doc, i, default_id=default_city_id(path))
    if spec is not None:
        check_rulebook(sub, spec, "rulebook")
    for p in sub.found.items:  # report the city file's problems under this entry
        reader.found.items.append(p)
    return spec


def load_batch_config(path: str | os.PathLike[str]) -> BatchConfig:
    """Read and validate a batch configuration file (TOML).

    Every problem of the file (and of the city files it names) is gathered and raised at once;
    relative paths are resolved against the folder of the file that holds them.  The rulebook of
    each city is loaded too, so that its mistakes show before any city runs.

    Parameters
    ----------
    path
        The ``.toml`` file (format: see :mod:`lifecircle.batch.config`).

    Returns
    -------
    BatchConfig

    Raises
    ------
    InputError
        Listing every problem with the file, the field (``city[2].outlets.crs``), its line and
        the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from lifecircle.datasets import get_path
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pbf = get_path("helsinki").as_posix()
    >>> _ = (folder / "batch.toml").write_text(
    ...     f'[[city]]\\nname = "Helsinki"\\nnetwork = "{pbf}"\\noutlets = "{pbf}"\\n'
    ...     f'residences = "{pbf}"\\ntiles = 2\\n', encoding="utf-8")
    >>> config = load_batch_config(folder / "batch.toml")
    >>> [(c.id, c.tiles, c.network.path.name) for c in config.cities]
    [('Helsinki', 2, 'helsinki.osm.pbf')]
    """
    path = Path(path)
    doc, text = read_toml(
        path,
        _WHAT,
        "check the syntax near the position given; each city starts with [[city]], "
        'text needs quotes (name = "西安")',
    )
    reader = SpecReader(path, text, what=_WHAT)
    for key in doc:
        if key not in _TOP_KEYS:
            reader.add(key, f"unknown section or key '{key}'", suggest(key, _TOP_KEYS))
    batch = _section(reader, "batch", doc.get("batch", {}), _BATCH_KEYS)
    defaults = _section(
        reader,
        "defaults",
        doc.get("defaults", {}),
        tuple(k for k in CITY_KEYS if k not in ("name", "id")),
    )
    defaults = {**_BATCH_DEFAULTS, **defaults}
    out = reader.resolve("batch.out", batch["out"], must_exist=False) if "out" in batch else None
    title = batch.get("title", "")
    if not isinstance(title, str):
        reader.add("batch.title", f"expected a text, got {title!r}")
        title = ""
    raw_cities = doc.get("city", [])
    if not isinstance(raw_cities, list) or not raw_cities:
        reader.add(
            "city",
            "no city listed",
            'add one [[city]] table per city: file = "city.toml", or name, network, outlets '
            "and residences",
        )
        raw_cities = []
    cities: list[CitySpec] = []
    checked: set[str] = set()
    for i, raw in enumerate(raw_cities, start=1):
        label = raw.get("name") if isinstance(raw, Mapping) else None
        where = f"city[{i}]" + (f" ({label})" if isinstance(label, str) else "")
        if not isinstance(raw, Mapping):
            reader.add(where, f"expected a table, got {raw!r}", "write [[city]] then key = value")
            continue
        if "file" in raw:
            city = _file_city(reader, where, raw, i)
        else:
            city = reader.city(where, _merge(defaults, raw), i)
            if city is not None:
                key = repr(
                    (city.rulebook, sorted((city.rulebook_overrides or {}).items(), key=str))
                )
                if key not in checked:
                    checked.add(key)
                    check_rulebook(reader, city, f"{where}.rulebook")
        if city is not None:
            cities.append(city)
    seen: dict[str, int] = {}
    for i, city in enumerate(cities, start=1):
        key = city.id.lower()
        if key in seen:
            reader.add(
                f"city[{i}].id",
                f"id '{city.id}' is used by two cities (output folders would clash)",
                'give each city its own id = "…"',
            )
        seen[key] = i
    reader.raise_if_any()
    return BatchConfig(path=path, cities=tuple(cities), out=out, title=title)

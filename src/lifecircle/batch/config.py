"""The batch configuration: a TOML file listing the cities (or districts) of a batch run.

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

import difflib
import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from lifecircle.errors import CRSError, InputError, Problems

__all__ = [
    "BatchConfig",
    "CityConfig",
    "LayerSpec",
    "load_batch_config",
]

log = logging.getLogger(__name__)

_WHAT = "batch configuration"
_TOP_KEYS = ("batch", "defaults", "city")
_BATCH_KEYS = ("title", "out")
_REPORT_FORMATS = ("html", "pdf", "xlsx")
_LANGS = ("zh", "en")
#: Default network size (nodes) above which ``tiles = "auto"`` splits a city.
DEFAULT_TILE_NODES = 100_000

_Check = Callable[[Any], str | None]  # returns a problem text or None


def _is_str(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "expected a non-empty text"


def _is_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _is_positive(value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and math.isfinite(float(value)) and value > 0:
        return None
    return "expected a positive number"


def _is_count(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return None
    return "expected a whole number of at least 1"


def _is_layer_name(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    return _is_str(value)


def _is_point_crs(value: Any) -> str | None:
    from lifecircle.geo import parse_crs_name

    if not isinstance(value, str):
        return "expected wgs84, gcj02 or bd09"
    try:
        parse_crs_name(value)
    except CRSError as exc:
        return exc.problems[0].message
    return None


def _is_any_crs(value: Any) -> str | None:
    import pyproj

    try:
        pyproj.CRS.from_user_input(value)
    except (pyproj.exceptions.CRSError, TypeError, ValueError):
        return f"{value!r} is not a coordinate reference system pyproj knows (e.g. 'EPSG:32649')"
    return None


def _is_keep(value: Any) -> str | None:
    return None if value in ("largest", "all") else "expected 'largest' or 'all'"


_NETWORK_OPTIONS: dict[str, _Check] = {
    "layer": _is_str,
    "encoding": _is_str,
    "crs": _is_any_crs,
    "keep": _is_keep,
    "min_component_nodes": _is_count,
}
_POINT_OPTIONS: dict[str, _Check] = {
    "crs": _is_point_crs,
    "lon": _is_str,
    "lat": _is_str,
    "id_column": _is_str,
    "name": _is_str,
    "encoding": _is_str,
    "where": _is_str,
    "layer": _is_layer_name,
    "max_outside_m": _is_positive,
    "drop_missing": _is_bool,
    "drop_outside": _is_bool,
}
_OUTLET_OPTIONS: dict[str, _Check] = {**_POINT_OPTIONS, "source": _is_str}
_RESIDENCE_OPTIONS: dict[str, _Check] = {
    **_POINT_OPTIONS,
    "households": _is_str,
    "population": _is_str,
    "kind": _is_str,
    "household_size": _is_positive,
    "m2_per_household": _is_positive,
}
_LAYERS: dict[str, dict[str, _Check]] = {
    "network": _NETWORK_OPTIONS,
    "outlets": _OUTLET_OPTIONS,
    "residences": _RESIDENCE_OPTIONS,
}
_PATH_KEYS = ("circles", "mapping", "responses", "indicators", "scores")
_CITY_KEYS = (
    "name",
    "id",
    "group",
    *_LAYERS,
    *_PATH_KEYS,
    "rulebook",
    "rulebook_overrides",
    "walk_speed",
    "survey",
    "circle_minutes",
    "tiles",
    "tile_nodes",
    "halo_m",
    "report",
    "report_formats",
    "lang",
    "per_circle_reports",
)


@dataclass(frozen=True)
class LayerSpec:
    """One input layer: its file and the keyword arguments of its reader.

    Attributes
    ----------
    path
        Absolute path of the file.
    options
        Keyword arguments for :func:`~lifecircle.ingest.read_network`,
        :func:`~lifecircle.ingest.read_outlets` or :func:`~lifecircle.ingest.read_residences`
        (``drop_missing``/``drop_outside`` already turned into ``on_missing``/``on_outside``).
    """

    path: Path
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CityConfig:
    """One city (or district) of a batch, validated, with absolute paths.

    Attributes
    ----------
    name, id, group
        Display name, output folder name (unique in the batch) and roll-up group.
    network, outlets, residences
        The three input layers.
    circles, mapping
        Optional circle boundaries or residence → circle table.
    rulebook
        A preset name or an absolute path; ``rulebook_overrides`` are merged on top.
    walk_speed
        km/h or a preset name.
    survey, responses, indicators, scores
        Survey definition (preset or path) with the answers; indicator sheet with evaluator scores.
    circle_minutes
        Walking minutes from centre to members for automatic circles.
    tiles, tile_nodes, halo_m
        Number of tiles (``"auto"``: one per ``tile_nodes`` network nodes) and the halo around
        each tile's core (``None``: the smallest exact one, see
        :func:`lifecircle.batch.tiles.min_halo_m`).
    report, report_formats, lang, per_circle_reports
        Whether and how to write the reports (:func:`lifecircle.report.write_reports`).
    """

    name: str
    id: str
    network: LayerSpec
    outlets: LayerSpec
    residences: LayerSpec
    group: str = ""
    circles: Path | None = None
    mapping: Path | None = None
    rulebook: str | None = None
    rulebook_overrides: Mapping[str, Any] | None = None
    walk_speed: float | str = 4.2
    survey: str | None = None
    responses: Path | None = None
    indicators: Path | None = None
    scores: Path | None = None
    circle_minutes: float = 15.0
    tiles: int | str = "auto"
    tile_nodes: int = DEFAULT_TILE_NODES
    halo_m: float | None = None
    report: bool = True
    report_formats: tuple[str, ...] = ("html", "xlsx")
    lang: str = "zh"
    per_circle_reports: bool = False

    def input_files(self) -> list[Path]:
        """Every input file of the city (hashed for the manifest), shapefile sidecars included."""
        files = [self.network.path, self.outlets.path, self.residences.path]
        files += [p for p in (self.circles, self.mapping, self.responses, self.scores) if p]
        files += [p for p in (self.indicators,) if p]
        for value in (self.rulebook, self.survey):
            if value is not None and Path(value).is_absolute():
                files.append(Path(value))
        out: list[Path] = []
        for f in files:
            out.append(f)
            if f.suffix.lower() == ".shp":
                out += [
                    s
                    for s in sorted(f.parent.glob(f.stem + ".*"))
                    if s.suffix.lower() in (".dbf", ".shx", ".prj", ".cpg") and s.is_file()
                ]
        return list(dict.fromkeys(out))

    def options(self) -> dict[str, Any]:
        """Every setting as plain JSON-able data (for the manifest's fingerprint)."""

        def plain(value: Any) -> Any:
            if isinstance(value, LayerSpec):
                return {"path": str(value.path), **{k: plain(v) for k, v in value.options.items()}}
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, Mapping):
                return {str(k): plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        return {k: plain(getattr(self, k)) for k in self.__dataclass_fields__}


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
    cities: tuple[CityConfig, ...]
    out: Path | None = None
    title: str = ""


def _suggest(key: str, allowed: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    known = ", ".join(allowed)
    return (f"did you mean '{close[0]}'? " if close else "") + f"known keys: {known}"


def _slug(name: str) -> str:
    return re.sub(r"[^\w\-]+", "_", name, flags=re.UNICODE).strip("_")


class _Reader:
    """Validates one configuration document, gathering every problem."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent
        self.found = Problems(file=str(path))

    def add(self, where: str, message: str, fix: str | None = None) -> None:
        self.found.add(message, field=where, fix=fix)

    def resolve(self, where: str, value: Any, *, must_exist: bool = True) -> Path | None:
        if not isinstance(value, str) or not value.strip():
            self.add(where, f"expected a file path (text), got {value!r}")
            return None
        p = Path(os.path.expanduser(value))
        if not p.is_absolute():
            p = self.base / p
        p = Path(os.path.normpath(p))
        if must_exist and not p.is_file():
            self.add(
                where,
                f"file not found: {p}",
                f"check the path; relative paths start in the folder of {self.path.name} "
                f"({self.base})",
            )
            return None
        return p

    def layer(self, where: str, kind: str, value: Any) -> dict[str, Any] | None:
        """A layer value as a table (a plain path becomes ``{path = ...}``), keys checked."""
        if isinstance(value, str):
            value = {"path": value}
        if not isinstance(value, Mapping):
            self.add(
                where,
                f"expected a file path or a table with 'path' and options, got {value!r}",
                f'write {kind} = "file" or {kind} = {{ path = "file", ... }}',
            )
            return None
        allowed = _LAYERS[kind]
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "path":
                out[key] = item
            elif key not in allowed:
                self.add(
                    f"{where}.{key}",
                    f"unknown option '{key}' of {kind}",
                    _suggest(key, ["path", *allowed]),
                )
            else:
                problem = allowed[key](item)
                if problem:
                    self.add(f"{where}.{key}", f"{problem}, got {item!r}")
                else:
                    out[key] = item
        return out

    def merge(self, defaults: Mapping[str, Any], city: Mapping[str, Any]) -> dict[str, Any]:
        merged = dict(defaults)
        for key, value in city.items():
            if key in _LAYERS and isinstance(merged.get(key), dict) and isinstance(value, dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return merged

    def section(self, where: str, raw: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            self.add(where, f"expected a table, got {raw!r}", f"write [{where}] with key = value")
            return {}
        out = {}
        for key, value in raw.items():
            if key not in allowed:
                self.add(f"{where}.{key}", f"unknown key '{key}'", _suggest(key, allowed))
            else:
                out[key] = value
        return out

    def city(self, where: str, raw: Mapping[str, Any], position: int) -> CityConfig | None:
        n_before = len(self.found)
        kw: dict[str, Any] = {}
        name = raw.get("name")
        if _is_str(name):
            self.add(f"{where}.name", f"each city needs a name, got {name!r}", 'write name = "…"')
            name = f"city {position}"
        kw["name"] = str(name).strip()
        city_id = raw.get("id", _slug(kw["name"]) or f"city{position}")
        if _is_str(city_id) or not re.fullmatch(r"[\w\-.]+", str(city_id)):
            self.add(
                f"{where}.id",
                f"id must be a folder name (letters, digits, _ - .), got {city_id!r}",
                'write id = "xian_beilin"',
            )
        kw["id"] = str(city_id)
        if "group" in raw:
            if _is_str(raw["group"]):
                self.add(f"{where}.group", f"expected a text, got {raw['group']!r}")
            else:
                kw["group"] = str(raw["group"])
        for kind in _LAYERS:
            if kind not in raw:
                self.add(
                    f"{where}.{kind}",
                    f"the {kind} input is missing",
                    f'write {kind} = "path/to/file" (or a table with path and options)',
                )
                continue
            table = self.layer(f"{where}.{kind}", kind, raw[kind])
            if table is None:
                continue
            if "path" not in table:
                self.add(f"{where}.{kind}.path", f"the {kind} table has no path", 'add path = "…"')
                continue
            path = self.resolve(f"{where}.{kind}.path", table.pop("path"))
            if path is None:
                continue
            options = dict(table)
            for flag, key in (("drop_missing", "on_missing"), ("drop_outside", "on_outside")):
                if flag in options:
                    options[key] = "drop" if options.pop(flag) else "error"
            kw[kind] = LayerSpec(path, options)
        for key in _PATH_KEYS:
            if key in raw:
                resolved = self.resolve(f"{where}.{key}", raw[key])
                if resolved is not None:
                    kw[key] = resolved
        if "circles" in raw and "mapping" in raw:
            self.add(
                f"{where}.mapping",
                "both circles and mapping are given",
                "give circle boundaries or a residence → circle table, not both",
            )
        self._assessment_keys(where, raw, kw)
        if len(self.found) > n_before:
            return None
        return CityConfig(**kw)

    def _assessment_keys(self, where: str, raw: Mapping[str, Any], kw: dict[str, Any]) -> None:
        from lifecircle.access import walk_speed_m_per_min
        from lifecircle.assess import PRESETS
        from lifecircle.assess.survey import SURVEY_PRESETS

        if "rulebook" in raw:
            value = raw["rulebook"]
            if isinstance(value, str) and value in PRESETS:
                kw["rulebook"] = value
            elif isinstance(value, str) and value.lower().endswith(".toml"):
                resolved = self.resolve(f"{where}.rulebook", value)
                if resolved is not None:
                    kw["rulebook"] = str(resolved)
            else:
                self.add(
                    f"{where}.rulebook",
                    f"expected a preset ({', '.join(PRESETS)}) or a .toml file, got {value!r}",
                )
        if "rulebook_overrides" in raw:
            if isinstance(raw["rulebook_overrides"], Mapping):
                kw["rulebook_overrides"] = dict(raw["rulebook_overrides"])
            else:
                self.add(
                    f"{where}.rulebook_overrides",
                    "expected a table of rulebook keys",
                    f'write [city.rulebook_overrides.grade."基础型"] then min_basic = 10 '
                    f"under the [[city]] (see {self.path.name})",
                )
        if "survey" in raw:
            value = raw["survey"]
            if isinstance(value, str) and value in SURVEY_PRESETS:
                kw["survey"] = value
            elif isinstance(value, str) and value.lower().endswith(".toml"):
                resolved = self.resolve(f"{where}.survey", value)
                if resolved is not None:
                    kw["survey"] = str(resolved)
            else:
                self.add(
                    f"{where}.survey",
                    f"expected a preset ({', '.join(SURVEY_PRESETS)}) or a .toml file, "
                    f"got {value!r}",
                )
        if "walk_speed" in raw:
            value = raw["walk_speed"]
            try:
                if isinstance(value, bool) or not isinstance(value, int | float | str):
                    raise InputError(f"expected km/h or a preset name, got {value!r}")
                walk_speed_m_per_min(value)
                kw["walk_speed"] = float(value) if not isinstance(value, str) else value
            except InputError as exc:
                self.add(f"{where}.walk_speed", exc.problems[0].message)
        for key, check in (
            ("circle_minutes", _is_positive),
            ("tile_nodes", _is_count),
            ("halo_m", _is_positive),
            ("report", _is_bool),
            ("per_circle_reports", _is_bool),
        ):
            if key in raw:
                problem = check(raw[key])
                if problem:
                    self.add(f"{where}.{key}", f"{problem}, got {raw[key]!r}")
                else:
                    kw[key] = raw[key]
        if "tiles" in raw:
            value = raw["tiles"]
            if value == "auto" or not _is_count(value):
                kw["tiles"] = value
            else:
                self.add(f"{where}.tiles", f"expected a whole number ≥ 1 or 'auto', got {value!r}")
        if "lang" in raw:
            if raw["lang"] in _LANGS:
                kw["lang"] = raw["lang"]
            else:
                self.add(f"{where}.lang", f"expected 'zh' or 'en', got {raw['lang']!r}")
        if "report_formats" in raw:
            value = raw["report_formats"]
            if isinstance(value, list) and value and set(value) <= set(_REPORT_FORMATS):
                kw["report_formats"] = tuple(dict.fromkeys(value))
            else:
                self.add(
                    f"{where}.report_formats",
                    f"expected a list of {', '.join(_REPORT_FORMATS)}, got {value!r}",
                    'write report_formats = ["html", "xlsx"]',
                )


def load_batch_config(path: str | os.PathLike[str]) -> BatchConfig:
    """Read and validate a batch configuration file (TOML).

    Every problem of the file is gathered and raised at once; relative paths are resolved
    against the folder of the file.  The rulebook of each city (preset or file, with its
    ``rulebook_overrides``) is loaded too, so that its mistakes show before any city runs.

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
        Listing every problem with the file, the field (``city[2].outlets.crs``) and the fix.

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
    reader = _Reader(path)
    if not path.is_file():
        reader.found.add("file not found", fix="give the path of the batch .toml file")
        reader.found.raise_if_any(_WHAT)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        reader.found.add(
            f"not valid TOML ({exc})",
            fix="check the syntax near the position given; each city starts with [[city]], "
            'text needs quotes (name = "西安")',
        )
        reader.found.raise_if_any(_WHAT)
    for key in doc:
        if key not in _TOP_KEYS:
            reader.add(key, f"unknown section or key '{key}'", _suggest(key, _TOP_KEYS))
    batch = reader.section("batch", doc.get("batch", {}), _BATCH_KEYS)
    defaults_raw = reader.section(
        "defaults", doc.get("defaults", {}), tuple(k for k in _CITY_KEYS if k not in ("name", "id"))
    )
    out = None
    if "out" in batch:
        out = reader.resolve("batch.out", batch["out"], must_exist=False)
    title = batch.get("title", "")
    if not isinstance(title, str):
        reader.add("batch.title", f"expected a text, got {title!r}")
        title = ""
    raw_cities = doc.get("city", [])
    if not isinstance(raw_cities, list) or not raw_cities:
        reader.add(
            "city",
            "no city listed",
            "add one [[city]] table per city with name, network, outlets and residences",
        )
        raw_cities = []
    cities: list[CityConfig] = []
    for i, raw in enumerate(raw_cities, start=1):
        label = raw.get("name") if isinstance(raw, Mapping) else None
        where = f"city[{i}]" + (f" ({label})" if isinstance(label, str) else "")
        if not isinstance(raw, Mapping):
            reader.add(where, f"expected a table, got {raw!r}", "write [[city]] then key = value")
            continue
        for key in raw:
            if key not in _CITY_KEYS:
                reader.add(f"{where}.{key}", f"unknown key '{key}'", _suggest(key, _CITY_KEYS))
        merged = reader.merge(defaults_raw, {k: v for k, v in raw.items() if k in _CITY_KEYS})
        city = reader.city(where, merged, i)
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
    if not len(reader.found):
        _check_rulebooks(reader, cities)
    reader.found.raise_if_any(_WHAT)
    return BatchConfig(path=path, cities=tuple(cities), out=out, title=title)


def _check_rulebooks(reader: _Reader, cities: list[CityConfig]) -> None:
    """Load each distinct rulebook once, so that its errors show before the run."""
    from lifecircle.batch.city import load_city_rulebook
    from lifecircle.taxonomy import load_catalogue

    catalogue = load_catalogue()
    checked: set[str] = set()
    for i, city in enumerate(cities, start=1):
        key = repr((city.rulebook, sorted((city.rulebook_overrides or {}).items(), key=str)))
        if key in checked:
            continue
        checked.add(key)
        try:
            load_city_rulebook(city, catalogue)
        except InputError as exc:
            for p in exc.problems:
                where = f"city[{i}] ({city.name}).rulebook" + (f".{p.field}" if p.field else "")
                row = f", row {p.row}" if p.row else ""
                detail = f" ({p.file}{row})" if p.file else ""
                reader.add(where, p.message + detail, p.fix)

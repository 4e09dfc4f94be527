"""The city file (``city.toml``): everything about one city, validated once.

A city is one project.  Its file names the study area, the district levels, the three input
layers and every setting of the assessment; every command reads it
(``lifecircle run|audit|assess|report|plan|serve CITY.toml``), a batch lists city files or inline
tables of the same schema, and the web platform serves city files.  Command-line flags override
the keys of the file.  ``lifecircle init DIR`` writes a commented template.

The schema (paths are relative to the folder of the file)::

    name = "西安老城"                   # required: display name
    id = "xian_oldtown"                 # output folder / web key (default: from the name)
    group = "西安市"                     # roll-up group in a batch
    attribution = "路网 © OpenStreetMap contributors"
    out = "output"                      # output folder (--out overrides)

    [boundary]                          # study area: outlets and residences are clipped to it,
    path = "boundary.geojson"           # the network to it plus a buffer (default: the longest
    crs = "wgs84"                       # walking band), so walks near the edge stay exact
    buffer_m = 1200

    [[districts]]                       # one table per level, largest first
    level = "区"
    path = "districts.geojson"          # polygons with a name field ...
    name_field = "name"
    crs = "gcj02"
    [[districts]]
    level = "街道"
    areas = { "南院门街道" = "nanyuanmen.geojson" }   # ... or one file per district

    [network]                           # or network = "roads.gpkg"
    path = "roads.gpkg"                 # options: layer, encoding, crs, keep, min_component_nodes
    [outlets]                           # options: crs, lon, lat, id_column, name, encoding,
    path = "poi.csv"                    # source, where, layer, max_outside_m, drop_missing,
    crs = "bd09"                        # drop_outside, accept_offset, date (for the audit)
    # several outlet sources (OSM + Amap + the bureau's census), highest priority first: the same
    # normalised name within audit.duplicate_m (50 m) is one outlet, the earlier source's wins
    # [[outlets]]
    # label = "census"
    # path = "census.xlsx"
    [residences]                        # as outlets (no source) plus households, population,
    path = "xiaoqu.csv"                 # kind, household_size, m2_per_household
    [entrances]                         # optional 小区出入口: path, crs, lon, lat, residence_id,
    path = "gates.csv"                  # encoding, layer

    circles = "circles.geojson"         # or { path = ..., crs = "gcj02" }; or mapping = "m.csv";
    circle_minutes = 15                 # neither: automatic circles
    rulebook = "default"                # preset or .toml; [rulebook_overrides.grade."基础型"] ...
    walk_speed = 4.2                    # km/h or "elderly"
    survey = "default"                  # with responses = "answers.csv"
    indicators = "sheet.toml"           # with scores = "scores.csv"
    bands = [5, 10, 15]                 # access table: minutes, k nearest, snapping distance
    k = 3
    max_snap_m = 250

    [households]                        # the one household policy of every output
    fill = "median"                     # unknown counts: "median" of the known ones, or "none"
    max = 20000                         # larger counts are outliers ...
    sigma = 3                           # ... as are those > 3 σ above the mean (log scale)
    confirmed = ["27291"]               # outliers confirmed by the city: kept

    [audit]                             # data audit (数据体检) thresholds; see lifecircle.project.audit
    outlet_extent_m = 1000
    max_age_years = 5

    [[targets]]                         # programme targets (kept for the dashboard)
    grade = "提升型"
    count = 20
    due = 2025-09-30

    report = true                       # reports: formats, language, per-circle pages, 1+N list
    report_formats = ["html", "pdf", "xlsx"]
    lang = "zh"
    per_circle_reports = true
    projects = true
    tiles = "auto"                      # batch: tiles ("auto": one per tile_nodes), halo_m
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lifecircle._toml import LineIndex, at_line, read_toml
from lifecircle.errors import CRSError, InputError, Problems

__all__ = [
    "CITY_KEYS",
    "AreaSpec",
    "AuditSettings",
    "CitySpec",
    "HouseholdPolicy",
    "LayerSpec",
    "SpecReader",
    "load_city_file",
    "spec_from_mapping",
]

_WHAT = "city file"
_REPORT_FORMATS = ("html", "pdf", "xlsx")
_LANGS = ("zh", "en")
#: Default network size (nodes) above which ``tiles = "auto"`` splits a city.
DEFAULT_TILE_NODES = 100_000

_Check = Callable[[Any], str | None]  # returns a problem text or None


def _is_str(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "expected a non-empty text"


def _is_bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


def _is_number(value: Any) -> bool:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return ok and math.isfinite(float(value))


def _is_positive(value: Any) -> str | None:
    return None if _is_number(value) and value > 0 else "expected a positive number"


def _is_non_negative(value: Any) -> str | None:
    return None if _is_number(value) and value >= 0 else "expected a number ≥ 0"


def _is_share(value: Any) -> str | None:
    return None if _is_number(value) and 0 <= value <= 1 else "expected a share from 0 to 1"


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


def _is_date(value: Any) -> str | None:
    if isinstance(value, dt.date):
        return None
    if isinstance(value, str):
        try:
            dt.date.fromisoformat(value.strip()[:10])
            return None
        except ValueError:
            pass
        if re.fullmatch(r"\d{4}(-\d{2})?", value.strip()):
            return None
    return "expected a date such as 2024-06-30 (or 2024-06, 2024)"


_NETWORK_OPTIONS: dict[str, _Check] = {
    "layer": _is_str,
    "encoding": _is_str,
    "crs": _is_any_crs,
    "keep": _is_keep,
    "min_component_nodes": _is_count,
    "date": _is_date,
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
    "accept_offset": _is_bool,
    "date": _is_date,
}
_OUTLET_OPTIONS: dict[str, _Check] = {**_POINT_OPTIONS, "source": _is_str, "label": _is_str}
_RESIDENCE_OPTIONS: dict[str, _Check] = {
    **_POINT_OPTIONS,
    "households": _is_str,
    "population": _is_str,
    "kind": _is_str,
    "household_size": _is_positive,
    "m2_per_household": _is_positive,
}
_ENTRANCE_OPTIONS: dict[str, _Check] = {
    "crs": _is_point_crs,
    "lon": _is_str,
    "lat": _is_str,
    "residence_id": _is_str,
    "encoding": _is_str,
    "layer": _is_layer_name,
}
#: The input layers and the options each accepts (besides ``path``).
LAYER_OPTIONS: dict[str, dict[str, _Check]] = {
    "network": _NETWORK_OPTIONS,
    "outlets": _OUTLET_OPTIONS,
    "residences": _RESIDENCE_OPTIONS,
    "entrances": _ENTRANCE_OPTIONS,
}
_REQUIRED_LAYERS = ("network", "outlets", "residences")
_AREA_OPTIONS: dict[str, _Check] = {
    "crs": _is_point_crs,
    "layer": _is_layer_name,
    "name_field": _is_str,
    "id_field": _is_str,
}
_BOUNDARY_OPTIONS: dict[str, _Check] = {**_AREA_OPTIONS, "buffer_m": _is_non_negative}
_HOUSEHOLD_KEYS = ("fill", "max", "sigma", "confirmed")
_AUDIT_CHECKS: dict[str, _Check] = {
    "outlet_extent_m": _is_positive,
    "max_age_years": _is_positive,
    "unclassified_warn": _is_share,
    "unclassified_fail": _is_share,
    "duplicate_m": _is_positive,
    "tile_m": _is_positive,
    "density_ranges": _is_str,
    "provider_caps": lambda v: (
        None
        if isinstance(v, list) and all(_is_count(x) is None for x in v)
        else "expected a list of whole numbers"
    ),
    "group_column": _is_str,
    "offset_fail_m": _is_positive,
}
_PATH_KEYS = ("mapping", "responses", "indicators", "scores", "needs")
_CHAIN_KEYS = ("brands", "min_outlets", "not_chains", "file")
#: Every top-level key of a city file (and of a batch's ``[[city]]``/``[defaults]``).
CITY_KEYS: tuple[str, ...] = (
    "name",
    "id",
    "group",
    "attribution",
    "out",
    "boundary",
    "districts",
    *LAYER_OPTIONS,
    "circles",
    *_PATH_KEYS,
    "rulebook",
    "rulebook_overrides",
    "chains",
    "walk_speed",
    "survey",
    "circle_minutes",
    "bands",
    "k",
    "max_snap_m",
    "households",
    "audit",
    "targets",
    "tiles",
    "tile_nodes",
    "halo_m",
    "report",
    "report_formats",
    "lang",
    "per_circle_reports",
    "projects",
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
    date
        When the layer was collected (ISO date text), for the audit's ``vintage`` check.
    label
        Name of an outlet source when a city lists several (``[[outlets]] label = "amap"``).
    """

    path: Path
    options: Mapping[str, Any] = field(default_factory=dict)
    date: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class AreaSpec:
    """A polygon layer: the study area, one district level, or the circles.

    Attributes
    ----------
    path
        One file, or for districts given one file each: district name → file.
    crs
        Declared coordinate system of the coordinates (``wgs84``, ``gcj02``, ``bd09``).
    level
        District level (``区``, ``街道``, ``社区``); empty for the boundary and circles.
    name_field, id_field, layer
        Name (districts, circles) and id (circles) fields, layer of a multi-layer file.
    buffer_m
        Boundary only: network kept this far beyond the boundary (``None``: the longest band).
    """

    path: Path | Mapping[str, Path]
    crs: str = "wgs84"
    level: str = ""
    name_field: str | None = None
    id_field: str | None = None
    layer: str | int | None = None
    buffer_m: float | None = None

    def files(self) -> list[Path]:
        """The files of the layer (shapefile sidecars not included)."""
        if isinstance(self.path, Mapping):
            return list(self.path.values())
        return [self.path]


@dataclass(frozen=True)
class HouseholdPolicy:
    """How households are counted in every output of a run (the one household policy).

    Attributes
    ----------
    fill
        ``"median"``: a residence with an unknown count weighs the median of the known counts
        of the residences assessed (stated as estimated); ``"none"``: it weighs nothing in
        household-weighted figures (it still counts as a 小区).
    max, sigma
        A count above ``max``, or more than ``sigma`` standard deviations above the mean of the
        log counts, is an outlier: treated as unknown (and estimated) unless ``confirmed``.
    confirmed
        Residence ids whose large counts the city has checked.
    """

    fill: str = "median"
    max: float = 20_000.0
    sigma: float = 3.0
    confirmed: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditSettings:
    """Thresholds of the data audit (see :mod:`lifecircle.project.audit` for each check)."""

    outlet_extent_m: float = 1000.0
    max_age_years: float = 5.0
    unclassified_warn: float = 0.5
    unclassified_fail: float = 0.9
    duplicate_m: float = 50.0
    tile_m: float = 1000.0
    density_ranges: str | None = None
    provider_caps: tuple[int, ...] = (400, 900, 1000, 1600, 2000)
    group_column: str | None = None
    offset_fail_m: float = 100.0


@dataclass(frozen=True)
class CitySpec:
    """One city, validated, with absolute paths: what every command runs from.

    Attributes
    ----------
    name, id, group, attribution
        Display name, output folder / web key, roll-up group, data attribution.
    network, outlets, residences, entrances
        The input layers (entrances optional); ``outlets`` is the first outlet source.
    outlet_sources
        Every outlet source when the city lists several (``[[outlets]]``, highest priority
        first): read, then merged — the same normalised name within ``audit.duplicate_m`` is
        one outlet, and the higher-priority source's fields win; empty with one source.
    source
        The city file, when the spec came from one.
    out
        Output folder named in the file.
    boundary, districts
        Study area and district levels (largest first).
    circles, mapping
        Circle boundaries or a residence → circle table (neither: automatic circles).
    needs
        Residents' needs (需求清单: ``circle_id, category[, count]``) that raise a project of the
        1+N list within its priority tier.
    chains
        The city's chain settings: ``brands`` (its own chains), ``min_outlets`` (repeated-name
        proxy), ``not_chains``, ``file`` (see :func:`lifecircle.assess.chains.chain_settings`).
    rulebook, rulebook_overrides, walk_speed, survey, responses, indicators, scores,
    circle_minutes
        Settings of :func:`lifecircle.assess.assess_city`.
    bands, k, max_snap_m
        Access settings (minutes, nearest outlets listed, snapping distance).
    households, audit, targets
        Household policy, audit thresholds, programme targets (raw tables).
    tiles, tile_nodes, halo_m
        Batch tiling.
    report, report_formats, lang, per_circle_reports, projects
        Which reports to write, in which language, and whether with the 1+N project list.
    """

    name: str
    id: str
    network: LayerSpec
    outlets: LayerSpec
    residences: LayerSpec
    group: str = ""
    attribution: str = ""
    source: Path | None = None
    out: Path | None = None
    entrances: LayerSpec | None = None
    outlet_sources: tuple[LayerSpec, ...] = ()
    boundary: AreaSpec | None = None
    districts: tuple[AreaSpec, ...] = ()
    circles: AreaSpec | None = None
    mapping: Path | None = None
    rulebook: str | None = None
    rulebook_overrides: Mapping[str, Any] | None = None
    walk_speed: float | str = 4.2
    survey: str | None = None
    responses: Path | None = None
    indicators: Path | None = None
    scores: Path | None = None
    needs: Path | None = None
    chains: Mapping[str, Any] | None = None
    circle_minutes: float = 15.0
    bands: tuple[float, ...] = (5.0, 10.0, 15.0)
    k: int = 3
    max_snap_m: float = 250.0
    households: HouseholdPolicy = field(default_factory=HouseholdPolicy)
    audit: AuditSettings = field(default_factory=AuditSettings)
    targets: tuple[Mapping[str, Any], ...] = ()
    tiles: int | str = "auto"
    tile_nodes: int = DEFAULT_TILE_NODES
    halo_m: float | None = None
    report: bool = True
    report_formats: tuple[str, ...] = ("html", "pdf", "xlsx")
    lang: str = "zh"
    per_circle_reports: bool = True
    projects: bool = True

    def input_files(self) -> list[Path]:
        """Every input file of the city (hashed for manifests and caches), sidecars included."""
        files = [self.network.path, self.outlets.path, self.residences.path]
        files += [s.path for s in self.outlet_sources]
        if self.entrances is not None:
            files.append(self.entrances.path)
        for area in (self.boundary, self.circles, *self.districts):
            if area is not None:
                files += area.files()
        files += [
            p for p in (self.mapping, self.responses, self.scores, self.indicators, self.needs) if p
        ]
        chain_file = (self.chains or {}).get("file")
        if chain_file:
            files.append(Path(chain_file))
        for value in (self.rulebook, self.survey, self.audit.density_ranges):
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
        """Every setting as plain JSON-able data (for fingerprints and caches)."""

        def plain(value: Any) -> Any:
            if isinstance(value, LayerSpec):
                extra = {k: v for k, v in (("date", value.date), ("label", value.label)) if v}
                return {"path": str(value.path), **{k: plain(v) for k, v in value.options.items()},
                        **extra}  # fmt: skip
            if isinstance(value, AreaSpec | HouseholdPolicy | AuditSettings):
                return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, Mapping):
                return {str(k): plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            if isinstance(value, dt.date):
                return value.isoformat()
            return value

        return {k: plain(getattr(self, k)) for k in self.__dataclass_fields__ if k != "source"}

    def with_changes(self, **changes: Any) -> CitySpec:
        """A copy with some fields replaced (command-line overrides)."""
        return replace(self, **changes)


def suggest(key: str, allowed: Sequence[str]) -> str:
    """``did you mean 'x'? known keys: …`` for an unknown key."""
    close = difflib.get_close_matches(key, list(allowed), n=1)
    known = ", ".join(allowed)
    return (f"did you mean '{close[0]}'? " if close else "") + f"known keys: {known}"


def _slug(name: str) -> str:
    return re.sub(r"[^\w\-]+", "_", name, flags=re.UNICODE).strip("_")


def _where_path(where: str) -> tuple[str, ...]:
    """``city[2] (西安).outlets.crs`` → ``("city", "2", "outlets", "crs")`` for the line index."""
    where = re.sub(r" \([^)]*\)", "", where)
    parts: list[str] = []
    for part in where.split("."):
        m = re.fullmatch(r"(\w+)\[(\d+)\]", part)
        parts += [m.group(1), m.group(2)] if m else [part]
    return tuple(p for p in parts if p)


class SpecReader:
    """Validates city tables (from a city file or a batch file), gathering every problem.

    Parameters
    ----------
    path
        The file the tables come from (relative paths start in its folder).
    text
        Its text, to name the line of each problem.
    what
        What the file is, for the error (``city file``, ``batch configuration``).
    """

    def __init__(self, path: Path, text: str = "", what: str = _WHAT) -> None:
        self.path = path
        self.base = path.parent
        self.what = what
        self.found = Problems(file=str(path))
        self.lines = LineIndex(text)

    def add(self, where: str, message: str, fix: str | None = None) -> None:
        """Record a problem at key ``where`` (with its line when known)."""
        line = self.lines.find(_where_path(where))
        self.found.add(message + at_line(line), field=where, fix=fix)

    def raise_if_any(self) -> None:
        """Raise an :class:`InputError` listing every problem found."""
        self.found.raise_if_any(self.what)

    def resolve(self, where: str, value: Any, *, must_exist: bool = True) -> Path | None:
        """An absolute path from a path text (relative to the file's folder)."""
        if not isinstance(value, str) or not value.strip():
            self.add(where, f"expected a file path (text), got {value!r}")
            return None
        p = Path(os.path.expanduser(value))
        if not p.is_absolute():
            p = self.base / p
        p = Path(os.path.normpath(p))
        if must_exist and not p.exists():
            self.add(
                where,
                f"file not found: {p}",
                f"check the path; relative paths start in the folder of {self.path.name} "
                f"({self.base})",
            )
            return None
        return p

    def _table(
        self, where: str, value: Any, allowed: Mapping[str, _Check], example: str
    ) -> dict[str, Any] | None:
        """A path-or-table value as a table with its keys checked."""
        if isinstance(value, str):
            value = {"path": value}
        if not isinstance(value, Mapping):
            self.add(
                where,
                f"expected a file path or a table with 'path' and options, got {value!r}",
                example,
            )
            return None
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in ("path", "areas", "level"):
                out[key] = item
            elif key not in allowed:
                self.add(
                    f"{where}.{key}",
                    f"unknown option '{key}'",
                    suggest(key, ["path", *allowed]),
                )
            else:
                problem = allowed[key](item)
                if problem:
                    self.add(f"{where}.{key}", f"{problem}, got {item!r}")
                else:
                    out[key] = item
        return out

    def layer(self, where: str, kind: str, value: Any) -> LayerSpec | None:
        """One input layer (``network``, ``outlets``, ``residences``, ``entrances``)."""
        table = self._table(
            where,
            value,
            LAYER_OPTIONS[kind],
            f'write {kind} = "file" or [{kind}] with path = "file" and options',
        )
        if table is None:
            return None
        if "path" not in table:
            self.add(f"{where}.path", f"the {kind} table has no path", 'add path = "…"')
            return None
        path = self.resolve(f"{where}.path", table.pop("path"))
        if path is None:
            return None
        date = table.pop("date", None)
        label = table.pop("label", None)
        for flag, key in (("drop_missing", "on_missing"), ("drop_outside", "on_outside")):
            if flag in table:
                table[key] = "drop" if table.pop(flag) else "error"
        return LayerSpec(path, table, None if date is None else str(date), label)

    def area(
        self, where: str, value: Any, allowed: Mapping[str, _Check], *, level: bool = False
    ) -> AreaSpec | None:
        """A polygon layer: boundary, district level or circles."""
        table = self._table(where, value, allowed, f'write {where} = "file.geojson"')
        if table is None:
            return None
        kw: dict[str, Any] = {}
        if level:
            lv = table.pop("level", None)
            if _is_str(lv):
                self.add(f"{where}.level", "each district level needs a name", 'level = "街道"')
                return None
            kw["level"] = str(lv).strip()
        elif "level" in table:
            self.add(f"{where}.level", "unknown option 'level'", suggest("level", list(allowed)))
        areas = table.pop("areas", None)
        if areas is not None:
            if not level:
                self.add(f"{where}.areas", "unknown option 'areas'", suggest("areas", ["path"]))
                return None
            if not isinstance(areas, Mapping) or not areas:
                self.add(
                    f"{where}.areas",
                    "expected a table of district name = file",
                    'areas = { "碑林区" = "610103.geojson" }',
                )
                return None
            files = {}
            for name, file in areas.items():
                p = self.resolve(f"{where}.areas.{name}", file)
                if p is not None:
                    files[str(name)] = p
            if len(files) < len(areas):
                return None
            if "path" in table:
                self.add(f"{where}.path", "give path or areas, not both")
                return None
            kw["path"] = files
        elif "path" in table:
            p = self.resolve(f"{where}.path", table.pop("path"))
            if p is None:
                return None
            kw["path"] = p
        else:
            self.add(
                f"{where}.path",
                "no path",
                'add path = "file.geojson"' + (' or areas = { "名称" = "file" }' if level else ""),
            )
            return None
        if level and isinstance(kw["path"], Path) and "name_field" not in table:
            self.add(
                f"{where}.name_field",
                "a district file needs the field that holds each district's name",
                'add name_field = "name"',
            )
            return None
        kw.update({k: v for k, v in table.items() if k != "path"})
        return AreaSpec(**kw)

    def city(
        self, where: str, raw: Mapping[str, Any], position: int = 1, default_id: str | None = None
    ) -> CitySpec | None:
        """Validate one city table; ``None`` (problems recorded) when it is not usable.

        ``id`` defaults to ``default_id``, else to the name made a folder name.
        """
        n_before = len(self.found)
        prefix = f"{where}." if where else ""
        for key in raw:
            if key not in CITY_KEYS:
                self.add(f"{prefix}{key}", f"unknown key '{key}'", suggest(key, CITY_KEYS))
        kw: dict[str, Any] = {}
        name = raw.get("name")
        if _is_str(name):
            self.add(f"{prefix}name", f"each city needs a name, got {name!r}", 'write name = "…"')
            name = f"city {position}"
        kw["name"] = str(name).strip()
        city_id = raw.get("id", default_id or _slug(kw["name"]) or f"city{position}")
        if _is_str(city_id) or not re.fullmatch(r"[\w\-.]+", str(city_id)):
            self.add(
                f"{prefix}id",
                f"id must be a folder name (letters, digits, _ - .), got {city_id!r}",
                'write id = "xian_beilin"',
            )
        kw["id"] = str(city_id)
        for key in ("group", "attribution"):
            if key in raw:
                if not isinstance(raw[key], str):
                    self.add(f"{prefix}{key}", f"expected a text, got {raw[key]!r}")
                else:
                    kw[key] = raw[key]
        if "out" in raw:
            kw["out"] = self.resolve(f"{prefix}out", raw["out"], must_exist=False)
        for kind in LAYER_OPTIONS:
            if kind not in raw:
                if kind in _REQUIRED_LAYERS:
                    self.add(
                        f"{prefix}{kind}",
                        f"the {kind} input is missing",
                        f'write {kind} = "path/to/file" (or a [{kind}] table with path and '
                        "options)",
                    )
                continue
            if kind == "outlets" and isinstance(raw[kind], list):
                sources = self._outlet_sources(prefix, raw[kind])
                if sources:
                    kw["outlets"], kw["outlet_sources"] = sources[0], sources
                continue
            layer = self.layer(f"{prefix}{kind}", kind, raw[kind])
            if layer is not None:
                kw[kind] = layer
        if "boundary" in raw:
            kw["boundary"] = self.area(f"{prefix}boundary", raw["boundary"], _BOUNDARY_OPTIONS)
        if "districts" in raw:
            kw["districts"] = self._districts(prefix, raw["districts"])
        if "circles" in raw:
            kw["circles"] = self.area(f"{prefix}circles", raw["circles"], _AREA_OPTIONS)
        for key in _PATH_KEYS:
            if key in raw:
                resolved = self.resolve(f"{prefix}{key}", raw[key])
                if resolved is not None:
                    kw[key] = resolved
        if "circles" in raw and "mapping" in raw:
            self.add(
                f"{prefix}mapping",
                "both circles and mapping are given",
                "give circle boundaries or a residence → circle table, not both",
            )
        self._assessment_keys(prefix, raw, kw)
        self._policy_keys(prefix, raw, kw)
        if len(self.found) > n_before:
            return None
        kw["source"] = self.path if self.what == _WHAT else None
        return CitySpec(**{k: v for k, v in kw.items() if v is not None or k == "source"})

    def _outlet_sources(self, prefix: str, value: list[Any]) -> tuple[LayerSpec, ...]:
        """``[[outlets]]``: several sources, highest priority first, each with a label."""
        sources: list[LayerSpec] = []
        for i, item in enumerate(value, start=1):
            layer = self.layer(f"{prefix}outlets[{i}]", "outlets", item)
            if layer is None:
                continue
            label = layer.label or (layer.path.stem if layer.path else f"source{i}")
            if any(s.label == label for s in sources):
                self.add(
                    f"{prefix}outlets[{i}].label",
                    f"two outlet sources are labelled {label!r}",
                    'give each [[outlets]] its own label = "…"',
                )
            sources.append(replace(layer, label=label))
        if len(sources) < len(value):
            return ()
        return tuple(sources)

    def _districts(self, prefix: str, value: Any) -> tuple[AreaSpec, ...]:
        if isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, list) or not value:
            self.add(
                f"{prefix}districts",
                "expected one [[districts]] table per level",
                '[[districts]] with level = "区", path = "…", name_field = "name", crs = "…"',
            )
            return ()
        levels: list[AreaSpec] = []
        for i, item in enumerate(value, start=1):
            area = self.area(f"{prefix}districts[{i}]", item, _AREA_OPTIONS, level=True)
            if area is not None:
                if any(a.level == area.level for a in levels):
                    self.add(f"{prefix}districts[{i}].level", f"level {area.level!r} given twice")
                levels.append(area)
        return tuple(levels)

    def _preset_or_file(
        self, where: str, value: Any, presets: Sequence[str], kw: dict[str, Any], key: str
    ) -> None:
        if isinstance(value, str) and value in presets:
            kw[key] = value
        elif isinstance(value, str) and value.lower().endswith(".toml"):
            resolved = self.resolve(where, value)
            if resolved is not None:
                kw[key] = str(resolved)
        else:
            self.add(
                where, f"expected a preset ({', '.join(presets)}) or a .toml file, got {value!r}"
            )

    def _assessment_keys(self, prefix: str, raw: Mapping[str, Any], kw: dict[str, Any]) -> None:
        from lifecircle.access import walk_speed_m_per_min
        from lifecircle.assess import PRESETS
        from lifecircle.assess.survey import SURVEY_PRESETS

        if "rulebook" in raw:
            self._preset_or_file(
                f"{prefix}rulebook", raw["rulebook"], list(PRESETS), kw, "rulebook"
            )
        if "survey" in raw:
            self._preset_or_file(
                f"{prefix}survey", raw["survey"], list(SURVEY_PRESETS), kw, "survey"
            )
        if "chains" in raw:
            kw["chains"] = self._chains(f"{prefix}chains", raw["chains"])
        if "rulebook_overrides" in raw:
            if isinstance(raw["rulebook_overrides"], Mapping):
                kw["rulebook_overrides"] = dict(raw["rulebook_overrides"])
            else:
                self.add(
                    f"{prefix}rulebook_overrides",
                    "expected a table of rulebook keys",
                    '[rulebook_overrides.grade."基础型"] then min_basic = 10',
                )
        if "walk_speed" in raw:
            value = raw["walk_speed"]
            try:
                if isinstance(value, bool) or not isinstance(value, int | float | str):
                    raise InputError(f"expected km/h or a preset name, got {value!r}")
                walk_speed_m_per_min(value)
                kw["walk_speed"] = float(value) if not isinstance(value, str) else value
            except InputError as exc:
                self.add(f"{prefix}walk_speed", exc.problems[0].message, "walk_speed = 4.2")
        for key, check in (
            ("circle_minutes", _is_positive),
            ("max_snap_m", _is_positive),
            ("k", _is_count),
            ("tile_nodes", _is_count),
            ("halo_m", _is_positive),
            ("report", _is_bool),
            ("per_circle_reports", _is_bool),
            ("projects", _is_bool),
        ):
            if key in raw:
                problem = check(raw[key])
                if problem:
                    self.add(f"{prefix}{key}", f"{problem}, got {raw[key]!r}")
                else:
                    kw[key] = raw[key]
        if "bands" in raw:
            value = raw["bands"]
            if isinstance(value, list) and value and all(_is_positive(v) is None for v in value):
                kw["bands"] = tuple(sorted({float(v) for v in value}))
            else:
                self.add(
                    f"{prefix}bands",
                    f"expected a list of positive minutes, got {value!r}",
                    "bands = [5, 10, 15]",
                )
        if "tiles" in raw:
            value = raw["tiles"]
            if value == "auto" or not _is_count(value):
                kw["tiles"] = value
            else:
                self.add(f"{prefix}tiles", f"expected a whole number ≥ 1 or 'auto', got {value!r}")
        if "lang" in raw:
            if raw["lang"] in _LANGS:
                kw["lang"] = raw["lang"]
            else:
                self.add(f"{prefix}lang", f"expected 'zh' or 'en', got {raw['lang']!r}")
        if "report_formats" in raw:
            value = raw["report_formats"]
            if isinstance(value, list) and value and set(value) <= set(_REPORT_FORMATS):
                kw["report_formats"] = tuple(dict.fromkeys(value))
            else:
                self.add(
                    f"{prefix}report_formats",
                    f"expected a list of {', '.join(_REPORT_FORMATS)}, got {value!r}",
                    'write report_formats = ["html", "xlsx"]',
                )

    def _policy_keys(self, prefix: str, raw: Mapping[str, Any], kw: dict[str, Any]) -> None:
        if "households" in raw:
            kw["households"] = self._households(f"{prefix}households", raw["households"])
        if "audit" in raw:
            value = raw["audit"]
            if not isinstance(value, Mapping):
                self.add(
                    f"{prefix}audit", "expected a table", "[audit] then outlet_extent_m = 1000"
                )
            else:
                out: dict[str, Any] = {}
                for key, item in value.items():
                    if key not in _AUDIT_CHECKS:
                        self.add(
                            f"{prefix}audit.{key}",
                            f"unknown key '{key}'",
                            suggest(key, list(_AUDIT_CHECKS)),
                        )
                    elif problem := _AUDIT_CHECKS[key](item):
                        self.add(f"{prefix}audit.{key}", f"{problem}, got {item!r}")
                    elif key == "density_ranges":
                        resolved = self.resolve(f"{prefix}audit.{key}", item)
                        out[key] = None if resolved is None else str(resolved)
                    else:
                        out[key] = tuple(item) if isinstance(item, list) else item
                kw["audit"] = AuditSettings(**out)
        if "targets" in raw:
            value = raw["targets"]
            if isinstance(value, list) and all(isinstance(t, Mapping) for t in value):
                kw["targets"] = tuple(dict(t) for t in value)
            else:
                self.add(
                    f"{prefix}targets",
                    "expected one [[targets]] table per target",
                    '[[targets]] with grade = "提升型", count = 20, due = 2025-09-30',
                )

    def _chains(self, where: str, value: Any) -> dict[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(where, "expected a table", '[chains] then brands = ["怡康医药"]')
            return None
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key not in _CHAIN_KEYS:
                self.add(f"{where}.{key}", f"unknown key '{key}'", suggest(key, _CHAIN_KEYS))
            elif key in ("brands", "not_chains"):
                if isinstance(item, list) and all(isinstance(x, str) and x.strip() for x in item):
                    out[key] = list(item)
                else:
                    self.add(f"{where}.{key}", "expected a list of names", f'{key} = ["…"]')
            elif key == "min_outlets":
                if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
                    out[key] = item
                else:
                    self.add(f"{where}.min_outlets", f"expected a whole number ≥ 0, got {item!r}")
            else:
                resolved = self.resolve(f"{where}.file", item)
                if resolved is not None:
                    out[key] = str(resolved)
        return out

    def _households(self, where: str, value: Any) -> HouseholdPolicy | None:
        if not isinstance(value, Mapping):
            self.add(where, "expected a table", '[households] then fill = "median"')
            return None
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key not in _HOUSEHOLD_KEYS:
                self.add(f"{where}.{key}", f"unknown key '{key}'", suggest(key, _HOUSEHOLD_KEYS))
            elif key == "fill":
                if item in ("median", "none"):
                    out[key] = item
                else:
                    self.add(f"{where}.fill", f"expected 'median' or 'none', got {item!r}")
            elif key == "confirmed":
                if isinstance(item, list) and all(isinstance(x, str | int) for x in item):
                    out[key] = tuple(str(x) for x in item)
                else:
                    self.add(
                        f"{where}.confirmed",
                        "expected a list of residence ids",
                        'confirmed = ["27291"]',
                    )
            elif problem := _is_positive(item):
                self.add(f"{where}.{key}", f"{problem}, got {item!r}")
            else:
                out[key] = float(item)
        return HouseholdPolicy(**out)


def default_city_id(path: Path) -> str | None:
    """A city file's default id: its folder's name (``…/xian/city.toml``), or the file's."""
    if path.suffix != ".toml":
        return None
    return _slug(path.parent.name if path.name == "city.toml" else path.stem) or None


def load_city_file(path: str | os.PathLike[str]) -> CitySpec:
    """Read and validate a city file (``city.toml``), or the ``city.toml`` in a folder.

    Every problem is gathered and raised at once, each naming the key, its line and the fix;
    relative paths are resolved against the folder of the file, and the rulebook is loaded
    so that its mistakes show before anything runs.

    Parameters
    ----------
    path
        The file (format: see :mod:`lifecircle.project.spec`) or a folder holding ``city.toml``.

    Returns
    -------
    CitySpec

    Raises
    ------
    InputError
        Listing every problem with the file, the key (``outlets.crs``), its line and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from lifecircle.datasets import get_path
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pbf = get_path("helsinki").as_posix()
    >>> _ = (folder / "city.toml").write_text(
    ...     f'name = "Helsinki"\\nnetwork = "{pbf}"\\noutlets = "{pbf}"\\n'
    ...     f'residences = "{pbf}"\\nwalk_speed = "elderly"\\n', encoding="utf-8")
    >>> spec = load_city_file(folder)
    >>> spec.name, spec.walk_speed, spec.network.path.name, spec.id == folder.name
    ('Helsinki', 'elderly', 'helsinki.osm.pbf', True)
    """
    path = Path(path)
    if path.is_dir():
        path = path / "city.toml"
    doc, text = read_toml(
        path,
        _WHAT,
        'check the syntax near the position given; text needs quotes (name = "西安"), '
        "tables start with [network]",
    )
    return spec_from_mapping(doc, path, text)


def spec_from_mapping(
    doc: Mapping[str, Any], path: str | os.PathLike[str], text: str = ""
) -> CitySpec:
    """Validate a city given as a mapping (a parsed city file), paths relative to ``path``."""
    path = Path(path)
    reader = SpecReader(path, text)
    spec = reader.city("", doc, default_id=default_city_id(path))
    if spec is not None:
        check_rulebook(reader, spec, "rulebook")
    reader.raise_if_any()
    assert spec is not None  # problems were raised above
    return spec


def check_rulebook(reader: SpecReader, spec: CitySpec, where: str) -> None:
    """Load the city's rulebook once, so that its errors show before the run."""
    from lifecircle.project.inputs import load_city_rulebook
    from lifecircle.taxonomy import load_catalogue

    try:
        load_city_rulebook(spec, load_catalogue())
    except InputError as exc:
        for p in exc.problems:
            row = f", row {p.row}" if p.row else ""
            detail = f" ({p.file}{row})" if p.file else ""
            reader.add(where + (f".{p.field}" if p.field else ""), p.message + detail, p.fix)

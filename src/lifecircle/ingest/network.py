"""Read street networks for walking: OSM ``.osm.pbf``, OSMnx GraphML and road-line layers.

:func:`read_network` turns any of these into a :class:`~lifecircle.network.WalkNetwork` in a local
metric CRS (the UTM zone of the data unless the input is already projected in metres):

* ``.osm.pbf`` / ``.pbf`` / ``.osm`` — ways with a ``highway`` tag, split into edges at the OSM
  nodes that two or more ways share (or a way visits twice) and at way ends;
* ``.graphml`` — an OSMnx graph; the two directed copies of every street are merged into one
  undirected edge, true parallel edges are kept;
* ``.gpkg`` / ``.geojson`` / ``.json`` / ``.shp`` / ``.zip`` / ``.fgb`` — road lines (e.g. the
  Geofabrik roads layer, attribute ``fclass``).  Lines are joined where they share a vertex, also
  in the middle of a line; lines that only cross (bridges, tunnels) stay unconnected.

:class:`WalkRules` decides which edges can be walked (no motorways, no ``access=private`` unless
``foot=yes``...).  Edge lengths are always measured on the projected geometry; the largest
connected component is kept by default and the rest is reported in
:class:`~lifecircle.network.ComponentReport`.
"""

from __future__ import annotations

import ast
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from lifecircle.errors import CRSError, InputError, NetworkError, Problem, Problems
from lifecircle.geo import local_utm_crs
from lifecircle.ingest._osm import read_osm_ways
from lifecircle.network import ComponentReport, WalkNetwork

__all__ = ["WalkRules", "read_network"]

logger = logging.getLogger(__name__)

_WHAT = "street network"
_LINE_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb")
_OSM_SUFFIXES = (".pbf", ".osm")
#: Columns of a line layer that describe an old topology and are rebuilt here.
_STALE_COLUMNS = ("u", "v", "key", "length", "component", "fid")
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})
_MM = 1000.0  # vertices closer than 1 mm (same rounded coordinate) are the same node


def _lower_set(values: Iterable[str] | str) -> frozenset[str]:
    if isinstance(values, str):
        values = [values]
    return frozenset(str(v).strip().lower() for v in values)


@dataclass(frozen=True)
class WalkRules:
    """Which street edges a pedestrian may use.

    An edge is excluded, with the first reason that applies, when

    1. every ``highway`` class it carries is in ``excluded_highways`` (reason ``highway=<class>``);
    2. its ``foot`` tag is in ``foot_excluded`` (reason ``foot=<value>``);
    3. its ``access`` tag is in ``excluded_access`` and ``foot`` is not in ``foot_allowed``
       (reason ``access=<value>``);
    4. the input has a column ``walk_hint_column`` and its value is false (reason ``walk_hint``;
       the Xi'an GeoPackage flags trunk roads and road tunnels this way).

    Everything else is kept: footway, path, steps, pedestrian (also area outlines), living_street,
    residential, service, track, cycleway, crossing, corridor, platform, primary ... .  Tag values
    are compared in lower case; ``a;b`` and OSMnx lists (``['a', 'b']``) are split into members.

    Attributes
    ----------
    excluded_highways
        ``highway`` (or Geofabrik ``fclass``) classes that cannot be walked.
    excluded_access
        ``access`` values that close an edge unless ``foot`` allows it.
    foot_allowed
        ``foot`` values that open an edge despite ``access``.
    foot_excluded
        ``foot`` values that close an edge whatever else it carries.
    walk_hint_column
        Name of a boolean column whose false values exclude the edge; ``None`` to ignore it.

    Examples
    --------
    >>> rules = WalkRules.from_dict({"excluded_highways": ["motorway", "trunk"]})
    >>> sorted(rules.excluded_highways)
    ['motorway', 'trunk']
    >>> "footway" in WalkRules().excluded_highways
    False
    """

    excluded_highways: frozenset[str] = frozenset(
        {
            "motorway",
            "motorway_link",
            "trunk",
            "trunk_link",
            "construction",
            "proposed",
            "abandoned",
            "raceway",
            "bus_guideway",
            "busway",
        }
    )
    excluded_access: frozenset[str] = frozenset({"no", "private"})
    foot_allowed: frozenset[str] = frozenset({"yes", "designated", "permissive"})
    foot_excluded: frozenset[str] = frozenset({"no", "private"})
    walk_hint_column: str | None = "walk_hint"

    def __post_init__(self) -> None:
        for name in ("excluded_highways", "excluded_access", "foot_allowed", "foot_excluded"):
            object.__setattr__(self, name, _lower_set(getattr(self, name)))

    @classmethod
    def keep_all(cls) -> WalkRules:
        """Rules that exclude nothing (every line or edge of the input is walkable)."""
        return cls(frozenset(), frozenset(), frozenset(), frozenset(), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> WalkRules:
        """Rules from a mapping whose keys are the attribute names; missing keys keep defaults.

        Raises
        ------
        InputError
            Unknown keys or values of the wrong type (every problem listed).
        """
        found = Problems(file=source)
        names = {f.name for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in names:
                found.add(
                    f"unknown walking-rule key {key!r}.",
                    field=key,
                    fix=f"use one of: {', '.join(sorted(names))}.",
                )
            elif key == "walk_hint_column":
                if value is None or value is False or value == "":
                    kwargs[key] = None
                elif isinstance(value, str):
                    kwargs[key] = value
                else:
                    found.add(
                        f"expected a column name or false, got {value!r}.",
                        field=key,
                        fix='write walk_hint_column = "walk_hint" or false.',
                    )
            elif isinstance(value, str) or (
                isinstance(value, Iterable) and all(isinstance(v, str) for v in value)
            ):
                kwargs[key] = _lower_set(value)
            else:
                found.add(
                    f"expected a list of tag values, got {value!r}.",
                    field=key,
                    fix=f'write {key} = ["value", ...].',
                )
        found.raise_if_any("walking rules")
        return cls(**kwargs)

    @classmethod
    def from_toml(cls, path: str | Path, *, table: str | None = None) -> WalkRules:
        """Rules from a TOML file, from its top level or from ``table`` (dotted, e.g. ``"network.walk"``).

        Raises
        ------
        InputError
            The file is missing or not valid TOML, the table is absent, or a value is wrong.
        """
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]

        path = Path(path)
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(
                Problem(f"cannot read walking rules ({exc}).", file=str(path)), "walking rules"
            ) from exc
        for part in (table or "").split(".") if table else []:
            if not isinstance(data, dict) or part not in data:
                raise InputError(
                    Problem(f"table [{table}] not found.", file=str(path), fix="add the table."),
                    "walking rules",
                )
            data = data[part]
        if not isinstance(data, dict):
            raise InputError(
                Problem(f"[{table}] is not a table.", file=str(path), fix="write it as a table."),
                "walking rules",
            )
        return cls.from_dict(data, source=str(path))


# --------------------------------------------------------------------------------------------
# walking rules on a table of lines / edges


def _members(value: object) -> tuple[str, ...]:
    """Lower-case members of a tag value: ``'a;b'``, ``"['a', 'b']"`` (OSMnx) or a plain value."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    text = str(value).strip()
    items: Iterable[object] = text.split(";")
    if text.startswith("[") and text.endswith("]"):
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            items = [text]
    return tuple(s for s in (str(i).strip().lower() for i in items) if s)


def _per_value(column: pd.Series, decide: Any) -> np.ndarray:
    """``decide(members)`` for every row, evaluated once per distinct value."""
    codes, uniques = pd.factorize(column.astype(object))
    results = [decide(_members(u)) for u in uniques] + [decide(())]  # code -1 (null) → last
    out = np.empty(len(results), dtype=object)
    out[:] = results
    return out[codes]


def _parse_hint(frame: pd.DataFrame, column: str, rows: np.ndarray, found: Problems) -> np.ndarray:
    """Boolean walk hint per row (missing = walkable); bad values are recorded as problems."""
    values = frame[column]
    if values.dtype == bool:
        return values.to_numpy()

    def parse(members: tuple[str, ...]) -> bool | None:
        if not members or members[0] in _TRUE:
            return True
        return False if members[0] in _FALSE else None

    hint = _per_value(values, parse)
    for i in np.flatnonzero(pd.isna(hint)):
        found.add(
            f"expected true/false, got {values.iloc[i]!r}.",
            row=int(rows[i]),
            field=column,
            fix="write true or false (or remove the column).",
        )
    return np.asarray(hint != False, dtype=bool)  # noqa: E712 (object array)


def _exclusion_reasons(
    frame: pd.DataFrame, rules: WalkRules, rows: np.ndarray, found: Problems
) -> np.ndarray:
    """Why each row is excluded (``""`` when it is walkable)."""
    reason = np.full(len(frame), "", dtype=object)

    def first_in(key: str, values: frozenset[str]) -> Any:
        return lambda m: next((f"{key}={v}" for v in m if v in values), "")

    if "highway" in frame:
        excluded = rules.excluded_highways
        reason = _per_value(
            frame["highway"],
            lambda m: f"highway={m[0]}" if m and all(v in excluded for v in m) else "",
        )
    if "foot" in frame:
        foot = _per_value(frame["foot"], first_in("foot", rules.foot_excluded))
        reason = np.where(reason == "", foot, reason)
        foot_ok = _per_value(frame["foot"], lambda m: any(v in rules.foot_allowed for v in m))
    else:
        foot_ok = np.zeros(len(frame), dtype=bool)
    if "access" in frame:
        access = _per_value(frame["access"], first_in("access", rules.excluded_access))
        reason = np.where((reason == "") & ~foot_ok.astype(bool), access, reason)
    if rules.walk_hint_column and rules.walk_hint_column in frame:
        hint = _parse_hint(frame, rules.walk_hint_column, rows, found)
        reason = np.where((reason == "") & ~hint, "walk_hint", reason)
    return reason


def _tally(reason: np.ndarray, length_m: np.ndarray) -> tuple[dict[str, int], dict[str, float]]:
    """Count and kilometres of excluded items per reason."""
    mask = reason != ""
    if not mask.any():
        return {}, {}
    table = pd.DataFrame({"r": reason[mask], "km": length_m[mask] / 1000.0}).groupby("r")["km"]
    count, km = table.size(), table.sum()
    return (
        {str(k): int(n) for k, n in count.items()},
        {str(k): round(float(x), 3) for k, x in km.items()},
    )


def _refuse_unwalkable(file: str, n_in: int, counts: dict[str, int], noun: str) -> None:
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    raise NetworkError(
        Problem(
            f"no walkable {noun} left: all {n_in} were excluded by the walking rules ({detail}).",
            file=file,
            fix="check the file holds streets, or pass rules=WalkRules(...) that keep them.",
        ),
        _WHAT,
    )


# --------------------------------------------------------------------------------------------
# coordinate reference systems


def _check_coordinates(crs: pyproj.CRS, x: np.ndarray, y: np.ndarray, file: str) -> None:
    """Refuse coordinates that cannot be in the declared CRS."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise NetworkError(Problem("no finite coordinate.", file=file), _WHAT)
    ax, ay = np.abs(x[ok]), np.abs(y[ok])
    name = crs.to_string()
    if crs.is_geographic and (ax.max() > 180.0 or ay.max() > 90.0):
        raise CRSError(
            Problem(
                f"the declared CRS {name} is in degrees, but coordinates reach "
                f"({ax.max():.6g}, {ay.max():.6g}), outside longitude/latitude range.",
                file=file,
                fix="declare the projected CRS the coordinates are in, e.g. crs='EPSG:32649'.",
            ),
            _WHAT,
        )
    if not crs.is_geographic and ax.max() <= 180.0 and ay.max() <= 90.0:
        raise CRSError(
            Problem(
                f"the declared CRS {name} is projected, but every coordinate lies within "
                "±180/±90, which looks like longitude/latitude degrees.",
                file=file,
                fix="declare the CRS as geographic, e.g. crs='EPSG:4326'.",
            ),
            _WHAT,
        )


def _metric_crs(crs: pyproj.CRS, x: np.ndarray, y: np.ndarray) -> pyproj.CRS:
    """``crs`` if it is projected in metres (and not Mercator), else the local UTM zone."""
    if crs.is_projected:
        unit = crs.axis_info[0].unit_name.lower() if crs.axis_info else ""
        method = crs.coordinate_operation.method_name.lower() if crs.coordinate_operation else ""
        if unit in ("metre", "meter") and not ("mercator" in method and "transverse" not in method):
            return crs
    step = max(1, x.size // 5000)
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(
        x[::step], y[::step]
    )
    return local_utm_crs(lon, lat)


def _projector(src: pyproj.CRS, dst: pyproj.CRS) -> Any:
    if src == dst:
        return lambda xy: xy
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    return lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))


def _declared_crs(declared: Any, override: Any, file: str) -> pyproj.CRS:
    value = override if override is not None else declared
    if value is None or value == "":
        raise CRSError(
            Problem(
                "the file declares no coordinate reference system.",
                file=file,
                fix="add one (a .prj beside a shapefile, 'crs' in GraphML) or pass crs='EPSG:4326'.",
            ),
            _WHAT,
        )
    try:
        return pyproj.CRS.from_user_input(value)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(
            Problem(f"unknown CRS {value!r} ({exc}).", file=file, fix="give an EPSG code."), _WHAT
        ) from exc


# --------------------------------------------------------------------------------------------
# lines → edges


def _tidy_attrs(attrs: pd.DataFrame, *, booleans: bool = False) -> pd.DataFrame:
    """Standard columns ``highway, name, osmid`` (missing = null); numeric ``osmid`` as Int64.

    With ``booleans``, text columns holding only ``True``/``False`` (GraphML) become booleans.
    """
    for column in ("highway", "name", "osmid"):
        if column not in attrs:
            attrs[column] = None
    osmid = pd.to_numeric(attrs["osmid"], errors="coerce")
    if osmid.notna().any() and osmid.notna().sum() == attrs["osmid"].notna().sum():
        attrs["osmid"] = osmid.round().astype("Int64")
    for column in attrs.columns if booleans else []:
        values = set(attrs[column].dropna().unique())
        if values and values <= {"True", "False"}:
            attrs[column] = attrs[column].map({"True": True, "False": False}).astype("boolean")
    return attrs


def _split_lines(
    xy: np.ndarray, part: np.ndarray, key: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut lines into edges at their ends and at interior vertices that are nodes.

    A vertex ``key`` is a node when it ends a line, lies on two or more lines, or appears twice
    in one line.  Returns ``(geometry, u, v, edge_part, node_xy, node_key)``; ``u``/``v`` index
    the distinct keys (nodes take the coordinates of their key's first vertex).
    """
    same = np.zeros(len(part), dtype=bool)
    same[1:] = (part[1:] == part[:-1]) & (key[1:] == key[:-1])
    xy, part, key = xy[~same], part[~same], key[~same]  # consecutive repeated vertices
    counts = np.bincount(part)
    ok = counts[part] >= 2
    xy, part, key = xy[ok], part[ok], key[ok]
    n = len(part)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=object), empty, empty, empty, np.zeros((0, 2)), key
    first = np.ones(n, dtype=bool)
    first[1:] = part[1:] != part[:-1]
    last = np.ones(n, dtype=bool)
    last[:-1] = first[1:]
    _, first_vertex, dense = np.unique(key, return_index=True, return_inverse=True)
    n_keys = len(first_vertex)
    node = np.zeros(n_keys, dtype=bool)
    node[dense[first | last]] = True
    pair, pair_count = np.unique(dense * (int(part.max()) + 1) + part, return_counts=True)
    pair_key = pair // (int(part.max()) + 1)
    node |= np.bincount(pair_key, minlength=n_keys) >= 2
    node[pair_key[pair_count > 1]] = True
    cut = node[dense] & ~(first | last)
    repeat = 1 + cut.astype(np.int64)
    offset = np.cumsum(repeat) - repeat
    starts = np.zeros(int(repeat.sum()), dtype=bool)
    starts[offset[first]] = True
    starts[offset[cut] + 1] = True
    seg = np.cumsum(starts) - 1
    seg_first = np.flatnonzero(starts)
    seg_last = np.append(seg_first[1:], len(seg)) - 1
    dense2 = np.repeat(dense, repeat)
    geometry = shapely.linestrings(np.repeat(xy, repeat, axis=0), indices=seg)
    part2 = np.repeat(part, repeat)
    return (
        geometry,
        dense2[seg_first],
        dense2[seg_last],
        part2[seg_first],
        xy[first_vertex],
        key[first_vertex],
    )


def _vertex_keys(xy: np.ndarray) -> np.ndarray:
    """Dense ids of distinct vertices, equal where coordinates agree to the millimetre."""
    q = np.round(xy * _MM).astype(np.int64)
    q -= q.min(axis=0)
    span = int(q[:, 1].max()) + 1
    if int(q[:, 0].max()) < (2**62) // span:
        # one int64 per vertex: a 1-D unique is an order of magnitude faster than axis=0
        _, key = np.unique(q[:, 0] * span + q[:, 1], return_inverse=True)
    else:  # pragma: no cover - extents beyond ~4,000 km at mm precision
        _, key = np.unique(q, axis=0, return_inverse=True)
    return np.asarray(key, dtype=np.int64).reshape(-1)


def _network_from_lines(
    xy: np.ndarray,
    part: np.ndarray,
    key: np.ndarray,
    part_row: np.ndarray,
    frame: pd.DataFrame,
    rows: np.ndarray,
    crs: pyproj.CRS,
    rules: WalkRules,
    file: str,
) -> tuple[WalkNetwork, dict[str, int], dict[str, float]]:
    """Exclude rows by the rules, split the kept lines and build the (unfiltered) network."""
    seg = np.zeros(len(part))
    same = part[1:] == part[:-1]
    seg[1:] = np.where(same, np.hypot(*(xy[1:] - xy[:-1]).T), 0.0)
    row_length = np.bincount(part_row[part], weights=seg, minlength=len(frame))
    found = Problems(file=file)
    reason = _exclusion_reasons(frame, rules, rows, found)
    found.raise_if_any(_WHAT, error=NetworkError)
    n_excl, km_excl = _tally(reason, row_length)
    keep = (reason == "")[part_row[part]]
    if not keep.any():
        _refuse_unwalkable(file, len(frame), n_excl, "lines")
    geometry, u, v, edge_part, node_xy, node_key = _split_lines(xy[keep], part[keep], key[keep])
    net = WalkNetwork(
        crs=crs,
        node_x=node_xy[:, 0].copy(),
        node_y=node_xy[:, 1].copy(),
        node_id=node_key,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_length=shapely.length(geometry),
        edge_geometry=geometry,
        edge_attrs=frame.iloc[part_row[edge_part]].reset_index(drop=True),
        source=file,
    )
    return net, n_excl, km_excl


def _read_osm(path: Path, rules: WalkRules) -> tuple[WalkNetwork, dict[str, int], dict[str, float]]:
    file = str(path)
    osm = read_osm_ways(path)
    if osm.ways.empty:
        raise NetworkError(
            Problem(
                "no ways tagged highway=* in the file.", file=file, fix="use a street extract."
            ),
            _WHAT,
        )
    valid = np.isfinite(osm.lon)
    if not valid.any():
        raise NetworkError(
            Problem("the highway ways reference no node located in the file.", file=file), _WHAT
        )
    start = np.ones(len(valid), dtype=bool)  # a new part at each way start and after a gap
    start[1:] = (osm.way[1:] != osm.way[:-1]) | ~valid[:-1]
    part = (np.cumsum(start) - 1)[valid]
    _, part_first, part = np.unique(part, return_index=True, return_inverse=True)
    way = osm.way[valid]
    lonlat = np.column_stack([osm.lon[valid], osm.lat[valid]])
    crs = local_utm_crs(lonlat[:, 0], lonlat[:, 1])
    xy = _projector(pyproj.CRS.from_epsg(4326), crs)(lonlat)
    rows = np.arange(1, len(osm.ways) + 1)
    return _network_from_lines(
        xy, part, osm.node_id[valid], way[part_first], osm.ways, rows, crs, rules, file
    )


def _read_lines(
    path: Path, layer: str | None, encoding: str | None, crs: Any, rules: WalkRules
) -> tuple[WalkNetwork, dict[str, int], dict[str, float]]:
    import pyogrio

    file = str(path)
    try:
        layers = pyogrio.list_layers(path)
        names = [str(name) for name in layers[:, 0]]
        if layer is None:
            lines = [str(n) for n, g in layers if g and "line" in str(g).lower()]
            layer = "edges" if "edges" in names else (lines or names)[0]
        elif layer not in names:
            raise InputError(
                Problem(
                    f"layer {layer!r} not found; the file has {names}.",
                    file=file,
                    fix="pass layer= one of those.",
                ),
                _WHAT,
            )
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, use_arrow=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise InputError(
            Problem(
                f"cannot be read as a line layer ({exc}).",
                file=file,
                fix="give a GeoPackage, GeoJSON or shapefile of street lines.",
            ),
            _WHAT,
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            Problem(f"cannot decode the attributes ({exc}).", file=file, fix="pass encoding=."),
            _WHAT,
        ) from exc
    where = f"{file} (layer {layer})" if path.suffix.lower() == ".gpkg" else file
    if frame.empty:
        raise NetworkError(Problem("the layer has no features.", file=where), _WHAT)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    is_line = np.isin(shapely.get_type_id(geoms), [1, 2, 5]) & ~shapely.is_empty(geoms)
    if not is_line.any():
        kinds = pd.Series(shapely.get_type_id(geoms)).map(
            {
                -1: "none",
                0: "Point",
                3: "Polygon",
                4: "MultiPoint",
                6: "MultiPolygon",
                7: "Collection",
            }
        )
        raise NetworkError(
            Problem(
                f"expected LineString geometries, found {kinds.value_counts().to_dict()}.",
                file=where,
                field="geometry",
                fix="give the street lines (the 'edges' or roads layer).",
            ),
            _WHAT,
        )
    if not is_line.all():
        logger.warning("%s: ignored %d rows without a line geometry", where, (~is_line).sum())
    src = _declared_crs(frame.crs, crs, where)
    parts, part_row = shapely.get_parts(geoms[is_line], return_index=True)
    part_row = np.flatnonzero(is_line)[part_row]
    coords, part = shapely.get_coordinates(parts, return_index=True)
    _check_coordinates(src, coords[:, 0], coords[:, 1], where)
    dst = _metric_crs(src, coords[:, 0], coords[:, 1])
    xy = _projector(src, dst)(coords)
    key = _vertex_keys(xy)
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    attrs = attrs.drop(columns=[c for c in _STALE_COLUMNS if c in attrs])
    renames = {"fclass": "highway", "osm_id": "osmid"}
    attrs = attrs.rename(columns={k: v for k, v in renames.items() if v not in attrs})
    if "highway" not in attrs:
        logger.info("%s: no 'highway' or 'fclass' column; every line is taken as walkable", where)
    attrs = _tidy_attrs(attrs)
    rows = np.arange(1, len(frame) + 1)
    net, n_excl, km_excl = _network_from_lines(
        xy, part, key.ravel(), part_row, attrs, rows, dst, rules, where
    )
    return net, n_excl, km_excl


# --------------------------------------------------------------------------------------------
# GraphML


def _parse_graphml(path: Path) -> tuple[dict[Any, Any], pd.DataFrame, pd.DataFrame, bool]:
    """Graph attributes, node table, edge table and whether the graph is directed."""
    file = str(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise InputError(
            Problem(f"cannot be read as GraphML ({exc}).", file=file, fix="re-export the graph."),
            _WHAT,
        ) from exc
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    names = {k.get("id"): k.get("attr.name") or k.get("id") for k in root.iter(f"{ns}key")}
    graph = root.find(f"{ns}graph")
    if graph is None:
        raise NetworkError(Problem("no <graph> element.", file=file), _WHAT)
    data_tag = f"{ns}data"

    def attributes(el: ET.Element) -> dict[str | None, str | None]:
        return {names.get(d.get("key"), d.get("key")): d.text for d in el.iter(data_tag)}

    nodes = [{"_id": el.get("id"), **attributes(el)} for el in graph.iter(f"{ns}node")]
    edges = [
        {"_u": el.get("source"), "_v": el.get("target"), "_k": el.get("id"), **attributes(el)}
        for el in graph.iter(f"{ns}edge")
    ]
    graph_attrs = {names.get(d.get("key")): d.text for d in graph.findall(data_tag)}
    directed = graph.get("edgedefault", "directed") == "directed"
    return graph_attrs, pd.DataFrame(nodes), pd.DataFrame(edges), directed


def _dedupe_directed(
    frame: pd.DataFrame, geometry: np.ndarray, u: np.ndarray, v: np.ndarray, backward: np.ndarray
) -> np.ndarray:
    """Mask keeping one undirected edge per pair of reversed copies; true parallels stay.

    Copies match on end nodes, OSM ids and geometry (either way round).  Of a pair, the copy
    not flagged ``reversed`` (OSMnx), else the first in the file, is kept.
    """
    wkb = shapely.to_wkb(geometry)
    wkb_reversed = shapely.to_wkb(shapely.reverse(geometry))
    forward = np.asarray(wkb <= wkb_reversed, dtype=bool)  # the orientation used as the key
    order = np.argsort(backward, kind="stable")
    groups = (
        pd.DataFrame(
            {
                "a": np.minimum(u, v),
                "b": np.maximum(u, v),
                "osmid": _per_value(frame["osmid"], lambda m: ",".join(sorted(m))),
                "shape": np.where(forward, wkb, wkb_reversed),
                "fwd": forward,
            }
        )
        .iloc[order]
        .groupby(["a", "b", "osmid", "shape"], sort=False)["fwd"]
    )
    n_fwd = groups.transform("sum").to_numpy()
    n_all = groups.transform("size").to_numpy()
    first = groups.transform("first").to_numpy(dtype=bool)
    take_fwd = (2 * n_fwd > n_all) | ((2 * n_fwd == n_all) & first)
    keep = np.empty(len(order), dtype=bool)
    keep[order] = np.where(forward[order], take_fwd, ~take_fwd)
    return keep


def _read_graphml(
    path: Path, crs: Any, rules: WalkRules
) -> tuple[WalkNetwork, dict[str, int], dict[str, float]]:
    file = str(path)
    graph_attrs, nodes, edges, directed = _parse_graphml(path)
    if nodes.empty or edges.empty:
        raise NetworkError(
            Problem(f"the graph has {len(nodes)} nodes and {len(edges)} edges.", file=file), _WHAT
        )
    found = Problems(file=file)
    ids = nodes["_id"].astype(str)
    for i in np.flatnonzero(ids.duplicated()):
        found.add(f"node id {ids.iloc[i]!r} appears twice.", field="id")
    xy = np.full((len(nodes), 2), np.nan)
    for j, column in enumerate(("x", "y")):
        if column not in nodes:
            found.add(f"nodes have no '{column}' attribute.", field=column)
            continue
        xy[:, j] = pd.to_numeric(nodes[column], errors="coerce")
        for i in np.flatnonzero(np.isnan(xy[:, j]))[:50]:
            found.add(f"node {ids.iloc[i]!r}: expected a number, got {nodes[column].iloc[i]!r}.")
    u = pd.Index(ids).get_indexer(pd.Index(edges["_u"].astype(str)))
    v = pd.Index(ids).get_indexer(pd.Index(edges["_v"].astype(str)))
    for i in np.flatnonzero((u < 0) | (v < 0))[:50]:
        found.add(f"edge {edges['_u'].iloc[i]}→{edges['_v'].iloc[i]} names an unknown node.")
    text = edges["geometry"] if "geometry" in edges else pd.Series(None, index=edges.index)
    wkt = text.to_numpy(dtype=object)
    wkt[pd.isna(wkt)] = None
    geometry = shapely.from_wkt(wkt, on_invalid="ignore")
    bad = text.notna().to_numpy() & (shapely.get_type_id(geometry) != 1)
    for i in np.flatnonzero(bad)[:50]:
        found.add(
            f"edge {edges['_u'].iloc[i]}→{edges['_v'].iloc[i]}: expected a WKT LineString, "
            f"got {str(text.iloc[i])[:40]!r}.",
            field="geometry",
        )
    found.raise_if_any(_WHAT, error=NetworkError)
    src = _declared_crs(graph_attrs.get("crs"), crs, file)
    _check_coordinates(src, xy[:, 0], xy[:, 1], file)
    missing = shapely.is_missing(geometry)
    geometry[missing] = shapely.linestrings(np.stack([xy[u[missing]], xy[v[missing]]], axis=1))
    start = shapely.get_coordinates(shapely.get_point(geometry, 0))
    flip = (u != v) & (
        np.hypot(*(start - xy[v]).T) < np.hypot(*(start - xy[u]).T)
    )  # geometry must run u → v
    geometry[flip] = shapely.reverse(geometry[flip])
    attrs = edges.drop(
        columns=["_u", "_v", "_k", "geometry", "length", "reversed"], errors="ignore"
    )
    attrs = _tidy_attrs(attrs, booleans=True)
    rows = np.arange(1, len(edges) + 1)  # edge number in the file, for messages
    if directed:
        flag = edges["reversed"] if "reversed" in edges else pd.Series("", index=edges.index)
        backward = flag.astype(str).str.lower().eq("true").to_numpy()
        unique = _dedupe_directed(attrs, geometry, u, v, backward)
        attrs = attrs[unique]
        geometry, u, v, rows = geometry[unique], u[unique], v[unique], rows[unique]
    dst = _metric_crs(src, xy[:, 0], xy[:, 1])
    project = _projector(src, dst)
    geometry = shapely.transform(geometry, project)
    length = shapely.length(geometry)
    reason = _exclusion_reasons(attrs, rules, rows, found)
    found.raise_if_any(_WHAT, error=NetworkError)
    n_excl, km_excl = _tally(reason, length)
    keep = reason == ""
    if not keep.any():
        _refuse_unwalkable(file, len(keep), n_excl, "edges")
    node_xy = project(xy)
    numeric = pd.to_numeric(ids, errors="coerce")
    node_id = numeric.to_numpy(np.int64) if numeric.notna().all() else ids.to_numpy(object)
    net = WalkNetwork(
        crs=dst,
        node_x=node_xy[:, 0].copy(),
        node_y=node_xy[:, 1].copy(),
        node_id=node_id,
        edge_u=u[keep].astype(np.int64),
        edge_v=v[keep].astype(np.int64),
        edge_length=length[keep],
        edge_geometry=geometry[keep],
        edge_attrs=attrs[keep].reset_index(drop=True),
        source=file,
    )
    return net, n_excl, km_excl


# --------------------------------------------------------------------------------------------
# public entry point


def _keep_components(
    net: WalkNetwork, keep: str, min_nodes: int | None
) -> tuple[WalkNetwork, ComponentReport]:
    """Drop zero-length edges and unused nodes, then the small components."""
    nonzero = net.edge_length > 0
    if not nonzero.any():
        raise NetworkError(
            Problem(
                "no edge of positive length (only points or repeated vertices).", file=net.source
            ),
            _WHAT,
        )
    if not nonzero.all():
        logger.debug("%s: dropped %d zero-length edges", net.source, (~nonzero).sum())
    u, v = net.edge_u[nonzero], net.edge_v[nonzero]
    used, inverse = np.unique(np.concatenate([u, v]), return_inverse=True)
    u, v = inverse[: len(u)], inverse[len(u) :]
    length = net.edge_length[nonzero]
    n = len(used)
    adjacency = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    n_comp, label = connected_components(adjacency, directed=False)
    size = np.bincount(label, minlength=n_comp)
    km = np.bincount(label[u], weights=length, minlength=n_comp) / 1000.0
    largest = int(np.lexsort((km, size))[-1])
    if keep == "all":
        kept = np.ones(n_comp, dtype=bool)
    else:
        kept = np.arange(n_comp) == largest
        if min_nodes is not None:
            kept |= size >= min_nodes
    node_kept = kept[label]
    edge_kept = node_kept[u]
    renumber = np.cumsum(node_kept) - 1
    edge_index = np.flatnonzero(nonzero)[edge_kept]
    out = WalkNetwork(
        crs=net.crs,
        node_x=net.node_x[used][node_kept],
        node_y=net.node_y[used][node_kept],
        node_id=net.node_id[used][node_kept],
        edge_u=renumber[u[edge_kept]].astype(np.int64),
        edge_v=renumber[v[edge_kept]].astype(np.int64),
        edge_length=length[edge_kept].astype(np.float64),
        edge_geometry=net.edge_geometry[edge_index],
        edge_attrs=net.edge_attrs.iloc[edge_index].reset_index(drop=True),
        source=net.source,
    )
    report = ComponentReport(
        n_components=int(n_comp),
        kept_nodes=out.n_nodes,
        kept_edges=out.n_edges,
        kept_km=round(out.total_km, 3),
        dropped_components=int((~kept).sum()),
        dropped_nodes=int((~node_kept).sum()),
        dropped_edges=int((~edge_kept).sum()),
        dropped_km=round(float(length[~edge_kept].sum()) / 1000.0, 3),
    )
    return out, report


def read_network(
    path: str | Path,
    *,
    layer: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    rules: WalkRules | None = None,
    keep: Literal["largest", "all"] = "largest",
    min_component_nodes: int | None = None,
) -> WalkNetwork:
    """Read a street network for walking.

    Parameters
    ----------
    path
        ``.osm.pbf``/``.pbf``/``.osm`` (OpenStreetMap), ``.graphml`` (OSMnx) or a line layer
        (``.gpkg``, ``.geojson``/``.json``, ``.shp``, zipped shapefile ``.zip``, ``.fgb``).
    layer
        Layer of a GeoPackage; default the layer named ``edges``, else the first line layer.
    encoding
        Attribute encoding of a line layer, e.g. ``"gbk"`` for a Chinese shapefile without ``.cpg``.
    crs
        CRS of the input coordinates when the file declares none (or declares a wrong one);
        anything :meth:`pyproj.CRS.from_user_input` accepts.  The output CRS is always metric.
    rules
        Which edges can be walked; default :class:`WalkRules()`.
    keep
        ``"largest"`` keeps the largest connected component, ``"all"`` keeps every component.
    min_component_nodes
        With ``keep="largest"``, also keep every other component with at least this many nodes.

    Returns
    -------
    WalkNetwork
        Undirected network in a local metric CRS; lengths measured on the projected geometry;
        ``report`` tells what the rules excluded and what the connectivity check dropped.

    Raises
    ------
    InputError
        The file is missing, of an unknown kind or unreadable, or a parameter is invalid.
    CRSError
        The file has no CRS (and ``crs`` is not given) or its coordinates contradict it.
    NetworkError
        No line geometry, an empty layer, bad attribute values, or no walkable edge left.

    Examples
    --------
    >>> from lifecircle.datasets import get_path
    >>> net = read_network(get_path("helsinki"))
    >>> net.crs.to_epsg(), net.n_nodes > 1000
    (32635, True)
    """
    path = Path(path)
    file = str(path)
    found = Problems(file=file)
    if keep not in ("largest", "all"):
        found.add(f"keep must be 'largest' or 'all', got {keep!r}.", field="keep")
    if min_component_nodes is not None and min_component_nodes < 1:
        found.add("min_component_nodes must be at least 1.", field="min_component_nodes")
    name = path.name.lower()
    is_osm = name.endswith(_OSM_SUFFIXES) or name.endswith(".osm.pbf")
    if not is_osm and not name.endswith((".graphml", *_LINE_SUFFIXES)):
        found.add(
            f"unknown street-network format {path.suffix!r}.",
            fix="give .osm.pbf, .graphml, .gpkg, .geojson, .shp or a zipped shapefile.",
        )
    elif not path.is_file():
        found.add(
            "file not found.", fix="check the path (relative paths start in the working folder)."
        )
    found.raise_if_any(_WHAT)
    rules = rules if rules is not None else WalkRules()
    if is_osm:
        net, n_excl, km_excl = _read_osm(path, rules)
    elif name.endswith(".graphml"):
        net, n_excl, km_excl = _read_graphml(path, crs, rules)
    else:
        net, n_excl, km_excl = _read_lines(path, layer, encoding, crs, rules)
    net, report = _keep_components(net, keep, min_component_nodes)
    if not is_osm and not name.endswith(".graphml"):
        net.node_id = np.arange(net.n_nodes, dtype=np.int64)  # line layers have no node ids
    net.report = ComponentReport(
        **{f.name: getattr(report, f.name) for f in fields(report)}
        | {"excluded_edges": n_excl, "excluded_km": km_excl}
    )
    logger.info(
        "%s: %s; excluded by walking rules: %s",
        file,
        net.report.summary(),
        ", ".join(f"{k} {n_excl[k]} ({km_excl[k]:.1f} km)" for k in n_excl) or "none",
    )
    return net

"""Candidate sites for new outlets: a user layer (闲置用房, shop fronts) or points along the streets.

:func:`read_candidates` reads a layer of candidate premises (CSV with coordinates, GeoJSON,
GeoPackage ...) with optional floor area, rent and capacity, validating every row like the
other readers.  :func:`generate_candidates` places points along the walkable edges at a set
spacing (the network holds only walkable edges; steps, lifts and corridors are skipped by
default, and areas such as parks or water can be excluded), deduplicated so that no two are
closer than half the spacing.

Examples
--------
>>> from lifecircle.testing import network_from_polylines
>>> net = network_from_polylines([[(0, 0), (400, 0)], [(400, 0), (400, 150)]])
>>> sites = generate_candidates(net, spacing_m=100)
>>> len(sites), sites["site_id"].iloc[0]
(6, 'G1')
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.errors import InputError, Problem
from lifecircle.network import WalkNetwork

__all__ = [
    "CANDIDATE_COLUMNS",
    "DEFAULT_EXCLUDED_HIGHWAY",
    "dedupe_candidates",
    "generate_candidates",
    "read_candidates",
]

log = logging.getLogger(__name__)

#: Edge types on which no shop front is proposed.
DEFAULT_EXCLUDED_HIGHWAY = ("steps", "elevator", "corridor", "platform")
#: Columns of a candidate layer (``floor_area`` m², ``rent`` per month, ``capacity``
#: households; NaN when unknown).
CANDIDATE_COLUMNS = ("site_id", "name", "source", "floor_area", "rent", "capacity", "geometry")

_ID_COLUMNS = ("site_id", "id", "candidate_id", "编号")
_NAME_COLUMNS = ("name", "名称", "地址", "address")
_AREA_COLUMNS = ("floor_area", "floor_area_m2", "area", "面积", "建筑面积", "使用面积")
_RENT_COLUMNS = ("rent", "rent_month", "租金", "月租金")
_CAPACITY_COLUMNS = ("capacity", "容量", "服务户数")


def generate_candidates(
    network: WalkNetwork,
    spacing_m: float = 100.0,
    *,
    exclude_highway: Sequence[str] = DEFAULT_EXCLUDED_HIGHWAY,
    within: Any = None,
    exclude: Any = None,
    dedupe_m: float | None = None,
    id_prefix: str = "G",
) -> gpd.GeoDataFrame:
    """Candidate sites every ``spacing_m`` metres along the walkable edges.

    An edge of length ``L`` gets ``max(1, round(L / spacing_m))`` points, evenly spread (none at
    the intersections); points closer than ``dedupe_m`` (default half the spacing) to one kept
    earlier are dropped, longer edges first, so that short edges near a junction do not pile up.

    Parameters
    ----------
    network
        Walking network (only walkable edges are in it).
    spacing_m
        Distance between candidates along an edge.
    exclude_highway
        Edge types (``highway`` attribute) left out.
    within
        Keep only candidates inside this area (shapely geometry in the network CRS, or a
        GeoDataFrame/GeoSeries in any CRS), e.g. a district.
    exclude
        Drop candidates inside these areas (parks, water, schools), same types as ``within``.
    dedupe_m
        Minimum distance between two candidates.
    id_prefix
        Ids are ``G1, G2, ...``.

    Returns
    -------
    GeoDataFrame
        ``site_id, name`` (the street), ``source`` (``generated``), ``floor_area, rent,
        capacity`` (NaN), ``edge`` and ``highway``; points in WGS-84.
    """
    if not (isinstance(spacing_m, int | float) and np.isfinite(spacing_m) and spacing_m > 0):
        raise InputError(
            Problem(
                f"spacing must be a positive number of metres, got {spacing_m!r}",
                field="spacing_m",
                fix="use e.g. 100",
            ),
            "candidates",
        )
    tol = spacing_m / 2.0 if dedupe_m is None else float(dedupe_m)
    attrs = network.edge_attrs.reset_index(drop=True)
    highway = (
        attrs["highway"].astype("string").fillna("").to_numpy(dtype=object)
        if "highway" in attrs.columns
        else np.full(network.n_edges, "", dtype=object)
    )
    ok = ~np.isin(highway, list(exclude_highway)) & (network.edge_length > 0)
    edges = np.flatnonzero(ok)
    # longer edges first: their evenly spread points win over the crowded short ones
    edges = edges[np.argsort(-network.edge_length[edges], kind="stable")]
    n_per = np.maximum(1, np.round(network.edge_length[edges] / spacing_m)).astype(np.int64)
    edge_of = np.repeat(edges, n_per)
    k = np.arange(edge_of.size) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    frac = (k + 0.5) / np.repeat(n_per, n_per)
    pts = shapely.line_interpolate_point(network.edge_geometry[edge_of], frac, normalized=True)
    keep = np.ones(pts.size, dtype=bool)
    if within is not None:
        keep &= shapely.contains_xy(_area(within, network), *_xy(pts))
    if exclude is not None:
        keep &= ~shapely.contains_xy(_area(exclude, network), *_xy(pts))
    pts, edge_of = pts[keep], edge_of[keep]
    if tol > 0 and pts.size:
        kept = _greedy_dedupe(pts, tol)
        pts, edge_of = pts[kept], edge_of[kept]
    names = (
        attrs["name"].to_numpy(dtype=object)[edge_of]
        if "name" in attrs.columns
        else np.full(edge_of.size, None, dtype=object)
    )
    frame = gpd.GeoDataFrame(
        {
            "site_id": [f"{id_prefix}{i + 1}" for i in range(edge_of.size)],
            "name": names,
            "source": "generated",
            "floor_area": np.nan,
            "rent": np.nan,
            "capacity": np.nan,
            "edge": edge_of,
            "highway": highway[edge_of],
        },
        geometry=list(pts),
        crs=network.crs,
    ).to_crs(4326)
    log.info(
        "%d candidate sites generated every %g m along %d edges",
        len(frame),
        spacing_m,
        edges.size,
    )
    return frame


def _xy(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coords = shapely.get_coordinates(pts)
    return coords[:, 0], coords[:, 1]


def _area(area: Any, network: WalkNetwork) -> shapely.Geometry:
    """One (multi)polygon in the network CRS from a geometry or a GeoDataFrame/GeoSeries."""
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise InputError("the area layer has no CRS; declare it (e.g. EPSG:4326)", "area")
        geom = (
            area.geometry.to_crs(network.crs)
            if isinstance(area, gpd.GeoDataFrame)
            else (area.to_crs(network.crs))
        )
        merged = shapely.union_all(np.asarray(geom.values, dtype=object))
    elif isinstance(area, shapely.Geometry):
        merged = area
    else:
        raise InputError(
            f"an area must be a shapely geometry or a GeoDataFrame, got {type(area).__name__}",
            "area",
        )
    shapely.prepare(merged)
    return merged


def _greedy_dedupe(pts: np.ndarray, tol: float) -> np.ndarray:
    """Indices of the points kept when each is dropped if one kept earlier is within ``tol``."""
    tree = shapely.STRtree(pts)
    left, right = tree.query(pts, predicate="dwithin", distance=tol)
    sel = left > right  # a later point near an earlier one
    left, right = left[sel], right[sel]
    order = np.argsort(left, kind="stable")
    left, right = left[order], right[order]
    ptr = np.zeros(pts.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(left, minlength=pts.size), out=ptr[1:])
    from lifecircle.plan._kernels import greedy_keep

    return np.flatnonzero(greedy_keep(ptr, right))


def dedupe_candidates(candidates: gpd.GeoDataFrame, tolerance_m: float = 5.0) -> gpd.GeoDataFrame:
    """Drop candidates within ``tolerance_m`` metres of one earlier in the table.

    Parameters
    ----------
    candidates
        Candidate points (any CRS; distances are measured in the local UTM zone).
    tolerance_m
        Minimum distance between two kept candidates.
    """
    if candidates.crs is None:
        raise InputError("the candidate layer has no CRS; declare it", "candidates")
    if not len(candidates):
        return candidates
    metric = candidates.geometry.to_crs(candidates.estimate_utm_crs())
    kept = _greedy_dedupe(np.asarray(metric.values, dtype=object), float(tolerance_m))
    n_drop = len(candidates) - kept.size
    if n_drop:
        log.info("%d candidates within %g m of another one dropped", n_drop, tolerance_m)
    return candidates.iloc[kept].reset_index(drop=True)


def read_candidates(
    source: Any,
    *,
    crs: str = "wgs84",
    lon: str | None = None,
    lat: str | None = None,
    id_column: str | None = None,
    floor_area: str | None = None,
    rent: str | None = None,
    capacity: str | None = None,
    network: WalkNetwork | None = None,
    where: str | None = None,
    encoding: str | None = None,
    layer: str | int | None = None,
    on_missing: str = "error",
    on_outside: str = "error",
    max_outside_m: float = 1_000.0,
) -> gpd.GeoDataFrame:
    """Read a layer of candidate sites (vacant premises 闲置用房, shop fronts).

    Parameters
    ----------
    source
        CSV with coordinates, GeoJSON/GeoPackage/Shapefile/(Geo)Parquet points, or a
        (Geo)DataFrame.
    crs
        Coordinate system of the coordinates: ``wgs84``, ``gcj02`` (高德) or ``bd09`` (百度).
    lon, lat
        Coordinate columns (found automatically when named lon/lng/经度 ...).
    id_column
        Id column (default: ``site_id``/``id``/``编号``, else the row number).
    floor_area, rent, capacity
        Columns of floor area (m²), rent and capacity (households); found automatically
        (``floor_area``/``面积``, ``rent``/``租金``, ``capacity``/``服务户数``).
    network
        When given, points farther than ``max_outside_m`` outside its area are problems.
    where
        A pandas query keeping some rows.
    encoding, layer
        Text encoding of a CSV; layer of a GeoPackage.
    on_missing, on_outside
        ``error`` (default) or ``drop`` rows without coordinates / outside the network's area.
    max_outside_m
        Tolerance for ``on_outside``.

    Returns
    -------
    GeoDataFrame
        :data:`CANDIDATE_COLUMNS` (``source = "layer"``), points in WGS-84.

    Raises
    ------
    InputError
        Listing every problem: missing or bad coordinates, duplicate ids, floor areas, rents or
        capacities that are not numbers ≥ 0.
    """
    from lifecircle.ingest import _tables as t

    what = "candidates"
    table = t.read_table(source, what=what, encoding=encoding, layer=layer, where=where)
    pts = t.start_points(
        table,
        what=what,
        crs=crs,
        lon=lon,
        lat=lat,
        id_column=id_column,
        id_candidates=_ID_COLUMNS,
        on_missing=on_missing,  # type: ignore[arg-type]
    )
    frame = table.frame
    values: dict[str, np.ndarray] = {}
    for key, given, names in (
        ("floor_area", floor_area, _AREA_COLUMNS),
        ("rent", rent, _RENT_COLUMNS),
        ("capacity", capacity, _CAPACITY_COLUMNS),
    ):
        col = (
            t.require_column(frame, given, pts.problems, parameter=key)
            if given is not None
            else t.find_column(frame.columns, names)
        )
        if col is None:
            values[key] = np.full(len(frame), np.nan)
            continue
        numbers, _missing, bad = t.to_numbers(frame[col], units="m²|㎡|平方米|平米|元|元/月|户")
        negative = np.isfinite(numbers) & (numbers < 0)
        for mask, text in ((bad, "is not a number"), (negative, "is negative")):
            if mask.any():
                shown = frame[col].to_numpy()[mask]
                t.add_row_problems(
                    pts.problems,
                    table.rows[mask],
                    [f"{key} {str(v)[:30]!r} {text}" for v in shown],
                    field=col,
                    fix=f"write {key} as a number ≥ 0, or leave the cell empty when unknown",
                )
        values[key] = np.where(bad | negative, np.nan, numbers)
    name_col = t.find_column(frame.columns, _NAME_COLUMNS)
    done = t.finish_points(
        pts,
        what=what,
        network=network,
        max_outside_m=max_outside_m,
        on_outside=on_outside,  # type: ignore[arg-type]
    )
    keep = done.keep
    out = gpd.GeoDataFrame(
        {
            "site_id": pts.ids[keep],
            "name": t.text_column(frame, name_col)[keep],
            "source": "layer",
            "floor_area": values["floor_area"][keep],
            "rent": values["rent"][keep],
            "capacity": values["capacity"][keep],
        },
        geometry=gpd.points_from_xy(done.lon[keep], done.lat[keep]),
        crs=4326,
    )
    out.attrs.update({"source_file": t.source_label(source), **done.attrs})
    return out[list(CANDIDATE_COLUMNS)]


def candidate_capacities(candidates: pd.DataFrame, column: str = "capacity") -> np.ndarray | None:
    """The capacity column as floats (NaN = no limit), or ``None`` when there is none."""
    if column not in candidates.columns:
        return None
    cap = pd.to_numeric(candidates[column], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return None if np.isnan(cap).all() else cap

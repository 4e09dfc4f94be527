"""Split one city into overlapping tiles whose access tables join into exactly the untiled one.

Each tile has a *core*, a set of residences (tiles split the residences into groups of about
equal size by recursive bisection along the wider axis), and a *halo* around the core's bounding
box.  The tile computes access only for its core residences, on the network edges, outlets and
residences within core + halo.  With a halo of at least

    largest band (minutes) × walking speed + snap distance

the tile holds everything a core residence's search can touch, so its results are bit-for-bit
those of the whole city (why: :func:`min_halo_m`).  The tiles' access tables are concatenated
into the city's table (same rows, order, dictionaries and floats as
:func:`lifecircle.access.compute_access` on the whole city); grading then runs on the whole city.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from lifecircle.access import DEFAULT_MAX_SNAP_M, AccessResult, compute_access
from lifecircle.access import walk_speed_m_per_min as _speed
from lifecircle.errors import InputError
from lifecircle.network import WalkNetwork

__all__ = [
    "Tile",
    "TileAccess",
    "TileInput",
    "compute_access_tiled",
    "merge_tile_access",
    "min_halo_m",
    "plan_tiles",
    "run_tile",
    "split_inputs",
    "tile_network",
]

log = logging.getLogger(__name__)

#: Added to the smallest exact halo, against rounding at the box edge (metres).
HALO_MARGIN_M = 10.0


def min_halo_m(
    walk_speed: float | str,
    bands_min: Sequence[float],
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> float:
    """The smallest halo (metres) with which tiles reproduce the untiled access exactly.

    A walk from residence *r* to an outlet *o* counts only if ``access leg + network distance +
    access leg ≤ cutoff`` (the largest band in metres), so every node the search settles, every
    edge it scans and every outlet it reaches lies within ``cutoff`` of *r* in a straight line.
    Snapping must also be the same as in the whole city: an outlet within ``cutoff`` of *r* has
    its nearest edge within ``max_snap_m`` of it, and *r* its own within ``max_snap_m``.  Hence
    ``cutoff + max_snap_m`` (plus :data:`HALO_MARGIN_M`).

    Examples
    --------
    >>> min_halo_m(4.2, [5, 10, 15], 250.0)
    1310.0
    """
    cutoff = max(float(b) for b in bands_min) * _speed(walk_speed)
    return cutoff + float(max_snap_m) + HALO_MARGIN_M


@dataclass(frozen=True)
class Tile:
    """One tile of a city.

    Attributes
    ----------
    index
        0-based tile number.
    core
        Positions (``iloc``) of the residences whose access this tile computes, ascending.
    bounds
        The core's bounding box grown by the halo, ``(minx, miny, maxx, maxy)`` in the network CRS.
    edges
        Indices of the city network's edges that meet ``bounds``, ascending.
    outlets
        Positions (``iloc``) of the outlets within ``bounds``, ascending.
    """

    index: int
    core: np.ndarray
    bounds: tuple[float, float, float, float]
    edges: np.ndarray
    outlets: np.ndarray


def _points_xy(frame: gpd.GeoDataFrame, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """x, y of each row in ``crs``, as the access engine places them (points on surface)."""
    if len(frame) == 0:
        return np.empty(0), np.empty(0)
    geom = frame.geometry.to_crs(crs)
    if not (geom.geom_type == "Point").all():
        geom = geom.representative_point()
    return geom.x.to_numpy(dtype=np.float64), geom.y.to_numpy(dtype=np.float64)


def _bisect(pos: np.ndarray, x: np.ndarray, y: np.ndarray, n: int) -> list[np.ndarray]:
    """Split positions into ``n`` groups of about equal size along alternating wider axes."""
    if n <= 1 or pos.size <= 1:
        return [pos]
    fx, fy = x[pos], y[pos]
    ok = np.isfinite(fx) & np.isfinite(fy)
    span_x = float(np.ptp(fx[ok])) if ok.any() else 0.0
    span_y = float(np.ptp(fy[ok])) if ok.any() else 0.0
    key = fx if span_x >= span_y else fy
    order = pos[np.lexsort((pos, np.where(np.isfinite(key), key, np.inf)))]
    n_left = n // 2
    cut = round(pos.size * n_left / n)
    return _bisect(order[:cut], x, y, n_left) + _bisect(order[cut:], x, y, n - n_left)


def plan_tiles(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    n_tiles: int,
    *,
    halo_m: float,
) -> list[Tile]:
    """Split a city's residences into ``n_tiles`` cores and find each tile's edges and outlets.

    Parameters
    ----------
    network, outlets, residences
        The whole city (as for :func:`lifecircle.access.compute_access`).
    n_tiles
        How many tiles; fewer come back when there are fewer residences than tiles.
    halo_m
        Margin around each core's bounding box (at least :func:`min_halo_m` for exact results).

    Returns
    -------
    list of Tile
        Every residence is in exactly one core.
    """
    if n_tiles < 1:
        raise InputError(f"n_tiles must be at least 1, got {n_tiles}", "tiles")
    if not (math.isfinite(halo_m) and halo_m > 0):
        raise InputError(f"halo_m must be a positive number of metres, got {halo_m}", "tiles")
    rx, ry = _points_xy(residences, network.crs)
    ox, oy = _points_xy(outlets, network.crs)
    groups = _bisect(np.arange(len(residences), dtype=np.int64), rx, ry, n_tiles)
    tiles: list[Tile] = []
    for core in groups:
        if core.size == 0:
            continue
        core = np.sort(core)
        cx, cy = rx[core], ry[core]
        ok = np.isfinite(cx) & np.isfinite(cy)
        if ok.any():
            bounds = (
                float(cx[ok].min() - halo_m),
                float(cy[ok].min() - halo_m),
                float(cx[ok].max() + halo_m),
                float(cy[ok].max() + halo_m),
            )
            edges = np.sort(
                network.edge_tree.query(shapely.box(*bounds), predicate="intersects")
            ).astype(np.int64)
            inside = (ox >= bounds[0]) & (ox <= bounds[2]) & (oy >= bounds[1]) & (oy <= bounds[3])
            outl = np.flatnonzero(inside).astype(np.int64)
        else:
            bounds = (math.nan, math.nan, math.nan, math.nan)
            edges = np.empty(0, dtype=np.int64)
            outl = np.empty(0, dtype=np.int64)
        if edges.size == 0:
            # nothing within reach: the core's residences are left out as in the whole city;
            # one edge keeps the tile a valid network
            edges = np.zeros(1, dtype=np.int64)
        tiles.append(Tile(len(tiles), core, bounds, edges, outl))
    return tiles


def tile_network(network: WalkNetwork, edges: np.ndarray) -> WalkNetwork:
    """The sub-network of the given edges (ascending) and their end nodes, order preserved."""
    return network.subnetwork(edges, label="tile")


@dataclass
class TileInput:
    """Everything one tile's access computation needs (what a Dask worker receives)."""

    tile: Tile
    network: WalkNetwork
    outlets: gpd.GeoDataFrame
    residences: gpd.GeoDataFrame
    access_kwargs: dict[str, Any]


@dataclass
class TileAccess:
    """A tile's access result (tile-local indices) and the tile it belongs to.

    ``result.outlets`` is left empty (the city's outlets are snapped once when merging).
    """

    tile: Tile
    result: AccessResult


def split_inputs(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    n_tiles: int,
    *,
    halo_m: float | None = None,
    **access_kwargs: Any,
) -> list[TileInput]:
    """Cut a city into tile inputs (see :func:`plan_tiles`); ``access_kwargs`` as for access.

    Raises
    ------
    InputError
        ``halo_m`` is below :func:`min_halo_m` (results would differ from the untiled run), or
        residence ids are not unique.
    """
    max_snap = float(access_kwargs.get("max_snap_m", DEFAULT_MAX_SNAP_M))
    bands = access_kwargs.get("bands_min", (5.0, 10.0, 15.0))
    least = min_halo_m(access_kwargs.get("walk_speed", 4.2), bands, max_snap)
    if halo_m is None:
        halo_m = least
    elif halo_m < least:
        raise InputError(
            f"halo_m {halo_m:g} m is less than the largest band plus the snap distance "
            f"({least:g} m); tiles would miss outlets within reach",
            "tiles",
        )
    if "residence_id" in residences.columns:
        ids = residences["residence_id"].astype(str)
        if ids.duplicated().any():
            raise InputError("residence_id values are not unique", "residences")
    tiles = plan_tiles(network, outlets, residences, n_tiles, halo_m=halo_m)
    inputs = []
    for tile in tiles:
        inputs.append(
            TileInput(
                tile=tile,
                network=tile_network(network, tile.edges),
                outlets=outlets.iloc[tile.outlets],
                residences=residences.iloc[tile.core],
                access_kwargs=dict(access_kwargs),
            )
        )
    return inputs


def run_tile(tile_input: TileInput) -> TileAccess:
    """Access of one tile's core residences (:func:`lifecircle.access.compute_access`)."""
    kw = dict(tile_input.access_kwargs)
    kw["progress"] = False
    kw.setdefault("threads", 1)  # one Dask task per process: no oversubscribed cores
    result = compute_access(tile_input.network, tile_input.outlets, tile_input.residences, **kw)
    result.outlets = result.outlets.iloc[:0]
    return TileAccess(tile_input.tile, result)


def _dictionary(values: Iterable[str]) -> pa.Array:
    return pa.array(list(values), type=pa.string())


def _remap_indices(indices: pa.Array, mapping: np.ndarray) -> pa.Array:
    """Map dictionary indices (int32, nulls kept) through ``mapping``."""
    raw = indices.to_numpy(zero_copy_only=False)
    valid = indices.is_valid().to_numpy(zero_copy_only=False)
    out = np.zeros(len(indices), dtype=np.int32)
    if valid.any():
        out[valid] = mapping[raw[valid].astype(np.int64)]
    return pa.array(out, mask=~valid) if not valid.all() else pa.array(out)


def merge_tile_access(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    parts: Sequence[TileAccess],
    **access_kwargs: Any,
) -> AccessResult:
    """Join the tiles' access results into the city's, as the untiled run would have made it.

    The city's outlets are snapped once here (the engine run without residences), which gives
    the outlets table, the outlets left out and which 业态 exist at all (their counts are 0, not
    missing, in a tile that happens to have none of them).
    """
    kw = dict(access_kwargs)
    kw["progress"] = False
    base = compute_access(network, outlets, residences.iloc[:0], **kw)
    categories: list[str] = list(base.params["categories"])
    n_cat = len(categories)
    band_cols = [c for c in base.table.column_names if c.startswith("n_") and c.endswith("min")]

    cat_index = {c: i for i, c in enumerate(categories)}
    usable = outlets["category"].isin(cat_index).to_numpy()
    usable_rank = np.cumsum(usable) - 1
    snapped = base.outlets["status"].to_numpy() == "ok"
    present = np.zeros(n_cat, dtype=bool)
    present[
        np.unique(base.outlets["category"][snapped].map(cat_index).to_numpy(dtype=np.int64))
    ] = True
    outlet_dict = _dictionary(base.outlets["outlet_id"].astype(str))

    kept_pos: list[np.ndarray] = []
    res_frames: list[gpd.GeoDataFrame] = []
    res_pos: list[np.ndarray] = []
    excl: list[pd.DataFrame] = []
    row_start: list[np.ndarray] = []
    numeric: dict[str, list[pa.Array]] = {c: [] for c in ("nearest_m", "nearest_min", *band_cols)}
    nearest: list[pa.Array] = []
    knn_ids: list[pa.Array] = []
    knn_m: list[pa.Array] = []
    rows = 0
    template: pa.Table | None = None
    for part in parts:
        tile, res = part.tile, part.result
        ok = res.residences["status"].to_numpy() == "ok"
        kept = tile.core[ok]
        kept_pos.append(kept)
        row_start.append(rows + np.arange(kept.size, dtype=np.int64) * n_cat)
        rows += kept.size * n_cat
        frame = res.residences.copy()
        edge = frame["edge"].to_numpy()
        frame["edge"] = np.where(edge >= 0, tile.edges[np.maximum(edge, 0)], edge)
        res_frames.append(frame)
        res_pos.append(tile.core)
        if len(res.excluded):
            excl.append(res.excluded[res.excluded["layer"] == "residences"])
        t_usable = tile.outlets[usable[tile.outlets]]
        to_global = usable_rank[t_usable].astype(np.int32)
        table = res.table.combine_chunks()
        if not table.num_rows:
            continue
        template = table if template is None else template
        for c in numeric:
            numeric[c].append(table.column(c).chunk(0))
        near = table.column("nearest_outlet_id").chunk(0)
        nearest.append(_remap_indices(near.indices, to_global))
        ids = table.column("knn_outlet_ids").chunk(0)
        knn_ids.append(
            pa.ListArray.from_arrays(ids.offsets, _remap_indices(ids.values.indices, to_global))
        )
        knn_m.append(table.column("knn_m").chunk(0))

    all_kept = np.concatenate(kept_pos) if kept_pos else np.empty(0, dtype=np.int64)
    if all_kept.size == 0 or template is None:
        table = base.table
    else:
        order = np.argsort(all_kept, kind="stable")
        starts = np.concatenate(row_start)[order]
        take = pa.array((starts[:, None] + np.arange(n_cat)).reshape(-1))
        n_res = all_kept.size
        res_ids = residences["residence_id"].astype(str).to_numpy()[all_kept[order]]
        cat_take = np.tile(np.arange(n_cat, dtype=np.int32), n_res)
        cat_idx = pa.array(cat_take)
        columns: dict[str, pa.Array] = {
            "residence_id": pa.DictionaryArray.from_arrays(
                pa.array(np.repeat(np.arange(n_res, dtype=np.int32), n_cat)), _dictionary(res_ids)
            ),
            "category": pa.DictionaryArray.from_arrays(
                cat_idx, template.column("category").chunk(0).dictionary
            ),
            "category_zh": pa.DictionaryArray.from_arrays(
                cat_idx, template.column("category_zh").chunk(0).dictionary
            ),
        }
        for c in ("nearest_m", "nearest_min"):
            columns[c] = pa.concat_arrays(numeric[c]).take(take)
        near_idx = pa.concat_arrays(nearest).take(take)
        columns["nearest_outlet_id"] = pa.DictionaryArray.from_arrays(near_idx, outlet_dict)
        missing = ~present[cat_take]
        for c in band_cols:
            counts = pa.concat_arrays(numeric[c]).take(take)
            values = counts.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int32)
            columns[c] = pa.array(values, mask=missing)
        ids_all = pa.concat_arrays(knn_ids).take(take)
        columns["knn_outlet_ids"] = pa.ListArray.from_arrays(
            ids_all.offsets,
            pa.DictionaryArray.from_arrays(ids_all.flatten(), outlet_dict),
        )
        columns["knn_m"] = pa.concat_arrays(knn_m).take(take)
        table = pa.table(columns)
        if table.schema != base.table.schema:
            table = table.cast(base.table.schema)

    if res_frames:
        pos = np.concatenate(res_pos)
        merged = pd.concat(res_frames)
        res_frame = merged.iloc[np.argsort(pos, kind="stable")]
    else:
        res_frame = base.residences
    res_excl = pd.concat(excl, ignore_index=True) if excl else pd.DataFrame()
    if len(res_excl):
        where = pd.Series(np.arange(len(residences)), index=residences["residence_id"].astype(str))
        res_excl = res_excl.iloc[np.argsort(where.loc[res_excl["id"]].to_numpy(), kind="stable")]
        parts_excl = [res_excl]
        if len(base.excluded):
            parts_excl.append(base.excluded)
        excluded = pd.concat(parts_excl, ignore_index=True)
    else:
        excluded = base.excluded
    return AccessResult(table, res_frame, base.outlets, excluded, dict(base.params))


def compute_access_tiled(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    *,
    n_tiles: int,
    halo_m: float | None = None,
    map_tiles: Callable[[Callable[[TileInput], TileAccess], list[TileInput]], Iterable[TileAccess]]
    | None = None,
    **access_kwargs: Any,
) -> AccessResult:
    """:func:`lifecircle.access.compute_access` computed tile by tile; the same result exactly.

    Parameters
    ----------
    network, outlets, residences
        The whole city.
    n_tiles
        Number of tiles.
    halo_m
        Halo around each tile's core (default and minimum: :func:`min_halo_m`).
    map_tiles
        How to run the tiles, ``map_tiles(run_tile, inputs)`` (default: one after another; give
        e.g. a thread pool's or a Dask client's map).
    **access_kwargs
        As for :func:`~lifecircle.access.compute_access` (``categories``, ``walk_speed``,
        ``bands_min``, ``k``, ``max_snap_m`` ...; not ``entrances``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from lifecircle.testing import network_from_polylines
    >>> net = network_from_polylines([[(0, 0), (3000, 0)]])
    >>> at = lambda x: shapely.Point(500_000 + x, 3_790_000 + 5)
    >>> homes = gpd.GeoDataFrame({"residence_id": ["a", "b", "c"]},
    ...                          geometry=[at(100), at(1500), at(2900)], crs=net.crs)
    >>> shops = gpd.GeoDataFrame({"outlet_id": ["s"], "category": ["convenience_store"]},
    ...                          geometry=[at(800)], crs=net.crs)
    >>> kw = dict(categories=["convenience_store"], category_names={})
    >>> tiled = compute_access_tiled(net, shops, homes, n_tiles=3, **kw)
    >>> tiled.table.equals(compute_access(net, shops, homes, **kw).table)
    True
    """
    if "entrances" in access_kwargs:
        raise InputError("tiled access does not take entrances", "tiles")
    inputs = split_inputs(network, outlets, residences, n_tiles, halo_m=halo_m, **access_kwargs)
    parts = list((map_tiles or map)(run_tile, inputs))
    return merge_tile_access(network, outlets, residences, parts, **access_kwargs)

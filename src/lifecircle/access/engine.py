"""Walking access from every residence to every 业态: nearest, k nearest, counts within bands.

Distance definition (metres)::

    walk = access leg at the origin            (straight, point → its foot on the nearest edge)
         + shortest network distance between the two feet (partial edges counted exactly;
           two feet on one edge are also joined directly along it)
         + access leg at the outlet            (straight, foot → outlet)

Time (minutes) = walk / (walking speed in m/min).  Everything is searched up to the largest band;
an outlet beyond it is *not reached*, and a 业态 with none reached has missing (NaN/null) nearest
values, never a sentinel distance.  A 业态 with no outlet at all in the input has missing counts
too (no data), while a 业态 that exists but is out of reach counts 0.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from lifecircle.access._kernels import compact_knn, origin_searches
from lifecircle.access._snap import Snapped, snap_points
from lifecircle.errors import CRSError, InputError, Problem
from lifecircle.geo import project_xy
from lifecircle.network import WalkNetwork

__all__ = [
    "DEFAULT_BANDS_MIN",
    "DEFAULT_MAX_SNAP_M",
    "DEFAULT_WALK_SPEED_KMH",
    "WALK_SPEED_PRESETS",
    "AccessResult",
    "compute_access",
    "node_access",
    "prepare_points",
    "walk_speed_m_per_min",
]

log = logging.getLogger(__name__)

#: Default walking speed: 70 m/min = 4.2 km/h, so that 15 min ≈ 1,050 m, inside GB 50180's
#: 800–1,000 m and Tianjin's 1,500 m radii (standards.md §13, proposal "P").
DEFAULT_WALK_SPEED_KMH = 4.2
#: Named speeds for ``--walk-speed``: ``elderly`` = 3.0 km/h (50 m/min), a proposal (P) in line
#: with the 0.8–0.9 m/s walking speeds used for older pedestrians in signal timing.
WALK_SPEED_PRESETS = {"default": DEFAULT_WALK_SPEED_KMH, "elderly": 3.0}
#: Default time bands in minutes (5/10/15: 家门口 5–10 min, 家周边 15 min; standards.md §13 D2).
DEFAULT_BANDS_MIN = (5.0, 10.0, 15.0)
#: Points farther than this from every walkable edge are left out with a reason.
DEFAULT_MAX_SNAP_M = 250.0


def walk_speed_m_per_min(speed: float | str) -> float:
    """Walking speed in metres per minute from km/h or a preset name (``default``, ``elderly``).

    Examples
    --------
    >>> walk_speed_m_per_min(4.2)
    70.0
    >>> walk_speed_m_per_min("elderly")
    50.0
    """
    if isinstance(speed, str):
        key = speed.strip().lower()
        if key in WALK_SPEED_PRESETS:
            speed = WALK_SPEED_PRESETS[key]
        else:
            try:
                speed = float(key)
            except ValueError:
                raise InputError(
                    f"walking speed {speed!r} is neither km/h nor a preset; "
                    f"use a number such as 4.2 or one of {sorted(WALK_SPEED_PRESETS)}",
                    "walking speed",
                ) from None
    if not (math.isfinite(speed) and 0.5 <= speed <= 10.0):
        raise InputError(
            f"walking speed {speed} km/h is outside 0.5–10 km/h; give km/h, e.g. 4.2",
            "walking speed",
        )
    return round(float(speed) * 1000.0 / 60.0, 10)


def _check_network(network: WalkNetwork) -> None:
    crs = network.crs
    if crs is None:
        raise CRSError(
            "the network has no CRS; read it with lifecircle.ingest.read_network", "network"
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if not crs.is_projected or unit not in ("metre", "meter"):
        raise CRSError(
            f"the network is in {crs.name} ({unit or 'no unit'}), not in metres; project it to a "
            "local metric CRS first (read_network does this; or WalkNetwork built with "
            "lifecircle.geo.local_utm_crs)",
            "network",
        )
    if network.n_edges == 0:
        raise InputError("the network has no edges", "network")


@dataclass
class _Points:
    """Points of one layer prepared for the kernel (network CRS, snapped)."""

    ids: np.ndarray  # object array of str ids
    x: np.ndarray
    y: np.ndarray
    snapped: Snapped


def require_category_column(outlets: pd.DataFrame) -> None:
    """Refuse an outlet layer without the ``category`` column (the 业态 of each row)."""
    if "category" not in outlets.columns:
        raise InputError(
            Problem(
                "column 'category' is missing",
                field="category",
                fix="read outlets with lifecircle.ingest.read_outlets",
            ),
            "outlets",
        )


def _speed_and_bands(
    walk_speed: float | str, bands_min: Sequence[float], k: int
) -> tuple[float, np.ndarray]:
    """Walking speed (m/min) and the sorted bands (minutes), checked with ``k``."""
    speed = walk_speed_m_per_min(walk_speed)
    bands = np.array(sorted(float(b) for b in bands_min), dtype=np.float64)
    if bands.size == 0 or (bands <= 0).any() or not np.isfinite(bands).all():
        raise InputError(f"bands must be positive minutes, got {list(bands_min)}", "bands")
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}", "k")
    return speed, bands


def _prepare_inputs(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    categories: Sequence[str] | None,
    category_names: dict[str, str] | None,
    max_snap_m: float,
) -> tuple[list[str], dict[str, str], dict[str, int], gpd.GeoDataFrame, _Points, _Points]:
    """Categories (default: the catalogue's), the outlets of those categories and both layers
    snapped, ids checked unique: ``(categories, names, index, outlets, outlet_points,
    residence_points)``."""
    if categories is None or category_names is None:
        from lifecircle.taxonomy import load_catalogue

        cat = load_catalogue()
        if categories is None:
            categories = [c.code for c in cat.categories]
        if category_names is None:
            category_names = {c.code: c.name_zh for c in cat.categories}
    categories = list(dict.fromkeys(categories))
    cat_index = {c: i for i, c in enumerate(categories)}
    require_category_column(outlets)
    outl = outlets.loc[outlets["category"].isin(cat_index).to_numpy()]
    opts = prepare_points(network, outl, "outlet_id", max_snap_m=max_snap_m, what="outlets")
    if len(set(opts.ids)) != len(opts.ids):
        raise InputError("outlet_id values are not unique", "outlets")
    res_pts = prepare_points(
        network, residences, "residence_id", max_snap_m=max_snap_m, what="residences"
    )
    if len(set(res_pts.ids)) != len(res_pts.ids):
        raise InputError("residence_id values are not unique", "residences")
    return categories, dict(category_names), cat_index, outl, opts, res_pts


def prepare_points(
    network: WalkNetwork, frame: gpd.GeoDataFrame, id_column: str, *, max_snap_m: float, what: str
) -> _Points:
    """Project a point layer into the network CRS and snap it."""
    if frame.crs is None:
        raise CRSError(f"the {what} layer has no CRS; declare it (e.g. EPSG:4326)", what)
    if id_column not in frame.columns:
        raise InputError(
            Problem(
                f"column '{id_column}' is missing (columns: {', '.join(map(str, frame.columns))})",
                field=id_column,
                fix=f"read the layer with lifecircle.ingest.read_{what}",
            ),
            what,
        )
    values = np.asarray(frame.geometry.array)
    if values.size and not (shapely.get_type_id(values) == 0).all():
        values = shapely.point_on_surface(values)
    x, y = shapely.get_x(values), shapely.get_y(values)
    if not (frame.crs is network.crs or frame.crs == network.crs):
        x, y = project_xy(x, y, frame.crs, network.crs)
    ids = frame[id_column].astype(str).to_numpy(dtype=object)
    return _Points(ids, x, y, snap_points(network, x, y, max_snap_m=max_snap_m))


def _without_attrs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A shallow copy without ``attrs`` (pandas deep-copies attrs on every operation)."""
    saved = frame.attrs
    frame.attrs = {}
    try:
        return frame.copy(deep=False)
    finally:
        frame.attrs = saved


def _edge_outlet_csr(
    n_edges: int, edge: np.ndarray, offset: np.ndarray, access: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    order = np.lexsort((offset, edge))
    ptr = np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(np.bincount(edge, minlength=n_edges), out=ptr[1:])
    return ptr, order.astype(np.int64), offset[order], access[order]


class _BuiltOnUse:
    """An attribute holding a frame, or a function that builds it when first read."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = getattr(obj, self.slot)
        if callable(value):
            value = value()
            setattr(obj, self.slot, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(obj, self.slot, value)


class AccessResult:
    """The access table and what it was computed from.

    Attributes
    ----------
    table
        Long table (Arrow): one row per residence × 业态 with ``residence_id, category,
        category_zh, nearest_m, nearest_min, nearest_outlet_id, n_5min, n_10min, n_15min,
        knn_outlet_ids, knn_m`` (band columns follow ``bands_min``).
    residences
        The residences with their snapping (``edge, offset_m, access_m, status``), WGS-84.
    outlets
        The outlets used, with their snapping, WGS-84.
    excluded
        Points left out: ``layer, id, reason, access_m``.
    params
        Walking speed, bands, k, snap distance, categories.

    ``residences`` and ``outlets`` may be given as functions that build them: they are then
    built (reprojected to WGS-84) on first use, so a caller who needs only the table never
    pays for them.
    """

    residences = _BuiltOnUse()
    outlets = _BuiltOnUse()

    def __init__(
        self,
        table: pa.Table,
        residences: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame],
        outlets: gpd.GeoDataFrame | Callable[[], gpd.GeoDataFrame],
        excluded: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.table = table
        self.residences = residences
        self.outlets = outlets
        self.excluded = excluded
        self.params: dict[str, Any] = params if params is not None else {}

    def __getstate__(self) -> dict[str, Any]:
        # pickled (e.g. sent back from a Dask worker) with its frames built, not as closures
        state = dict(self.__dict__)
        state["_residences"] = self.residences
        state["_outlets"] = self.outlets
        return state

    def to_pandas(self) -> pd.DataFrame:
        """The long table as a pandas DataFrame (list columns as numpy arrays).

        Not Arrow-backed list columns, though they convert several times faster: a frame with
        them written to parquet cannot be read back by ``pyarrow``/``pandas`` (the dtype
        recorded in the file's pandas metadata is not understood).
        """
        return self.table.to_pandas()

    def write(self, out_dir: str | Path, formats: Sequence[str] = ("parquet", "csv")) -> list[Path]:
        """Write ``access.parquet`` / ``access.csv``, ``residences.parquet`` and ``excluded.csv``."""
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        unknown = set(formats) - {"parquet", "csv"}
        if unknown:
            raise InputError(
                f"unknown output format(s) {sorted(unknown)}; use parquet,csv", "formats"
            )

        def access_parquet() -> Path:
            # lz4, no column statistics, and dictionary pages only for the identifier columns
            # (numbers are not worth a dictionary): several times faster to write than the
            # defaults for tables of millions of rows, at a modest cost in size
            pq.write_table(
                self.table,
                out / "access.parquet",
                compression="lz4",
                write_statistics=False,
                use_dictionary=_dictionary_paths(self.table.schema),
            )
            return out / "access.parquet"

        def access_csv() -> Path:
            flat = self.table.drop_columns(["knn_outlet_ids", "knn_m"])
            plain = pa.table(
                [
                    c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c
                    for c in flat.columns
                ],
                names=flat.column_names,
            )
            pacsv.write_csv(plain, out / "access.csv")
            return out / "access.csv"

        # Arrow writes the long table without the GIL: the residences layer is built and
        # written meanwhile
        jobs = [
            job for fmt, job in (("parquet", access_parquet), ("csv", access_csv)) if fmt in formats
        ]
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = [pool.submit(job) for job in jobs]
            self.residences.to_parquet(out / "residences.parquet")
            written.extend(f.result() for f in pending)
        written.append(out / "residences.parquet")
        self.excluded.to_csv(out / "excluded.csv", index=False)
        written.append(out / "excluded.csv")
        return written


def _dictionary_paths(schema: pa.Schema) -> list[str]:
    """Parquet column paths of the dictionary-encoded columns, list elements included."""
    paths = []
    for f in schema:
        if pa.types.is_dictionary(f.type):
            paths.append(f.name)
        elif pa.types.is_list(f.type) and pa.types.is_dictionary(f.type.value_type):
            paths.append(f"{f.name}.list.{f.type.value_field.name}")
    return paths


def _band_name(minutes: float) -> str:
    return f"n_{int(minutes)}min" if float(minutes).is_integer() else f"n_{minutes:g}min"


def compute_access(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    *,
    entrances: gpd.GeoDataFrame | None = None,
    categories: Sequence[str] | None = None,
    category_names: dict[str, str] | None = None,
    walk_speed: float | str = DEFAULT_WALK_SPEED_KMH,
    bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
    k: int = 3,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    progress: bool = False,
    chunk_size: int = 2_000,
    threads: int | None = None,
) -> AccessResult:
    """Walking access from every residence to every 业态.

    Parameters
    ----------
    network
        Walking network in a projected metric CRS.
    outlets
        Outlets with ``outlet_id`` and ``category`` (a 业态 code; ``unclassified`` rows are
        ignored) and point geometry in any CRS.
    residences
        Residences with ``residence_id`` and point (or polygon) geometry.
    entrances
        Optional gates (小区出入口) with ``residence_id`` and point geometry: a residence with
        entrances starts its walks at whichever entrance gives the shortest route.
    categories
        业态 codes to report (default: every catalogue 业态).  A code with no outlet gets
        missing values.
    category_names
        Code → Chinese name, for ``category_zh`` (default: from the catalogue).
    walk_speed
        km/h or a preset name (``default`` = 4.2 km/h, ``elderly`` = 3.0 km/h).
    bands_min
        Time bands in minutes; the largest is the search radius.
    k
        How many nearest outlets per 业态 to list.
    max_snap_m
        Points farther than this from every edge are left out with a reason.
    progress
        Show a progress bar.
    chunk_size
        Most residences one kernel call handles (smaller jobs are cut finer).
    threads
        Threads running the searches (default: one per CPU; a Dask worker passes 1).
    """
    _check_network(network)
    outlets = _without_attrs(outlets)
    residences = _without_attrs(residences)
    speed, bands = _speed_and_bands(walk_speed, bands_min, k)
    bands_m = bands * speed
    categories, category_names, cat_index, outl, opts, res_pts = _prepare_inputs(
        network, outlets, residences, categories, category_names, max_snap_m
    )

    # --- origins: residence points, or their entrances
    n_res = len(res_pts.ids)
    o_owner = np.arange(n_res)
    o_snap = res_pts.snapped
    if entrances is not None and len(entrances):
        ent = prepare_points(
            network, entrances, "residence_id", max_snap_m=max_snap_m, what="entrances"
        )
        pos = {rid: i for i, rid in enumerate(res_pts.ids)}
        owner = np.array([pos.get(rid, -1) for rid in ent.ids], dtype=np.int64)
        unknown = np.flatnonzero(owner < 0)
        if unknown.size:
            raise InputError(
                [
                    Problem(
                        f"entrance refers to unknown residence_id {ent.ids[i]!r}",
                        row=int(i) + 1,
                        field="residence_id",
                        fix="use ids of the residences layer",
                    )
                    for i in unknown[:20]
                ],
                "entrances",
            )
        has_gate = np.zeros(n_res, dtype=bool)
        has_gate[owner[ent.snapped.ok]] = True
        keep_self = ~has_gate
        o_owner = np.concatenate([np.flatnonzero(keep_self), owner])
        o_snap = Snapped(
            *(
                np.concatenate([getattr(res_pts.snapped, f)[keep_self], getattr(ent.snapped, f)])
                for f in ("edge", "offset", "access_m", "foot_x", "foot_y")
            )
        )
    ok_origin = o_snap.ok
    res_ok = np.zeros(n_res, dtype=bool)
    res_ok[o_owner[ok_origin]] = True
    kept = np.flatnonzero(res_ok)
    remap = np.full(n_res, -1, dtype=np.int64)
    remap[kept] = np.arange(kept.size)
    sel = ok_origin
    order = np.argsort(remap[o_owner[sel]], kind="stable")
    or_owner = remap[o_owner[sel]][order]
    or_edge = o_snap.edge[sel][order]
    or_offset = o_snap.offset[sel][order]
    or_access = o_snap.access_m[sel][order]
    or_ptr = np.zeros(kept.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(or_owner, minlength=kept.size), out=or_ptr[1:])

    o_ok = opts.snapped.ok
    out_cat = pd.Index(list(cat_index)).get_indexer(outl["category"]).astype(np.int64)
    counts, knn_d, knn_o = _search_all(
        network,
        (or_ptr, or_edge, or_offset, or_access),
        opts.snapped,
        out_cat,
        len(categories),
        bands_m,
        k,
        progress=progress,
        chunk_size=chunk_size,
        unit="小区/res",
        threads=threads,
    )

    present = np.bincount(out_cat[o_ok], minlength=len(categories)) > 0
    table = _build_table(
        res_pts.ids[kept],
        categories,
        category_names or {},
        opts.ids,
        counts,
        knn_d,
        knn_o,
        present,
        bands,
        speed,
    )

    excluded = _excluded(res_pts, opts, res_ok, o_ok, max_snap_m)

    def res_frame() -> gpd.GeoDataFrame:
        return _with_snap(residences, res_pts.snapped, res_ok, max_snap_m)

    def out_frame() -> gpd.GeoDataFrame:
        return _with_snap(outl, opts.snapped, o_ok, max_snap_m)

    if excluded.shape[0]:
        log.warning(
            "%d points left out (no walkable edge within %.0f m); see 'excluded'",
            excluded.shape[0],
            max_snap_m,
        )
    params = {
        "walk_speed_m_per_min": speed,
        "bands_min": bands.tolist(),
        "k": k,
        "max_snap_m": max_snap_m,
        "categories": categories,
    }
    return AccessResult(table, res_frame, out_frame, excluded, params)


def node_access(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    *,
    categories: Sequence[str],
    walk_speed: float | str = DEFAULT_WALK_SPEED_KMH,
    bands_min: Sequence[float] = DEFAULT_BANDS_MIN,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    progress: bool = False,
) -> pd.DataFrame:
    """Nearest walk and counts within bands from every network node (for heat maps).

    Returns
    -------
    DataFrame
        One row per node × 业态: ``node, x, y, category, nearest_m, nearest_min`` and a count
        column per band; ``nearest_m`` is NaN where nothing is reached within the largest band.
    """
    _check_network(network)
    speed = walk_speed_m_per_min(walk_speed)
    bands = np.array(sorted(float(b) for b in bands_min), dtype=np.float64)
    categories = list(dict.fromkeys(categories))
    cat_index = {c: i for i, c in enumerate(categories)}
    outl = outlets.loc[outlets["category"].isin(cat_index).to_numpy()]
    opts = prepare_points(network, outl, "outlet_id", max_snap_m=max_snap_m, what="outlets")
    indptr, _, hedge, _ = network.csr
    nodes = np.arange(network.n_nodes)
    first = hedge[np.minimum(indptr[:-1], hedge.size - 1)]
    offset = np.where(network.edge_u[first] == nodes, 0.0, network.edge_length[first])
    origins = (
        np.arange(network.n_nodes + 1, dtype=np.int64),
        first.astype(np.int64),
        offset.astype(np.float64),
        np.zeros(network.n_nodes),
    )
    out_cat = pd.Index(list(cat_index)).get_indexer(outl["category"]).astype(np.int64)
    counts, knn_d, _ = _search_all(
        network,
        origins,
        opts.snapped,
        out_cat,
        len(categories),
        bands * speed,
        1,
        progress=progress,
        chunk_size=2_000,
        unit="nodes",
    )
    n_cat = len(categories)
    near = knn_d[:, :, 0].reshape(-1)
    near = np.where(np.isfinite(near), near, np.nan)
    frame = pd.DataFrame(
        {
            "node": np.repeat(nodes, n_cat),
            "x": np.repeat(network.node_x, n_cat),
            "y": np.repeat(network.node_y, n_cat),
            "category": np.tile(np.array(categories, dtype=object), network.n_nodes),
            "nearest_m": near,
            "nearest_min": near / speed,
        }
    )
    for b, minutes in enumerate(bands):
        frame[_band_name(minutes)] = counts[:, :, b].reshape(-1)
    return frame


def _search_all(
    network: WalkNetwork,
    origins: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    outlet_snap: Snapped,
    out_cat: np.ndarray,
    n_cat: int,
    bands_m: np.ndarray,
    k: int,
    *,
    progress: bool,
    chunk_size: int,
    unit: str,
    threads: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the kernel over origin groups ``(ptr, edge, offset, access)`` in chunks."""
    or_ptr, or_edge, or_offset, or_access = origins
    n_groups = or_ptr.shape[0] - 1
    o_ok = outlet_snap.ok
    out_idx = np.flatnonzero(o_ok)
    eo_ptr, eo_order, eo_offset, eo_access = _edge_outlet_csr(
        network.n_edges,
        outlet_snap.edge[o_ok],
        outlet_snap.offset[o_ok],
        outlet_snap.access_m[o_ok],
    )
    eo_outlet = out_idx[eo_order]
    indptr, nbr, hedge, hw = network.csr
    edge_u = network.edge_u.astype(np.int64)
    edge_v = network.edge_v.astype(np.int64)
    edge_len = network.edge_length.astype(np.float64)
    # the kernel writes every entry of its rows (in its threads, so the pages are touched in
    # parallel too)
    counts = np.empty((n_groups, n_cat, bands_m.size), dtype=np.int32)
    knn_d = np.empty((n_groups, n_cat, k))
    knn_o = np.empty((n_groups, n_cat, k), dtype=np.int64)
    cutoff = float(bands_m[-1])

    def work(span: tuple[int, int]) -> int:
        origin_searches(
            indptr, nbr, hedge, hw, edge_u, edge_v, edge_len,
            eo_ptr, eo_outlet, eo_offset, eo_access, out_cat,
            or_ptr, or_edge, or_offset, or_access, cutoff, bands_m,
            span[0], span[1], counts, knn_d, knn_o,
        )  # fmt: skip
        return span[1] - span[0]

    # the kernel releases the GIL: threads run disjoint ranges of origins at once; small jobs
    # are cut finer so that every thread gets work
    n_threads = threads or os.cpu_count() or 1
    step = max(16, min(chunk_size, -(-n_groups // (4 * n_threads))))
    spans = [(a, min(n_groups, a + step)) for a in range(0, n_groups, step)]
    from tqdm.auto import tqdm

    with (
        ThreadPoolExecutor(max_workers=n_threads) as pool,
        tqdm(
            total=n_groups, disable=not progress, unit=unit, desc="步行可达 walking access"
        ) as bar,
    ):
        for done in pool.map(work, spans):
            bar.update(done)
    return counts, knn_d, knn_o


def _with_snap(
    frame: gpd.GeoDataFrame, snapped: Snapped, ok: np.ndarray, max_snap_m: float
) -> gpd.GeoDataFrame:
    out = frame.to_crs(4326) if frame.crs is not None else frame.copy()
    out = out.copy()
    out["edge"] = snapped.edge
    out["offset_m"] = snapped.offset
    out["access_m"] = snapped.access_m
    out["status"] = np.where(ok, "ok", f"no walkable edge within {max_snap_m:g} m")
    return out


def _excluded(
    res: _Points, outl: _Points, res_ok: np.ndarray, out_ok: np.ndarray, max_snap_m: float
) -> pd.DataFrame:
    reason = f"no walkable edge within {max_snap_m:g} m (not snapped across rivers or expressways)"
    parts = []
    for layer, pts, ok in (("residences", res, res_ok), ("outlets", outl, out_ok)):
        bad = np.flatnonzero(~ok)
        if bad.size:
            parts.append(pd.DataFrame({"layer": layer, "id": pts.ids[bad], "reason": reason}))
    if not parts:
        return pd.DataFrame(columns=["layer", "id", "reason"])
    return pd.concat(parts, ignore_index=True)


def _build_table(
    res_ids: np.ndarray,
    categories: list[str],
    names: dict[str, str],
    outlet_ids: np.ndarray,
    counts: np.ndarray,
    knn_d: np.ndarray,
    knn_o: np.ndarray,
    present: np.ndarray,
    bands: np.ndarray,
    speed: float,
) -> pa.Table:
    # identifiers are dictionary-encoded: indices into the residence, 业态 and outlet ids, so
    # millions of rows never materialise millions of strings
    n_res, n_cat, k = knn_d.shape
    rows = n_res * n_cat
    res_take = pa.array(np.repeat(np.arange(n_res, dtype=np.int32), n_cat))
    cat_take = np.tile(np.arange(n_cat, dtype=np.int32), n_res)
    cat_idx = pa.array(cat_take)
    out_arr = pa.array(outlet_ids, type=pa.string())

    flat_d = knn_d.reshape(rows, k)
    flat_o = knn_o.reshape(rows, k)
    nearest = np.ascontiguousarray(flat_d[:, 0])
    unreached = ~np.isfinite(nearest)
    nearest_m = pa.array(nearest, mask=unreached)
    nearest_min = pa.array(nearest / speed, mask=unreached)
    first = flat_o[:, 0].astype(np.int32)
    nearest_id = pa.DictionaryArray.from_arrays(pa.array(first, mask=unreached), out_arr)
    offsets, knn_idx, knn_dist = compact_knn(flat_d, flat_o)
    offsets_arr = pa.array(offsets)
    knn_ids = pa.ListArray.from_arrays(
        offsets_arr, pa.DictionaryArray.from_arrays(pa.array(knn_idx), out_arr)
    )
    knn_m = pa.ListArray.from_arrays(offsets_arr, pa.array(knn_dist))

    columns: dict[str, pa.Array] = {
        "residence_id": pa.DictionaryArray.from_arrays(
            res_take, pa.array(res_ids, type=pa.string())
        ),
        "category": pa.DictionaryArray.from_arrays(cat_idx, pa.array(categories, pa.string())),
        "category_zh": pa.DictionaryArray.from_arrays(
            cat_idx, pa.array([names.get(c, c) for c in categories], pa.string())
        ),
        "nearest_m": nearest_m,
        "nearest_min": nearest_min,
        "nearest_outlet_id": nearest_id,
    }
    missing = ~present[cat_take]
    for b, minutes in enumerate(bands):
        columns[_band_name(minutes)] = pa.array(counts[:, :, b].reshape(rows), mask=missing)
    columns["knn_outlet_ids"] = knn_ids
    columns["knn_m"] = knn_m
    return pa.table(columns)

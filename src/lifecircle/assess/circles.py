"""Life circles (便民生活圈): which residences (小区) form each circle.

A circle is often a group of neighbouring communities (Beijing 西三旗街道 divides 28 communities
into 9 circles; standards.md §12).  :func:`assign_circles` takes circles from

* a **boundary layer** (polygons with a circle id): residences are joined by location;
* a **mapping table** (residence id → circle id): a city's own list, or an edited proposal;
* an **automatic proposal** (the default): neighbouring residences are grouped so that every
  member lies within ``minutes`` of walking **along the network** from a shared centre (one of the
  members).  The proposal is a greedy set cover: take as centre the residence whose walk reach
  covers the most households not yet covered (ties: more residences, then the smaller residence
  id), repeat until every residence is covered, then attach each residence to the nearest chosen
  centre (by walk; ties to the earlier centre).  It is deterministic.  Planners edit the proposal
  written by :func:`write_circle_mapping` and pass it back as ``mapping``.

Examples
--------
>>> import geopandas as gpd, shapely
>>> from lifecircle.testing import network_from_polylines
>>> net = network_from_polylines([[(0, 0), (3000, 0)]])
>>> pts = [shapely.Point(500_000 + x, 3_790_000) for x in (0, 300, 2600, 3000)]
>>> res = gpd.GeoDataFrame({"residence_id": list("abcd"), "households": [100, 200, 50, 80]},
...                        geometry=pts, crs=net.crs)
>>> members, circles = assign_circles(res, network=net)
>>> members["circle_id"].tolist(), circles["households"].tolist()
(['C01', 'C01', 'C02', 'C02'], [300.0, 130.0])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from numba import njit
from scipy import sparse

from lifecircle.errors import CRSError, InputError, Problem, Problems
from lifecircle.network import WalkNetwork

__all__ = [
    "CIRCLE_COLUMNS",
    "assign_circles",
    "read_circle_mapping",
    "residence_reach",
    "write_circle_mapping",
]

log = logging.getLogger(__name__)

#: Columns of the circles frame returned by :func:`assign_circles` (``district`` when known).
CIRCLE_COLUMNS = (
    "circle_id",
    "name",
    "source",
    "centre_residence_id",
    "n_residences",
    "households",
    "population",
    "geometry",
)
_NAME_CANDIDATES = ("circle_name", "name", "生活圈名称", "名称", "圈名")
_MAPPING_NAME_CANDIDATES = ("circle_name", "生活圈名称", "圈名")
_DISTRICT_CANDIDATES = ("district", "区", "区县", "street", "街道")
_RESIDENCE_PSEUDO = "_residence"
_HULL_BUFFER_M = 100.0
#: Most residences listed per centre by :func:`residence_reach` (a cap on memory).
_MAX_REACH = 2_000
#: Neighbours searched for first, and residences searched again at a time (memory).
_FIRST_REACH = 256
_REACH_CHUNK = 8_192


def assign_circles(
    residences: gpd.GeoDataFrame,
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    mapping: pd.DataFrame | str | Path | None = None,
    auto: bool = False,
    network: WalkNetwork | None = None,
    access: pd.DataFrame | None = None,
    minutes: float = 15.0,
    walk_speed: float | str = 4.2,
    id_column: str = "circle_id",
    name_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Assign every residence to a life circle and describe the circles.

    Parameters
    ----------
    residences
        Residences as read by :func:`lifecircle.ingest.read_residences` (``residence_id`` and
        geometry; ``name``, ``households``, ``population`` and ``district`` used when present).
    boundaries
        Circle polygons with ``id_column`` (and optionally a name and ``district``).  Residences
        outside every polygon get no circle (``circle_id`` missing); they are logged and left out
        of grading.  A residence inside two polygons goes to the first.
    mapping
        A table (DataFrame, CSV or Excel path) with ``residence_id`` and ``id_column``
        (optionally ``circle_name`` and ``district``).  An unknown residence id or an empty circle
        id is an :class:`~lifecircle.errors.InputError` naming the row; residences the table
        does not list get no circle (logged).
    auto
        Propose circles by walking distance (see the module docstring).  Also the default when
        neither ``boundaries`` nor ``mapping`` is given.  Needs ``network`` (or ``access``).
    network
        The walking network, for ``auto`` and for the circles' outlines (its CRS).
    access
        A precomputed :func:`residence_reach` table for ``auto`` (saves the network search).
    minutes
        Walking minutes from a circle's centre to each of its members (``auto``).
    walk_speed
        km/h or a preset name (``auto``).
    id_column, name_column
        Circle id and name columns of ``boundaries``/``mapping`` (name default: ``circle_name``,
        ``name``, ``生活圈名称``, …).

    Returns
    -------
    residences
        A copy of the input with a string ``circle_id`` column (missing where unassigned).
    circles
        One row per circle (WGS-84): ``circle_id, name, source`` (``boundary``, ``mapping`` or
        ``auto``), ``centre_residence_id`` (``auto`` only), ``n_residences, households,
        population``, ``district`` when known; geometry = the boundary polygon, or the convex
        hull of the members buffered by 100 m.

    Raises
    ------
    InputError
        Missing columns, unknown residence ids, empty or duplicate circle ids.
    CRSError
        A layer without a CRS.
    """
    _require(residences, "residence_id", "residences")
    if residences.crs is None:
        raise CRSError("the residences layer has no CRS; declare it (e.g. EPSG:4326)", "residences")
    if sum(x is not None and x is not False for x in (boundaries, mapping, auto or None)) > 1:
        raise InputError(
            Problem(
                "more than one source of circles was given",
                field="boundaries/mapping/auto",
                fix="give boundaries, or mapping, or auto=True",
            ),
            "circles",
        )
    out = residences.copy()
    out["residence_id"] = out["residence_id"].astype(str)
    metric = network.crs if network is not None else out.estimate_utm_crs()
    centres: dict[str, str] = {}
    if boundaries is not None:
        assigned, info, polygons = _from_boundaries(out, boundaries, id_column, name_column)
        source = "boundary"
    elif mapping is not None:
        assigned, info = read_circle_mapping(
            mapping, out["residence_id"], id_column=id_column, name_column=name_column
        )
        polygons = None
        source = "mapping"
    else:
        if network is None and access is None:
            raise InputError(
                Problem(
                    "automatic circles need the walking network",
                    field="network",
                    fix="pass network=..., or give boundaries or a mapping table",
                ),
                "circles",
            )
        if access is not None:
            assigned, info = _auto(out, access)
        else:  # the pairs as row numbers: no table of millions of id strings
            on_network, origin, member, walk = _reach_pairs(
                network,  # type: ignore[arg-type]
                out,
                minutes=minutes,
                walk_speed=walk_speed,
            )
            apart = origin != member
            assigned, info = _auto_rows(
                out,
                on_network,
                np.concatenate([on_network, origin[apart]]),
                np.concatenate([on_network, member[apart]]),
                np.concatenate([np.zeros(on_network.size), walk[apart]]),
            )
        centres = dict(zip(info["circle_id"], info["centre_residence_id"], strict=True))
        polygons = None
        source = "auto"
    out["circle_id"] = pd.array(assigned, dtype="string")
    missing = int(out["circle_id"].isna().sum())
    if missing:
        shown = ", ".join(out.loc[out["circle_id"].isna(), "residence_id"].head(10))
        log.warning(
            "%d of %d residences belong to no circle (%s%s) and are left out of grading",
            missing,
            len(out),
            shown,
            ", …" if missing > 10 else "",
        )
    circles = _describe(out, info, polygons, metric, source, centres)
    return out, circles


def _require(frame: pd.DataFrame, column: str, what: str, file: str | None = None) -> None:
    if column not in frame.columns:
        raise InputError(
            Problem(
                f"column '{column}' is missing (columns: {', '.join(map(str, frame.columns))})",
                file=file,
                field=column,
                fix=f"add a '{column}' column"
                + (" or name it with id_column=..." if column != "residence_id" else ""),
            ),
            what,
        )


def _pick(frame: pd.DataFrame, given: str | None, candidates: Sequence[str]) -> str | None:
    if given is not None:
        _require(frame, given, "circles")
        return given
    return next((c for c in candidates if c in frame.columns), None)


def _from_boundaries(
    residences: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    id_column: str,
    name_column: str | None,
) -> tuple[np.ndarray, pd.DataFrame, gpd.GeoSeries]:
    _require(boundaries, id_column, "circle boundaries")
    if boundaries.crs is None:
        raise CRSError("the circle boundaries have no CRS; declare it", "circle boundaries")
    found = Problems(file="circle boundaries")
    ids = boundaries[id_column]
    for row in np.flatnonzero(ids.isna().to_numpy() | (ids.astype(str).str.strip() == "")):
        found.add(
            "empty circle id", row=int(row) + 1, field=id_column, fix="give every polygon an id"
        )
    dup = ids.astype(str).duplicated(keep="first").to_numpy() & ids.notna().to_numpy()
    for row in np.flatnonzero(dup):
        found.add(
            f"circle id {ids.iloc[row]!r} is used twice",
            row=int(row) + 1,
            field=id_column,
            fix="give each polygon its own id (merge the parts into one MultiPolygon)",
        )
    kinds = boundaries.geometry.geom_type.fillna("None").to_numpy()
    for row in np.flatnonzero(~np.isin(kinds, ["Polygon", "MultiPolygon"])):
        found.add(
            f"geometry is {kinds[row]}, not a polygon",
            row=int(row) + 1,
            field="geometry",
            fix="give circle areas as polygons",
        )
    found.raise_if_any("circle boundaries")
    polys = boundaries.to_crs(4326)
    name_col = _pick(boundaries, name_column, _NAME_CANDIDATES)
    district_col = _pick(boundaries, None, _DISTRICT_CANDIDATES)
    circle_ids = polys[id_column].astype(str).str.strip().to_numpy()
    points = residences.geometry.to_crs(4326)
    if len(points) and not (points.geom_type == "Point").all():
        points = points.representative_point()
    tree = shapely.STRtree(polys.geometry.to_numpy())
    pt_idx, poly_idx = tree.query(points.to_numpy(), predicate="intersects")
    assigned = np.full(len(residences), None, dtype=object)
    order = np.lexsort((poly_idx, pt_idx))
    pt_idx, poly_idx = pt_idx[order], poly_idx[order]
    first = np.unique(pt_idx, return_index=True)[1]
    assigned[pt_idx[first]] = circle_ids[poly_idx[first]]
    n_multi = int(len(pt_idx) - len(first))
    if n_multi:
        log.warning(
            "%d residences lie in more than one circle polygon; each goes to the first", n_multi
        )
    info = pd.DataFrame({"circle_id": circle_ids})
    info["name"] = (
        polys[name_col].astype("string").to_numpy() if name_col else info["circle_id"].to_numpy()
    )
    if district_col:
        info["district"] = polys[district_col].astype("string").to_numpy()
    geoms = gpd.GeoSeries(polys.geometry.to_numpy(), index=info["circle_id"], crs=4326)
    return assigned, info, geoms


def read_circle_mapping(
    mapping: pd.DataFrame | str | Path,
    residence_ids: Sequence[str] | pd.Series,
    *,
    id_column: str = "circle_id",
    name_column: str | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Read and check a residence → circle table.

    Parameters
    ----------
    mapping
        DataFrame, or a CSV (UTF-8, UTF-8 with BOM or GBK) or Excel file, with
        ``residence_id`` and ``id_column`` and optionally ``circle_name`` and ``district``.
    residence_ids
        The ids of the residences layer, in order.

    Returns
    -------
    assigned
        Circle id per residence (``None`` where the table does not list it).
    circles
        ``circle_id, name`` (and ``district``), one row per circle in order of appearance.

    Raises
    ------
    InputError
        Every unknown residence id, empty circle id and residence listed twice with different
        circles, with its 1-based row.
    """
    file = str(mapping) if not isinstance(mapping, pd.DataFrame) else "circle mapping"
    table = _read_table(mapping) if not isinstance(mapping, pd.DataFrame) else mapping
    _require(table, "residence_id", "circle mapping", file)
    _require(table, id_column, "circle mapping", file)
    found = Problems(file=file)
    rid = table["residence_id"].astype("string").str.strip()
    cid = table[id_column].astype("string").str.strip()
    known = pd.Index(pd.Series(residence_ids).astype(str))
    for row in np.flatnonzero(rid.isna().to_numpy() | (rid == "").fillna(True).to_numpy()):
        found.add("empty residence id", row=int(row) + 1, field="residence_id", fix="fill it in")
    unknown = (
        ~rid.isin(known).to_numpy() & rid.notna().to_numpy() & (rid != "").fillna(False).to_numpy()
    )
    for row in np.flatnonzero(unknown):
        found.add(
            f"residence id {rid.iloc[row]!r} is not in the residences layer",
            row=int(row) + 1,
            field="residence_id",
            fix="use the residence_id values of the residences table (or drop the row)",
        )
    for row in np.flatnonzero(cid.isna().to_numpy() | (cid == "").fillna(True).to_numpy()):
        found.add(
            "empty circle id",
            row=int(row) + 1,
            field=id_column,
            fix="give the residence a circle id (or drop the row)",
        )
    pairs = pd.DataFrame({"rid": rid, "cid": cid})
    clash = pairs.duplicated("rid", keep=False) & ~pairs.duplicated(["rid", "cid"], keep=False)
    for row in np.flatnonzero(clash.to_numpy()):
        found.add(
            f"residence id {rid.iloc[row]!r} is listed with more than one circle",
            row=int(row) + 1,
            field=id_column,
            fix="keep one row per residence",
        )
    found.raise_if_any("circle mapping")
    first = pairs.drop_duplicates("rid")
    lookup = dict(zip(first["rid"], first["cid"], strict=True))
    assigned = np.array([lookup.get(r) for r in known], dtype=object)
    name_col = _pick(table, name_column, _MAPPING_NAME_CANDIDATES)
    district_col = _pick(table, None, _DISTRICT_CANDIDATES)
    info = pd.DataFrame({"circle_id": cid})
    info["name"] = table[name_col].astype("string").to_numpy() if name_col else cid.to_numpy()
    if district_col:
        info["district"] = table[district_col].astype("string").to_numpy()
    info = info.drop_duplicates("circle_id").reset_index(drop=True)
    info["name"] = info["name"].fillna(info["circle_id"])
    return assigned, info


def _read_table(path: str | Path) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise InputError(
            Problem("file not found", file=str(p), fix="give the path of a CSV or Excel file"),
            "circle mapping",
        )
    if p.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(p, dtype=str)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(p, dtype=str, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(  # pragma: no cover - gb18030 decodes any byte string
        Problem("cannot decode the file", file=str(p), fix="save it as UTF-8"), "circle mapping"
    )


def residence_reach(
    network: WalkNetwork,
    residences: gpd.GeoDataFrame,
    *,
    minutes: float = 15.0,
    walk_speed: float | str = 4.2,
) -> pd.DataFrame:
    """Pairs of residences within ``minutes`` of each other, walking along the network.

    Uses the access engine with the residences as the "outlets" of one pseudo-category, so the
    distance is exactly the access distance (access legs + network path); a residence reaches
    itself at 0.  At most 2,000 neighbours are listed per residence (the nearest).

    Returns
    -------
    DataFrame
        ``residence_id, member_id, walk_m, walk_min``; residences that could not be snapped
        onto the network have no rows.
    """
    from lifecircle.access import walk_speed_m_per_min

    on_network, origin, member, walk = _reach_pairs(
        network, residences, minutes=minutes, walk_speed=walk_speed
    )
    ids = residences["residence_id"].astype(str).to_numpy(dtype=object)
    frame = pd.DataFrame({"residence_id": ids[origin], "member_id": ids[member], "walk_m": walk})
    frame = frame.loc[frame["residence_id"] != frame["member_id"]]
    selfs = pd.DataFrame(
        {"residence_id": ids[on_network], "member_id": ids[on_network], "walk_m": 0.0}
    )
    frame = pd.concat([selfs, frame], ignore_index=True)
    frame["walk_min"] = frame["walk_m"] / walk_speed_m_per_min(walk_speed)
    return frame


def _reach_pairs(
    network: WalkNetwork,
    residences: gpd.GeoDataFrame,
    *,
    minutes: float,
    walk_speed: float | str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pairs of :func:`residence_reach` as rows of ``residences``.

    Returns the rows on the network (in order), and per pair the origin's row, the member's
    row and the walk in metres: origins in row order, each one's members nearest first (ties:
    the earlier row), at most 2,000 of them, the origin itself included.

    The nearest 256 are searched for first (a list of 2,000 per residence would take 16 kB
    each); the residences that reach more are searched again for the nearest 2,000, a few
    thousand at a time.  The lists are the same as one search for 2,000: the nearest 256 are
    their first 256 entries.
    """
    from lifecircle.access import compute_access

    pts = residences[["residence_id", "geometry"]].copy()
    pts["residence_id"] = pts["residence_id"].astype(str)
    pts = gpd.GeoDataFrame(pts, geometry="geometry", crs=residences.crs)
    as_outlets = pts.rename(columns={"residence_id": "outlet_id"})
    as_outlets["category"] = _RESIDENCE_PSEUDO
    row_of = pd.Index(pts["residence_id"])
    k = max(1, min(len(pts), _MAX_REACH))

    def search(rows: np.ndarray, k_search: int) -> tuple[np.ndarray, ...]:
        table: pa.Table = compute_access(
            network,
            as_outlets,
            pts.iloc[rows],
            categories=[_RESIDENCE_PSEUDO],
            category_names={_RESIDENCE_PSEUDO: "小区"},
            walk_speed=walk_speed,
            bands_min=(minutes,),
            k=k_search,
        ).table
        # identifiers are dictionary-encoded: map each dictionary once, then its indices
        res_col = table.column("residence_id").combine_chunks()
        found = row_of.get_indexer(res_col.dictionary.to_numpy(zero_copy_only=False))
        origins = found[res_col.indices.to_numpy(zero_copy_only=False)]
        lists = table.column("knn_outlet_ids").combine_chunks()
        members = lists.flatten()
        member_rows = row_of.get_indexer(members.dictionary.to_numpy(zero_copy_only=False))[
            members.indices.to_numpy(zero_copy_only=False)
        ]
        parent = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        walk = pc.list_flatten(table.column("knn_m")).to_numpy(zero_copy_only=False)
        band = next(c for c in table.column_names if c.startswith("n_"))
        counted = table.column(band).to_numpy(zero_copy_only=False)
        return origins, origins[parent], member_rows, walk.astype(np.float64), counted

    first_k = min(k, _FIRST_REACH)
    on_network, origin, member, walk, counted = search(np.arange(len(pts)), first_k)
    again = on_network[counted > first_k]
    if again.size and first_k < k:
        keep = ~np.isin(origin, again)
        parts = [(origin[keep], member[keep], walk[keep])]
        for start in range(0, again.size, _REACH_CHUNK):
            _, more_origin, more_member, more_walk, _ = search(
                again[start : start + _REACH_CHUNK], k
            )
            parts.append((more_origin, more_member, more_walk))
        origin, member, walk = (np.concatenate(x) for x in zip(*parts, strict=True))
        order = np.argsort(origin, kind="stable")
        origin, member, walk = origin[order], member[order], walk[order]
    if (counted > k).any():
        log.warning(
            "some residences reach more than %d others within %g min; only the nearest %d "
            "are listed (circles may be smaller than possible)",
            k,
            minutes,
            k,
        )
    return on_network, origin, member, walk


def _auto(residences: gpd.GeoDataFrame, reach: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Greedy set cover of the residences by walking reach (see the module docstring)."""
    pos = pd.Index(residences["residence_id"].astype(str).to_numpy())
    reach = reach.loc[reach["residence_id"].isin(pos) & reach["member_id"].isin(pos)]
    return _auto_rows(
        residences,
        pos.get_indexer(reach["residence_id"].unique()),
        pos.get_indexer(reach["residence_id"]),
        pos.get_indexer(reach["member_id"]),
        reach["walk_m"].to_numpy(dtype=np.float64),
    )


def _auto_rows(
    residences: gpd.GeoDataFrame,
    origins: np.ndarray,
    reach_centre: np.ndarray,
    reach_member: np.ndarray,
    reach_walk: np.ndarray,
) -> tuple[np.ndarray, pd.DataFrame]:
    """:func:`_auto` on row numbers: the residences with reach, and the (centre, member, walk)
    pairs."""
    ids = residences["residence_id"].astype(str).to_numpy()
    n = len(ids)
    snapped = np.zeros(n, dtype=bool)
    snapped[origins] = True
    # every residence on the network reaches itself (at 0 m), whatever the table lists
    selfs = np.flatnonzero(snapped)
    centre = np.concatenate([reach_centre, selfs])
    member = np.concatenate([reach_member, selfs])
    walk = np.concatenate([reach_walk, np.zeros(selfs.size)])
    matrix = sparse.csr_matrix((np.ones(len(centre)), (centre, member)), shape=(n, n))
    matrix.data[:] = 1.0  # duplicates summed by the constructor count once
    by_member = matrix.T.tocsr()

    households = (
        pd.to_numeric(residences["households"], errors="coerce").to_numpy(dtype=np.float64)
        if "households" in residences.columns
        else np.full(n, np.nan)
    )
    known = households[np.isfinite(households)]
    fill = float(np.median(known)) if known.size else 1.0
    weight = np.where(np.isfinite(households), np.maximum(households, 0.0), fill)
    if known.size < n:
        log.info(
            "circle proposal: %d residences without households are weighted as %g (median)",
            n - known.size,
            fill,
        )
    # ties: smaller residence id first (deterministic regardless of input order)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(n)

    # greedy set cover with gains kept up to date: the total work is one pass over the pairs
    uncovered = snapped.copy()
    gain_w = matrix @ (weight * uncovered)
    gain_n = matrix @ uncovered.astype(np.float64)
    chosen = _greedy_cover(
        matrix.indptr.astype(np.int64),
        matrix.indices.astype(np.int64),
        by_member.indptr.astype(np.int64),
        by_member.indices.astype(np.int64),
        weight,
        gain_w,
        gain_n,
        rank,
        uncovered,
    ).tolist()

    # attach every residence to its nearest chosen centre (ties: the earlier centre)
    order_of = np.full(n, -1, dtype=np.int64)
    order_of[chosen] = np.arange(len(chosen))
    is_chosen = order_of[centre] >= 0
    cand = pd.DataFrame(
        {"member": member[is_chosen], "order": order_of[centre[is_chosen]], "walk": walk[is_chosen]}
    ).sort_values(["member", "walk", "order"], kind="stable")
    best = cand.drop_duplicates("member")
    width = max(2, len(str(len(chosen))))
    labels = np.array([f"C{i + 1:0{width}d}" for i in range(len(chosen))], dtype=object)
    assigned = np.full(n, None, dtype=object)
    assigned[best["member"].to_numpy()] = labels[best["order"].to_numpy()]
    if (~snapped).any():
        log.warning(
            "%d residences are not on the walking network and cannot be placed in a circle",
            int((~snapped).sum()),
        )
    names = (
        residences["name"].astype("string").to_numpy()
        if "name" in residences.columns
        else ids.astype(object)
    )
    centre_names = [
        f"{names[i]}生活圈" if isinstance(names[i], str) and names[i] else f"{ids[i]}生活圈"
        for i in chosen
    ]
    info = pd.DataFrame(
        {"circle_id": labels, "name": centre_names, "centre_residence_id": ids[chosen]}
    )
    log.info("proposed %d circles for %d residences", len(chosen), int(snapped.sum()))
    return assigned, info


@njit(cache=True)
def _heap_less(key_w: np.ndarray, key_n: np.ndarray, key_r: np.ndarray, a: int, b: int) -> bool:
    """Heap order: more households, then more residences, then the smaller rank."""
    if key_w[a] != key_w[b]:
        return bool(key_w[a] > key_w[b])
    if key_n[a] != key_n[b]:
        return bool(key_n[a] > key_n[b])
    return bool(key_r[a] < key_r[b])


@njit(cache=True)
def _heap_swap(
    hw: np.ndarray, hn: np.ndarray, hr: np.ndarray, hi: np.ndarray, a: int, b: int
) -> None:
    hw[a], hw[b] = hw[b], hw[a]
    hn[a], hn[b] = hn[b], hn[a]
    hr[a], hr[b] = hr[b], hr[a]
    hi[a], hi[b] = hi[b], hi[a]


@njit(cache=True)
def _heap_add(
    hw: np.ndarray,
    hn: np.ndarray,
    hr: np.ndarray,
    hi: np.ndarray,
    size: int,
    key: tuple[float, float, int, int],
) -> int:  # pragma: no cover - compiled by numba
    """Push ``key`` (rounded gain, gain in residences, rank, residence); the new size."""
    c = size
    hw[c], hn[c], hr[c], hi[c] = key
    while c > 0:
        p = (c - 1) // 2
        if not _heap_less(hw, hn, hr, c, p):
            break
        _heap_swap(hw, hn, hr, hi, c, p)
        c = p
    return size + 1


@njit(cache=True)
def _greedy_cover(
    indptr: np.ndarray,
    indices: np.ndarray,
    m_indptr: np.ndarray,
    m_indices: np.ndarray,
    weight: np.ndarray,
    gain_w: np.ndarray,
    gain_n: np.ndarray,
    rank: np.ndarray,
    uncovered: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled by numba
    """Greedy set cover, picking the centre with the largest (rounded) household gain.

    The same picks as sorting every residence by ``(-round(gain_w, 6), -gain_n, rank)`` before
    each pick, but with a lazy heap: gains only fall, so an entry whose key is still current
    when it reaches the top is the best.  The gains are updated in the same order as
    ``np.subtract.at`` over the members' rows, so they are the same floats.
    """
    n = gain_w.size
    # heap entries: (rounded gain, gain in residences, rank, residence) in parallel arrays; a
    # residence has at most one entry (a stale one is popped before it is pushed again)
    hw = np.empty(n + 1, dtype=np.float64)
    hn = np.empty(n + 1, dtype=np.float64)
    hr = np.empty(n + 1, dtype=np.int64)
    hi = np.empty(n + 1, dtype=np.int64)
    size = 0
    for i in range(n):
        if gain_n[i] > 0.0:
            key = (np.rint(gain_w[i] * 1e6) / 1e6, gain_n[i], rank[i], i)
            size = _heap_add(hw, hn, hr, hi, size, key)
    left = 0
    for i in range(n):
        if uncovered[i]:
            left += 1
    chosen = np.empty(n, dtype=np.int64)
    n_chosen = 0
    while left > 0 and size > 0:
        top_w, top_n, top_i = hw[0], hn[0], hi[0]
        # pop the top
        size -= 1
        hw[0], hn[0], hr[0], hi[0] = hw[size], hn[size], hr[size], hi[size]
        c = 0
        while 2 * c + 1 < size:
            a = 2 * c + 1
            if a + 1 < size and _heap_less(hw, hn, hr, a + 1, a):
                a += 1
            if not _heap_less(hw, hn, hr, a, c):
                break
            _heap_swap(hw, hn, hr, hi, c, a)
            c = a
        now_w = np.rint(gain_w[top_i] * 1e6) / 1e6
        now_n = gain_n[top_i]
        if now_w != top_w or now_n != top_n:  # stale: push back with its current gain
            if now_n > 0.0:
                size = _heap_add(hw, hn, hr, hi, size, (now_w, now_n, rank[top_i], top_i))
            continue
        pick = top_i
        chosen[n_chosen] = pick
        n_chosen += 1
        for q in range(indptr[pick], indptr[pick + 1]):
            m = indices[q]
            if not uncovered[m]:
                continue
            uncovered[m] = False
            left -= 1
            for r in range(m_indptr[m], m_indptr[m + 1]):
                gain_w[m_indices[r]] -= weight[m]
                gain_n[m_indices[r]] -= 1.0
    return chosen[:n_chosen]


def _describe(
    residences: gpd.GeoDataFrame,
    info: pd.DataFrame,
    polygons: gpd.GeoSeries | None,
    metric: Any,
    source: str,
    centres: dict[str, str],
) -> gpd.GeoDataFrame:
    members = residences.loc[residences["circle_id"].notna()]
    cids = members["circle_id"].astype(str)
    info = info.drop_duplicates("circle_id").set_index("circle_id")
    present = set(cids.unique())
    used = [c for c in info.index if c in present] if polygons is None else list(info.index)
    extra = sorted(present - set(info.index))
    order = used + extra
    grouped = members.groupby(cids, sort=False)
    frame = pd.DataFrame(index=pd.Index(order, name="circle_id"))
    frame["name"] = info["name"].reindex(order).fillna(pd.Series(order, index=order))
    frame["source"] = source
    frame["centre_residence_id"] = pd.Series(centres, dtype="string").reindex(order)
    frame["n_residences"] = grouped.size().reindex(order).fillna(0).astype(np.int64)
    for col in ("households", "population"):
        if col in members.columns:
            values = pd.to_numeric(members[col], errors="coerce")
            frame[col] = values.groupby(cids).sum(min_count=1).reindex(order).astype(np.float64)
        else:
            frame[col] = np.nan
    if "district" in info.columns:
        frame["district"] = info["district"].reindex(order)
    elif "district" in members.columns:
        frame["district"] = (
            members["district"]
            .groupby(cids)
            .agg(lambda s: s.mode().iat[0] if s.notna().any() else None)
            .reindex(order)
        )
    if polygons is not None:
        geoms = polygons.reindex(order).to_numpy()
    else:
        pts = members.geometry.to_crs(metric)
        if len(pts) and not (pts.geom_type == "Point").all():
            pts = pts.representative_point()
        # one multipoint per circle (its members' points, sorted by x then y as a union of the
        # points would give them: a hull of two points is a line drawn in that order), then all
        # the hulls at once
        codes, uniques = pd.factorize(cids.to_numpy())
        xy = shapely.get_coordinates(pts.to_numpy())
        by_circle = np.lexsort((xy[:, 1], xy[:, 0], codes))
        multi = shapely.multipoints(xy[by_circle], indices=codes[by_circle])
        hulls = pd.Series(shapely.convex_hull(multi), index=pd.Index(uniques))
        buffered = shapely.buffer(np.asarray(hulls.reindex(order).to_numpy()), _HULL_BUFFER_M)
        geoms = gpd.GeoSeries(buffered, crs=metric).to_crs(4326).to_numpy()
    out = gpd.GeoDataFrame(frame.reset_index(), geometry=list(geoms), crs=4326)
    out["name"] = out["name"].astype("string")
    return out


def write_circle_mapping(
    residences: pd.DataFrame, path: str | Path, circles: pd.DataFrame | None = None
) -> Path:
    """Write the residence → circle table as CSV (UTF-8 with BOM, opens in Excel) for editing.

    Columns: ``residence_id, residence_name, circle_id, circle_name`` (and ``district``).  The
    edited file goes back into :func:`assign_circles` as ``mapping``.
    """
    out = pd.DataFrame(
        {
            "residence_id": residences["residence_id"].astype(str).to_numpy(),
            "residence_name": (
                residences["name"].to_numpy() if "name" in residences.columns else None
            ),
            "circle_id": residences["circle_id"].to_numpy(),
        }
    )
    if circles is not None:
        names = circles.set_index("circle_id")["name"]
        out["circle_name"] = out["circle_id"].map(names)
        if "district" in circles.columns:
            out["district"] = out["circle_id"].map(circles.set_index("circle_id")["district"])
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(target, index=False, encoding="utf-8-sig")
    return target

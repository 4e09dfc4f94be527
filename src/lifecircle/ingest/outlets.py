"""Read, validate and classify outlets (商业网点 / 业态 points).

:func:`read_outlets` reads one table of points of interest – Amap (高德) or Baidu (百度) exports,
a city's own outlet census, GeoJSON/GeoPackage layers or an OpenStreetMap ``.osm.pbf`` – checks
every row, converts GCJ-02/BD-09 coordinates to WGS-84 and assigns each outlet its 业态 category
with :func:`lifecircle.taxonomy.classify`.  All problems of the input are reported together in one
:class:`~lifecircle.errors.InputError`, each with file, row, field and fix.
"""

from __future__ import annotations

import logging
import os
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lifecircle.errors import InputError
from lifecircle.ingest import _tables as t
from lifecircle.ingest._tables import OnInvalid, TableSource

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["OUTLET_COLUMNS", "read_outlets"]

logger = logging.getLogger(__name__)

#: Columns of the frame returned by :func:`read_outlets`, in order.
OUTLET_COLUMNS: tuple[str, ...] = (
    "outlet_id",
    "name",
    "category",
    "category_zh",
    "category_rule",
    "class",
    "source_type",
    "brand",
    "is_chain",
    "opening_hours",
    "services",
    "geometry",
)

_ID_COLUMNS = ("outlet_id", "id", "uid", "poi_id", "poiid", "osm_uid")
_NAME_COLUMNS = ("name", "名称", "poi_name", "店名", "门店名称", "网点名称", "title")
_BRAND_COLUMNS = ("brand", "品牌", "brand:zh")
_CHAIN_COLUMNS = ("is_chain", "chain", "连锁", "是否连锁")
_HOURS_COLUMNS = ("opening_hours", "营业时间", "business_hours", "hours")
_SERVICE_COLUMNS = ("services", "service_items", "服务", "服务项目", "服务内容")
# Column holding the original classification of the source, in order of preference.
_TYPE_COLUMNS = ("tag", "type", "typecode", "category", "业态", "baidu_type")
_TRUE = frozenset({"true", "t", "1", "yes", "y", "是", "连锁", "chain"})
_FALSE = frozenset({"false", "f", "0", "no", "n", "否", "非连锁", "independent"})
_SERVICE_SPLIT = re.compile(r"\s*[；;，,、|]\s*")


def read_outlets(
    path: TableSource,
    *,
    crs: str = "wgs84",
    lon: str | None = None,
    lat: str | None = None,
    id_column: str | None = None,
    name: str | None = None,
    encoding: str | None = None,
    source: str = "auto",
    catalogue: Any = None,
    network: Any = None,
    max_outside_m: float = 2000.0,
    on_outside: OnInvalid = "error",
    on_missing: OnInvalid = "error",
    where: str | None = None,
    layer: str | int | None = None,
    accept_offset: bool = False,
) -> gpd.GeoDataFrame:
    """Read outlets from a file or DataFrame, validate them and assign 业态 categories.

    Parameters
    ----------
    path
        CSV/TSV (UTF-8; see ``encoding``), GeoJSON, GeoPackage, Shapefile, (Geo)Parquet,
        OpenStreetMap ``.osm.pbf`` (read with
        :func:`~lifecircle.ingest.osm_features.read_osm_outlets`), or a pandas/geopandas
        DataFrame.
    crs
        Coordinate system of the coordinates: ``"wgs84"`` (GPS, OSM), ``"gcj02"`` (Amap,
        Tencent) or ``"bd09"`` (Baidu); aliases such as ``"高德"``/``"百度"`` are accepted.
        Converted to WGS-84.
    lon, lat
        Longitude and latitude columns.  By default found by name: ``lon/lng/longitude/x/经度``
        and ``lat/latitude/y/纬度``, also with a prefix or suffix naming the coordinate system
        (``lng_bd09``); when several pairs exist the one named after ``crs`` is used.  For
        GeoJSON/GeoPackage the geometry is used (polygons and lines by a point on their
        surface) unless ``lon``/``lat`` are given.
    id_column
        Identifier column; by default ``outlet_id``/``id``/``uid``/``poi_id``, else the row
        number (logged).
    name
        Name column; by default ``name``/``名称``/...
    encoding
        Text encoding of a CSV.  ``None`` accepts UTF-8 with or without BOM; give ``"gbk"`` for
        files saved by Chinese Excel/WPS.
    source
        Classification source for :func:`lifecircle.taxonomy.classify` (``"auto"`` detects
        Amap ``type``/``typecode``, Baidu ``tag``, OSM tag columns or a ``category`` column).
    catalogue
        业态 catalogue (default :func:`lifecircle.taxonomy.load_catalogue`).
    network
        A :class:`~lifecircle.network.WalkNetwork` (or an edges GeoDataFrame): outlets farther
        than ``max_outside_m`` outside its bounding box are errors (or dropped), and the layer is
        checked for the GCJ-02/BD-09 offset signature
        (:class:`~lifecircle.errors.CoordinateOffsetWarning`).
    max_outside_m
        Tolerance in metres outside the network's bounding box.
    on_outside
        ``"error"`` (default) or ``"drop"`` (logged; dropped ids in
        ``attrs["dropped_outside_ids"]``) for outlets outside the network's area.
    on_missing
        ``"error"`` (default) or ``"drop"`` for rows without coordinates (dropped rows in
        ``attrs["dropped_missing_rows"]``).
    where
        A pandas query keeping only some rows, e.g. ``"city == '西安'"``; row numbers in
        messages still refer to the file.
    layer
        Layer of a multi-layer file (GeoPackage).
    accept_offset
        With a network, a layer that fits it clearly better in another coordinate system
        (the GCJ-02/BD-09 shift) is a :class:`~lifecircle.errors.CRSError` naming that system;
        ``True`` keeps the declared system with a
        :class:`~lifecircle.errors.CoordinateOffsetWarning` instead.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points with the columns of :data:`OUTLET_COLUMNS`: ``outlet_id`` (unique
        str), ``name``, ``category`` (业态 code of :mod:`lifecircle.taxonomy`, ``"unclassified"``
        when no rule applies), ``category_zh`` (未分类 when unclassified), ``category_rule``
        (what decided, e.g. ``"baidu_tag:医疗;药店"``), ``class`` (basic/quality, missing when
        unclassified),
        ``source_type`` (the source's own type: Baidu tag, Amap type, OSM ``key=value``),
        ``brand``, ``is_chain`` (nullable boolean: an ``is_chain``/``连锁`` column, else true
        where a brand is known, else missing), ``opening_hours``, ``services`` (``;``-separated).
        ``attrs`` holds ``source_file``, ``declared_crs``, ``unclassified_report`` and, when
        rows were dropped, ``dropped_outside_ids``/``dropped_missing_rows``; with a network also
        ``offset_check``.

    Raises
    ------
    InputError
        Listing every problem: missing/misnamed columns (with close names), non-numeric,
        missing, swapped or out-of-range coordinates, duplicate or empty ids, unknown 业态 in a
        ``category`` column, unreadable ``is_chain`` values, outlets outside the network's area,
        an empty table, an undecodable file.
    CRSError
        ``crs`` is not a known coordinate system.

    Examples
    --------
    >>> from lifecircle.datasets import get_path
    >>> outlets = read_outlets(get_path("helsinki"))
    >>> outlets.crs.to_epsg(), outlets["outlet_id"].is_unique
    (4326, True)
    """
    from lifecircle.geo import parse_crs_name

    declared = parse_crs_name(crs)
    what = "outlets"
    if not isinstance(path, pd.DataFrame) and t.is_pbf(path):
        table = _pbf_table(path, declared, where)
    else:
        table = t.read_table(path, what=what, encoding=encoding, layer=layer, where=where)
    layer_ = t.start_points(
        table,
        what=what,
        crs=declared,
        lon=lon,
        lat=lat,
        id_column=id_column,
        id_candidates=_ID_COLUMNS,
        on_missing=on_missing,
    )
    problems = layer_.problems
    frame = table.frame

    name_col = (
        t.require_column(frame, name, problems, parameter="name")
        if name is not None
        else t.find_column(frame.columns, _NAME_COLUMNS)
    )
    classify_frame = frame
    if name_col is not None and name_col != "name":
        classify_frame = frame.drop(columns="name", errors="ignore").rename(
            columns={name_col: "name"}
        )
    classified = _classify(classify_frame, catalogue, source, table.file, table.rows, problems)
    brand = t.text_column(frame, t.find_column(frame.columns, _BRAND_COLUMNS))
    is_chain = _is_chain(frame, brand, table.rows, problems)
    hours = t.text_column(frame, t.find_column(frame.columns, _HOURS_COLUMNS))
    services = _services(frame)
    source_type = _source_type(frame)

    done = t.finish_points(
        layer_,
        what=what,
        network=network,
        max_outside_m=max_outside_m,
        on_outside=on_outside,
        accept_offset=accept_offset,
    )
    import geopandas as gpd

    keep = done.keep
    out = pd.DataFrame(
        {
            "outlet_id": layer_.ids[keep],
            "name": t.text_column(frame, name_col)[keep],
            "category": _col(classified, "category", keep),
            "category_zh": _col(classified, "category_zh", keep),
            "category_rule": _col(classified, "rule", keep),
            "class": _col(classified, "class", keep),
            "source_type": source_type[keep],
            "brand": brand[keep],
            "is_chain": is_chain[keep],
            "opening_hours": hours[keep],
            "services": services[keep],
        }
    )
    result = gpd.GeoDataFrame(
        out, geometry=gpd.points_from_xy(done.lon[keep], done.lat[keep]), crs=4326
    )
    result.attrs.update(done.attrs)
    result.attrs["source_file"] = table.file
    result.attrs["declared_crs"] = declared
    from lifecircle.taxonomy import UNCLASSIFIED, unclassified_report

    n_unclassified = int((result["category"] == UNCLASSIFIED).sum())
    if classified is not None:
        result.attrs["unclassified_report"] = unclassified_report(
            classified.loc[keep].reset_index(drop=True),
            classify_frame.loc[keep].reset_index(drop=True),
        )
    logger.info(
        "%s: %d outlets read (%s), %d with a 业态 category, %d unclassified",
        table.file,
        len(result),
        declared,
        len(result) - n_unclassified,
        n_unclassified,
    )
    return result


def _pbf_table(path: str | os.PathLike[str], declared: str, where: str | None) -> t.RawTable:
    from lifecircle.errors import CRSError, Problem
    from lifecircle.ingest.osm_features import read_osm_outlets

    if declared != "wgs84":
        raise CRSError(
            Problem(
                f"OpenStreetMap data are WGS-84, but crs={declared!r} was declared",
                file=str(path),
                field="crs",
                fix="leave crs='wgs84' for .osm.pbf files",
            ),
            "outlets",
        )
    frame = read_osm_outlets(path)
    frame.insert(0, "outlet_id", frame["osm_type"] + "/" + frame["osm_id"].astype(str))
    table = t.RawTable(frame, np.arange(1, len(frame) + 1, dtype=np.int64), str(path))
    if where is not None:
        table = t.apply_where(table, where, "outlets")
    return table


def _classify(
    frame: pd.DataFrame,
    catalogue: Any,
    source: str,
    file: str,
    rows: np.ndarray,
    problems: t.Problems,
) -> pd.DataFrame | None:
    """Classify; problems of the classifier (positions 1..n) are re-numbered to file rows."""
    from lifecircle.taxonomy import classify

    try:
        classified = classify(frame, catalogue=catalogue, source=source, file=file)
    except InputError as exc:
        t.merge_error(problems, exc, rows=rows)
        return None
    return classified.reset_index(drop=True)


def _col(classified: pd.DataFrame | None, name: str, keep: np.ndarray) -> np.ndarray:
    n = int(keep.sum())
    if classified is None or name not in classified.columns:
        return np.full(n, None, dtype=object)
    values = classified[name].to_numpy(dtype=object)[keep]
    values[pd.isna(values)] = None
    return values


def _is_chain(
    frame: pd.DataFrame, brand: np.ndarray, rows: np.ndarray, problems: t.Problems
) -> pd.arrays.BooleanArray:
    col = t.find_column(frame.columns, _CHAIN_COLUMNS)
    known = np.full(brand.size, None, dtype=object)
    known[brand != None] = True  # noqa: E711 - element-wise
    result = pd.array(known, dtype="boolean")
    if col is None:
        return result
    text = frame[col].astype("string").str.strip().str.lower()
    mapped = text.map(lambda v: True if v in _TRUE else False if v in _FALSE else None)
    missing = t.is_missing(frame[col])
    bad = ~missing & mapped.isna().to_numpy()
    if bad.any():
        t.add_row_problems(
            problems,
            rows[bad],
            [f"{v!r} is not a yes/no value" for v in frame[col].to_numpy()[bad]],
            field=col,
            fix="write true/false (or 是/否, 1/0), or leave the cell empty when unknown",
        )
    given = pd.array(mapped.to_numpy(dtype=object), dtype="boolean")
    merged = given.copy()
    merged[missing] = result[missing]
    return merged


def _services(frame: pd.DataFrame) -> np.ndarray:
    raw = t.text_column(frame, t.find_column(frame.columns, _SERVICE_COLUMNS))
    out = np.full(raw.size, None, dtype=object)
    for i, v in enumerate(raw):
        if v is not None:
            items = [s for s in _SERVICE_SPLIT.split(v) if s]
            out[i] = ";".join(dict.fromkeys(items)) or None
    return out


def _source_type(frame: pd.DataFrame) -> np.ndarray:
    """The source's own type label of each row (Baidu tag, Amap type, OSM ``key=value``)."""
    from lifecircle.ingest.osm_features import OUTLET_KEYS

    out = np.full(len(frame), None, dtype=object)
    for cand in _TYPE_COLUMNS:
        col = t.find_column(frame.columns, [cand])
        if col is not None:
            values = t.text_column(frame, col)
            fill = (out == None) & (values != None)  # noqa: E711
            out[fill] = values[fill]
    osm_keys = [k for k in OUTLET_KEYS if k in frame.columns]
    for key in osm_keys:
        values = t.text_column(frame, key)
        fill = (out == None) & (values != None)  # noqa: E711
        out[fill] = [f"{key}={v}" for v in values[fill]]
    return out

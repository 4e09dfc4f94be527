"""Read and validate residences (小区 / residential buildings) with households and population.

:func:`read_residences` reads one table of residential compounds (小区) or buildings – a city's
own list, a listing-site export, GeoJSON/GeoPackage points or polygons, or the residential
buildings of an OpenStreetMap ``.osm.pbf`` – checks every row, converts GCJ-02/BD-09 coordinates
to WGS-84 and completes households ↔ population with an average household size.  All problems of
the input are reported together in one :class:`~lifecircle.errors.InputError`.

Scraped-data specifics (which site, which city) stay out of the library: filter rows first
(``where="city == '西安'"`` or a pre-filtered DataFrame) and pass the result.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from lifecircle.errors import InputError, Problem
from lifecircle.ingest import _tables as t
from lifecircle.ingest._tables import OnInvalid, TableSource

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["HOUSEHOLD_SIZE", "RESIDENCE_COLUMNS", "read_residences"]

logger = logging.getLogger(__name__)

#: Average persons per household: 2.62, the mean size of family households (家庭户) in the 2020
#: Seventh National Population Census of China (国家统计局《第七次全国人口普查公报（第二号）》,
#: 2021-05-11: "平均每个家庭户的人口为2.62人").  Use the city's own census figure where known.
HOUSEHOLD_SIZE = 2.62

#: Columns of the frame returned by :func:`read_residences`, in order.
RESIDENCE_COLUMNS: tuple[str, ...] = (
    "residence_id",
    "name",
    "kind",
    "households",
    "population",
    "households_estimated",
    "population_estimated",
    "footprint",
    "geometry",
)

_ID_COLUMNS = (
    "residence_id",
    "id",
    "uid",
    "xiaoqu_id",
    "community_id",
    "building_id",
    "小区编号",
    "编号",
)
_NAME_COLUMNS = ("name", "名称", "小区名称", "小区", "community", "xiaoqu", "plot_name")
_HOUSEHOLD_COLUMNS = (
    "households",
    "household",
    "户数",
    "总户数",
    "房屋总数",
    "小区户数",
    "住户数",
    "hh",
)
_POPULATION_COLUMNS = ("population", "pop", "人口", "人口数", "常住人口", "居住人口", "residents")
_HOUSEHOLD_UNITS = r"户|套|户数|households?|hh"
_POPULATION_UNITS = r"人|人口|persons?|people|residents"
_LARGE_HOUSEHOLDS = 20_000.0


def read_residences(
    path: TableSource,
    *,
    crs: str = "wgs84",
    lon: str | None = None,
    lat: str | None = None,
    id_column: str | None = None,
    households: str | None = None,
    population: str | None = None,
    name: str | None = None,
    kind: str | None = None,
    encoding: str | None = None,
    household_size: float = HOUSEHOLD_SIZE,
    network: Any = None,
    max_outside_m: float = 2000.0,
    on_outside: OnInvalid = "error",
    on_missing: OnInvalid = "error",
    where: str | None = None,
    layer: str | int | None = None,
    accept_offset: bool = False,
    m2_per_household: float | None = None,
) -> gpd.GeoDataFrame:
    """Read residences from a file or DataFrame, validate them and complete households/population.

    Parameters
    ----------
    path
        CSV/TSV, GeoJSON, GeoPackage, Shapefile, (Geo)Parquet (points or polygons),
        OpenStreetMap ``.osm.pbf`` (residential buildings, with *estimated* households, see
        :func:`~lifecircle.ingest.osm_features.read_osm_residences`), or a DataFrame.
    crs
        Coordinate system of the coordinates (``"wgs84"``, ``"gcj02"``, ``"bd09"`` or an
        alias); converted to WGS-84.
    lon, lat
        Longitude/latitude columns, found by name by default (see
        :func:`~lifecircle.ingest.outlets.read_outlets`); the pair named after ``crs`` wins when
        there are several (``lng_bd09/lat_bd09`` for ``crs="bd09"``).
    id_column
        Identifier column; by default ``residence_id``/``id``/``uid``/..., else the row number.
    households
        Households column; by default ``households``/``户数``/``总户数``/``房屋总数``/...
        Values may carry a unit (``"5405户"``) and thousands separators.
    population
        Population column; by default ``population``/``人口``/``常住人口``/...
    name
        Name column; by default ``name``/``名称``/``小区名称``/...
    kind
        What the rows are (``"xiaoqu"``, ``"building"``, ...); by default a ``kind`` column, else
        ``"building"`` for ``.osm.pbf`` and ``"xiaoqu"`` otherwise.
    encoding
        Text encoding of a CSV (``None``: UTF-8; ``"gbk"`` for Chinese Excel/WPS exports).
    household_size
        Persons per household used to estimate population from households and the reverse
        (default :data:`HOUSEHOLD_SIZE` = 2.62, the 2020 census mean).
    network
        A :class:`~lifecircle.network.WalkNetwork` (or edges GeoDataFrame): residences farther
        than ``max_outside_m`` outside its bounding box are errors (or dropped with
        ``on_outside="drop"``), and the layer is checked for the GCJ-02/BD-09 offset signature.
    max_outside_m, on_outside, on_missing, where, layer, accept_offset
        As in :func:`~lifecircle.ingest.outlets.read_outlets`.
    m2_per_household
        For ``.osm.pbf`` only: gross floor area per household of the estimate (default
        :data:`~lifecircle.ingest.osm_features.M2_PER_HOUSEHOLD`).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points with the columns of :data:`RESIDENCE_COLUMNS`: ``residence_id`` (unique
        str), ``name``, ``kind``, ``households`` and ``population`` (float, NaN when unknown),
        ``households_estimated``/``population_estimated`` (true where the value was derived
        with ``household_size``; for ``.osm.pbf`` households estimated from floor area are
        flagged too), ``footprint`` (a second geometry column, EPSG:4326: the polygon of polygon
        inputs, missing for points; drop it before ``to_file`` to formats that take a single
        geometry), and ``geometry`` (the point; a point on the surface for polygons).
        ``attrs``: ``source_file``, ``declared_crs``, ``household_size``, dropped rows/ids as in
        :func:`~lifecircle.ingest.outlets.read_outlets`, ``offset_check`` with a network.

    Raises
    ------
    InputError
        Listing every problem: coordinates and ids as for outlets; non-numeric, negative or
        infinite households/population; named columns that do not exist; an empty table.
    CRSError
        ``crs`` is not a known coordinate system.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame(
    ...     {"name": ["A", "B"], "lng": [108.94, 108.95], "lat": [34.26, 34.27],
    ...      "户数": ["1200户", None]}
    ... )
    >>> res = read_residences(table)
    >>> res[["residence_id", "households", "population"]].round(1).values.tolist()
    [['1', 1200.0, 3144.0], ['2', nan, nan]]
    """
    from lifecircle.geo import parse_crs_name

    declared = parse_crs_name(crs)
    what = "residences"
    if not (np.isfinite(household_size) and household_size > 0):
        raise InputError(
            Problem(
                f"household_size must be a positive number of persons, got {household_size!r}",
                field="household_size",
                fix=f"use e.g. {HOUSEHOLD_SIZE}",
            ),
            what,
        )
    pbf = not isinstance(path, pd.DataFrame) and t.is_pbf(path)
    if pbf and not isinstance(path, pd.DataFrame):
        table = _pbf_table(path, declared, where, m2_per_household)
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

    hh_col = _optional_column(frame, households, _HOUSEHOLD_COLUMNS, "households", problems)
    pop_col = _optional_column(frame, population, _POPULATION_COLUMNS, "population", problems)
    hh = _counts(frame, hh_col, _HOUSEHOLD_UNITS, table.rows, problems, "households")
    pop = _counts(frame, pop_col, _POPULATION_UNITS, table.rows, problems, "population")
    if hh_col is None and pop_col is None and households is None and population is None:
        logger.warning(
            "%s: no households or population column (%s / %s); every residence counts as unknown",
            table.file,
            "/".join(_HOUSEHOLD_COLUMNS[:5]),
            "/".join(_POPULATION_COLUMNS[:4]),
        )
    name_col = (
        t.require_column(frame, name, problems, parameter="name")
        if name is not None
        else t.find_column(frame.columns, _NAME_COLUMNS)
    )
    kinds = _kinds(frame, kind, pbf)

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
    hh, pop = hh[keep], pop[keep]
    hh_est = np.isnan(hh) & ~np.isnan(pop)
    pop_est = np.isnan(pop) & ~np.isnan(hh)
    hh = np.where(hh_est, pop / household_size, hh)
    pop = np.where(pop_est, hh * household_size, pop)
    if pbf and "households_source" in frame.columns:
        hh_est = hh_est | (frame["households_source"].to_numpy()[keep] == "estimate")
    footprint = (
        done.footprint[keep]
        if done.footprint is not None
        else np.full(int(keep.sum()), None, dtype=object)
    )
    out = pd.DataFrame(
        {
            "residence_id": layer_.ids[keep],
            "name": t.text_column(frame, name_col)[keep],
            "kind": kinds[keep],
            "households": hh,
            "population": pop,
            "households_estimated": hh_est,
            "population_estimated": pop_est,
        }
    )
    out["footprint"] = gpd.GeoSeries(list(footprint), crs=4326)
    result = gpd.GeoDataFrame(
        out, geometry=gpd.points_from_xy(done.lon[keep], done.lat[keep]), crs=4326
    )
    result.attrs.update(done.attrs)
    result.attrs["source_file"] = table.file
    result.attrs["declared_crs"] = declared
    result.attrs["household_size"] = float(household_size)
    _log_summary(result, table.file, declared)
    return result


def _pbf_table(
    path: str | os.PathLike[str], declared: str, where: str | None, m2: float | None
) -> t.RawTable:
    import geopandas as gpd

    from lifecircle.errors import CRSError
    from lifecircle.ingest.osm_features import M2_PER_HOUSEHOLD, read_osm_residences

    if declared != "wgs84":
        raise CRSError(
            Problem(
                f"OpenStreetMap data are WGS-84, but crs={declared!r} was declared",
                file=str(path),
                field="crs",
                fix="leave crs='wgs84' for .osm.pbf files",
            ),
            "residences",
        )
    buildings = read_osm_residences(path, m2_per_household=m2 or M2_PER_HOUSEHOLD)
    attrs = pd.DataFrame(buildings.drop(columns=["geometry", "lon", "lat"]))
    attrs.insert(0, "residence_id", attrs["osm_type"] + "/" + attrs["osm_id"].astype(str))
    table = t.RawTable(
        attrs.reset_index(drop=True),
        np.arange(1, len(attrs) + 1, dtype=np.int64),
        str(path),
        gpd.GeoSeries(buildings.geometry.reset_index(drop=True), crs=4326),
        buildings.crs,
    )
    if where is not None:
        table = t.apply_where(table, where, "residences")
    return table


def _optional_column(
    frame: pd.DataFrame,
    given: str | None,
    candidates: tuple[str, ...],
    parameter: str,
    problems: t.Problems,
) -> str | None:
    if given is not None:
        return t.require_column(frame, given, problems, parameter=parameter)
    return t.find_column(frame.columns, candidates)


def _counts(
    frame: pd.DataFrame,
    col: str | None,
    units: str,
    rows: np.ndarray,
    problems: t.Problems,
    what: str,
) -> np.ndarray:
    """Households or population as float (NaN when unknown); problems for bad values."""
    if col is None:
        return np.full(len(frame), np.nan)
    values, _missing, bad = t.to_numbers(frame[col], units=units)
    if bad.any():
        t.add_row_problems(
            problems,
            rows[bad],
            [f"{str(v)[:40]!r} is not a number of {what}" for v in frame[col].to_numpy()[bad]],
            field=col,
            fix=f"write a whole number (e.g. 1200), or leave the cell empty when {what} are "
            "unknown",
        )
    negative = values < 0
    if negative.any():
        t.add_row_problems(
            problems,
            rows[negative],
            [f"{what} cannot be negative ({v:g})" for v in values[negative]],
            field=col,
            fix=f"correct the value, or leave the cell empty when {what} are unknown",
        )
    infinite = np.isinf(values) & ~negative
    if infinite.any():
        t.add_row_problems(
            problems, rows[infinite], f"{what} is infinite", field=col, fix="write a finite number"
        )
    values = np.where(np.isfinite(values) & (values >= 0), values, np.nan)
    large = values > _LARGE_HOUSEHOLDS if what == "households" else np.zeros(values.size, bool)
    if large.any():
        logger.warning(
            "%s: %d residences with more than %.0f households (first rows: %s); check them",
            problems.file,
            int(large.sum()),
            _LARGE_HOUSEHOLDS,
            ", ".join(str(int(r)) for r in rows[large][:10]),
        )
    return np.asarray(values, dtype=np.float64)


def _kinds(frame: pd.DataFrame, kind: str | None, pbf: bool) -> np.ndarray:
    if kind is not None:
        return np.full(len(frame), kind, dtype=object)
    col = t.find_column(frame.columns, ["kind"])
    default = "building" if pbf else "xiaoqu"
    if col is None:
        return np.full(len(frame), default, dtype=object)
    values = t.text_column(frame, col)
    return np.where(values == None, default, values)  # noqa: E711


def _log_summary(result: gpd.GeoDataFrame, file: str, declared: str) -> None:
    known = result["households"].notna()
    values = np.asarray(result.geometry.array)
    xy = pd.DataFrame({"x": shapely.get_x(values).round(7), "y": shapely.get_y(values).round(7)})
    shared = int(xy.duplicated(keep=False).sum())
    if shared:
        logger.warning(
            "%s: %d residences share their coordinates with another one (check for duplicates "
            "or business-area points)",
            file,
            shared,
        )
    logger.info(
        "%s: %d residences read (%s), %d with households (%.0f in total), population %.0f",
        file,
        len(result),
        declared,
        int(known.sum()),
        float(result["households"].sum()),
        float(result["population"].sum()),
    )

"""Shared helpers of the point-layer readers (outlets, residences).

Everything here works on one table at a time and records problems in a
:class:`~lifecircle.errors.Problems` collector instead of raising at the first one, so that
:func:`~lifecircle.ingest.outlets.read_outlets` and
:func:`~lifecircle.ingest.residences.read_residences` can report every problem of an input in one
:class:`~lifecircle.errors.InputError`.

Row numbers in problems are 1-based data rows (the header is not counted; for GeoJSON/GeoPackage
the feature number; for a DataFrame the position), as a spreadsheet user counts them.
"""

from __future__ import annotations

import difflib
import io
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle.errors import CRSError, InputError, Problem, Problems
from lifecircle.geo import project_xy

if TYPE_CHECKING:
    import geopandas as gpd

    from lifecircle.network import WalkNetwork

__all__: list[str] = []  # private module; the readers are the public face

logger = logging.getLogger(__name__)

TableSource = str | os.PathLike[str] | pd.DataFrame
OnInvalid = Literal["error", "drop"]

#: How many rows one kind of problem lists individually before it is summarised.
ROW_LIMIT = 10

_CSV_SUFFIXES = (".csv", ".txt", ".tsv", ".tab")
_VECTOR_SUFFIXES = (
    ".geojson",
    ".json",
    ".gpkg",
    ".shp",
    ".fgb",
    ".geojsonl",
    ".geojsons",
    ".kml",
    ".gml",
    ".sqlite",
)
_PARQUET_SUFFIXES = (".parquet", ".geoparquet")


def option_hint(what: str, key: str, value: str = "…") -> str:
    """How a user sets a reader option of layer ``what``: the command-line flag (where there is
    one), the city-file key and the Python parameter.

    Examples
    --------
    >>> option_hint("outlets", "encoding", "gbk")
    '--outlets-encoding gbk (city file: [outlets] encoding = "gbk"; Python: encoding="gbk")'
    """
    flags = {
        ("network", "encoding"): "--encoding",
        ("network", "layer"): "--layer",
        ("network", "crs"): "--network-crs",
    }
    flag = flags.get((what, key))
    if flag is None and what in ("outlets", "residences", "entrances") and key in (
        "lon", "lat", "crs", "encoding", "layer", "where"
    ):  # fmt: skip
        flag = f"--{what}-{key}"
    python = f'{key}="{value}"' if value != "…" else f"{key}="
    city = f'[{what}] {key} = "{value}"'
    return (f"{flag} {value} (" if flag else "(") + f"city file: {city}; Python: {python})"


_DROP_HINT = {
    "on_missing": "--drop-missing (city file: drop_missing = true; Python: on_missing='drop')",
    "on_outside": "--drop-outside (city file: drop_outside = true; Python: on_outside='drop')",
}

# Rough bounding box of China (incl. Hainan and the South China Sea islands' latitudes), used
# only to recognise swapped columns and China-only coordinate systems used elsewhere.
_CHINA_LON = (72.0, 137.0)
_CHINA_LAT = (0.0, 56.0)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass
class RawTable:
    """A table as read, before validation.

    Attributes
    ----------
    frame
        Attribute columns (no geometry), ``RangeIndex``; CSV cells are strings or NaN.
    rows
        1-based row number in the source of each row of ``frame`` (survives ``where=``).
    file
        Label for messages: the path, or ``"<DataFrame>"``.
    geometry
        Geometries when the source had them (GeoJSON, GeoPackage, GeoDataFrame), else ``None``.
    geometry_crs
        CRS of ``geometry`` as stored in the source (``None`` when unknown).
    """

    frame: pd.DataFrame
    rows: np.ndarray
    file: str
    geometry: gpd.GeoSeries | None = None
    geometry_crs: pyproj.CRS | None = None


def source_label(source: TableSource) -> str:
    """The name used for ``source`` in messages and ``attrs["source_file"]``."""
    if isinstance(source, pd.DataFrame):
        return "<DataFrame>"
    return str(source)


def is_pbf(source: TableSource) -> bool:
    """Whether ``source`` is an OpenStreetMap ``.osm.pbf``/``.pbf`` file."""
    if isinstance(source, pd.DataFrame):
        return False
    return str(source).lower().endswith(".pbf")


def read_table(
    source: TableSource,
    *,
    what: str,
    encoding: str | None = None,
    layer: str | int | None = None,
    where: str | None = None,
) -> RawTable:
    """Read a CSV, vector file or DataFrame into a :class:`RawTable`.

    Parameters
    ----------
    source
        Path of a CSV/TSV, GeoJSON, GeoPackage, Shapefile, FlatGeobuf or (Geo)Parquet file, or a
        pandas/geopandas DataFrame.
    what
        What the table holds (``"outlets"``), for messages.
    encoding
        Text encoding of a CSV; ``None`` accepts UTF-8 (with or without BOM) only.
    layer
        Layer of a multi-layer file (GeoPackage).
    where
        A :meth:`pandas.DataFrame.query` expression that keeps only the matching rows, e.g.
        ``"city == '西安'"``.

    Raises
    ------
    InputError
        The file is missing, empty, not decodable, not parseable, or ``where`` is invalid.
    """
    label = source_label(source)
    if isinstance(source, pd.DataFrame):
        table = _from_frame(source, label)
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(
                Problem(
                    "file not found",
                    file=label,
                    fix="check the path (relative paths are read from the working directory)",
                ),
                what,
            )
        name = path.name.lower()
        if name.endswith(_CSV_SUFFIXES):
            table = _read_csv(path, label, what, encoding)
        elif name.endswith(_VECTOR_SUFFIXES) or path.is_dir():
            table = _read_vector(path, label, what, layer)
        elif name.endswith(_PARQUET_SUFFIXES):
            table = _read_parquet(path, label, what)
        else:
            raise InputError(
                Problem(
                    f"unsupported file type {path.suffix!r}",
                    file=label,
                    fix="give a CSV, GeoJSON, GeoPackage, Shapefile, (Geo)Parquet or .osm.pbf file",
                ),
                what,
            )
    if where is not None:
        table = apply_where(table, where, what)
    return table


def _from_frame(frame: pd.DataFrame, label: str) -> RawTable:
    import geopandas as gpd

    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns:
        geom = frame.geometry.reset_index(drop=True)
        attrs = pd.DataFrame(frame.drop(columns=frame._geometry_column_name)).reset_index(drop=True)
        return RawTable(attrs, rows, label, geom, frame.crs)
    return RawTable(pd.DataFrame(frame).reset_index(drop=True), rows, label)


def _read_csv(path: Path, label: str, what: str, encoding: str | None) -> RawTable:
    data = path.read_bytes()
    if not data.strip():
        raise InputError(
            Problem(
                "the file is empty", file=label, fix=f"give a table with a header row and {what}"
            ),
            what,
        )
    text = _decode(data, label, what, encoding)
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    sep = "\t" if first.count("\t") > max(first.count(","), 0) else ","
    if sep == "," and first.count(";") > first.count(",") and first.count(";") > 0:
        sep = ";"
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(
            Problem("the file has no header row", file=label, fix="add a header row"), what
        ) from None
    except pd.errors.ParserError as exc:
        raise InputError(
            Problem(
                f"not a readable CSV table ({exc})",
                file=label,
                fix="check quoting and that every row has as many fields as the header",
            ),
            what,
        ) from None
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    return RawTable(frame, np.arange(1, len(frame) + 1, dtype=np.int64), label)


def _decode(data: bytes, label: str, what: str, encoding: str | None) -> str:
    if encoding is not None:
        try:
            return data.decode(encoding)
        except LookupError:
            raise InputError(
                Problem(
                    f"unknown text encoding {encoding!r}",
                    file=label,
                    fix="use an encoding Python knows, e.g. 'utf-8', 'gbk' or 'gb18030'",
                ),
                what,
            ) from None
        except UnicodeDecodeError as exc:
            raise InputError(
                Problem(
                    f"the file is not valid {encoding} text (byte {data[exc.start : exc.start + 1]!r} "
                    f"at offset {exc.start})",
                    file=label,
                    fix="give the encoding the file was saved in ('utf-8', 'gbk', 'gb18030')",
                ),
                what,
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = ""
        try:
            data.decode("gb18030")
            hint = "; it decodes as GBK/GB18030, the usual encoding of Chinese Excel/WPS exports"
        except UnicodeDecodeError:
            pass
        raise InputError(
            Problem(
                f"the file is not UTF-8 text (byte {data[exc.start : exc.start + 1]!r} at offset "
                f"{exc.start}){hint}",
                file=label,
                fix=f"give the encoding: {option_hint(what, 'encoding', 'gbk')}, or save the "
                "file as UTF-8",
            ),
            what,
        ) from None


def _read_vector(path: Path, label: str, what: str, layer: str | int | None) -> RawTable:
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError/DataLayerError and others
        raise InputError(
            Problem(
                f"cannot read the file as a vector layer ({type(exc).__name__}: {exc})",
                file=label,
                fix="check that it is a valid GeoJSON/GeoPackage/Shapefile"
                + ("" if layer is None else f" with a layer {layer!r}"),
            ),
            what,
        ) from None
    return _from_frame(gdf, label)


def _read_parquet(path: Path, label: str, what: str) -> RawTable:
    import geopandas as gpd

    try:
        frame: pd.DataFrame = gpd.read_parquet(path)
    except Exception:
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:
            raise InputError(
                Problem(f"cannot read the Parquet file ({exc})", file=label), what
            ) from None
    return _from_frame(frame, label)


def _numeric_view(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """``frame`` with the text columns named in ``where`` that hold only numbers converted, so
    that ``where=`` can compare them with numbers (``"households > 100"``); the table itself
    keeps the text."""
    view = frame.copy(deep=False)
    for col in frame.columns:
        if str(col) not in where:
            continue
        if frame[col].dtype != object and not pd.api.types.is_string_dtype(frame[col].dtype):
            continue
        numbers, _missing, bad = to_numbers(frame[col])
        if not bad.any() and not np.isnan(numbers).all():
            view[col] = numbers
    return view


def apply_where(table: RawTable, where: str, what: str) -> RawTable:
    frame = table.frame
    try:
        mask = _numeric_view(frame, where).eval(where)
    except Exception as exc:  # pandas raises many kinds (UndefinedVariableError, SyntaxError, ...)
        raise InputError(
            Problem(
                f"cannot apply the row filter where={where!r} ({type(exc).__name__}: {exc})",
                file=table.file,
                fix="write a pandas query on the table's columns, e.g. \"city == '西安'\"; "
                f"columns are: {', '.join(map(str, frame.columns))}",
            ),
            what,
        ) from None
    if not isinstance(mask, pd.Series) or mask.dtype != bool:
        raise InputError(
            Problem(
                f"the row filter where={where!r} is not a true/false condition",
                file=table.file,
                fix="write a condition, e.g. \"city == '西安' and source == 'ke.com'\"",
            ),
            what,
        )
    keep = mask.to_numpy()
    logger.info("%s: where=%r keeps %d of %d rows", table.file, where, keep.sum(), keep.size)
    geom = None if table.geometry is None else table.geometry[keep].reset_index(drop=True)
    return RawTable(
        frame.loc[keep].reset_index(drop=True),
        table.rows[keep],
        table.file,
        geom,
        table.geometry_crs,
    )


# --------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------


def _norm(name: object) -> str:
    return re.sub(r"\s+", "", str(name)).lower()


def find_column(columns: Iterable[object], candidates: Sequence[str]) -> str | None:
    """First column whose name matches one of ``candidates`` (case- and space-insensitive).

    Candidates are tried in order, so the first candidate wins over later ones.
    """
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(_norm(col), str(col))
    for cand in candidates:
        hit = by_norm.get(_norm(cand))
        if hit is not None:
            return hit
    return None


def close_names(name: str, columns: Iterable[object], n: int = 3) -> list[str]:
    """Column names that look like ``name`` (for "did you mean" hints)."""
    cols = [str(c) for c in columns]
    lower = {c.lower(): c for c in cols}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.6)
    return [lower[h] for h in hits]


def did_you_mean(name: str, columns: Iterable[object]) -> str:
    """A "did you mean ..." clause, or the list of columns when nothing is close."""
    cols = [str(c) for c in columns]
    close = close_names(name, cols)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = ", ".join(repr(c) for c in cols[:30]) + (" ..." if len(cols) > 30 else "")
    return f"the columns are: {shown}"


def require_column(
    frame: pd.DataFrame,
    name: str,
    problems: Problems,
    *,
    parameter: str,
) -> str | None:
    """Check that a column named by the caller exists; record a problem with suggestions if not."""
    if name in frame.columns:
        return name
    hit = find_column(frame.columns, [name])
    if hit is not None:
        return hit
    problems.add(
        f"column {name!r} (given as {parameter}) not found",
        field=name,
        fix=f"{did_you_mean(name, frame.columns)} Give the right name: the layer's {parameter} "
        f"key in the city file (command line --outlets-{parameter} / --residences-"
        f"{parameter} for lon, lat; Python {parameter}=)",
    )
    return None


def add_row_problems(
    problems: Problems,
    rows: np.ndarray,
    message: str | Sequence[str],
    *,
    field: str | None,
    fix: str | None,
    limit: int = ROW_LIMIT,
) -> None:
    """Record one problem per row for the first ``limit`` rows, then one summary problem.

    ``message`` is either one text for every row or one text per row.
    """
    rows = np.asarray(rows)
    n = int(rows.size)
    for i in range(min(n, limit)):
        text = message if isinstance(message, str) else message[i]
        problems.add(text, row=int(rows[i]), field=field, fix=fix)
    if n > limit:
        text = message if isinstance(message, str) else message[0]
        problems.add(
            f"... and {n - limit} more rows with the same problem ({text}); "
            f"first rows: {_row_list(rows[limit:], 10)}",
            field=field,
            fix=fix,
        )


def _row_list(rows: np.ndarray, limit: int) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (" ..." if rows.size > limit else "")


def is_missing(values: pd.Series) -> np.ndarray:
    """``True`` where a cell is empty (NaN/None/blank text)."""
    miss = values.isna().to_numpy()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        text = values.astype("string").str.strip()
        miss = miss | (text == "").fillna(True).to_numpy(dtype=bool)
    return np.asarray(miss, dtype=bool)


def to_numbers(
    values: pd.Series,
    *,
    units: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a column as float.

    Parameters
    ----------
    values
        The column.
    units
        A regular expression of unit words accepted after the number (``"户|人"``); thousands
        separators ``,`` are accepted too when ``units`` is given.

    Returns
    -------
    numbers, missing, bad
        Float64 values (NaN where missing or bad), a mask of empty cells and a mask of cells that
        are not numbers.
    """
    missing = is_missing(values)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return numbers, missing, np.zeros(len(values), dtype=bool)
    text = values.astype("string").str.strip()
    if units is not None:
        text = text.str.replace(rf"\s*(?:{units})\s*$", "", regex=True)
        text = text.str.replace(r"(?<=\d),(?=\d{3})", "", regex=True)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~missing & np.isnan(numbers)
    return numbers, missing, bad


# --------------------------------------------------------------------------------------------
# Coordinates
# --------------------------------------------------------------------------------------------

_LON_BASES = ("lon", "lng", "long", "longitude", "x", "经度")
_LAT_BASES = ("lat", "latitude", "y", "纬度")
_BASE = {**dict.fromkeys(_LON_BASES, "lon"), **dict.fromkeys(_LAT_BASES, "lat")}
_FAMILY = {b: ("xy" if b in ("x", "y") else "zh" if b in ("经度", "纬度") else "ll") for b in _BASE}
_WORD = r"[0-9a-z\u4e00-\u9fff]+"
_COORD_RE = re.compile(
    rf"^(?:(?P<prefix>{_WORD})[_\-.\s])?(?P<base>{'|'.join(sorted(_BASE, key=len, reverse=True))})"
    rf"(?:(?:[_\-.\s]|\(|（)(?P<suffix>{_WORD})[)）]?)?$"
)


@dataclass(frozen=True)
class CoordinatePair:
    """A longitude/latitude column pair found in a table."""

    lon: str
    lat: str
    tag: str  # the prefix/suffix that distinguishes this pair ("" when none)
    crs: str | None  # the coordinate system the tag names, if it names one

    def __str__(self) -> str:
        return f"{self.lon}/{self.lat}"


def _crs_of_tag(tag: str) -> str | None:
    if not tag:
        return None
    from lifecircle.errors import CRSError
    from lifecircle.geo import parse_crs_name

    for part in re.split(r"[_\-.\s]", tag):
        try:
            return parse_crs_name(part)
        except (CRSError, ValueError):
            continue
    return None


def coordinate_pairs(columns: Iterable[object]) -> list[CoordinatePair]:
    """Longitude/latitude column pairs, recognised by name.

    Recognises ``lon/lat``, ``lng/lat``, ``longitude/latitude``, ``x/y``, ``经度/纬度`` and the same
    names with a prefix or suffix naming a coordinate system (``lng_wgs84/lat_wgs84``,
    ``lng_bd09/lat_bd09``, ``gcj02_lon/gcj02_lat``, ``经度(BD09)``).
    """
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for col in columns:
        m = _COORD_RE.match(_norm(col))
        if not m:
            continue
        base = m.group("base")
        tag = "_".join(t for t in (m.group("prefix"), m.group("suffix")) if t)
        key = (_FAMILY[base], tag, _BASE[base])
        slot = found.setdefault((*key[:2], ""), {})
        slot.setdefault(key[2], str(col))
    pairs = []
    for (_family, tag, _), slot in found.items():
        if "lon" in slot and "lat" in slot:
            pairs.append(CoordinatePair(slot["lon"], slot["lat"], tag, _crs_of_tag(tag)))
    # plain names first (lon/lat before x/y), stable otherwise
    order = {"ll": 0, "zh": 1, "xy": 2}
    pairs.sort(key=lambda p: (bool(p.tag), order[_FAMILY[_base_of(p.lon)]]))
    return pairs


def _base_of(col: str) -> str:
    m = _COORD_RE.match(_norm(col))
    return m.group("base") if m else "lon"


def choose_coordinate_columns(
    table: RawTable,
    crs: str,
    lon: str | None,
    lat: str | None,
    problems: Problems,
) -> tuple[str, str] | None:
    """Pick the longitude/latitude columns.

    Returns ``None`` when the table's geometry should be used instead (or when a problem was
    recorded).
    """
    frame = table.frame
    if lon is not None or lat is not None:
        if lon is None or lat is None:
            problems.add(
                f"only {'lon' if lon is not None else 'lat'}= was given",
                fix="give both lon= and lat= (the longitude and the latitude column)",
            )
            return None
        lon_col = require_column(frame, lon, problems, parameter="lon")
        lat_col = require_column(frame, lat, problems, parameter="lat")
        if lon_col is None or lat_col is None:
            return None
        _log_tag_mismatch(table.file, lon_col, lat_col, crs)
        return lon_col, lat_col
    pairs = coordinate_pairs(frame.columns)
    if table.geometry is not None:
        if pairs:
            logger.info(
                "%s: using the geometry; columns %s are ignored (pass lon=/lat= to use them)",
                table.file,
                ", ".join(map(str, pairs)),
            )
        return None
    if not pairs:
        problems.add(
            "no longitude/latitude columns found: expected a pair such as lon/lat, lng/lat, "
            "longitude/latitude, x/y or 经度/纬度 (optionally suffixed, e.g. lng_wgs84/lat_wgs84)",
            fix="rename the columns or name them: --outlets-lon/--outlets-lat (or "
            '--residences-…), city file lon = "…" and lat = "…" in the layer\'s table; '
            + did_you_mean("lon", frame.columns)
            + " / "
            + did_you_mean("lat", frame.columns),
        )
        return None
    if len(pairs) == 1:
        pair = pairs[0]
        _log_tag_mismatch(table.file, pair.lon, pair.lat, crs)
        return pair.lon, pair.lat
    matching = [p for p in pairs if p.crs == crs]
    if len(matching) == 1:
        logger.info(
            "%s: %d coordinate column pairs (%s); using %s, which matches crs=%r",
            table.file,
            len(pairs),
            ", ".join(map(str, pairs)),
            matching[0],
            crs,
        )
        return matching[0].lon, matching[0].lat
    problems.add(
        f"several longitude/latitude column pairs ({', '.join(map(str, pairs))}) and none is "
        f"named after the declared crs={crs!r}",
        fix=f"say which to use, e.g. --outlets-lon {pairs[0].lon} --outlets-lat {pairs[0].lat} "
        f'(city file: lon = "{pairs[0].lon}", lat = "{pairs[0].lat}"), and declare their '
        "coordinate system (--outlets-crs / crs = …)",
    )
    return None


def _log_tag_mismatch(file: str, lon_col: str, lat_col: str, crs: str) -> None:
    m = _COORD_RE.match(_norm(lon_col))
    tag = "_".join(t for t in (m.group("prefix"), m.group("suffix")) if t) if m else ""
    named = _crs_of_tag(tag)
    if named is not None and named != crs:
        logger.warning(
            "%s: columns %s/%s are named after %s but crs=%r was declared; the coordinates are "
            "read as %s",
            file,
            lon_col,
            lat_col,
            named,
            crs,
            crs,
        )


@dataclass
class Coordinates:
    """Longitude/latitude (as declared, before conversion) and optional polygon footprints."""

    lon: np.ndarray
    lat: np.ndarray
    lon_field: str | None
    lat_field: str | None
    footprint: np.ndarray | None = None  # shapely polygons (object array) or None per row
    reported: np.ndarray | None = None  # rows whose coordinates were already reported as bad


def read_coordinates(
    table: RawTable,
    crs: str,
    lon: str | None,
    lat: str | None,
    problems: Problems,
) -> Coordinates | None:
    """Longitude/latitude of every row (columns or geometry), validated.

    Records problems for missing columns, non-numeric values (with rows), missing coordinates
    (with rows) and impossible geometry CRSs.  Range and swap checks are in
    :func:`check_lonlat_values`.
    """
    cols = choose_coordinate_columns(table, crs, lon, lat, problems)
    if cols is None and table.geometry is not None and (lon is None and lat is None):
        return _geometry_coordinates(table, table.geometry, crs, problems)
    if cols is not None:
        lon_col, lat_col = cols
        out = []
        reported = np.zeros(len(table.frame), dtype=bool)
        for col in (lon_col, lat_col):
            numbers, _missing, bad = to_numbers(table.frame[col])
            if bad.any():
                shown = table.frame[col].to_numpy()[bad]
                add_row_problems(
                    problems,
                    table.rows[bad],
                    [f"{str(v)[:40]!r} is not a number" for v in shown],
                    field=col,
                    fix="write coordinates as decimal degrees, e.g. 108.9402",
                )
            out.append(numbers)
            reported |= bad
        return Coordinates(out[0], out[1], lon_col, lat_col, reported=reported)
    return None


def _geometry_coordinates(
    table: RawTable, geom: gpd.GeoSeries, crs: str, problems: Problems
) -> Coordinates | None:
    src_crs = table.geometry_crs
    projected = None
    if src_crs is not None and not _is_wgs84_like(src_crs):
        if crs != "wgs84":
            problems.add(
                f"the layer's CRS is {src_crs.name} but crs={crs!r} was declared; GCJ-02 and "
                "BD-09 coordinates are longitude/latitude degrees with no CRS code",
                field="geometry",
                fix="declare crs='wgs84' (the layer will be reprojected), or store the "
                "coordinates as degrees without a CRS",
            )
            return None
        if shapely.get_type_id(np.asarray(geom.array, dtype=object)).max(initial=0) > 0:
            geom = geom.to_crs(4326)  # lines or polygons: their shapes are reprojected
        else:
            projected = src_crs  # points: only their coordinate arrays, below
    values = np.asarray(geom.array, dtype=object)
    empty = np.asarray(shapely.is_missing(values) | shapely.is_empty(values), dtype=bool)
    types = shapely.get_type_id(values)
    polygonal = np.isin(types, (3, 6))  # Polygon, MultiPolygon
    points = _select(values, types == 0)
    other = ~empty & (types != 0)
    if other.any():
        points[other] = shapely.point_on_surface(values[other])
    lon = np.full(values.size, np.nan)
    lat = np.full(values.size, np.nan)
    ok = ~empty
    if ok.any():
        lon[ok] = shapely.get_x(points[ok])
        lat[ok] = shapely.get_y(points[ok])
        if projected is not None:
            lon[ok], lat[ok] = project_xy(lon[ok], lat[ok], projected, 4326)
    footprint = _select(values, polygonal & ~empty) if polygonal.any() else None
    return Coordinates(lon, lat, None, None, footprint)


def _select(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Object array: ``values`` where ``mask``, ``None`` elsewhere."""
    out = np.full(values.shape[0], None, dtype=object)
    out[mask] = values[mask]
    return out


def _is_wgs84_like(crs: pyproj.CRS) -> bool:
    """Geographic degrees on a WGS-84-compatible datum (WGS-84, CGCS2000 within centimetres)."""
    if not crs.is_geographic:
        return False
    epsg = crs.to_epsg()
    return epsg in (4326, 4490, 4979, 4480, 4978) or "WGS" in crs.name.upper()


def check_lonlat_values(
    coords: Coordinates,
    rows: np.ndarray,
    crs: str,
    problems: Problems,
    *,
    on_missing: OnInvalid = "error",
    file: str = "",
) -> np.ndarray:
    """Check ranges, swaps and missing values; return the mask of usable rows.

    Missing coordinates are problems unless ``on_missing="drop"`` (then they are left out of the
    mask and logged).  Swapped columns are reported once for the whole table when most rows are
    swapped, else row by row.
    """
    lon, lat = coords.lon, coords.lat
    lon_f = coords.lon_field or "geometry"
    lat_f = coords.lat_field or "geometry"
    both = f"{lon_f}/{lat_f}" if coords.lon_field else "geometry"
    finite = ~(np.isnan(lon) | np.isnan(lat))
    missing = ~finite if coords.reported is None else ~finite & ~coords.reported
    alon, alat = np.abs(lon), np.abs(lat)
    in_range = finite & (alon <= 180.0) & (alat <= 90.0)
    hard_swap = finite & (alat > 90.0) & (alat <= 180.0) & (alon <= 90.0)
    china_swap = (
        finite
        & (lon >= _CHINA_LAT[0])
        & (lon <= _CHINA_LAT[1])
        & (lat >= _CHINA_LON[0])
        & (lat <= _CHINA_LON[1])
    )
    n_ok = max(int(finite.sum()), 1)
    if crs == "wgs84" and china_swap.sum() <= 0.5 * n_ok:
        china_swap = np.zeros_like(china_swap)
    swapped = hard_swap | china_swap
    if swapped.sum() > 0.5 * n_ok:
        problems.add(
            f"longitude and latitude look swapped: {int(swapped.sum())} of {n_ok} rows have a "
            f"latitude-like value in {lon_f!r} and a longitude-like value in {lat_f!r} "
            f"(first rows: {_row_list(rows[swapped], 5)})",
            field=both,
            fix=(
                f"pass lon={coords.lat_field!r}, lat={coords.lon_field!r} (or swap the columns)"
                if coords.lon_field
                else "write the geometry as (longitude, latitude), x before y"
            ),
        )
    elif swapped.any():
        add_row_problems(
            problems,
            rows[swapped],
            [
                f"longitude {a:g} and latitude {b:g} look swapped"
                for a, b in zip(lon[swapped], lat[swapped], strict=True)
            ],
            field=both,
            fix="swap the two values in this row",
        )
    out = finite & ~in_range & ~swapped
    if out.any():
        add_row_problems(
            problems,
            rows[out],
            [
                f"coordinates ({a:g}, {b:g}) are out of range: expected longitude -180..180 and "
                "latitude -90..90 degrees"
                for a, b in zip(lon[out], lat[out], strict=True)
            ],
            field=both,
            fix="write decimal degrees (projected metres need a file with a CRS, e.g. GeoPackage)",
        )
    if crs in ("gcj02", "bd09"):
        from lifecircle.geo import out_of_china

        outside_china = in_range & ~swapped & out_of_china(lon, lat)
        if outside_china.any():
            add_row_problems(
                problems,
                rows[outside_china],
                [
                    f"({a:g}, {b:g}) lies outside China, where {crs.upper()} is not used"
                    for a, b in zip(lon[outside_china], lat[outside_china], strict=True)
                ],
                field=both,
                fix=f"check crs={crs!r} and the coordinates of this row",
            )
    if missing.any():
        if on_missing == "drop":
            logger.warning(
                "%s: %d rows without coordinates left out (first rows: %s)",
                file,
                int(missing.sum()),
                _row_list(rows[missing], 10),
            )
        else:
            add_row_problems(
                problems,
                rows[missing],
                "no coordinates",
                field=both,
                fix="fill in the coordinates, remove the row, or leave such rows out: "
                + _DROP_HINT["on_missing"],
            )
    return np.asarray(finite & in_range & ~swapped, dtype=bool)


# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------


def read_ids(
    table: RawTable,
    id_column: str | None,
    candidates: Sequence[str],
    problems: Problems,
    *,
    what: str,
) -> tuple[np.ndarray, str | None]:
    """Identifiers as strings: the given column, the first candidate found, or row numbers.

    Records problems for a missing given column, empty ids and duplicates (listing the rows).

    Returns
    -------
    ids, column
        Object array of ``str`` and the column used (``None`` when generated).
    """
    frame = table.frame
    if id_column is not None:
        col = require_column(frame, id_column, problems, parameter="id_column")
        if col is None:
            return np.array([str(r) for r in table.rows], dtype=object), None
    else:
        col = find_column(frame.columns, candidates)
    if col is None:
        logger.info(
            "%s: no id column (%s); %s are numbered by row (1, 2, ...)",
            table.file,
            "/".join(candidates),
            what,
        )
        return np.array([str(r) for r in table.rows], dtype=object), None
    ids = _id_strings(frame[col])
    empty = is_missing(frame[col])
    if empty.any():
        add_row_problems(
            problems,
            table.rows[empty],
            "empty id",
            field=col,
            fix=f"give every row an id, or name another column: {option_hint(what, 'id_column')} "
            f"({what} are numbered by row when there is no id column)",
        )
    check_unique(ids, ~empty, table.rows, col, problems)
    return ids, col


def _id_strings(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        fin = np.isfinite(arr)
        if np.all(arr[fin] == np.round(arr[fin])):
            return np.array(
                [str(int(v)) if f else "" for v, f in zip(arr, fin, strict=True)], dtype=object
            )
    text = _stripped(values)
    text[text == None] = ""  # noqa: E711 - element-wise
    return text


def check_unique(
    ids: np.ndarray,
    mask: np.ndarray,
    rows: np.ndarray,
    field: str,
    problems: Problems,
    limit: int = ROW_LIMIT,
) -> None:
    """Record one problem per duplicated id (up to ``limit``), listing the rows it is on."""
    s = pd.Series(ids[mask])
    r = rows[mask]
    dup = s.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    groups = pd.Series(r[dup]).groupby(s[dup].to_numpy(), sort=False)
    items = list(groups)
    for value, grp in items[:limit]:
        rr = grp.to_numpy()
        problems.add(
            f"id {value!r} appears {rr.size} times (rows {_row_list(rr, 8)})",
            row=int(rr[1]),
            field=field,
            fix="make the ids unique (or name a unique column: the layer's id_column key in the "
            "city file; Python id_column=)",
        )
    if len(items) > limit:
        problems.add(
            f"... and {len(items) - limit} more duplicated ids",
            field=field,
            fix="make the ids unique (or name a unique column: the layer's id_column key in the "
            "city file; Python id_column=)",
        )


# --------------------------------------------------------------------------------------------
# Text attributes
# --------------------------------------------------------------------------------------------


def text_column(frame: pd.DataFrame, column: str | None) -> np.ndarray:
    """Object array of stripped ``str`` or ``None`` (for missing cells or no column)."""
    if column is None:
        return np.full(len(frame), None, dtype=object)
    text = _stripped(frame[column])
    text[text == ""] = None
    return text


def _stripped(values: pd.Series) -> np.ndarray:
    """Object array: each cell as ``str`` with surrounding white space removed, ``None`` where
    missing.  Text columns are trimmed by Arrow, at once; other columns cell by cell."""
    if isinstance(values.dtype, pd.StringDtype | pd.ArrowDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(values, from_pandas=True)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return pc.utf8_trim_whitespace(arr).to_numpy(zero_copy_only=False).astype(object)
    return np.array(
        [None if pd.isna(v) else str(v).strip() for v in values.to_numpy(dtype=object)],
        dtype=object,
    )


# --------------------------------------------------------------------------------------------
# Network extent
# --------------------------------------------------------------------------------------------


def network_extent(network: Any) -> tuple[pyproj.CRS, tuple[float, float, float, float]]:
    """CRS and ``(minx, miny, maxx, maxy)`` of a :class:`WalkNetwork` or an edges GeoDataFrame."""
    import geopandas as gpd

    from lifecircle.network import WalkNetwork

    if isinstance(network, WalkNetwork):
        return pyproj.CRS.from_user_input(network.crs), network.bounds()
    if isinstance(network, gpd.GeoDataFrame | gpd.GeoSeries):
        if network.crs is None:
            raise InputError(
                Problem(
                    "the network layer has no CRS",
                    field="geometry",
                    fix="set its CRS (e.g. EPSG:4326) before passing it",
                ),
                "network",
            )
        b = network.total_bounds
        return pyproj.CRS.from_user_input(network.crs), (
            float(b[0]),
            float(b[1]),
            float(b[2]),
            float(b[3]),
        )
    raise TypeError(
        f"network must be a WalkNetwork or an edges GeoDataFrame, got {type(network).__name__}"
    )


def distance_outside(
    lon: np.ndarray, lat: np.ndarray, network: WalkNetwork | gpd.GeoDataFrame
) -> np.ndarray:
    """Metres by which WGS-84 points lie outside the network's bounding box (0 inside).

    Measured in the network CRS (metres for a :class:`WalkNetwork`); for a geographic edges layer
    the box is measured in a local UTM zone.
    """
    crs, (x0, y0, x1, y1) = network_extent(network)
    if crs.is_geographic:
        from lifecircle.geo import local_utm_crs

        utm = pyproj.CRS.from_user_input(local_utm_crs(np.array([x0, x1]), np.array([y0, y1])))
        to_utm = pyproj.Transformer.from_crs(crs, utm, always_xy=True)
        x0, y0, x1, y1 = to_utm.transform_bounds(x0, y0, x1, y1)
        crs = utm
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True)
    x, y = tr.transform(lon, lat)
    dx = np.maximum(np.maximum(x0 - x, 0.0), x - x1)
    dy = np.maximum(np.maximum(y0 - y, 0.0), y - y1)
    return np.asarray(np.hypot(dx, dy), dtype=np.float64)


def outside_problems(
    distance: np.ndarray,
    ids: np.ndarray,
    rows: np.ndarray,
    max_outside_m: float,
    problems: Problems,
    *,
    on_outside: OnInvalid,
    what: str,
    file: str,
) -> tuple[np.ndarray, list[str]]:
    """Handle points farther than ``max_outside_m`` outside the network box.

    Returns the mask of rows to keep and the ids dropped (``on_outside="drop"``); with
    ``on_outside="error"`` records one problem listing the first ids and rows.
    """
    far = distance > max_outside_m
    if not far.any():
        return np.ones(distance.size, dtype=bool), []
    far_ids = [str(i) for i in ids[far]]
    n = len(far_ids)
    shown = ", ".join(far_ids[:10]) + (" ..." if n > 10 else "")
    if on_outside == "drop":
        logger.warning(
            "%s: %d %s lie more than %.0f m outside the network's area and were dropped "
            "(first ids: %s)",
            file,
            n,
            what,
            max_outside_m,
            shown,
        )
        return ~far, far_ids
    problems.add(
        f"{n} of {distance.size} {what} lie more than {max_outside_m:.0f} m outside the "
        f"network's bounding box (up to {float(distance[far].max()) / 1000.0:.1f} km; first ids: "
        f"{shown}; rows {_row_list(rows[far], 10)})",
        fix=f"clip the layer to the study area ([boundary] in the city file) or check the CRS "
        f"({option_hint(what, 'crs')}); or leave them out: {_DROP_HINT['on_outside']}",
    )
    return ~far, far_ids


def merge_error(problems: Problems, error: InputError, rows: np.ndarray | None = None) -> None:
    """Copy the problems of an :class:`InputError` raised by a helper into ``problems``.

    With ``rows``, the helper's row numbers (positions 1..n in the frame it was given) are
    translated to the source's row numbers.
    """
    for p in error.problems:
        row = p.row
        if row is not None and rows is not None and 1 <= row <= rows.size:
            row = int(rows[row - 1])
        file = p.file if p.file is not None else problems.file
        problems.items.append(Problem(p.message, file, row, p.field, p.fix))


# --------------------------------------------------------------------------------------------
# The common path of the point readers
# --------------------------------------------------------------------------------------------


@dataclass
class PointLayer:
    """A point table being validated: what every point reader shares.

    Attributes
    ----------
    table
        The table as read.
    problems
        Problems found so far (the reader adds its own, then calls :func:`finish_points`).
    crs
        The declared coordinate system (``"wgs84"``, ``"gcj02"`` or ``"bd09"``).
    coords
        Coordinates as read (``None`` when they could not be located).
    usable
        Rows with valid coordinates.
    ids
        Identifiers (``str``).
    id_field
        The id column, ``None`` when ids were generated.
    """

    table: RawTable
    problems: Problems
    crs: str
    coords: Coordinates | None
    usable: np.ndarray
    ids: np.ndarray
    id_field: str | None


def start_points(
    table: RawTable,
    *,
    what: str,
    crs: str,
    lon: str | None,
    lat: str | None,
    id_column: str | None,
    id_candidates: Sequence[str],
    on_missing: OnInvalid,
) -> PointLayer:
    """Locate coordinates and ids and check them; raise at once when the table has no rows."""
    problems = Problems(file=table.file)
    if len(table.frame) == 0:
        problems.add(
            f"the table has no {what} (a header but no data rows)",
            fix=f"give a table with one row per {what[:-1] if what.endswith('s') else what}"
            " (check the where= filter if one was given)",
        )
        problems.raise_if_any(what)
    coords = read_coordinates(table, crs, lon, lat, problems)
    if coords is not None:
        usable = check_lonlat_values(
            coords, table.rows, crs, problems, on_missing=on_missing, file=table.file
        )
    else:
        usable = np.zeros(len(table.frame), dtype=bool)
    ids, id_field = read_ids(table, id_column, id_candidates, problems, what=what)
    return PointLayer(table, problems, crs, coords, usable, ids, id_field)


@dataclass
class FinishedPoints:
    """Rows kept and their WGS-84 geometry."""

    keep: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    footprint: np.ndarray | None
    attrs: dict[str, Any]


def finish_points(
    layer: PointLayer,
    *,
    what: str,
    network: Any,
    max_outside_m: float,
    on_outside: OnInvalid,
    accept_offset: bool = False,
) -> FinishedPoints:
    """Convert to WGS-84, check the network's area, raise every problem, check the offset.

    A layer whose declared coordinate system is contradicted by the offset check (it fits the
    network clearly better in another one, shifted by the GCJ-02/BD-09 amount) is an error
    naming the system that fits, unless ``accept_offset`` (then a warning).

    Raises
    ------
    InputError
        With every problem recorded by the reader and here.
    CRSError
        The offset check contradicts the declared system (and ``accept_offset`` is false).
    """
    from lifecircle.geo import check_offset, to_wgs84

    if layer.coords is None:
        layer.problems.raise_if_any(what)
        raise InputError(Problem("no coordinates", file=layer.table.file), what)  # unreachable
    coords = layer.coords
    keep = layer.usable.copy()
    wlon = np.full(keep.size, np.nan)
    wlat = np.full(keep.size, np.nan)
    if keep.any():
        x, y = to_wgs84(coords.lon[keep], coords.lat[keep], layer.crs)
        wlon[keep], wlat[keep] = x, y
    attrs: dict[str, Any] = {}
    missing = np.isnan(coords.lon) | np.isnan(coords.lat)
    if missing.any():
        attrs["dropped_missing_rows"] = [int(r) for r in layer.table.rows[missing]]
    if network is not None and keep.any():
        dist = np.zeros(keep.size)
        dist[keep] = distance_outside(wlon[keep], wlat[keep], network)
        inside, dropped = outside_problems(
            dist[keep],
            layer.ids[keep],
            layer.table.rows[keep],
            max_outside_m,
            layer.problems,
            on_outside=on_outside,
            what=what,
            file=layer.table.file,
        )
        keep[np.flatnonzero(keep)[~inside]] = False
        if dropped:
            attrs["dropped_outside_ids"] = dropped
    layer.problems.raise_if_any(what)
    footprint = None
    if coords.footprint is not None:
        footprint = _select(coords.footprint, keep)
        if layer.crs != "wgs84":
            crs = layer.crs

            def _convert(xy: np.ndarray) -> np.ndarray:
                x, y = to_wgs84(xy[:, 0], xy[:, 1], crs)
                return np.column_stack([x, y])

            has = np.flatnonzero(footprint != None)  # noqa: E711 - element-wise
            footprint[has] = shapely.transform(footprint[has], _convert)
    if network is not None and keep.any():
        check = check_offset(
            coords.lon[keep], coords.lat[keep], layer.crs, network, what=what, warn=accept_offset
        )
        attrs["offset_check"] = check
        if check.suspicious and not accept_offset:
            raise CRSError(
                Problem(
                    f"the coordinates do not fit the declared {layer.crs}: {check.message}",
                    file=layer.table.file,
                    field="crs",
                    fix=f"declare the system that fits: --{what}-crs {check.best} (city file: "
                    f'{what}.crs = "{check.best}"); if {layer.crs} is right after all, '
                    f"--accept-offset ({what}.accept_offset = true) keeps it with a warning",
                ),
                what,
            )
    return FinishedPoints(keep, wlon, wlat, footprint, attrs)

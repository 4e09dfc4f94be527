"""Outlets and residential buildings from an OpenStreetMap ``.osm.pbf`` extract.

Two plain readers built on pyosmium (``osmium.FileProcessor``):

* :func:`read_osm_outlets` – shops, amenities, crafts, ... as points (nodes, and areas – closed
  ways and multipolygons – by a point on their surface), with the tag columns the 业态 classifier
  (:func:`lifecircle.taxonomy.classify`) understands.
* :func:`read_osm_residences` – residential buildings with footprint area, levels and an
  **estimated** number of households.

Both return plain tables in WGS-84 (OSM's coordinate system); use
:func:`lifecircle.ingest.outlets.read_outlets` / :func:`lifecircle.ingest.residences.read_residences`
on the ``.osm.pbf`` path to get validated, classified layers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle.errors import InputError, Problem

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "DEFAULT_LEVELS",
    "EXCLUDED_AMENITIES",
    "M2_PER_HOUSEHOLD",
    "OUTLET_EXTRA_TAGS",
    "OUTLET_KEYS",
    "RESIDENTIAL_BUILDINGS",
    "read_osm_outlets",
    "read_osm_residences",
]

logger = logging.getLogger(__name__)

#: Keys whose presence makes an OSM object a candidate outlet (one column each in the output).
OUTLET_KEYS: tuple[str, ...] = (
    "shop",
    "amenity",
    "craft",
    "leisure",
    "healthcare",
    "office",
    "social_facility",
    "tourism",
    "vending",
    "post_office",
)

#: Further tags copied as columns (classifier hints and outlet attributes).
OUTLET_EXTRA_TAGS: tuple[str, ...] = (
    "name:zh",
    "name:en",
    "brand",
    "brand:zh",
    "brand:wikidata",
    "operator",
    "opening_hours",
    "cuisine",
    "sport",
    "healthcare:speciality",
    "social_facility:for",
    "service",
    "service:bicycle:repair",
    "recycling_type",
    "disused",
)

#: ``amenity`` values that are street furniture or parking, not outlets: left out.
EXCLUDED_AMENITIES: frozenset[str] = frozenset(
    {
        "bench",
        "waste_basket",
        "waste_disposal",
        "parking",
        "parking_space",
        "parking_entrance",
        "bicycle_parking",
        "motorcycle_parking",
        "post_box",
        "telephone",
        "clock",
        "drinking_water",
        "fountain",
        "grit_bin",
        "shelter",
        "loading_dock",
        "hunting_stand",
        "bbq",
        "life_ring",
        "taxi",
        "charging_station",
        "compressed_air",
        "water_point",
    }
)

#: ``building`` values read as residential buildings.
RESIDENTIAL_BUILDINGS: tuple[str, ...] = (
    "apartments",
    "residential",
    "house",
    "detached",
    "semidetached_house",
    "terrace",
    "dormitory",
)

#: Gross floor area per household (m²) used to estimate households from footprint × levels.
#: ≈ 39.8 m² urban housing floor area per person in China (2019, National Bureau of Statistics)
#: × 2.62 persons per household (2020 census) ≈ 104 m², rounded to 100 m².  A rough planning
#: figure: set it from local statistics (e.g. ≈ 60–80 m² in Nordic city centres).
M2_PER_HOUSEHOLD = 100.0

#: Levels assumed when ``building:levels`` is missing, by ``building`` value (an assumption:
#: walk-up blocks of 5 storeys, houses of 2).
DEFAULT_LEVELS: Mapping[str, float] = {
    "apartments": 5.0,
    "residential": 5.0,
    "dormitory": 5.0,
    "house": 2.0,
    "detached": 2.0,
    "semidetached_house": 2.0,
    "terrace": 2.0,
}


def _check_path(path: str | os.PathLike[str], what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(Problem("file not found", file=str(p), fix="check the path"), what)
    return p


def _processor(path: Path, what: str, *filters: Any) -> Any:
    import osmium

    try:
        fp = osmium.FileProcessor(str(path)).with_areas()
        for flt in filters:
            fp = fp.with_filter(flt)
    except RuntimeError as exc:  # pragma: no cover - depends on libosmium's checks
        raise InputError(
            Problem(f"cannot open as an OSM file ({exc})", file=str(path)), what
        ) from None
    return fp


def _osm_type(obj: Any) -> tuple[str, int]:
    """``(osm_type, osm_id)`` of a node or of the way/relation an area was built from."""
    if obj.is_area():
        return ("way" if obj.from_way() else "relation"), int(obj.orig_id())
    return "node", int(obj.id)


def read_osm_outlets(
    pbf_path: str | os.PathLike[str],
    *,
    keys: Sequence[str] = OUTLET_KEYS,
    extra_tags: Sequence[str] = OUTLET_EXTRA_TAGS,
    exclude_amenities: frozenset[str] | set[str] = EXCLUDED_AMENITIES,
) -> pd.DataFrame:
    """Points of interest from an ``.osm.pbf`` file.

    Nodes with one of ``keys`` are read at their location; closed ways and multipolygon
    relations with one of ``keys`` at a point on their surface (inside the shape).  Open ways
    are skipped (counted in a log line).  Objects whose only outlet key is an ``amenity`` in
    ``exclude_amenities`` (benches, parking, ...), and ``shop=vacant``, are left out.

    Parameters
    ----------
    pbf_path
        The ``.osm.pbf`` file.
    keys
        Outlet keys (one column each).
    extra_tags
        Further tags copied as columns (``brand``, ``opening_hours``, ...).
    exclude_amenities
        ``amenity`` values that are not outlets.

    Returns
    -------
    pandas.DataFrame
        One row per object: ``osm_type`` (node/way/relation), ``osm_id``, ``name``, ``lon``,
        ``lat`` (WGS-84), then one column per key and extra tag (``None`` where untagged).

    Examples
    --------
    >>> from lifecircle.datasets import get_path
    >>> pois = read_osm_outlets(get_path("helsinki"))
    >>> int((pois["shop"] == "convenience").sum()) > 0
    True
    """
    import osmium

    path = _check_path(pbf_path, "outlets")
    columns = list(dict.fromkeys([*keys, *extra_tags]))
    records: list[list[Any]] = []
    open_ways = 0
    no_location = 0
    for obj in _processor(path, "outlets", osmium.filter.KeyFilter(*keys)):
        if obj.is_way() or obj.is_relation():
            if obj.is_way() and not obj.is_closed():
                open_ways += 1
            continue
        tags = obj.tags
        present = [k for k in keys if k in tags]
        if present == ["amenity"] and tags["amenity"] in exclude_amenities:
            continue
        if tags.get("shop") == "vacant" and present == ["shop"]:
            continue
        osm_type, osm_id = _osm_type(obj)
        if obj.is_node():
            loc = obj.location
            if not loc.valid():
                no_location += 1
                continue
            lon, lat = loc.lon, loc.lat
        else:
            try:
                wkb = osmium.geom.WKBFactory().create_multipolygon(obj)
            except RuntimeError:
                no_location += 1
                continue
            point = shapely.point_on_surface(shapely.from_wkb(wkb))
            lon, lat = shapely.get_x(point), shapely.get_y(point)
        records.append(
            [osm_type, osm_id, tags.get("name"), lon, lat, *[tags.get(c) for c in columns]]
        )
    if open_ways:
        logger.info("%s: %d open ways with outlet tags skipped", path, open_ways)
    if no_location:
        logger.info("%s: %d objects without usable geometry skipped", path, no_location)
    frame = pd.DataFrame(records, columns=["osm_type", "osm_id", "name", "lon", "lat", *columns])
    frame["osm_id"] = frame["osm_id"].astype(np.int64)
    frame["lon"] = frame["lon"].astype(np.float64)
    frame["lat"] = frame["lat"].astype(np.float64)
    logger.info("%s: %d outlet candidates read", path, len(frame))
    return frame


def read_osm_residences(
    pbf_path: str | os.PathLike[str],
    *,
    m2_per_household: float = M2_PER_HOUSEHOLD,
    default_levels: float | Mapping[str, float] | None = None,
    building_values: Sequence[str] = RESIDENTIAL_BUILDINGS,
    untyped_in_residential_landuse: bool = True,
) -> gpd.GeoDataFrame:
    """Residential buildings from an ``.osm.pbf`` file, with estimated households.

    Buildings are closed ways and multipolygon relations tagged ``building=`` one of
    ``building_values`` (no guessing from ``building=yes`` or land use).  Households are
    ``building:flats`` when tagged, otherwise an **estimate**::

        households = footprint_m2 × levels / m2_per_household

    with ``levels`` from ``building:levels`` or else ``default_levels``.  The estimate is rough
    (gross floor area includes stairs and walls; mixed-use ground floors are counted): calibrate
    ``m2_per_household`` with local statistics where they exist.

    Parameters
    ----------
    pbf_path
        The ``.osm.pbf`` file.
    m2_per_household
        Gross floor area per household in m² (default :data:`M2_PER_HOUSEHOLD`, 100 m²).
    default_levels
        Levels when ``building:levels`` is missing: one number for every building, or a mapping
        by ``building`` value; ``None`` uses :data:`DEFAULT_LEVELS`.
    building_values
        ``building`` tag values read as residential.
    untyped_in_residential_landuse
        Also read untyped buildings (``building=yes``) that stand inside a ``landuse=residential``
        area and carry no ``shop``/``amenity``/``office``/``tourism``/``craft`` tag: in many
        extracts most homes are mapped that way.  Their levels default to
        ``default_levels["yes"]`` (4).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, geometry = footprint polygon; columns ``osm_type``, ``osm_id``, ``name``,
        ``building``, ``levels`` (float), ``levels_source`` ("building:levels"/"default"),
        ``footprint_m2`` (area in a local UTM zone), ``flats`` (``building:flats``, NaN when
        untagged), ``households`` (float), ``households_source``
        ("building:flats"/"estimate"), ``lon``, ``lat`` (a point on the footprint's surface).

    Examples
    --------
    >>> from lifecircle.datasets import get_path
    >>> b = read_osm_residences(get_path("helsinki"))
    >>> bool((b["households"] > 0).all())
    True
    """
    import geopandas as gpd
    import osmium

    if not m2_per_household > 0:
        raise InputError(
            Problem(
                f"m2_per_household must be a positive number of square metres, got "
                f"{m2_per_household!r}",
                field="m2_per_household",
                fix="use e.g. 100",
            ),
            "parameters",
        )
    path = _check_path(pbf_path, "residences")
    levels_default: Mapping[str, float]
    if default_levels is None:
        levels_default = DEFAULT_LEVELS
    elif isinstance(default_levels, Mapping):
        levels_default = default_levels
    else:
        levels_default = dict.fromkeys(building_values, float(default_levels))
    wanted = [("building", v) for v in building_values]
    if untyped_in_residential_landuse:
        wanted += [("building", "yes"), ("landuse", "residential")]
        levels_default = {"yes": 4.0, **levels_default}
    tag_filter = osmium.filter.TagFilter(*wanted)
    landuse: list[Any] = []  # WKB of landuse=residential areas
    wkbf = osmium.geom.WKBFactory()
    records: list[tuple[Any, ...]] = []
    failed = 0
    candidates = 0
    for obj in _processor(path, "residences", tag_filter):
        if not obj.is_area():
            candidates += not obj.is_node()
            continue
        try:
            wkb = wkbf.create_multipolygon(obj)
        except RuntimeError:
            failed += 1
            continue
        tags = obj.tags
        if tags.get("landuse") == "residential" and tags.get("building") is None:
            landuse.append(wkb)
            continue
        if tags.get("building") == "yes" and (
            not untyped_in_residential_landuse
            or any(k in tags for k in ("shop", "amenity", "office", "tourism", "craft"))
        ):
            continue
        osm_type, osm_id = _osm_type(obj)
        records.append(
            (
                osm_type,
                osm_id,
                tags.get("name"),
                tags.get("building"),
                tags.get("building:levels"),
                tags.get("building:flats"),
                wkb,
            )
        )
    skipped = max(candidates - len(records), failed)
    if skipped:
        logger.info(
            "%s: %d building ways/relations without a complete closed outline skipped (cut by "
            "the extract's edge, or not closed)",
            path,
            skipped,
        )
    cols = ["osm_type", "osm_id", "name", "building", "levels_tag", "flats_tag", "wkb"]
    frame = pd.DataFrame.from_records(records, columns=cols)
    geoms = shapely.from_wkb(frame["wkb"].to_numpy(dtype=object))
    single = shapely.get_num_geometries(geoms) == 1
    geoms[single] = shapely.get_geometry(geoms[single], 0)  # one-part multipolygons → Polygon
    frame = frame.drop(columns="wkb")
    if untyped_in_residential_landuse:
        untyped = (frame["building"] == "yes").to_numpy()
        areas = shapely.from_wkb(np.array(landuse, dtype=object))
        inside = np.zeros(len(frame), dtype=bool)
        if len(areas) and untyped.any():
            hit, _ = shapely.STRtree(areas).query(
                shapely.point_on_surface(geoms[untyped]), predicate="within"
            )
            inside[np.flatnonzero(untyped)[np.unique(hit)]] = True
        keep = ~untyped | inside
        frame = frame.loc[keep].reset_index(drop=True)
        geoms = geoms[keep]
    frame["osm_id"] = frame["osm_id"].astype(np.int64)
    levels = np.array(pd.to_numeric(frame["levels_tag"], errors="coerce"), dtype=np.float64)
    levels[~(levels > 0)] = np.nan
    tagged = ~np.isnan(levels)
    fallback = frame["building"].map(lambda b: levels_default.get(b, np.nan)).to_numpy(dtype=float)
    levels = np.where(tagged, levels, fallback)
    flats = np.array(pd.to_numeric(frame["flats_tag"], errors="coerce"), dtype=np.float64)
    flats[~(flats >= 0)] = np.nan
    area = _area_m2(geoms)
    estimate = area * levels / m2_per_household
    has_flats = ~np.isnan(flats)
    frame = frame.drop(columns=["levels_tag", "flats_tag"])
    frame["levels"] = levels
    frame["levels_source"] = np.where(tagged, "building:levels", "default")
    frame["footprint_m2"] = area
    frame["flats"] = flats
    frame["households"] = np.where(has_flats, flats, estimate)
    frame["households_source"] = np.where(has_flats, "building:flats", "estimate")
    points = shapely.point_on_surface(geoms) if len(geoms) else np.array([], dtype=object)
    frame["lon"] = shapely.get_x(points) if len(geoms) else np.array([], dtype=float)
    frame["lat"] = shapely.get_y(points) if len(geoms) else np.array([], dtype=float)
    logger.info(
        "%s: %d residential buildings, %.0f households (%d from building:flats, the rest "
        "estimated at %.0f m² per household)",
        path,
        len(frame),
        float(np.nansum(frame["households"])),
        int(has_flats.sum()),
        m2_per_household,
    )
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=4326)


def _area_m2(geoms: np.ndarray) -> np.ndarray:
    """Areas in m² of WGS-84 polygons, measured in the local UTM zone of their centre."""
    if len(geoms) == 0:
        return np.array([], dtype=np.float64)
    from lifecircle.geo import local_utm_crs

    centre = shapely.centroid(geoms)
    utm = local_utm_crs(shapely.get_x(centre), shapely.get_y(centre))
    tr = pyproj.Transformer.from_crs(4326, utm, always_xy=True)

    def _project(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return np.asarray(shapely.area(shapely.transform(geoms, _project)), dtype=np.float64)

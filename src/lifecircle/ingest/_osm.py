"""Read the ``highway=*`` ways of an OpenStreetMap file (``.osm.pbf``/``.osm``) with pyosmium.

Private helper of :mod:`lifecircle.ingest.network`: it returns flat arrays (one row per way node)
and a table of way tags; splitting into edges, walking rules and projection happen there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lifecircle.errors import InputError, Problem

__all__: list[str] = []

#: Way tags kept as edge attributes (``osmid`` is the way id).
OSM_WAY_TAGS = ("highway", "name", "access", "foot", "service", "bridge", "tunnel", "layer")


@dataclass(frozen=True)
class OsmWays:
    """The highway ways of an OSM file as flat arrays.

    Attributes
    ----------
    ways
        One row per way: ``osmid`` and the tags of :data:`OSM_WAY_TAGS` (missing tags are null).
    way
        Way row (0-based) of each way node, non-decreasing.
    node_id
        OSM node id of each way node.
    lon, lat
        Node location in WGS-84; ``nan`` where the node is not in the file (extract edge).
    """

    ways: pd.DataFrame
    way: np.ndarray
    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


def read_osm_ways(path: Path) -> OsmWays:
    """Every way with a ``highway`` tag, with node ids and locations.

    Raises
    ------
    InputError
        The file cannot be read as OpenStreetMap data.
    """
    import osmium

    processor = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    rows: list[tuple[object, ...]] = []
    way_sizes: list[int] = []
    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    nan = float("nan")
    try:
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way):
                continue
            tags = obj.tags
            rows.append((obj.id, *(tags.get(key) for key in OSM_WAY_TAGS)))
            way_sizes.append(len(obj.nodes))
            for ref in obj.nodes:
                loc = ref.location
                ids.append(ref.ref)
                if loc.valid():
                    lons.append(loc.lon)
                    lats.append(loc.lat)
                else:
                    lons.append(nan)
                    lats.append(nan)
    except (RuntimeError, ValueError, OSError) as exc:
        raise InputError(
            Problem(
                f"cannot be read as OpenStreetMap data ({exc}).",
                file=str(path),
                fix="give an .osm.pbf extract (e.g. from Geofabrik or BBBike), not a renamed file.",
            ),
            "street network",
        ) from exc
    ways = pd.DataFrame(rows, columns=["osmid", *OSM_WAY_TAGS])
    ways["osmid"] = ways["osmid"].astype("int64")
    return OsmWays(
        ways=ways,
        way=np.repeat(np.arange(len(way_sizes), dtype=np.int64), way_sizes),
        node_id=np.asarray(ids, dtype=np.int64),
        lon=np.asarray(lons, dtype=np.float64),
        lat=np.asarray(lats, dtype=np.float64),
    )

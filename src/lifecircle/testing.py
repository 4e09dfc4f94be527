"""Tiny synthetic networks for tests, doctests and examples (coordinates in metres)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle.network import ComponentReport, WalkNetwork

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["line_network", "network_from_polylines", "street_town"]

#: A metric CRS for synthetic data (UTM 49N, Xi'an's zone).
SYNTHETIC_CRS = pyproj.CRS.from_epsg(32649)
_ORIGIN = (500_000.0, 3_790_000.0)


def network_from_polylines(
    polylines: Sequence[Sequence[tuple[float, float]]], *, shift: bool = True
) -> WalkNetwork:
    """A WalkNetwork whose edges are the given polylines, joined where their *ends* coincide.

    Coordinates are metres; with ``shift`` they are placed near Xi'an in UTM 49N so that the
    network also has sensible WGS-84 coordinates.

    Examples
    --------
    >>> net = network_from_polylines([[(0, 0), (100, 0)], [(100, 0), (100, 50)]])
    >>> net.n_nodes, net.n_edges, net.total_km
    (3, 2, 0.15)
    """
    dx, dy = _ORIGIN if shift else (0.0, 0.0)
    geoms = [shapely.LineString([(x + dx, y + dy) for x, y in line]) for line in polylines]
    ends = np.array([[g.coords[0], g.coords[-1]] for g in geoms], dtype=np.float64)
    flat = ends.reshape(-1, 2)
    uniq, inverse = np.unique(np.round(flat, 6), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    u = inverse[0::2].astype(np.int64)
    v = inverse[1::2].astype(np.int64)
    lengths = shapely.length(np.array(geoms, dtype=object)).astype(np.float64)
    return WalkNetwork(
        crs=SYNTHETIC_CRS,
        node_x=uniq[:, 0].copy(),
        node_y=uniq[:, 1].copy(),
        node_id=np.arange(len(uniq), dtype=np.int64),
        edge_u=u,
        edge_v=v,
        edge_length=lengths,
        edge_geometry=np.array(geoms, dtype=object),
        edge_attrs=pd.DataFrame({"highway": ["footway"] * len(geoms), "name": [None] * len(geoms)}),
        source="synthetic",
        report=ComponentReport(
            kept_nodes=len(uniq), kept_edges=len(geoms), kept_km=float(lengths.sum() / 1000)
        ),
    )


def line_network(points: Sequence[tuple[float, float]]) -> WalkNetwork:
    """One polyline split into an edge per segment, without the Xi'an shift (pure metres)."""
    segs = [[points[i], points[i + 1]] for i in range(len(points) - 1)]
    return network_from_polylines(segs, shift=False)


def street_town(
    outlets: Sequence[Mapping[str, Any]],
) -> tuple[WalkNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A 2 km street with two 小区 (``a``: 300 households at 100 m, ``b``: 500 at 600 m) and outlets.

    Parameters
    ----------
    outlets
        One mapping per outlet: ``x`` (metres along the street) and its columns
        (``outlet_id``, ``category``, ``name`` …).

    Returns
    -------
    network, residences, outlets

    Examples
    --------
    >>> net, homes, shops = street_town([{"outlet_id": "s1", "category": "pharmacy", "x": 350}])
    >>> len(homes), shops["category"].tolist()
    (2, ['pharmacy'])
    """
    import geopandas as gpd

    net = network_from_polylines([[(0, 0), (2000, 0)]])

    def at(x: float) -> shapely.Point:
        return shapely.Point(_ORIGIN[0] + x, _ORIGIN[1])

    homes = gpd.GeoDataFrame(
        {"residence_id": ["a", "b"], "households": [300, 500]},
        geometry=[at(100), at(600)],
        crs=net.crs,
    )
    table = pd.DataFrame([{k: v for k, v in o.items() if k != "x"} for o in outlets])
    shops = gpd.GeoDataFrame(table, geometry=[at(float(o["x"])) for o in outlets], crs=net.crs)
    return net, homes, shops

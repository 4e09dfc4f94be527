"""The walking network model: an undirected graph with lengths in metres in a local projected CRS.

Readers in :mod:`lifecircle.ingest.network` turn OSM ``.osm.pbf`` files, OSMnx GraphML and road
lines into a :class:`WalkNetwork`; the access engine works on its CSR arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj
import shapely

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["ComponentReport", "WalkNetwork"]


@dataclass(frozen=True)
class ComponentReport:
    """What the connectivity check found and what it dropped.

    Attributes
    ----------
    n_components
        Connected components in the walkable graph before dropping.
    kept_nodes, kept_edges, kept_km
        Size of the part kept (the largest component by default).
    dropped_components, dropped_nodes, dropped_edges, dropped_km
        What was dropped (pieces that do not reach the main network).
    excluded_edges, excluded_km
        Edges removed by the walking rules (motorways, access=private, ...), by reason.
    """

    n_components: int = 1
    kept_nodes: int = 0
    kept_edges: int = 0
    kept_km: float = 0.0
    dropped_components: int = 0
    dropped_nodes: int = 0
    dropped_edges: int = 0
    dropped_km: float = 0.0
    excluded_edges: dict[str, int] = field(default_factory=dict)
    excluded_km: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for logs and ``lifecircle inspect``."""
        text = (
            f"{self.kept_nodes} nodes, {self.kept_edges} edges, {self.kept_km:.1f} km kept; "
            f"{self.n_components} connected components"
        )
        if self.dropped_components:
            text += (
                f", dropped {self.dropped_components} small pieces "
                f"({self.dropped_nodes} nodes, {self.dropped_km:.1f} km)"
            )
        return text


@dataclass
class WalkNetwork:
    """An undirected walking network in a projected CRS (metres).

    Nodes are numbered ``0 .. n_nodes-1``; edge ``e`` joins ``edge_u[e]`` and ``edge_v[e]`` and
    its geometry runs from ``u`` to ``v``.  Parallel edges and self-loops are allowed.

    Attributes
    ----------
    crs
        Projected CRS with metre units (a local UTM zone by default).
    node_x, node_y
        Node coordinates in ``crs`` (float64).
    node_id
        Identifier of each node in the source (OSM node id, GraphML id or a sequence).
    edge_u, edge_v
        Node indices of both ends (int64).
    edge_length
        Length in metres along the geometry (float64, > 0 except for degenerate edges).
    edge_geometry
        ``numpy`` object array of shapely LineStrings in ``crs``, oriented u → v.
    edge_attrs
        One row per edge: at least ``highway`` and ``name`` (may be missing), ``osmid`` when known.
    source
        Where the network came from (a path or a description).
    report
        Connectivity and exclusion report.
    """

    crs: pyproj.CRS
    node_x: np.ndarray
    node_y: np.ndarray
    node_id: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_geometry: np.ndarray
    edge_attrs: pd.DataFrame
    source: str = ""
    report: ComponentReport = field(default_factory=ComponentReport)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_x.shape[0])

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.edge_u.shape[0])

    @property
    def total_km(self) -> float:
        """Total edge length in kilometres."""
        return float(self.edge_length.sum() / 1000.0)

    @cached_property
    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Adjacency in CSR form: ``(indptr, neighbour, edge, length)``.

        For node ``i`` the half-edges are ``indptr[i]:indptr[i+1]``; each gives the neighbour node,
        the edge index and the edge length.  Every undirected edge appears twice (once from each
        end; a self-loop twice at its node).
        """
        n = self.n_nodes
        m = self.n_edges
        src = np.concatenate([self.edge_u, self.edge_v]).astype(np.int64)
        dst = np.concatenate([self.edge_v, self.edge_u]).astype(np.int64)
        eid = np.concatenate([np.arange(m), np.arange(m)]).astype(np.int64)
        order = np.argsort(src, kind="stable")
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
        return (
            indptr,
            dst[order],
            eid[order],
            self.edge_length[eid[order]].astype(np.float64),
        )

    @cached_property
    def _geometry_length(self) -> np.ndarray:
        """Planar length of each edge geometry (may differ from ``edge_length`` if supplied)."""
        return np.asarray(shapely.length(self.edge_geometry), dtype=np.float64)

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over the edge geometries (built once, on first use)."""
        return shapely.STRtree(self.edge_geometry)

    def edges_gdf(self) -> gpd.GeoDataFrame:
        """Edges as a GeoDataFrame in the network CRS (columns ``u, v, length`` + attributes)."""
        import geopandas as gpd

        frame = self.edge_attrs.reset_index(drop=True).copy()
        frame.insert(0, "u", self.edge_u)
        frame.insert(1, "v", self.edge_v)
        frame.insert(2, "length", self.edge_length)
        return gpd.GeoDataFrame(frame, geometry=list(self.edge_geometry), crs=self.crs)

    def nodes_gdf(self) -> gpd.GeoDataFrame:
        """Nodes as a GeoDataFrame in the network CRS (columns ``node_id``)."""
        import geopandas as gpd

        return gpd.GeoDataFrame(
            {"node_id": self.node_id},
            geometry=gpd.points_from_xy(self.node_x, self.node_y),
            crs=self.crs,
        )

    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` in the network CRS."""
        return (
            float(self.node_x.min()),
            float(self.node_y.min()),
            float(self.node_x.max()),
            float(self.node_y.max()),
        )

    def bounds_wgs84(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` in WGS-84."""
        tr = pyproj.Transformer.from_crs(self.crs, 4326, always_xy=True)
        x0, y0, x1, y1 = tr.transform_bounds(*self.bounds())
        return (float(x0), float(y0), float(x1), float(y1))

    def subnetwork(self, edges: np.ndarray, *, label: str = "part") -> WalkNetwork:
        """The sub-network of the given edges (ascending indices) and their end nodes.

        The relative order of nodes, edges and half-edges is kept, so that every tie in snapping
        and in the search breaks the same way as in the whole network.
        """
        edges = np.asarray(edges, dtype=np.int64)
        nodes = np.unique(np.concatenate([self.edge_u[edges], self.edge_v[edges]]))
        remap = np.full(self.n_nodes, -1, dtype=np.int64)
        remap[nodes] = np.arange(nodes.size, dtype=np.int64)
        return WalkNetwork(
            crs=self.crs,
            node_x=self.node_x[nodes],
            node_y=self.node_y[nodes],
            node_id=self.node_id[nodes],
            edge_u=remap[self.edge_u[edges]],
            edge_v=remap[self.edge_v[edges]],
            edge_length=self.edge_length[edges],
            edge_geometry=self.edge_geometry[edges],
            edge_attrs=self.edge_attrs.iloc[edges].reset_index(drop=True),
            source=f"{self.source} ({label} of {edges.size} edges)",
            report=self.report,
        )

    def describe(self) -> dict[str, Any]:
        """Counts for summaries."""
        return {
            "nodes": self.n_nodes,
            "edges": self.n_edges,
            "km": round(self.total_km, 3),
            "crs": self.crs.to_string(),
            "components": self.report.n_components,
            "dropped_components": self.report.dropped_components,
            "dropped_km": round(self.report.dropped_km, 3),
        }

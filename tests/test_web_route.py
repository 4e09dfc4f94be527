"""Walking routes and nearest-outlet searches (lifecircle.access.route)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from lifecircle.access import compute_access
from lifecircle.access.route import NetworkRouter, walking_route
from lifecircle.errors import InputError
from lifecircle.testing import SYNTHETIC_CRS, line_network, network_from_polylines


def test_route_along_a_line_closed_form() -> None:
    net = line_network([(0, 0), (100, 0), (100, 100)])
    r = walking_route(net, (10, 5), (100, 60))
    assert r.distance_m == pytest.approx(5 + 90 + 60)
    assert list(r.geometry.coords) == [(10, 5), (10, 0), (100, 0), (100, 60)]
    assert r.origin_access_m == 5 and r.destination_access_m == 0
    # the drawn route is exactly the walk
    assert r.geometry.length == pytest.approx(r.distance_m)


def test_two_feet_on_one_edge_walk_straight_along_it() -> None:
    net = line_network([(0, 0), (100, 0)])
    r = walking_route(net, (70, 3), (20, -4))
    assert r.distance_m == pytest.approx(3 + 50 + 4)
    assert list(r.geometry.coords) == [(70, 3), (70, 0), (20, 0), (20, -4)]


def test_route_backwards_over_curved_edges() -> None:
    # an L-shaped edge drawn v→u from the walker's side, then a straight one
    net = network_from_polylines([[(0, 0), (0, 50), (50, 50)], [(50, 50), (150, 50)]], shift=False)
    r = walking_route(net, (120, 55), (0, 10))
    assert r.distance_m == pytest.approx(5 + 70 + 50 + 40)
    assert list(r.geometry.coords) == [(120, 55), (120, 50), (50, 50), (0, 50), (0, 10)]


def test_the_shorter_way_round_a_loop() -> None:
    # a square block 100 m a side; the point is near one corner
    square = [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]
    net = network_from_polylines([[square[i], square[i + 1]] for i in range(4)], shift=False)
    r = walking_route(net, (10, -2), (0, 90))
    assert r.distance_m == pytest.approx(2 + 10 + 90)
    assert list(r.geometry.coords) == [(10, -2), (10, 0), (0, 0), (0, 90)]


def test_unsnappable_points_and_cutoff() -> None:
    net = line_network([(0, 0), (100, 0)])
    with pytest.raises(InputError, match="no walkable street"):
        walking_route(net, (50, 1000), (10, 0))
    with pytest.raises(InputError, match="destination"):
        walking_route(net, (50, 0), (10, 1000))
    with pytest.raises(InputError, match="farther than"):
        walking_route(net, (0, 0), (100, 0), cutoff_m=50)


def test_nearest_by_group_with_ties_by_index() -> None:
    net = line_network([(0, 0), (100, 0), (200, 0)])
    router = NetworkRouter(net)
    xs = np.array([150.0, 50.0, 150.0, 190.0])
    snap = router.snap(xs, np.zeros(4))
    targets = router.targets(snap.edge, snap.offset, snap.access_m, np.array([0, 1, 0, 1]))
    tree, found, dist = router.nearest(100.0, 0.0, targets, k=3, cutoff_m=1000.0)
    assert found.tolist() == [0, 1, 2] and dist.tolist() == [50.0, 50.0, 50.0]
    _, found, dist = router.nearest(100.0, 0.0, targets, k=5, cutoff_m=1000.0, groups=[1])
    assert found.tolist() == [1, 3] and dist.tolist() == [50.0, 90.0]
    _, found, _ = router.nearest(100.0, 0.0, targets, k=5, cutoff_m=60.0, groups=[1])
    assert found.tolist() == [1]
    _, found, _ = router.nearest(100.0, 0.0, targets, k=5, cutoff_m=1000.0, groups=[7])
    assert found.size == 0
    path = router.path(tree, int(snap.edge[3]), float(snap.offset[3]))
    assert path.tolist() == [[100.0, 0.0], [190.0, 0.0]]


def _grid(n: int = 6, step: float = 100.0) -> list[list[tuple[float, float]]]:
    lines = []
    for i in range(n + 1):
        for j in range(n):
            lines.append([(j * step, i * step), ((j + 1) * step, i * step)])
            lines.append([(i * step, j * step), (i * step, (j + 1) * step)])
    return lines


def test_nearest_agrees_with_compute_access_and_routes_measure_the_walk() -> None:
    rng = np.random.default_rng(7)
    net = network_from_polylines(_grid())
    ox, oy = 500_000.0, 3_790_000.0

    def points(n: int) -> np.ndarray:
        return rng.uniform(0, 600, size=(n, 2)) + np.array([ox, oy])

    res_xy, out_xy = points(25), points(40)
    cats = np.array(["pharmacy", "bank"])[rng.integers(0, 2, size=40)]
    residences = gpd.GeoDataFrame(
        {"residence_id": [f"r{i}" for i in range(25)]},
        geometry=shapely.points(res_xy),
        crs=SYNTHETIC_CRS,
    )
    outlets = gpd.GeoDataFrame(
        {"outlet_id": [f"o{i}" for i in range(40)], "category": cats},
        geometry=shapely.points(out_xy),
        crs=SYNTHETIC_CRS,
    )
    result = compute_access(
        net, outlets, residences, categories=["pharmacy", "bank"], bands_min=[30], k=3
    ).to_pandas()
    router = NetworkRouter(net)
    snap = router.snap(out_xy[:, 0], out_xy[:, 1])
    group = (cats == "bank").astype(np.int64)
    targets = router.targets(snap.edge, snap.offset, snap.access_m, group)
    for row in result.itertuples():
        i = int(row.residence_id[1:])
        g = 0 if row.category == "pharmacy" else 1
        tree, found, dist = router.nearest(*res_xy[i], targets, k=3, cutoff_m=2100.0, groups=[g])
        assert dist.tolist() == pytest.approx(list(row.knn_m), abs=1e-9)
        assert [f"o{j}" for j in found] == list(row.knn_outlet_ids)
        for j, d in zip(found, dist, strict=True):
            path = router.path(tree, int(snap.edge[j]), float(snap.offset[j]))
            walk = shapely.LineString(np.vstack([res_xy[i], path, out_xy[j]]))
            assert walk.length == pytest.approx(d, abs=1e-6)


@pytest.fixture(scope="module")
def sample_router() -> NetworkRouter:
    from lifecircle.datasets import get_path
    from lifecircle.ingest import read_network

    return NetworkRouter(read_network(get_path("helsinki")))


def _random_points(router: NetworkRouter, seed: int, n: int) -> np.ndarray:
    x0, y0, x1, y1 = router.network.bounds()
    return np.random.default_rng(seed).uniform([x0, y0], [x1, y1], size=(n, 2))


def test_router_on_the_sample_city_matches_full_searches(sample_router: NetworkRouter) -> None:
    router = sample_router
    pts = _random_points(router, 3, 30)
    snap = router.snap(pts[:, 0], pts[:, 1])
    ok = snap.ok
    targets = router.targets(snap.edge, snap.offset, snap.access_m)
    origin = pts[np.flatnonzero(ok)[0]]
    full = router.search(*origin, cutoff_m=5000.0)
    expected = router.distances(full, snap.edge, snap.offset, snap.access_m)
    tree, found, dist = router.nearest(*origin, targets, k=5, cutoff_m=5000.0)
    order = np.lexsort((np.arange(expected.size), expected))[:5]
    assert found.tolist() == order.tolist()
    assert dist.tolist() == pytest.approx(expected[order].tolist(), abs=1e-9)
    for j, d in zip(found, dist, strict=True):
        path = router.path(tree, int(snap.edge[j]), float(snap.offset[j]))
        walk = shapely.LineString(np.vstack([origin, path, pts[j]]))
        assert walk.length == pytest.approx(d, rel=1e-6)
    lonlat = router.path(tree, int(snap.edge[found[0]]), float(snap.offset[found[0]]), wgs84=True)
    assert np.all((lonlat[:, 0] > 24.9) & (lonlat[:, 0] < 25.0) & (lonlat[:, 1] > 60.1))


def test_routes_wgs84_in_one_call_equal_the_paths_one_by_one(
    sample_router: NetworkRouter,
) -> None:
    router = sample_router
    net = router.network
    pts = _random_points(router, 11, 60)
    snap = router.snap(pts[:, 0], pts[:, 1])
    ok = np.flatnonzero(snap.ok)
    targets = router.targets(snap.edge, snap.offset, snap.access_m)
    origin = pts[ok[0]]
    tree, found, _ = router.nearest(*origin, targets, k=8, cutoff_m=5000.0)
    assert found.size == 8
    to_wgs = pyproj.Transformer.from_crs(net.crs, 4326, always_xy=True)
    lonlat = np.column_stack(to_wgs.transform(pts[:, 0], pts[:, 1]))
    o = lonlat[ok[0]]
    coords, bounds = router.routes_wgs84(
        tree, snap.edge[found], snap.offset[found], (o[0], o[1]), lonlat[found]
    )
    assert bounds.size == found.size + 1 and bounds[-1] == len(coords)
    for r, j in enumerate(found):
        path = router.path(tree, int(snap.edge[j]), float(snap.offset[j]), wgs84=True)
        expected = np.round(np.vstack([o, path, lonlat[j]]), 7)
        keep = np.r_[True, np.any(expected[1:] != expected[:-1], axis=1)]
        got = coords[bounds[r] : bounds[r + 1]]
        assert got.shape[0] >= 2
        np.testing.assert_array_equal(got, expected[keep])

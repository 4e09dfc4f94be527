"""Closed-form cases of the access engine on tiny synthetic networks (metres)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from lifecircle.access import compute_access, walk_speed_m_per_min
from lifecircle.errors import CRSError, InputError
from lifecircle.network import WalkNetwork
from lifecircle.testing import line_network, network_from_polylines

CATS = ["a", "b", "empty"]
NAMES = {"a": "甲", "b": "乙", "empty": "空"}


def layer(rows: list[tuple], cols: list[str], crs: pyproj.CRS) -> gpd.GeoDataFrame:
    frame = pd.DataFrame([r[:-2] for r in rows], columns=cols)
    pts = [shapely.Point(r[-2], r[-1]) for r in rows]
    return gpd.GeoDataFrame(frame, geometry=pts, crs=crs)


def run(net: WalkNetwork, outlets: list[tuple], residences: list[tuple], **kw):
    out = layer(outlets, ["outlet_id", "category"], net.crs)
    res = layer(residences, ["residence_id"], net.crs)
    kw.setdefault("walk_speed", 3.6)  # 60 m/min: minutes = metres / 60
    kw.setdefault("bands_min", (5, 10, 15))
    result = compute_access(net, out, res, categories=CATS, category_names=NAMES, **kw)
    return result, result.to_pandas().set_index(["residence_id", "category"])


@pytest.fixture()
def straight() -> WalkNetwork:
    return line_network([(0, 0), (100, 0), (200, 0)])


def test_feet_on_different_edges_add_access_legs_and_partial_edges(straight):
    _, t = run(straight, [("o1", "a", 170, -3)], [("r1", 30, 4)])
    assert t.loc[("r1", "a"), "nearest_m"] == pytest.approx(4 + 140 + 3)
    assert t.loc[("r1", "a"), "nearest_min"] == pytest.approx(147 / 60)
    assert t.loc[("r1", "a"), "nearest_outlet_id"] == "o1"


def test_both_feet_on_one_edge_walk_directly(straight):
    _, t = run(straight, [("o1", "a", 80, 2)], [("r1", 30, 4)])
    assert t.loc[("r1", "a"), "nearest_m"] == pytest.approx(4 + 50 + 2)


def test_point_exactly_on_a_node(straight):
    _, t = run(straight, [("o1", "a", 170, 0)], [("r1", 100, 0)])
    assert t.loc[("r1", "a"), "nearest_m"] == pytest.approx(70)


def test_shorter_way_round_a_loop():
    square = network_from_polylines(
        [[(0, 0), (100, 0)], [(100, 0), (100, 100)], [(100, 100), (0, 100)], [(0, 100), (0, 0)]],
        shift=False,
    )
    # residence near (10,0) on the bottom edge, outlet on the left edge at (0,80):
    # via node (0,0): 10 + 80 = 90; the other way round: 90 + 100 + 100 + 20 = 310
    _, t = run(square, [("o1", "a", -1, 80)], [("r1", 10, 1)])
    assert t.loc[("r1", "a"), "nearest_m"] == pytest.approx(1 + 90 + 1)


def test_same_edge_outlet_reached_round_a_shortcut_when_shorter():
    # a 500 m detour between (0,0) and (100,0) and a straight 100 m street beside it; the
    # residence and the outlet are both on the detour, next to its two ends: walking along the
    # detour is 500 m, round by the straight street 1 + 100 + 1
    net = network_from_polylines(
        [[(0, 0), (0, 200), (100, 200), (100, 0)], [(0, 0), (100, 0)]], shift=False
    )
    _, t = run(net, [("o1", "a", -1, 1)], [("r1", 101, 1)])
    assert t.loc[("r1", "a"), "nearest_m"] == pytest.approx(1 + 1 + 100 + 1 + 1)
    assert t.loc[("r1", "a"), "n_15min"] == 1


def test_outlet_on_a_loop_street_is_counted_once():
    # a loop street leaving (100,0) and coming back to it: one edge whose two ends are one node
    net = network_from_polylines(
        [[(0, 0), (100, 0)], [(100, 0), (150, 50), (200, 0), (150, -50), (100, 0)]], shift=False
    )
    assert (net.edge_u == net.edge_v).sum() == 1
    _, t = run(net, [("o1", "a", 201, 0)], [("r1", 10, 1)])
    loop = 2 * math.hypot(50, 50)
    assert t.loc[("r1", "a"), "nearest_m"] == pytest.approx(1 + 90 + loop + 1)
    assert t.loc[("r1", "a"), "n_15min"] == 1
    assert list(t.loc[("r1", "a"), "knn_outlet_ids"]) == ["o1"]


def test_two_gates_on_the_outlets_edge_count_it_once():
    net = line_network([(0, 0), (500, 0), (1000, 0)])
    crs = net.crs
    out = layer([("o1", "a", 480, 2), ("o2", "a", 520, 2)], ["outlet_id", "category"], crs)
    res = layer([("r1", 250, 30)], ["residence_id"], crs)
    gates = layer([("r1", 100, 1), ("r1", 400, 1)], ["residence_id"], crs)
    t = compute_access(
        net, out, res, entrances=gates, categories=["a"], category_names={"a": "甲"}, walk_speed=3.6
    ).to_pandas()
    assert list(t.loc[0, "knn_m"]) == pytest.approx([1 + 80 + 2, 1 + 120 + 2])
    assert t.loc[0, "n_15min"] == 2


def test_disconnected_piece_is_unreachable_not_a_distance():
    net = network_from_polylines([[(0, 0), (100, 0)], [(5000, 0), (5100, 0)]], shift=False)
    _, t = run(net, [("o1", "a", 5050, 0)], [("r1", 50, 0)])
    row = t.loc[("r1", "a")]
    assert math.isnan(row["nearest_m"]) and math.isnan(row["nearest_min"])
    assert pd.isna(row["nearest_outlet_id"])
    assert row["n_15min"] == 0  # the 业态 exists in the city, none reached
    assert list(row["knn_m"]) == []


def test_ties_counts_and_k_nearest(straight):
    outlets = [("o2", "a", 130, 0), ("o1", "a", 70, 0), ("o3", "a", 190, 0), ("o4", "b", 0, 0)]
    _, t = run(straight, outlets, [("r1", 100, 0)], k=2)
    row = t.loc[("r1", "a")]
    assert row["nearest_m"] == pytest.approx(30)
    assert list(row["knn_m"]) == pytest.approx([30, 30])
    assert sorted(row["knn_outlet_ids"]) == ["o1", "o2"]
    assert row["n_5min"] == 3  # 30, 30, 90 m all within 300 m
    assert t.loc[("r1", "b"), "nearest_m"] == pytest.approx(100)


def test_outlet_beyond_largest_band_is_missing(straight):
    # bands of 1 and 2 minutes at 60 m/min: 60 m and 120 m
    _, t = run(
        straight, [("near", "a", 150, 0), ("far", "b", 200, 0)], [("r1", 40, 0)], bands_min=(1, 2)
    )
    assert t.loc[("r1", "a"), "nearest_m"] == pytest.approx(110)
    assert t.loc[("r1", "a"), "n_1min"] == 0
    assert t.loc[("r1", "a"), "n_2min"] == 1
    assert math.isnan(t.loc[("r1", "b"), "nearest_m"])  # 160 m > 120 m
    assert t.loc[("r1", "b"), "n_2min"] == 0


def test_category_without_outlets_is_missing_not_zero(straight):
    _, t = run(straight, [("o1", "a", 150, 0)], [("r1", 40, 0)])
    row = t.loc[("r1", "empty")]
    assert math.isnan(row["nearest_m"])
    assert pd.isna(row["n_5min"]) and pd.isna(row["n_15min"])
    assert row["category_zh"] == "空"


def test_entrances_start_at_the_best_gate():
    net = line_network([(0, 0), (500, 0), (1000, 0)])
    crs = net.crs
    out = layer([("o1", "a", 950, 0)], ["outlet_id", "category"], crs)
    res = layer([("r1", 100, 20)], ["residence_id"], crs)
    gates = layer([("r1", 100, 1), ("r1", 800, 1)], ["residence_id"], crs)
    t = compute_access(
        net, out, res, entrances=gates, categories=["a"], category_names={"a": "甲"}, walk_speed=3.6
    ).to_pandas()
    assert t.loc[0, "nearest_m"] == pytest.approx(1 + 150)
    t0 = compute_access(
        net, out, res, categories=["a"], category_names={"a": "甲"}, walk_speed=3.6
    ).to_pandas()
    assert t0.loc[0, "nearest_m"] == pytest.approx(20 + 850)


def test_points_beyond_snap_distance_are_excluded_with_reason(straight):
    result, t = run(
        straight,
        [("o1", "a", 150, 0), ("o2", "a", 150, 900)],
        [("r1", 40, 0), ("r2", 40, 600)],
        max_snap_m=250,
    )
    assert set(t.index.get_level_values(0)) == {"r1"}
    ex = result.excluded.set_index("id")
    assert set(ex.index) == {"r2", "o2"}
    assert "250 m" in ex.loc["r2", "reason"]
    assert result.residences.set_index("residence_id").loc["r2", "status"] != "ok"


def test_network_in_degrees_is_refused(straight):
    deg = WalkNetwork(**{**straight.__dict__, "crs": pyproj.CRS.from_epsg(4326)})
    deg.__dict__.pop("csr", None)
    with pytest.raises(CRSError, match="not in metres"):
        run(deg, [("o1", "a", 150, 0)], [("r1", 40, 0)])


def test_layer_without_crs_is_refused(straight):
    out = layer([("o1", "a", 150, 0)], ["outlet_id", "category"], straight.crs).set_crs(
        None, allow_override=True
    )
    res = layer([("r1", 40, 0)], ["residence_id"], straight.crs)
    with pytest.raises(CRSError, match="no CRS"):
        compute_access(straight, out, res, categories=CATS, category_names=NAMES)


def test_walk_speed_presets_and_errors():
    assert walk_speed_m_per_min("elderly") == 50.0
    assert walk_speed_m_per_min(4.2) == 70.0
    with pytest.raises(InputError, match="preset"):
        walk_speed_m_per_min("fast")
    with pytest.raises(InputError, match=r"0\.5–10"):
        walk_speed_m_per_min(42)


def test_counts_are_consistent_with_knn(straight):
    rng = np.random.default_rng(1)
    outlets = [
        (f"o{i}", "a" if i % 2 else "b", float(x), float(y))
        for i, (x, y) in enumerate(
            zip(rng.uniform(0, 200, 30), rng.uniform(-5, 5, 30), strict=False)
        )
    ]
    residences = [
        (f"r{i}", float(x), float(y))
        for i, (x, y) in enumerate(
            zip(rng.uniform(0, 200, 20), rng.uniform(-5, 5, 20), strict=False)
        )
    ]
    _, t = run(straight, outlets, residences, k=30, bands_min=(1, 2, 3))
    for (_, cat), row in t.iterrows():
        if cat == "empty":
            continue
        d = np.asarray(row["knn_m"])
        assert np.all(np.diff(d) >= 0)
        assert row["n_1min"] == int((d <= 60).sum())
        assert row["n_3min"] == d.size


def test_walking_area_cuts_partial_edges_exactly():
    from lifecircle.access.isochrone import reached_segments

    # a cross: centre (0,0), arms of 300 m; start 10 m up the east arm, 5 m off it
    net = network_from_polylines(
        [[(0, 0), (300, 0)], [(0, 0), (-300, 0)], [(0, 0), (0, 300)], [(0, 0), (0, -300)]],
        shift=False,
    )
    segs = reached_segments(net, 10.0, 5.0, 105.0, max_snap_m=50)
    total = sum(s.length for s in segs)
    # budget 100 m after the 5 m access leg: east arm 10+100 -> [0, 110]; from the centre
    # 90 m left on each of the three other arms
    assert total == pytest.approx(110 + 3 * 90)
    union = shapely.union_all(segs)
    assert union.bounds == pytest.approx((-90, -90, 110, 90))


def test_walking_areas_polygons_grow_with_time():
    from lifecircle.access.isochrone import walking_areas

    # a cross joined at its centre (1000, 0)
    net = network_from_polylines(
        [
            [(0, 0), (1000, 0)],
            [(1000, 0), (2000, 0)],
            [(1000, -1000), (1000, 0)],
            [(1000, 0), (1000, 1000)],
        ]
    )
    pts = gpd.GeoDataFrame(
        {"id": ["p"]}, geometry=[shapely.Point(500_000 + 1000, 3_790_000)], crs=net.crs
    )
    areas = walking_areas(net, pts, id_column="id", minutes=(5, 10), walk_speed=3.6)
    assert list(areas["minutes"]) == [5.0, 10.0]
    assert areas["reached_km"].tolist() == pytest.approx([1.2, 2.4])
    metric = areas.to_crs(net.crs).geometry
    assert metric.iloc[1].contains(metric.iloc[0].buffer(-1))
    assert metric.iloc[0].area == pytest.approx(1200 * 50 + 4 * (np.pi * 25**2 / 4), rel=0.02)


def test_node_access_matches_closed_form(straight):
    from lifecircle.access import node_access

    out = layer([("o1", "a", 170, -3)], ["outlet_id", "category"], straight.crs)
    frame = node_access(straight, out, categories=["a", "b"], walk_speed=3.6, bands_min=(1, 5))
    a = frame[frame["category"] == "a"].set_index("x")["nearest_m"]
    assert a.loc[0.0] == pytest.approx(173) and a.loc[100.0] == pytest.approx(73)
    assert a.loc[200.0] == pytest.approx(33)
    assert frame[frame["category"] == "b"]["nearest_m"].isna().all()
    assert frame.loc[(frame["category"] == "a") & (frame["x"] == 200.0), "n_1min"].item() == 1


@pytest.mark.parametrize(
    ("n_lines", "extent"),
    # sparse: cells as large as the snap distance; dense: cells a quarter of it, so the search
    # goes out ring by ring and stops early
    [(120, 3000.0), (1500, 1000.0)],
)
def test_grid_snapping_equals_brute_force_nearest_edge(n_lines: int, extent: float):
    from lifecircle.access import snap_points
    from lifecircle.access._snap import _segment_grid

    rng = np.random.default_rng(7)
    lines = []
    for _ in range(n_lines):
        start = rng.uniform(0, extent, 2)
        steps = rng.normal(0, 80, (int(rng.integers(1, 6)), 2))
        lines.append([tuple(p) for p in np.vstack([start, start + np.cumsum(steps, axis=0)])])
    net = network_from_polylines(lines, shift=False)
    px, py = rng.uniform(-300, extent + 300, 3000), rng.uniform(-300, extent + 300, 3000)
    snap = snap_points(net, px, py, max_snap_m=120)
    cell = _segment_grid(net, 120)[10]
    assert (cell == 30.0) == (n_lines == 1500)
    pts = shapely.points(px, py)
    dmat = shapely.distance(pts[:, None], net.edge_geometry[None, :])
    nearest = dmat.min(axis=1)
    within = nearest <= 120
    assert np.array_equal(snap.ok, within)
    ok = snap.ok
    assert snap.access_m[ok] == pytest.approx(nearest[ok], abs=1e-6)
    chosen = dmat[np.flatnonzero(ok), snap.edge[ok]]
    assert chosen == pytest.approx(nearest[ok], abs=1e-6)
    geoms = net.edge_geometry[snap.edge[ok]]
    expect_along = shapely.line_locate_point(geoms, pts[ok])
    assert snap.offset[ok] == pytest.approx(expect_along, abs=1e-6)


def test_input_errors_survive_pickling_with_their_problems():
    import pickle

    from lifecircle.errors import NetworkError, Problem

    err = NetworkError([Problem("no walkable edges", file="a.gpkg", row=3, field="highway")], "net")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is NetworkError and back.problems == err.problems and str(back) == str(err)


def test_large_layers_snapped_in_two_threads_equal_one_pass():
    from lifecircle.access import snap_points
    from lifecircle.access._kernels import snap_grid
    from lifecircle.access._snap import _segment_grid

    rng = np.random.default_rng(11)
    lines = [[(i * 50.0, 0.0), (i * 50.0, 2000.0)] for i in range(41)]
    lines += [[(0.0, j * 50.0), (2000.0, j * 50.0)] for j in range(41)]
    net = network_from_polylines(lines, shift=False)
    px, py = rng.uniform(-50, 2050, 60_000), rng.uniform(-50, 2050, 60_000)
    snap = snap_points(net, px, py, max_snap_m=40)  # 60,000 points: two threads
    edge = np.empty(px.size, dtype=np.int64)
    along, dist, fx, fy = (np.empty(px.size) for _ in range(4))
    snap_grid(px, py, *_segment_grid(net, 40), 40.0, edge, along, dist, fx, fy)  # one pass
    assert np.array_equal(snap.edge, edge)
    ok = edge >= 0
    assert ok.sum() > 50_000
    assert np.array_equal(snap.access_m[ok], dist[ok])
    assert np.array_equal(snap.foot_x[ok], fx[ok]) and np.array_equal(snap.foot_y[ok], fy[ok])


def test_result_frames_are_built_on_use_and_pickled_built(straight):
    import pickle

    result, _ = run(straight, [("o1", "a", 170, -3)], [("r1", 30, 4)])
    assert callable(result.__dict__["_residences"])  # not built yet
    back = pickle.loads(pickle.dumps(result))
    for res in (back, result):
        assert res.residences.crs.to_epsg() == 4326
        assert res.residences["status"].tolist() == ["ok"]
        assert res.outlets["outlet_id"].tolist() == ["o1"]

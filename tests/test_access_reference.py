"""The access engine against an independent brute-force reference on the real Xi'an old town.

Network: the OSM GeoPackage read with :func:`lifecircle.ingest.network.read_network`.  Outlets: the
Baidu POIs (BD-09 → WGS-84), classified here from a few Baidu tags so that the test does not depend
on the taxonomy.  Residences: the ke.com / sofang.com 小区 of 西安 inside the network's box.  The
reference (tests/_reference.py) snaps by brute force and runs networkx Dijkstra on the graph split
at every foot; a seeded sample of residences is compared field by field within 0.5 m.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from _reference import (
    RefRow,
    RefSnap,
    compare_table,
    reference_distances,
    snap_brute,
    summarise,
)
from lifecircle.access import compute_access
from lifecircle.geo import to_wgs84
from lifecircle.ingest import read_network
from lifecircle.network import WalkNetwork

pytestmark = pytest.mark.shared_data

#: Baidu '大类;小类' tag → a test category code (not the project's taxonomy).
TAGS = {
    "购物;便利店": "convenience_store",
    "医疗;药店": "pharmacy",
    "丽人;美发": "hair_beauty",
    "生活服务;洗衣店": "laundry",
    "购物;超市": "supermarket",
    "医疗;诊所": "clinic",
}
AT_NODE = "at_node"  # synthetic outlets placed exactly on network nodes
NO_OUTLETS = "no_outlets"  # a category with no outlet at all
CATEGORIES = [*dict.fromkeys(TAGS.values()), AT_NODE, NO_OUTLETS]
NAMES = {c: c for c in CATEGORIES}
SPEED_KMH = 4.2  # 70 m/min
BANDS_MIN = (5.0, 10.0, 15.0)
BANDS_M = tuple(b * 70.0 for b in BANDS_MIN)
CUTOFF = BANDS_M[-1]
K = 3
MAX_SNAP = 250.0
TOL = 0.5  # metres
SAMPLE = 150
SEED = 20_240_601


@dataclass
class Case:
    """Inputs in the network CRS, the engine's table and the reference's answers."""

    net: WalkNetwork
    outlets: gpd.GeoDataFrame
    residences: gpd.GeoDataFrame
    table: pd.DataFrame
    result_residences: gpd.GeoDataFrame
    result_outlets: gpd.GeoDataFrame
    out_snap: RefSnap
    res_snap: RefSnap
    dists: dict[int, dict[int, float]]
    rows: dict[tuple[int, str], RefRow]
    sample: list[int]


def _xian_inputs(xian_dir: dict) -> tuple[WalkNetwork, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    net = read_network(xian_dir["gpkg"])
    x0, y0, x1, y1 = net.bounds_wgs84()

    poi = pd.read_csv(xian_dir["poi"], usecols=["uid", "tag", "lng_bd09", "lat_bd09"])
    poi = poi[poi["tag"].isin(TAGS)].reset_index(drop=True)
    lon, lat = to_wgs84(poi["lng_bd09"], poi["lat_bd09"], "bd09")
    outlets = gpd.GeoDataFrame(
        {"outlet_id": poi["uid"].astype(str), "category": poi["tag"].map(TAGS)},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    ).to_crs(net.crs)
    # outlets exactly on nodes: dead ends, through nodes and junctions
    rng = np.random.default_rng(SEED)
    degree = np.bincount(np.concatenate([net.edge_u, net.edge_v]), minlength=net.n_nodes)
    picks = np.concatenate(
        [
            rng.choice(np.flatnonzero(sel), 8, replace=False)
            for sel in (degree == 1, degree == 2, degree >= 3)
        ]
    )
    on_nodes = gpd.GeoDataFrame(
        {"outlet_id": [f"node{n}" for n in picks], "category": AT_NODE},
        geometry=gpd.points_from_xy(net.node_x[picks], net.node_y[picks]),
        crs=net.crs,
    )
    outlets = pd.concat([outlets, on_nodes], ignore_index=True)

    xq = pd.read_csv(xian_dir["xiaoqu"], usecols=["city", "source", "lng_bd09", "lat_bd09"])
    xq = xq[(xq["city"] == "西安") & xq["source"].isin(["ke.com", "sofang.com"])]
    xq = xq.dropna(subset=["lng_bd09", "lat_bd09"])
    lon, lat = to_wgs84(xq["lng_bd09"], xq["lat_bd09"], "bd09")
    inside = (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    residences = gpd.GeoDataFrame(
        {"residence_id": xq.index[inside].astype(str)},
        geometry=gpd.points_from_xy(lon[inside], lat[inside]),
        crs=4326,
    ).to_crs(net.crs)
    return net, outlets.reset_index(drop=True), residences.reset_index(drop=True)


def _snap(net: WalkNetwork, frame: gpd.GeoDataFrame) -> RefSnap:
    return snap_brute(
        net, frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(), max_snap_m=MAX_SNAP
    )


def _solve(
    net: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    o_snap: RefSnap,
    r_snap: RefSnap,
    sample: list[int],
) -> tuple[dict[int, dict[int, float]], dict[tuple[int, str], RefRow]]:
    # a little beyond the cutoff, to know which outlets sit within TOL of it
    dists = reference_distances(net, o_snap, r_snap, CUTOFF + 2 * TOL, which=sample)
    return dists, summarise(dists, outlets["category"].to_numpy(), CATEGORIES)


@pytest.fixture(scope="module")
def xian_case(xian_dir: dict) -> Case:
    net, outlets, residences = _xian_inputs(xian_dir)
    # drop points whose nearest edge is a genuine tie (the engine may pick either edge)
    o_snap = _snap(net, outlets)
    keep = ~o_snap.ambiguous
    outlets = outlets[keep].reset_index(drop=True)
    o_snap = RefSnap(
        *(getattr(o_snap, f)[keep] for f in ("edge", "offset", "access_m", "ambiguous"))
    )
    result = compute_access(
        net,
        outlets,
        residences,
        categories=CATEGORIES,
        category_names=NAMES,
        walk_speed=SPEED_KMH,
        bands_min=BANDS_MIN,
        k=K,
        max_snap_m=MAX_SNAP,
    )
    rng = np.random.default_rng(SEED)
    r_snap = _snap(net, residences)
    eligible = np.flatnonzero((r_snap.edge >= 0) & ~r_snap.ambiguous)
    sample = sorted(int(i) for i in rng.choice(eligible, SAMPLE, replace=False))
    dists, rows = _solve(net, outlets, o_snap, r_snap, sample)
    table = result.to_pandas().set_index(["residence_id", "category"])
    return Case(
        net,
        outlets,
        residences,
        table,
        result.residences,
        result.outlets,
        o_snap,
        r_snap,
        dists,
        rows,
        sample,
    )


def _compare(case: Case, which: list[int]) -> tuple[list[str], int]:
    """Every disagreement beyond TOL, and how many band counts were decided within TOL of a band."""
    dists = {r: case.dists[r] for r in which}
    return compare_table(
        case.table,
        case.residences["residence_id"].to_numpy(),
        case.outlets["outlet_id"].to_numpy(),
        case.outlets["category"].to_numpy(),
        case.out_snap.edge >= 0,
        dists,
        case.rows,
        CATEGORIES,
        BANDS_MIN,
        BANDS_M,
        K,
        SPEED_KMH * 1000 / 60,
        TOL,
    )


def test_network_and_inputs_are_the_real_old_town(xian_case: Case) -> None:
    net = xian_case.net
    assert net.n_nodes > 3000 and net.n_edges > 4000
    assert len(xian_case.residences) > 1000
    counts = xian_case.outlets["category"].value_counts()
    assert counts["hair_beauty"] > 500 and counts["laundry"] > 40
    # lengths are measured on the geometry, which the reference relies on
    assert np.allclose(shapely.length(net.edge_geometry), net.edge_length, atol=1e-6)


def test_snapping_matches_brute_force(xian_case: Case) -> None:
    """Edge choice, offset and access leg equal a distance-to-every-edge search."""
    for snap, frame in (
        (xian_case.res_snap, xian_case.result_residences),
        (xian_case.out_snap, xian_case.result_outlets),
    ):
        ok = (snap.edge >= 0) & ~snap.ambiguous
        assert (frame["status"].to_numpy() == "ok").sum() == (snap.edge >= 0).sum()
        np.testing.assert_allclose(frame["access_m"].to_numpy()[ok], snap.access_m[ok], atol=1e-6)
        # the offset can differ only where two edges are equally near (then the foot is equal)
        same_edge = frame["edge"].to_numpy()[ok] == snap.edge[ok]
        assert same_edge.mean() > 0.99
        np.testing.assert_allclose(
            frame["offset_m"].to_numpy()[ok][same_edge], snap.offset[ok][same_edge], atol=1e-6
        )


def test_sample_agrees_with_reference_within_half_a_metre(xian_case: Case) -> None:
    bad, boundary = _compare(xian_case, xian_case.sample)
    assert not bad, f"{len(bad)} disagreements, e.g.:\n" + "\n".join(bad[:15])
    # the comparison must actually exercise reached outlets in every band
    n_reached = sum(xian_case.rows[(r, "hair_beauty")].dists.size for r in xian_case.sample)
    assert n_reached > SAMPLE * 5
    assert boundary <= SAMPLE * len(CATEGORIES) * len(BANDS_M) // 100


def test_category_without_outlets_is_missing_everywhere(xian_case: Case) -> None:
    empty = xian_case.table.xs(NO_OUTLETS, level="category")
    assert empty["nearest_m"].isna().all() and empty["n_15min"].isna().all()


def test_residences_exactly_on_nodes(xian_case: Case) -> None:
    """Residences placed exactly on dead ends, through nodes and junctions."""
    net = xian_case.net
    degree = np.bincount(np.concatenate([net.edge_u, net.edge_v]), minlength=net.n_nodes)
    rng = np.random.default_rng(SEED + 1)
    outlet_nodes = [int(o[4:]) for o in xian_case.outlets["outlet_id"] if o.startswith("node")]
    picks = np.concatenate(
        [outlet_nodes[::4]]  # some on the very node of an outlet
        + [
            rng.choice(np.flatnonzero(sel), 4, replace=False)
            for sel in (degree == 1, degree == 2, degree >= 4)
        ]
    )
    residences = gpd.GeoDataFrame(
        {"residence_id": [f"node{n}" for n in picks]},
        geometry=gpd.points_from_xy(net.node_x[picks], net.node_y[picks]),
        crs=net.crs,
    )
    result = compute_access(
        net,
        xian_case.outlets,
        residences,
        categories=CATEGORIES,
        category_names=NAMES,
        walk_speed=SPEED_KMH,
        bands_min=BANDS_MIN,
        k=K,
        max_snap_m=MAX_SNAP,
    )
    assert np.allclose(result.residences["access_m"], 0.0, atol=1e-9)
    which = list(range(len(picks)))
    r_snap = _snap(net, residences)
    dists, rows = _solve(net, xian_case.outlets, xian_case.out_snap, r_snap, which)
    case = Case(
        net,
        xian_case.outlets,
        residences,
        result.to_pandas().set_index(["residence_id", "category"]),
        result.residences,
        result.outlets,
        xian_case.out_snap,
        r_snap,
        dists,
        rows,
        which,
    )
    bad, _ = _compare(case, which)
    assert not bad, "\n".join(bad[:15])
    # an outlet on the very node of a residence is at distance 0
    for n in outlet_nodes[::4]:
        assert case.table.loc[(f"node{n}", AT_NODE), "nearest_m"] == pytest.approx(0.0, abs=1e-9)
    assert sum(len(d) > 0 for d in dists.values()) >= len(picks) // 2


def test_entrances_start_at_the_best_gate_like_the_reference(xian_case: Case) -> None:
    """Residences with two or three gates (小区出入口) 10–60 m away: walks start at the best one."""
    net = xian_case.net
    rng = np.random.default_rng(SEED + 2)
    chosen = xian_case.sample[:20]
    base = xian_case.residences.iloc[chosen].reset_index(drop=True)
    owner = np.repeat(np.arange(len(chosen)), rng.integers(2, 4, len(chosen)))
    angle = rng.uniform(0, 2 * np.pi, owner.size)
    dist = rng.uniform(10, 60, owner.size)
    gx = base.geometry.x.to_numpy()[owner] + dist * np.cos(angle)
    gy = base.geometry.y.to_numpy()[owner] + dist * np.sin(angle)
    gates = gpd.GeoDataFrame(
        {"residence_id": base["residence_id"].to_numpy()[owner]},
        geometry=gpd.points_from_xy(gx, gy),
        crs=net.crs,
    )
    result = compute_access(
        net,
        xian_case.outlets,
        base,
        entrances=gates,
        categories=CATEGORIES,
        category_names=NAMES,
        walk_speed=SPEED_KMH,
        bands_min=BANDS_MIN,
        k=K,
        max_snap_m=MAX_SNAP,
    )
    g_snap = _snap(net, gates)
    assert (g_snap.edge >= 0).all() and not g_snap.ambiguous.any()
    members = {r: np.flatnonzero(owner == r).tolist() for r in range(len(chosen))}
    dists = reference_distances(net, xian_case.out_snap, g_snap, CUTOFF + 2 * TOL, gates=members)
    rows = summarise(dists, xian_case.outlets["category"].to_numpy(), CATEGORIES)
    bad, _ = compare_table(
        result.to_pandas().set_index(["residence_id", "category"]),
        base["residence_id"].to_numpy(),
        xian_case.outlets["outlet_id"].to_numpy(),
        xian_case.outlets["category"].to_numpy(),
        xian_case.out_snap.edge >= 0,
        dists,
        rows,
        CATEGORIES,
        BANDS_MIN,
        BANDS_M,
        K,
        SPEED_KMH * 1000 / 60,
        TOL,
    )
    assert not bad, "\n".join(bad[:15])
    # and the gates matter: some residence is nearer to some 业态 than from its own point
    own = xian_case.table.loc[base["residence_id"].tolist(), "nearest_m"].to_numpy()
    via = result.to_pandas().set_index(["residence_id", "category"])["nearest_m"]
    via = via.loc[base["residence_id"].tolist()].to_numpy()
    both = np.isfinite(own) & np.isfinite(via)
    assert (np.abs(own[both] - via[both]) > 1.0).any()

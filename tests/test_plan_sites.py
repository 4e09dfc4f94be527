"""Site planning end to end: coverage from the access engine, heuristic vs MIP, agreement with
compute_access, candidates, the files written for ``lifecircle plan``."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.access import compute_access
from lifecircle.errors import InputError
from lifecircle.plan import build_coverage, demand_weights
from lifecircle.plan.candidates import dedupe_candidates, generate_candidates, read_candidates
from lifecircle.plan.sites import SITE_COLUMNS, plan_sites
from lifecircle.testing import SYNTHETIC_CRS, network_from_polylines


def at(x: float, y: float = 0.0) -> shapely.Point:
    return shapely.Point(500_000 + x, 3_790_000 + y)


# ------------------------------------------------------------------ closed form, synthetic
@pytest.fixture(scope="module")
def street():
    """A 3 km street: homes at 100, 1500, 2900 m; a pharmacy at 200 m."""
    net = network_from_polylines([[(0, 0), (3000, 0)]])
    homes = gpd.GeoDataFrame(
        {"residence_id": ["a", "b", "c"], "households": [300, 500, 200]},
        geometry=[at(100, 10), at(1500, -20), at(2900, 5)], crs=SYNTHETIC_CRS,
    )  # fmt: skip
    shops = gpd.GeoDataFrame(
        {"outlet_id": ["s1"], "category": ["pharmacy"]}, geometry=[at(200, 3)], crs=SYNTHETIC_CRS
    )
    return net, homes, shops


def test_coverage_distances_are_walks_along_the_street(street):
    net, homes, _ = street
    sites = gpd.GeoDataFrame(
        {"site_id": ["x", "y"]}, geometry=[at(700, 30), at(2500, 0)], crs=SYNTHETIC_CRS
    )
    cov = build_coverage(net, sites, homes, radius_m=700, search_m=2000)
    ptr, dem, dist = cov.ptr, cov.demand, cov.distance_m
    # x (access 30 m) reaches a: 30 + 600 + 10 and b: 30 + 800 + 20; y reaches b and c
    assert dem[ptr[0] : ptr[1]].tolist() == [0, 1]
    assert dist[ptr[0] : ptr[1]] == pytest.approx([640.0, 850.0])
    assert dist[ptr[1] : ptr[2]] == pytest.approx([1020.0, 405.0])
    assert cov.matrix().toarray().tolist() == [[True, False], [False, False], [False, True]]


def test_sites_closed_form(street, tmp_path: Path):
    net, homes, shops = street
    plan = plan_sites(net, shops, homes, category="药店", p=1, spacing_m=100)
    s = plan.summary()
    assert s["category"] == "pharmacy" and s["band_min"] == 10.0 and s["radius_m"] == 700.0
    assert s["households_covered_before"] == 300.0  # a, by the existing pharmacy
    assert s["households_covered_after"] == 800.0  # b is the most to gain
    assert s["objective"] == 500.0 and s["gap"] == 0.0
    files = plan.write(tmp_path)
    sites = pd.read_csv(tmp_path / "sites.csv")
    assert sites.columns.tolist() == list(SITE_COLUMNS)
    assert sites["households_gained"].tolist() == [500.0]
    assert 110 < sites["lon"].iat[0] < 112 and 34 < sites["lat"].iat[0] < 35  # WGS-84
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    for key in ("households_covered_before", "households_covered_after", "objective", "bound",
                "gap", "method"):  # fmt: skip
        assert key in summary
    assert tmp_path / "sites.geojson" in files


def test_lscp_and_pmedian_through_plan_sites(street):
    net, homes, shops = street
    lscp = plan_sites(net, shops, homes, category="pharmacy", model="lscp", spacing_m=100)
    assert lscp.summary()["objective"] == 2.0  # b and c need one site each
    assert lscp.summary()["households_covered_after"] == 1000.0
    pm = plan_sites(net, shops, homes, category="pharmacy", model="pmedian", p=2, spacing_m=100)
    assert pm.solution.assignment["demand_id"].tolist().count("b") == 1
    assert pm.summary()["households_covered_after"] == 1000.0


def test_plan_sites_bad_input(street):
    net, homes, shops = street
    with pytest.raises(InputError, match="'加油站' is not a 业态"):
        plan_sites(net, shops, homes, category="加油站", p=1)
    with pytest.raises(InputError, match="model 'maxcover' is not known"):
        plan_sites(net, shops, homes, category="pharmacy", p=1, model="maxcover")
    with pytest.raises(InputError, match="needs p"):
        plan_sites(net, shops, homes, category="pharmacy")
    with pytest.raises(InputError, match="p = 50 new sites asked for, but there are only"):
        plan_sites(net, shops, homes, category="pharmacy", p=50, spacing_m=500)
    far = gpd.GeoDataFrame({"site_id": ["z"]}, geometry=[at(1500, 200)], crs=SYNTHETIC_CRS)
    with pytest.raises(InputError, match="no candidate site is within 70 m"):
        plan_sites(net, shops, homes, category="pharmacy", p=1, candidates=far, band_min=1)
    with pytest.raises(InputError, match="no capacity values"):
        plan_sites(net, shops, homes, category="pharmacy", p=1, use_capacities=True)


def test_generated_candidates_are_spaced_and_deduplicated():
    # two parallel sidewalks 4 m apart: one of each pair is dropped
    net = network_from_polylines([[(0, 0), (1000, 0)], [(0, 4), (1000, 4)], [(1000, 0), (1000, 4)]])
    sites = generate_candidates(net, spacing_m=100)
    pts = sites.to_crs(SYNTHETIC_CRS).geometry
    assert len(sites) == 11  # 10 on one sidewalk, 1 on the 4 m link (50.04 m from the last)
    d = np.array([[a.distance(b) for b in pts] for a in pts])
    assert (d[~np.eye(len(pts), dtype=bool)] >= 50).all()
    assert set(sites.columns) >= {"site_id", "floor_area", "rent", "capacity", "geometry"}
    # excluded areas and edge types
    park = shapely.box(500_000, 3_789_990, 500_500, 3_790_010)
    assert len(generate_candidates(net, 100, exclude=park)) == 6
    steps = network_from_polylines([[(0, 0), (300, 0)]])
    steps.edge_attrs["highway"] = ["steps"]
    assert len(generate_candidates(steps, 100)) == 0
    with pytest.raises(InputError, match="spacing must be a positive"):
        generate_candidates(net, 0)


def test_read_candidates_with_floor_area_rent_and_bad_rows(tmp_path: Path):
    good = tmp_path / "vacant.csv"
    good.write_text(
        "编号,名称,lon,lat,面积,租金,容量\n"
        "v1,临街铺面,108.9401,34.2601,85 m²,6000,\n"
        "v2,闲置用房,108.9452,34.2633,120,,400\n",
        encoding="utf-8",
    )
    sites = read_candidates(good)
    assert sites["site_id"].tolist() == ["v1", "v2"]
    assert sites["floor_area"].tolist() == [85.0, 120.0]
    assert sites["rent"].iloc[0] == 6000.0 and np.isnan(sites["rent"].iloc[1])
    assert np.isnan(sites["capacity"].iloc[0]) and sites["capacity"].iloc[1] == 400.0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "id,lon,lat,floor_area,rent\n"
        "a,108.94,34.26,-5,100\n"
        "a,108.94,34.26,big,100\n"
        "c,,34.26,10,100\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_candidates(bad)
    text = str(err.value)
    assert "floor_area '-5' is negative" in text and "'big' is not a number" in text
    assert "appears 2 times" in text and "row 3" in text
    again = dedupe_candidates(pd.concat([sites, sites.iloc[[0]]], ignore_index=True), 5.0)
    assert len(again) == 2


# ------------------------------------------------------------------------- Xi'an old town
@pytest.fixture(scope="module")
def xian(xian_town: tuple):
    net, outlets, residences = xian_town
    candidates = generate_candidates(net, spacing_m=120)
    return net, outlets, residences, candidates


@pytest.mark.parametrize(("category", "p"), [("breakfast", 5), ("wet_market", 8), ("laundry", 10)])
def test_xian_heuristic_reaches_98_percent_of_the_mip(xian, category, p):
    net, outlets, residences, candidates = xian
    mip = plan_sites(net, outlets, residences, category=category, p=p, candidates=candidates,
                     method="mip")  # fmt: skip
    heur = plan_sites(net, outlets, residences, category=category, p=p, candidates=candidates,
                      method="heuristic")  # fmt: skip
    assert mip.solution.status == "optimal"
    assert heur.solution.objective >= 0.98 * mip.solution.objective
    # the heuristic's bound is proven: never below the optimum
    assert heur.solution.bound >= mip.solution.objective * (1 - 1e-4) - 1e-6


def test_xian_coverage_agrees_with_the_access_engine(xian):
    """Add the chosen sites as outlets, recompute access: the same households are covered."""
    net, outlets, residences, candidates = xian
    plan = plan_sites(net, outlets, residences, category="breakfast", p=6, candidates=candidates)
    s = plan.summary()
    new = plan.sites.assign(
        outlet_id=["new-" + i for i in plan.sites["site_id"]], category="breakfast"
    )[["outlet_id", "category", "geometry"]]
    both = pd.concat([outlets[["outlet_id", "category", "geometry"]], new], ignore_index=True)
    weights = pd.Series(demand_weights(residences), index=residences["residence_id"].astype(str))

    def covered(outl: gpd.GeoDataFrame) -> float:
        acc = compute_access(
            net, outl, residences, categories=["breakfast"], category_names={"breakfast": "早餐店"},
            bands_min=[10.0],
        ).to_pandas()  # fmt: skip
        hit = acc["n_10min"].fillna(0) > 0
        return float(weights.reindex(acc.loc[hit, "residence_id"].astype(str)).sum())

    assert covered(outlets) == pytest.approx(s["households_covered_before"])
    assert covered(gpd.GeoDataFrame(both, crs=4326)) == pytest.approx(s["households_covered_after"])
    assert plan.sites["households_gained"].sum() == pytest.approx(s["objective"])

"""Blind spots by circle and district, the map layer, and the 1+N project list."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.assess import assess_city
from lifecircle.errors import InputError
from lifecircle.plan.blindspots import SUMMARY_COLUMNS, blind_spot_layer, blind_spot_summary
from lifecircle.plan.projects import CITY_COLUMNS, PROJECT_COLUMNS, project_list
from lifecircle.taxonomy import load_catalogue
from lifecircle.testing import SYNTHETIC_CRS, network_from_polylines


def at(x: float, y: float = 0.0) -> shapely.Point:
    return shapely.Point(500_000 + x, 3_790_000 + y)


@pytest.fixture(scope="module")
def town():
    """A 4 km street: circle W (homes at 200, 600 m) and E (3400, 3800 m); every basic 业态
    near W only, except the pharmacy, which is nowhere."""
    cat = load_catalogue()
    net = network_from_polylines([[(0, 0), (4000, 0)]])
    homes = gpd.GeoDataFrame(
        {"residence_id": ["w1", "w2", "e1", "e2"], "households": [100.0, 300.0, 200.0, 400.0],
         "population": [262.0, 786.0, 524.0, 1048.0]},
        geometry=[at(200, 10), at(600, 10), at(3400, 10), at(3800, 10)], crs=SYNTHETIC_CRS,
    )  # fmt: skip
    codes = [c for c in cat.codes("basic") if c != "pharmacy"]
    shops = gpd.GeoDataFrame(
        {"outlet_id": [f"o{i}" for i in range(len(codes))], "category": codes,
         "name": codes},
        geometry=[at(400, 5)] * len(codes), crs=SYNTHETIC_CRS,
    )  # fmt: skip
    mapping = pd.DataFrame({"residence_id": ["w1", "w2", "e1", "e2"], "circle_id": list("WWEE")})
    assessment = assess_city(net, shops, homes, mapping=mapping, city="示例")
    candidates = gpd.GeoDataFrame(
        {"site_id": ["v1", "v2", "v3"], "name": ["临街铺面", "闲置用房", "远处"],
         "floor_area": [80.0, 120.0, 50.0], "rent": [5000.0, 7000.0, 1000.0],
         "capacity": np.nan, "source": "layer"},
        geometry=[at(420, 8), at(3600, 8), at(2000, 8)], crs=SYNTHETIC_CRS,
    ).to_crs(4326)  # fmt: skip
    return assessment, candidates


def test_blind_spots_by_circle(town):
    assessment, _ = town
    out = blind_spot_summary(assessment.blind_spots, assessment.residences)
    assert out.columns.tolist() == ["circle_id", *SUMMARY_COLUMNS]
    ph = out.set_index(["circle_id", "category"])
    assert ph.loc[("W", "pharmacy"), "n_lacking"] == 2
    assert ph.loc[("W", "pharmacy"), "households_lacking"] == 400.0
    assert ph.loc[("W", "breakfast"), "n_lacking"] == 0
    assert ph.loc[("E", "breakfast"), "share_lacking"] == 1.0
    assert ph.loc[("E", "breakfast"), "households"] == 600.0


def test_blind_spots_by_district_boundaries(town):
    assessment, _ = town
    west = shapely.box(499_000, 3_789_000, 502_000, 3_791_000)
    east = shapely.box(502_000, 3_789_000, 505_000, 3_791_000)
    districts = gpd.GeoDataFrame({"name": ["西区", "东区"]}, geometry=[west, east],
                                 crs=SYNTHETIC_CRS)  # fmt: skip
    out = blind_spot_summary(assessment.blind_spots, assessment.residences, by="district",
                             districts=districts)  # fmt: skip
    assert set(out["district"]) == {"西区", "东区"}
    row = out.set_index(["district", "category"]).loc[("东区", "breakfast")]
    assert row["n_lacking"] == 2 and row["n_residences"] == 2
    with pytest.raises(InputError, match="no districts"):
        blind_spot_summary(assessment.blind_spots, assessment.residences, by="district")
    with pytest.raises(InputError, match="column 'street' is not on the residences"):
        blind_spot_summary(assessment.blind_spots, assessment.residences, by="street")


def test_blind_spot_layer_for_maps(town):
    assessment, _ = town
    layer = blind_spot_layer(assessment.blind_spots, assessment.residences, category="早餐店")
    assert layer.crs.to_epsg() == 4326
    assert sorted(layer["residence_id"]) == ["e1", "e2"]
    assert (layer["missing"] == "早餐店").all()
    every = blind_spot_layer(assessment.blind_spots, assessment.residences)
    assert every.set_index("residence_id").loc["w1", "missing_codes"].split(";")[0] == "pharmacy"


def test_project_list_per_circle_and_city(town, tmp_path: Path):
    assessment, candidates = town
    plan = project_list(assessment, candidates, categories=["pharmacy", "breakfast"])
    p = plan.projects
    assert p.columns.tolist() == list(PROJECT_COLUMNS)
    assert plan.city.columns.tolist() == list(CITY_COLUMNS)
    rows = p.set_index(["circle_id", "category"])
    # W lacks only the pharmacy: v1 (80 m², 5000) covers both homes
    w = rows.loc[("W", "pharmacy")]
    assert w["site_ids"] == "v1" and w["reaches_target"] and w["share_after"] == 1.0
    assert w["households_gained"] == 400.0 and w["floor_area_m2"] == 80.0 and w["rent"] == 5000.0
    # E lacks both; both projects use v2; ranked by households gained (a tie: by code)
    e = p.loc[p["circle_id"] == "E"]
    assert e["category"].tolist() == ["breakfast", "pharmacy"] and e["rank"].tolist() == [1, 2]
    assert (e["site_ids"] == "v2").all() and (e["households_gained"] == 600.0).all()
    city = plan.city.set_index("category")
    assert city.loc["pharmacy", "circles_missing"] == 2 and city.loc["pharmacy", "n_sites"] == 2
    assert (
        city.loc["pharmacy", "share_before"] == 0.0 and city.loc["pharmacy", "share_after"] == 1.0
    )
    assert city.loc["breakfast", "households_gained"] == 600.0
    assert set(plan.sites["site_id"]) == {"v1", "v2"}
    assert plan.sites.loc[plan.sites["site_id"] == "v1", "name"].iat[0] == "临街铺面"
    files = plan.write(tmp_path)
    assert {f.name for f in files} >= {"projects.csv", "city_plan.csv", "project_sites.csv"}


def test_project_out_of_reach_is_flagged(town):
    assessment, candidates = town
    far = candidates.iloc[[2]]  # 1.4 km from every home: nothing within 10 min
    plan = project_list(assessment, far, categories=["pharmacy"])
    assert not plan.projects["reaches_target"].any()
    assert (plan.projects["n_sites"] == 0).all()
    assert plan.projects["note"].str.contains("no candidate within the band").all()


def test_generated_candidates_by_default(town):
    assessment, _ = town
    plan = project_list(assessment, categories=["pharmacy"], spacing_m=200)
    assert plan.projects["reaches_target"].all()
    assert plan.projects["site_ids"].str.startswith("G").all()

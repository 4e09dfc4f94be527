"""assess_city end to end: a synthetic city (closed form) and the Xi'an old town (real data)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from lifecircle.assess import GRADES, NOT_GRADED, Assessment, assess_city, load_rulebook
from lifecircle.assess.grading import BLIND_SPOT_COLUMNS, EVIDENCE_COLUMNS, GRADE_COLUMNS
from lifecircle.assess.kpis import KPI_COLUMNS
from lifecircle.taxonomy import load_catalogue
from lifecircle.testing import network_from_polylines

SHIFT = (500_000.0, 3_790_000.0)
CORE = ["convenience_store", "breakfast", "fresh_grocery", "repair", "pharmacy", "post_express"]


def pt(x: float, y: float = 0.0) -> shapely.Point:
    return shapely.Point(x + SHIFT[0], y + SHIFT[1])


@pytest.fixture(scope="module")
def town() -> dict:
    """A 4 km street: the west end (x < 1000) has the core set, the east end has nothing."""
    net = network_from_polylines([[(0, 0), (4000, 0)]])
    residences = gpd.GeoDataFrame(
        {
            "residence_id": ["w1", "w2", "e1", "e2"],
            "name": ["西一", "西二", "东一", "东二"],
            "households": [100.0, 200.0, 300.0, 400.0],
            "population": [262.0, 524.0, 786.0, 1048.0],
        },
        geometry=[pt(100), pt(300), pt(3600), pt(3800)],
        crs=net.crs,
    )
    outlets = gpd.GeoDataFrame(
        {
            "outlet_id": [f"o{i}" for i in range(len(CORE))],
            "name": CORE,
            "category": CORE,
            "is_chain": [True, False, False, False, True, False],
        },
        geometry=[pt(200)] * len(CORE),
        crs=net.crs,
    )
    mapping = pd.DataFrame(
        {"residence_id": ["w1", "w2", "e1", "e2"], "circle_id": ["W", "W", "E", "E"]}
    )
    return {"net": net, "residences": residences, "outlets": outlets, "mapping": mapping}


@pytest.fixture(scope="module")
def assessed(town) -> Assessment:
    return assess_city(
        town["net"], town["outlets"], town["residences"], city="小镇", mapping=town["mapping"]
    )


def test_assessment_tables_follow_the_contract(assessed):
    a = assessed
    assert a.city == "小镇"
    assert tuple(a.grades.columns) == GRADE_COLUMNS
    assert tuple(a.evidence.columns) == EVIDENCE_COLUMNS
    assert tuple(a.blind_spots.columns) == BLIND_SPOT_COLUMNS
    assert tuple(a.kpis.columns) == KPI_COLUMNS
    assert {"residence_id", "name", "households", "population", "circle_id", "status"} <= set(
        a.residences.columns
    )
    assert {"circle_id", "name", "n_residences", "households", "population"} <= set(
        a.circles.columns
    )
    assert a.residences.crs.to_epsg() == 4326 and a.circles.crs.to_epsg() == 4326
    assert a.outlets.crs.to_epsg() == 4326
    assert {"residence_id", "category", "nearest_min", "n_5min", "n_10min", "n_15min"} <= set(
        a.access.columns
    )
    assert a.satisfaction is None and a.evaluation is None
    assert len(a.evidence) == 2 * len(load_catalogue())


def test_grades_of_the_synthetic_town(assessed):
    g = assessed.grades.set_index("circle_id")
    # W: every household reaches the core set within 100–200 m, but it has 6 basic types
    # (needs 8 for 基础型 under the default rulebook)
    assert g.loc["W", "grade"] == NOT_GRADED
    assert g.loc["W", "core_missing"] == ""
    assert g.loc["W", "missing_for_next_grade"] == "缺: 基本保障类业态 6/8"
    assert g.loc["W", "n_basic"] == 6 and g.loc["W", "households"] == 300.0
    assert g.loc["E", "n_basic"] == 0
    assert g.loc["E", "core_missing"].count(";") == 5


def test_snapshot_records_what_was_used(town, tmp_path: Path):
    data = tmp_path / "outlets.csv"
    data.write_text("outlet_id\n1\n", encoding="utf-8")
    a = assess_city(
        town["net"],
        town["outlets"],
        town["residences"],
        mapping=town["mapping"],
        rulebook="beijing_8",
        walk_speed="elderly",
        input_files=[data],
    )
    snap = a.snapshot
    assert snap["inputs"] == {str(data): hashlib.sha256(b"outlet_id\n1\n").hexdigest()}
    book = load_rulebook(preset="beijing_8")
    assert snap["rulebook"]["version"] == book.version
    assert snap["rulebook"]["sha256"] == book.sha256 and snap["rulebook"]["provisional"]
    assert snap["catalogue"]["version"] == load_catalogue().version
    assert snap["lifecircle_version"]
    assert snap["date"][:2] == "20" and "T" in snap["date"]
    params = snap["parameters"]
    assert params["walk_speed_m_per_min"] == 50.0 and params["bands_min"] == [5.0, 10.0, 15.0]
    assert params["circles_from"] == "mapping" and params["coverage_share"] == 1.0
    assert snap["counts"]["circles"] == 2 and sum(snap["counts"]["grades"].values()) == 2


def test_survey_and_evaluation_feed_the_grades(town):
    from lifecircle.assess.evaluation import load_indicator_sheet

    sheet = load_indicator_sheet()
    full = {i.id: [i.max if i.scoring == "scale" else 1] * 2 for i in sheet.indicators}
    scores = pd.DataFrame({"circle_id": ["W", "E"], **full})
    answers = pd.DataFrame(
        {"circle_id": ["W"] * 10 + ["E"] * 4, "overall": ["满意"] * 9 + ["不满意"] + ["一般"] * 4}
    )
    # a lenient rulebook so that W reaches the top on 业态 and the voice decides
    lenient = {
        "grade": {
            g: {"must_have": [], "min_basic": 0, "min_quality": 0, "evaluation_min": e}
            for g, e in zip(GRADES, (60, 70, 85), strict=True)
        }
    }
    book = load_rulebook(overrides=lenient)
    a = assess_city(
        town["net"],
        town["outlets"],
        town["residences"],
        mapping=town["mapping"],
        rulebook=book,
        responses=answers,
        evaluator_scores=scores,
    )
    sat = a.satisfaction.set_index("circle_id")
    assert sat.loc["W", "rate"] == pytest.approx(0.9) and sat.loc["city", "n_valid"] == 14
    assert a.evaluation.set_index("circle_id").loc["W", "score"] == pytest.approx(100.0)
    g = a.grades.set_index("circle_id")
    assert g.loc["W", "grade"] == "品质型" and g.loc["W", "satisfaction_rate"] == pytest.approx(0.9)
    assert g.loc["E", "grade"] == "提升型"
    assert g.loc["E", "missing_for_next_grade"] == "缺: 满意度 0% < 90%"
    city_rate = a.kpis.set_index(["scope", "kpi"]).loc[("city", "satisfaction_rate")]
    assert city_rate["value"] == pytest.approx(9 / 14) and not city_rate["meets"]


def test_boundaries_with_districts_give_district_kpis(town):
    polys = gpd.GeoDataFrame(
        {"circle_id": ["W", "E"], "name": ["西圈", "东圈"], "district": ["西区", "东区"]},
        geometry=[shapely.box(*pt(0, -50).coords[0], *pt(1000, 50).coords[0]),
                  shapely.box(*pt(3000, -50).coords[0], *pt(4000, 50).coords[0])],
        crs=town["net"].crs,
    )  # fmt: skip
    a = assess_city(town["net"], town["outlets"], town["residences"], circles=polys)
    assert a.grades["name"].tolist() == ["西圈", "东圈"]
    assert {"city", "西区", "东区"} <= set(a.kpis["scope"])
    assert a.snapshot["parameters"]["circles_from"] == "boundary"


def test_automatic_circles_by_default(town):
    a = assess_city(town["net"], town["outlets"], town["residences"])
    assert a.residences["circle_id"].notna().all()
    assert a.circles["source"].eq("auto").all() and len(a.circles) == 2


# ---------------------------------------------------------------------------- Xi'an old town

XIAN_WHERE = (
    "city == '西安' and source in ['ke.com', 'sofang.com'] and 108.915 <= lng_wgs84 <= 108.971 "
    "and 34.250 <= lat_wgs84 <= 34.283"
)


@pytest.fixture(scope="module")
def xian(xian_dir: dict[str, Path]) -> dict:
    from lifecircle.ingest import read_network, read_outlets, read_residences

    start = time.perf_counter()
    net = read_network(xian_dir["gpkg"])
    outlets = read_outlets(xian_dir["poi"], lon="lng_bd09", lat="lat_bd09", crs="bd09")
    residences = read_residences(
        xian_dir["xiaoqu"],
        where=XIAN_WHERE,
        lon="lng_bd09",
        lat="lat_bd09",
        crs="bd09",
        on_missing="drop",
        on_outside="drop",
    )
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    a = assess_city(
        net,
        outlets,
        residences,
        city="西安老城",
        input_files=[xian_dir["gpkg"], xian_dir["poi"], xian_dir["xiaoqu"]],
    )
    return {"assessment": a, "read_s": read_s, "assess_s": time.perf_counter() - start}


@pytest.mark.shared_data
def test_xian_every_community_is_graded_with_evidence(xian):
    a: Assessment = xian["assessment"]
    on_network = a.residences["status"] == "ok"
    assert on_network.mean() > 0.95
    # every community on the network is in a circle, and every circle has a grade and evidence
    assert a.residences.loc[on_network, "circle_id"].notna().all()
    assert set(a.grades["circle_id"]) == set(a.circles["circle_id"])
    assert a.grades["grade"].isin([*GRADES, NOT_GRADED]).all()
    assert len(a.evidence) == len(a.grades) * len(load_catalogue())
    assert a.evidence["households_covered_share"].between(0, 1).all()
    assert (
        a.grades["missing_for_next_grade"].str.startswith("缺: ") | (a.grades["grade"] == "品质型")
    ).all()
    assert a.circles["n_residences"].sum() == on_network.sum()
    # members of an automatic circle lie within 15 min of its centre: circles are a few km wide
    extent = a.circles.to_crs(a.network.crs).geometry.bounds
    assert ((extent["maxx"] - extent["minx"]) < 2 * 1050 + 200).all()
    # the core set is reached by most of the old town, so some circles grade
    assert (a.grades["grade"] != NOT_GRADED).sum() >= 1
    assert len(a.snapshot["inputs"]) == 3


@pytest.mark.shared_data
def test_xian_assessment_is_fast(xian):
    # the whole assessment (access, circles, grading, KPIs) well under a minute
    assert xian["assess_s"] < 30.0, xian["assess_s"]
    counts = xian["assessment"].snapshot["counts"]["grades"]
    print(f"Xi'an: read {xian['read_s']:.1f} s, assess {xian['assess_s']:.1f} s, grades {counts}")


def test_run_log_and_snapshot_time_every_step(town, caplog):
    with caplog.at_level("INFO", logger="lifecircle.assess.pipeline"):
        a = assess_city(town["net"], town["outlets"], town["residences"], city="小镇")
    steps = ["access", "circles", "survey_evaluation", "grading", "blind_spots", "kpis",
             "service_evaluation", "tables"]  # fmt: skip
    logged = [r.getMessage() for r in caplog.records if r.name == "lifecircle.assess.pipeline"]
    for step in steps:
        assert any(m.startswith(f"assess step {step}: ") for m in logged), step
    assert list(a.snapshot["timings_s"]) == [*steps, "total"]

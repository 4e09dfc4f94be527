"""Grading on a tiny synthetic city whose grades are derived by hand.

The city is one straight street from x = -1000 m to x = 3000 m; walking at 3.6 km/h (60 m/min)
the bands are 5 min = 300 m, 10 min = 600 m (家门口, basic 业态), 15 min = 900 m (家周边, quality).
Every point sits on the street, so a walk is |x1 - x2|.

Circle A: a1 (x = 0, 100 households), a2 (x = 400, 300 households)
Circle B: b1 (x = 2000, 200 households), b2 (x = 2100, 200 households)
Circle C: c1 (x = 1000, y = 2000): 2 km off the street, not on the network (nothing assessed)

Outlets and what they cover (basic: ≤ 600 m, quality: ≤ 900 m):
    convenience_store x = 100   a1 100, a2 300            → A 100 %
    breakfast         x = 0     a1 0, a2 400              → A 100 %
    pharmacy          x = -550  a1 550, a2 950 (no)       → A households 100/400 = 25 %,
                                                            residences 1/2 = 50 %
    supermarket       x = 2050  b1 50, b2 50              → B 100 %
    repair            x = 2000  b1 0, b2 100              → B 100 %
    elderly_care      x = 1250  a2 850, a1 1250 (no)      → A 75 % (households), B 100 %
                                b1 750, b2 850
    childcare         x = 2100  b1 100, b2 0              → B 100 %

Present at 80 %: A basic {convenience_store, breakfast} (2), quality {} (0);
                 B basic {supermarket, repair} (2), quality {elderly_care, childcare} (2).
"""

from __future__ import annotations

import dataclasses
import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.access import compute_access
from lifecircle.assess import NOT_GRADED, blind_spots, grade_circles, load_rulebook
from lifecircle.assess.grading import BLIND_SPOT_COLUMNS, EVIDENCE_COLUMNS, GRADE_COLUMNS
from lifecircle.errors import InputError
from lifecircle.taxonomy import load_catalogue
from lifecircle.testing import network_from_polylines

SHIFT = (500_000.0, 3_790_000.0)
GRADE_NAMES = ("基础型", "提升型", "品质型")


def pt(x: float, y: float = 0.0) -> shapely.Point:
    return shapely.Point(x + SHIFT[0], y + SHIFT[1])


@pytest.fixture(scope="module")
def city() -> dict:
    net = network_from_polylines([[(-1000, 0), (3000, 0)]])
    residences = gpd.GeoDataFrame(
        {
            "residence_id": ["a1", "a2", "b1", "b2", "c1"],
            "households": [100.0, 300.0, 200.0, 200.0, 80.0],
            "circle_id": ["A", "A", "B", "B", "C"],
        },
        geometry=[pt(0), pt(400), pt(2000), pt(2100), pt(1000, 2000)],
        crs=net.crs,
    )
    placed = [
        ("o1", "convenience_store", 100),
        ("o2", "breakfast", 0),
        ("o3", "pharmacy", -550),
        ("o4", "supermarket", 2050),
        ("o5", "repair", 2000),
        ("o6", "elderly_care", 1250),
        ("o7", "childcare", 2100),
    ]
    outlets = gpd.GeoDataFrame(
        {"outlet_id": [p[0] for p in placed], "category": [p[1] for p in placed]},
        geometry=[pt(p[2]) for p in placed],
        crs=net.crs,
    )
    access = compute_access(net, outlets, residences, walk_speed=3.6, bands_min=(5, 10, 15))
    return {"net": net, "residences": residences, "outlets": outlets, "access": access}


def book(
    must=((), (), ()),
    basic=(0, 0, 0),
    quality=(0, 0, 0),
    evaluation=(False, False, False),
    satisfaction=(False, False, False),
    require_evaluation=(False, False, False),
    within=(False, False, False),
    coverage=0.8,
):
    """A rulebook whose grades carry only the rules given (default: nothing required)."""
    grades = {
        g: {
            "must_have": [list(group) for group in must[i]],
            "min_basic": basic[i],
            "min_quality": quality[i],
            "evaluation_min": evaluation[i],
            "satisfaction_min": satisfaction[i],
            "require_evaluation": require_evaluation[i],
            "must_have_within_min": within[i],
        }
        for i, g in enumerate(GRADE_NAMES)
    }
    return load_rulebook(overrides={"coverage_share": coverage, "grade": grades})


def run(city, rules, residences=None, **kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    res = city["residences"] if residences is None else residences
    grades, evidence = grade_circles(city["access"], res, rules, load_catalogue(), **kw)
    return grades.set_index("circle_id"), evidence.set_index(["circle_id", "category"])


def test_tables_follow_the_contract(city):
    grades, evidence = grade_circles(city["access"], city["residences"], book(), load_catalogue())
    assert tuple(grades.columns) == GRADE_COLUMNS
    assert tuple(evidence.columns) == EVIDENCE_COLUMNS
    assert grades["circle_id"].tolist() == ["A", "B", "C"]
    assert len(evidence) == 3 * len(load_catalogue())


def test_evidence_values_by_hand(city):
    _, ev = run(city, book())
    conv = ev.loc[("A", "convenience_store")]
    assert conv["present"] and conv["households_covered_share"] == 1.0
    assert conv["nearest_min_median"] == pytest.approx((100 / 60 + 300 / 60) / 2)
    assert conv["count_within_band_median"] == 1.0
    assert conv["band_min"] == 10.0 and conv["class"] == "basic"
    pharm = ev.loc[("A", "pharmacy")]
    assert pharm["households_covered_share"] == pytest.approx(100 / 400)
    assert pharm["residences_covered_share"] == pytest.approx(0.5)
    assert not pharm["present"]
    # a2 reaches no pharmacy within the largest band (950 m > 900 m): the median is not a number
    assert math.isnan(pharm["nearest_min_median"])
    elderly = ev.loc[("A", "elderly_care")]
    assert elderly["band_min"] == 15.0
    assert elderly["households_covered_share"] == pytest.approx(300 / 400)
    assert ev.loc[("B", "elderly_care"), "present"]
    # a 业态 with no outlet in the city: covers nobody, no count
    assert ev.loc[("B", "bakery"), "households_covered_share"] == 0.0
    assert math.isnan(ev.loc[("B", "bakery"), "count_within_band_median"])


def test_all_grades_reached_when_nothing_is_required(city):
    grades, _ = run(city, book())
    assert grades.loc["A", "grade"] == "品质型" and grades.loc["A", "grade_en"] == "quality"
    assert grades.loc["A", "next_grade"] == "" and grades.loc["A", "missing_for_next_grade"] == ""
    assert (grades.loc["A", "n_basic"], grades.loc["A", "n_quality"]) == (2, 0)
    assert (grades.loc["B", "n_basic"], grades.loc["B", "n_quality"]) == (2, 2)
    assert grades.loc["A", "households"] == 400.0 and grades.loc["A", "weighting"] == "households"


def test_circle_without_residence_on_the_network_is_not_graded(city):
    grades, ev = run(city, book())
    row = grades.loc["C"]
    assert row["grade"] == NOT_GRADED and row["n_assessed"] == 0 and row["n_residences"] == 1
    assert "无可评估的小区" in row["missing_for_next_grade"]
    assert not ev.loc["C", "present"].any()


def test_listed_circle_without_residences(city):
    circles = pd.DataFrame({"circle_id": ["A", "B", "C", "D"], "name": ["甲", "乙", "丙", "丁"]})
    grades, _ = run(city, book(), circles=circles)
    assert grades.index.tolist() == ["A", "B", "C", "D"] and grades.loc["A", "name"] == "甲"
    assert grades.loc["D", "grade"] == NOT_GRADED and grades.loc["D", "n_residences"] == 0
    assert grades.loc["D", "missing_for_next_grade"] == "缺: 圈内无小区"


def test_must_have_missing(city):
    grades, _ = run(city, book(must=[[["breakfast"]]] * 3))
    assert grades.loc["A", "grade"] == "品质型"
    assert grades.loc["B", "grade"] == NOT_GRADED
    assert grades.loc["B", "next_grade"] == "基础型"
    assert grades.loc["B", "missing_for_next_grade"] == "缺: 早餐店(覆盖 0% < 80%)"
    assert grades.loc["B", "core_missing"] == "早餐店"


def test_must_have_alternatives(city):
    either = [[["convenience_store", "supermarket"]]] * 3
    grades, _ = run(city, book(must=either))
    assert grades.loc[["A", "B"], "grade"].tolist() == ["品质型", "品质型"]
    only = [[["convenience_store"]]] * 3
    grades, _ = run(city, book(must=only))
    assert grades.loc["B", "grade"] == NOT_GRADED
    veg = [[["wet_market", "fresh_grocery"]]] * 3
    grades, _ = run(city, book(must=veg))
    assert (
        grades.loc["A", "missing_for_next_grade"] == "缺: 菜市场或生鲜超市（菜店）(覆盖 0% < 80%)"
    )
    assert grades.loc["A", "core_missing"] == "菜市场/生鲜超市（菜店）"
    cat = load_catalogue()
    wet, fresh = cat.get("wet_market").name_en, cat.get("fresh_grocery").name_en
    assert grades.loc["A", "missing_for_next_grade_en"] == (
        f"missing: {wet} or {fresh} (covered 0% < 80%)"
    )


def test_min_basic(city):
    grades, _ = run(city, book(basic=(2, 2, 3)))
    assert grades.loc[["A", "B"], "grade"].tolist() == ["提升型", "提升型"]
    assert grades.loc["A", "missing_for_next_grade"] == "缺: 基本保障类业态 2/3"
    assert grades.loc["A", "missing_for_next_grade_en"] == "missing: basic types 2/3"


def test_min_quality(city):
    grades, _ = run(city, book(quality=(0, 1, 2)))
    assert grades.loc["A", "grade"] == "基础型"
    assert grades.loc["A", "missing_for_next_grade"] == "缺: 品质提升类业态 0/1"
    assert grades.loc["B", "grade"] == "品质型"


def test_coverage_share_weights_households(city):
    rules = book(must=[[["pharmacy"]]] * 3, coverage=0.5)
    grades, _ = run(city, rules)
    # 100 of 400 households reach a pharmacy (25 %), though 1 of 2 residences (50 %) does
    assert grades.loc["A", "grade"] == NOT_GRADED
    assert grades.loc["A", "missing_for_next_grade"] == "缺: 药店(覆盖 25% < 50%)"


def test_coverage_share_counts_residences_when_households_are_unknown(city, caplog):
    res = city["residences"].copy()
    res.loc[res["residence_id"] == "a2", "households"] = np.nan
    rules = book(must=[[["pharmacy"]]] * 3, coverage=0.5)
    with caplog.at_level(logging.INFO, logger="lifecircle.assess.grading"):
        grades, ev = run(city, rules, residences=res)
    assert grades.loc["A", "grade"] == "品质型"  # 1 of 2 residences = 50 %
    assert grades.loc["A", "weighting"] == "residences (households unknown for 1 of 2)"
    assert grades.loc["A", "households"] == 100.0  # the known ones
    assert ev.loc[("A", "pharmacy"), "households_covered_share"] == pytest.approx(0.5)
    assert "weigh coverage by residences" in caplog.text


def test_must_have_within_minutes(city):
    # 社区养老 is a 15-min (家周边) 业态; asked within 10 min, B's 750 m and 850 m walks fail
    rules = book(must=[[], [], [["elderly_care"]]], within=(False, False, 10))
    grades, _ = run(city, rules)
    assert grades.loc["B", "grade"] == "提升型"
    assert grades.loc["B", "missing_for_next_grade"] == (
        "缺: 社区养老服务机构(10分钟内覆盖 0% < 80%)"
    )
    grades, _ = run(city, book(must=[[], [], [["elderly_care"]]]))
    assert grades.loc["B", "grade"] == "品质型"


def test_evaluation_min(city):
    rules = book(evaluation=(60, 70, 85))
    scores = pd.DataFrame({"circle_id": ["A", "B"], "score": [75.0, 90.0]})
    grades, _ = run(city, rules, evaluation=scores)
    assert grades.loc["A", "grade"] == "提升型"
    assert grades.loc["A", "missing_for_next_grade"] == "缺: 服务评价 75 < 85"
    assert grades.loc["A", "evaluation_score"] == 75.0
    assert grades.loc["B", "grade"] == "品质型"
    # without scores the thresholds are skipped unless the grade requires an evaluation
    grades, _ = run(city, rules)
    assert grades.loc["A", "grade"] == "品质型" and math.isnan(grades.loc["A", "evaluation_score"])
    required = book(evaluation=(60, 70, 85), require_evaluation=(True, True, True))
    grades, _ = run(city, required, evaluation=scores.iloc[:1])
    assert grades.loc["B", "grade"] == NOT_GRADED
    assert grades.loc["B", "missing_for_next_grade"] == "缺: 服务评价 未提供"
    assert (
        grades.loc["B", "missing_for_next_grade_en"] == "missing: service evaluation not provided"
    )


def test_satisfaction_min(city):
    rules = book(satisfaction=(False, False, 0.9))
    rates = pd.DataFrame({"circle_id": ["A", "B", "city"], "rate": [0.85, 0.95, 0.9]})
    grades, _ = run(city, rules, satisfaction=rates)
    assert grades.loc["A", "grade"] == "提升型"
    assert grades.loc["A", "missing_for_next_grade"] == "缺: 满意度 85% < 90%"
    assert grades.loc["A", "satisfaction_rate"] == 0.85
    assert grades.loc["B", "grade"] == "品质型"


def test_grades_are_cumulative(city):
    # a rulebook that load_rulebook would refuse (提升型 drops 基础型's must-have), built by hand:
    # B meets 提升型 and 品质型 but not 基础型, so it reaches no grade
    base = book()
    strict_basic = dataclasses.replace(base.grades[0], must_have=(("breakfast",),))
    rules = dataclasses.replace(base, grades=(strict_basic, *base.grades[1:]))
    grades, _ = run(city, rules)
    assert grades.loc["B", "grade"] == NOT_GRADED
    assert grades.loc["A", "grade"] == "品质型"


def test_missing_for_next_grade_lists_everything(city):
    must = [[["breakfast"], ["pharmacy"]]] * 3
    rules = book(
        must=must,
        basic=(3, 3, 3),
        quality=(1, 1, 1),
        evaluation=(60, 60, 60),
        require_evaluation=(True, True, True),
    )
    grades, _ = run(city, rules)
    assert grades.loc["A", "grade"] == NOT_GRADED
    assert grades.loc["A", "missing_for_next_grade"] == (
        "缺: 药店(覆盖 25% < 80%); 基本保障类业态 2/3; 品质提升类业态 0/1; 服务评价 未提供"
    )
    assert grades.loc["A", "missing_for_next_grade_en"] == (
        "missing: Pharmacy (covered 25% < 80%); basic types 2/3; quality types 0/1; "
        "service evaluation not provided"
    )
    assert grades.loc["A", "core_missing"] == "药店"


def test_default_rulebook_on_the_synthetic_city(city):
    grades, _ = run(city, load_rulebook())
    # neither circle has the full core set (一店一早、一菜一修、药店、快递)
    assert (grades["grade"] == NOT_GRADED).all()
    assert grades.loc["A", "core_missing"] == (
        "菜市场/生鲜超市（菜店）;维修点;药店;邮政快递综合服务点（快递公共取送点）"
    )


def test_missing_band_column_is_a_clear_error(city):
    access = compute_access(
        city["net"], city["outlets"], city["residences"], walk_speed=3.6, bands_min=(5, 15)
    )
    with pytest.raises(InputError, match=r"no column\(s\) n_10min.*bands_min including 10, 15"):
        grade_circles(access, city["residences"], book(), load_catalogue())


def test_access_table_without_every_catalogue_category_is_refused(city):
    table = city["access"].to_pandas()
    with pytest.raises(InputError, match=r"lacks 1 业态.*categories=None"):
        grade_circles(table[table["category"] != "bakery"], city["residences"], book())


def test_residences_without_circle_column_are_refused(city):
    res = city["residences"].drop(columns="circle_id")
    with pytest.raises(InputError, match="circle_id"):
        grade_circles(city["access"], res, book())


def test_blind_spots(city):
    spots = blind_spots(city["access"], city["residences"], load_catalogue())
    assert tuple(spots.columns) == BLIND_SPOT_COLUMNS
    lacking = spots.set_index(["residence_id", "category"])
    assert ("a2", "pharmacy") in lacking.index
    assert ("a1", "pharmacy") not in lacking.index
    assert math.isnan(lacking.loc[("a2", "pharmacy"), "nearest_min"])  # 950 m > 900 m
    # a1 reaches 社区养老 at 1250 m: beyond 15 min, nothing
    assert lacking.loc[("a2", "supermarket"), "circle_id"] == "A"
    # b1 reaches the convenience store 1900 m away: out of reach
    assert lacking.loc[("b1", "convenience_store"), "households"] == 200.0
    assert ("b1", "elderly_care") not in lacking.index
    # every residence on the network lacks the 业态 the city has none of
    assert {r for r, c in lacking.index if c == "bakery"} == {"a1", "a2", "b1", "b2"}
    per_res = len(load_catalogue())
    assert len(spots) < 4 * per_res


def test_pct_keeps_a_shortfall_visible():
    from lifecircle.assess.grading import _pct

    assert _pct(0.7999, 0.8) == "79.9%"
    assert _pct(0.8, 0.8) == "80%"
    assert _pct(0.456) == "46%"

"""服务"好不好" from the data: each auto indicator against a hand computation; never NaN silently."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lifecircle.assess import assess_city, load_rulebook
from lifecircle.assess.auto_evaluation import AUTO_MEASURES, auto_values, evaluation_table
from lifecircle.assess.evaluation import load_indicator_sheet, read_evaluator_scores
from lifecircle.taxonomy import load_catalogue
from lifecircle.testing import street_town

CAT = load_catalogue()
BOOK = load_rulebook(catalogue=CAT)
CORE = [c for g in BOOK.grades[0].must_have for c in g]


def _evidence() -> pd.DataFrame:
    rows = []
    quality_share = {"elderly_care": 0.9, "fitness": 0.6, "bookstore": 0.3}
    for cid in ("C1", "C2"):
        for code in CAT.codes():
            share = quality_share.get(code, 0.0) if cid == "C1" else 0.0
            present = share >= 0.8 or (cid == "C2" and code == "community_canteen")
            rows.append(
                {
                    "circle_id": cid,
                    "category": code,
                    "households_covered_share": share,
                    "present": present,
                }
            )
    return pd.DataFrame(rows)


def _access() -> tuple[pd.DataFrame, pd.DataFrame]:
    residences = pd.DataFrame(
        {
            "residence_id": ["r1", "r2", "r3", "r4"],
            "circle_id": ["C1", "C1", "C2", "C2"],
            "households": [100.0, 300.0, np.nan, np.nan],
        }
    )
    rows = []
    for rid in residences["residence_id"]:
        for code in CORE:
            hit = 1.0
            if rid == "r2" and code == "repair":
                hit = 0.0  # r2 lacks 一修
            if code == "breakfast" and rid in ("r3", "r4"):
                hit = 0.0  # r3 has a 小吃店 with breakfast instead; r4 has nothing
            if code == "fast_food+breakfast":
                hit = 1.0 if rid == "r3" else 0.0
            if code == "convenience_store+breakfast_service":
                hit = 0.0
            rows.append({"residence_id": rid, "category": code, "n_10min": hit, "n_15min": hit})
    return pd.DataFrame(rows), residences


def _auto() -> pd.DataFrame:
    access, residences = _access()
    grades = pd.DataFrame({"circle_id": ["C1", "C2"], "n_basic": [9, 4]})
    return auto_values(
        grades=grades,
        evidence=_evidence(),
        catalogue=CAT,
        rulebook=BOOK,
        access=access,
        residences=residences,
        chain_share=0.12,
    ).set_index(["circle_id", "measure"])["value"]


def test_basic_types_by_hand() -> None:
    n = len(CAT.codes("basic"))
    assert _auto()[("C1", "basic_types")] == pytest.approx(9 / n)
    assert _auto()[("C2", "basic_types")] == pytest.approx(4 / n)


def test_quality_surround_by_hand() -> None:
    n = len(CAT.codes("quality"))
    assert _auto()[("C1", "quality_surround")] == pytest.approx((0.9 + 0.6 + 0.3) / n)
    assert _auto()[("C2", "quality_surround")] == 0.0


def test_core_basic_doorstep_by_hand() -> None:
    # C1: r1 (100 households) has every core group, r2 (300) lacks 维修点 → 100 / 400
    assert _auto()[("C1", "core_basic_doorstep")] == pytest.approx(0.25)
    # C2: no household counts → residences; r3 meets 一早 through a 小吃店 with breakfast, r4 not
    assert _auto()[("C2", "core_basic_doorstep")] == pytest.approx(0.5)


def test_chain_share_and_yilao_yixiao_by_hand() -> None:
    auto = _auto()
    assert auto[("C1", "chain_share")] == auto[("C2", "chain_share")] == 0.12
    assert auto[("C1", "elderly_services")] == 1.0  # 社区养老服务机构 present (90 %)
    assert auto[("C2", "elderly_services")] == 1.0  # 社区食堂 present
    assert auto[("C1", "child_services")] == auto[("C2", "child_services")] == 0.0


def test_scores_without_evaluators_are_numbers_with_missing_listed() -> None:
    sheet = load_indicator_sheet()
    auto = _auto().rename("value").reset_index().assign(note="")
    long, wide = evaluation_table(sheet, auto=auto, circles=["C1", "C2", "C3"])
    auto_ids = [i.id for i in sheet.indicators if i.auto]
    assert sorted(i.auto for i in sheet.indicators if i.auto) == sorted(AUTO_MEASURES)
    c1 = long[long["circle_id"] == "C1"].set_index("indicator")
    assert set(c1.loc[c1["source"] == "auto"].index) == set(auto_ids)
    assert c1.loc["chain_share", "points"] == pytest.approx(0.12 / 0.30 * 6)
    assert c1.loc["core_basic_doorstep", "points"] == pytest.approx(0.25 * 12)
    assert c1["points"][c1["source"] == "missing"].isna().all()
    w = wide.set_index("circle_id")
    answered = sum(i.weight for i in sheet.indicators if i.auto)
    earned = float(c1.loc[auto_ids, "points"].sum())
    assert w.loc["C1", "score"] == pytest.approx(100 * earned / answered)
    assert w.loc["C1", "coverage"] == pytest.approx(answered / 100)
    assert w.loc["C1", "n_auto"] == len(auto_ids) and w.loc["C1", "n_scored"] == 0
    missing = set(w.loc["C1", "missing"].split(";"))
    assert missing == {i.id for i in sheet.indicators if not i.auto}
    # a circle nothing is known about: NaN, with every indicator listed as missing
    assert np.isnan(w.loc["C3", "score"]) and w.loc["C3", "n_auto"] == 0
    assert len(w.loc["C3", "missing"].split(";")) == len(sheet.indicators)


def test_evaluator_scores_fill_the_rest_auto_wins() -> None:
    sheet = load_indicator_sheet()
    auto = _auto().rename("value").reset_index().assign(note="")
    scores = read_evaluator_scores(
        pd.DataFrame(
            {
                "circle_id": ["C1", "C1"],
                "indicator": ["layout", "chain_share"],
                "score": [4, 0.9],
            }
        ),
        sheet,
    )
    long, _ = evaluation_table(sheet, auto=auto, scores=scores, circles=["C1", "C2"])
    c1 = long[long["circle_id"] == "C1"].set_index("indicator")
    assert c1.loc["layout", "source"] == "score" and c1.loc["layout", "points"] == 4.0
    assert c1.loc["chain_share", "source"] == "auto" and c1.loc["chain_share", "value"] == 0.12


def test_assess_city_scores_every_circle_without_evaluators() -> None:
    net, homes, shops = street_town(
        [
            {"outlet_id": "s1", "category": "convenience_store", "x": 350},
            {"outlet_id": "s2", "category": "breakfast", "x": 400},
        ]
    )
    result = assess_city(net, shops, homes, city="示例")
    assert result.evaluation is None  # grades use evaluators' scores only
    scores = result.service_scores
    assert scores is not None and scores["score"].notna().all()
    assert (scores["missing"] != "").all()
    long = result.service_evaluation
    assert long is not None and set(long["source"]) == {"auto", "missing"}
    assert list(long.columns[:3]) == ["circle_id", "indicator", "name_zh"]

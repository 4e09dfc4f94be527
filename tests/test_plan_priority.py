"""Projects in policy order: must-haves of the next grade first, residents' needs as evidence."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from lifecircle.assess import load_rulebook
from lifecircle.errors import InputError
from lifecircle.plan.priority import NEEDS_WEIGHT, prioritise, read_needs, split_unobservable
from lifecircle.taxonomy import load_catalogue

CAT = load_catalogue()
BOOK = load_rulebook(catalogue=CAT)


def _assessment() -> Any:
    grades = pd.DataFrame(
        {
            "circle_id": ["C1", "C2"],
            "next_grade": ["基础型", "提升型"],
            "missing_for_next_grade": [
                "缺: 菜市场或生鲜超市（菜店）(覆盖 0% < 80%); 维修点(覆盖 10% < 80%)",
                "缺: 基本保障类业态 8/12",
            ],
        }
    )
    outlets = pd.DataFrame({"category": ["pharmacy", "bookstore"]})
    return SimpleNamespace(grades=grades, outlets=outlets)


def _projects() -> pd.DataFrame:
    rows = [
        ("C1", "florist_gift", "quality", 900.0),  # most households, but a quality type
        ("C1", "bank", "basic", 700.0),  # basic, not a must-have
        ("C1", "repair", "basic", 300.0),  # must-have (一修)
        ("C1", "wet_market", "basic", 100.0),  # must-have (一菜)
        ("C1", "fresh_grocery", "basic", 200.0),  # must-have (一菜), the other alternative
        ("C2", "repair", "basic", 50.0),  # C2's next grade lacks only type counts
        ("C2", "bookstore", "quality", 80.0),
    ]
    return pd.DataFrame(rows, columns=["circle_id", "category", "class", "households_gained"])


def test_tiers_and_order() -> None:
    out = prioritise(_projects(), _assessment(), BOOK, CAT)
    c1 = out[out["circle_id"] == "C1"]
    assert c1["category"].tolist() == [
        "repair",
        "fresh_grocery",
        "wet_market",
        "bank",
        "florist_gift",
    ]
    assert c1["priority_tier"].tolist() == [1, 1, 1, 2, 3]
    assert c1["rank"].tolist() == [1, 2, 3, 4, 5]
    assert c1["needs_count"].eq(0).all()
    first = c1.iloc[0]
    assert first["reason"] == "基础型必备业态缺失：维修点"
    assert first["reason_en"] == "must-have of basic missing: repair"
    c2 = out[out["circle_id"] == "C2"].set_index("category")
    assert c2.loc["repair", "priority_tier"] == 2 and c2.loc["bookstore", "priority_tier"] == 3


def test_needs_move_a_project_up_within_its_tier_only() -> None:
    needs = pd.DataFrame({"circle_id": ["C1"] * 3, "category": ["菜市场", "菜市场", "鲜花礼品店"]})
    # 100 × (1 + 0.1 × 2) = 120 < 200 (fresh_grocery): not enough yet
    out = prioritise(_projects(), _assessment(), BOOK, CAT, needs=read_needs(needs, CAT))
    c1 = out[out["circle_id"] == "C1"].set_index("category")
    assert c1.loc["wet_market", "needs_count"] == 2 and c1.loc["wet_market", "rank"] == 3
    assert c1.loc["wet_market", "reason"].endswith("；居民需求 2 条")
    # with a weight of 1 per need: 100 × 3 = 300 ties repair (300), more needs first
    moved = prioritise(_projects(), _assessment(), BOOK, CAT, needs=needs, needs_weight=1.0)
    m1 = moved[moved["circle_id"] == "C1"].set_index("category")
    assert m1.loc["wet_market", "rank"] == 1
    # a quality type with needs stays below every basic project
    assert m1.loc["florist_gift", "needs_count"] == 1 and m1.loc["florist_gift", "rank"] == 5
    assert NEEDS_WEIGHT == 0.1


def test_read_needs_checks_every_row(tmp_path: Path) -> None:
    path = tmp_path / "needs.csv"
    path.write_text("circle_id,category,count\nC1,菜市场,3\nC1,火星超市,1\nC2,药店,-1\n", "utf-8")
    with pytest.raises(InputError) as info:
        read_needs(path, CAT)
    assert {(p.row, p.field) for p in info.value.problems} == {(2, "category"), (3, "count")}
    path.write_text("circle_id,category,count\nC1,菜市场,3\nC1,wet_market,1\n", "utf-8")
    assert read_needs(path, CAT).values.tolist() == [["C1", "wet_market", 4]]


def test_unobservable_types_are_not_proposed_without_city_data() -> None:
    gaps = pd.DataFrame({"circle_id": ["C1", "C1"], "category": ["front_warehouse", "repair"]})
    assert CAT.get("front_warehouse") is not None and not CAT.get("front_warehouse").observable
    kept, unchecked = split_unobservable(gaps, _assessment(), CAT)
    assert kept["category"].tolist() == ["repair"] and unchecked == ["front_warehouse"]
    city = SimpleNamespace(outlets=pd.DataFrame({"category": ["front_warehouse"]}))
    kept, unchecked = split_unobservable(gaps, city, CAT)
    assert kept["category"].tolist() == ["front_warehouse", "repair"] and unchecked == []


@pytest.mark.shared_data
def test_xian_projects_follow_the_policy(xian_town: tuple) -> None:
    from lifecircle.assess import assess_city
    from lifecircle.plan.projects import project_list

    net, outlets, residences = xian_town
    assessment = assess_city(net, outlets, residences, city="西安老城")
    plan = project_list(assessment, max_sites=1, time_limit=2.0)
    p = plan.projects
    assert "front_warehouse" not in set(p["category"])
    assert plan.unchecked == ("front_warehouse",)
    core = {c for g in assessment_core(plan) for c in g}
    for cid, group in p.groupby("circle_id"):
        first = group.sort_values("rank").iloc[0]
        if (group["priority_tier"] == 1).any():
            assert first["priority_tier"] == 1, cid
        # no quality 业态 first while the circle lacks a core basic one (issue 13 acceptance)
        if (group["category"].isin(core) & (group["priority_tier"] == 1)).any():
            assert first["class"] == "basic" and first["category"] in core, cid
    # a need for 菜市场 in a circle that lacks it moves that project up
    wm = p[(p["category"] == "wet_market") & (p["rank"] > 1)]
    assert len(wm), "no circle with a 菜市场 project below rank 1"
    target = wm.iloc[0]
    needs = pd.DataFrame(
        {"circle_id": [target["circle_id"]], "category": ["菜市场"], "count": [50]}
    )
    again = project_list(assessment, max_sites=1, time_limit=2.0, needs=needs).projects
    row = again[(again["circle_id"] == target["circle_id"]) & (again["category"] == "wet_market")]
    assert int(row["needs_count"].iat[0]) == 50
    assert int(row["rank"].iat[0]) < int(target["rank"])


def assessment_core(plan: Any) -> list[tuple[str, ...]]:
    """The core basic must-haves (the default rulebook's lowest grade), base 业态 codes."""
    return [tuple(c.split("+", 1)[0] for c in g) for g in BOOK.grades[0].must_have]


def test_cli_needs_move_a_project_up(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lifecircle.cli import main
    from lifecircle.datasets import get_path

    pbf = str(get_path("helsinki"))
    args = ["assess", "--network", pbf, "--outlets", pbf, "--residences", pbf, "--report"]
    runner = CliRunner()
    first = runner.invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    p = pd.read_csv(tmp_path / "a" / "projects.csv")
    assert {"priority_tier", "needs_count", "rank", "reason", "reason_en"} <= set(p.columns)
    # the last project of a tier with another project above it in the same circle and tier
    above = p.merge(p, on=["circle_id", "priority_tier"], suffixes=("", "_o"))
    above = above[above["rank_o"] < above["rank"]]
    assert len(above), "no circle with two projects of one tier"
    target = above.sort_values("rank").iloc[-1]
    needs = tmp_path / "needs.csv"
    pd.DataFrame(
        {"circle_id": [target["circle_id"]], "category": [target["category"]], "count": [10_000]}
    ).to_csv(needs, index=False)
    second = runner.invoke(main, [*args, "--needs", str(needs), "--out", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    q = pd.read_csv(tmp_path / "b" / "projects.csv")
    row = q[(q["circle_id"] == target["circle_id"]) & (q["category"] == target["category"])]
    assert int(row["needs_count"].iat[0]) == 10_000
    assert int(row["rank"].iat[0]) < int(target["rank"])
    assert "居民需求 10000 条" in str(row["reason"].iat[0])

"""Outlet attributes: parsed hours and services, and must-haves that name them (一早 alternatives)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lifecircle.assess import assess_city, load_rulebook
from lifecircle.assess.attributes import (
    has_attribute,
    is_open_24h,
    opens_before,
    outlet_attributes,
    parse_hours,
)
from lifecircle.errors import InputError
from lifecircle.testing import street_town


@pytest.mark.parametrize(
    ("text", "intervals"),
    [
        ("06:30-14:00", ((390, 840),)),
        ("周一至周日 6:30-14:00", ((390, 840),)),
        ("07:00～21:00", ((420, 1260),)),
        ("7点-21点", ((420, 1260),)),
        ("Mo-Fr 07:00-21:00; Sa 08:30-12:00", ((420, 1260), (510, 720))),
        ("18:00-次日02:00", ((1080, 1560),)),
        ("24小时营业", ((0, 1440),)),
        ("24/7", ((0, 1440),)),
        ("暂无", ()),
        (None, ()),
    ],
)
def test_parse_hours(text: Any, intervals: tuple[tuple[int, int], ...]) -> None:
    assert parse_hours(text) == intervals


def test_hours_predicates_and_columns() -> None:
    assert is_open_24h("24小时") and not is_open_24h("07:00-23:00")
    assert opens_before("06:00-10:00", "09:00") and not opens_before("09:00-21:00", "09:00")
    frame = pd.DataFrame(
        {"opening_hours": ["全天", "10:00-22:00"], "services": ["代收代发、打印复印", None]}
    )
    out = outlet_attributes(frame)
    assert out["open_24h"].tolist() == [True, False]
    assert out["opens_at"].tolist() == [0.0, 600.0]
    assert out["services_list"].tolist() == [["代收代发", "打印复印"], []]


def test_default_rulebook_names_the_breakfast_alternatives() -> None:
    book = load_rulebook()
    for grade in book.grades:
        assert ("breakfast", "fast_food+breakfast", "convenience_store+breakfast_service") in (
            grade.must_have
        )
    rule = book.grade("基础型").rules["must_have"]
    assert "小吃店" in rule.source and "便利店+早餐服务" in rule.source and "§14.2" in rule.source
    early = book.attributes["breakfast"]
    assert early.opens_before == 9 * 60 and "早餐" in early.name_keywords
    assert "policy 004" in early.source and early.confidence == "P"
    # a convenience store does not have breakfast service by opening early
    assert book.attributes["breakfast_service"].opens_before is None
    frame = pd.DataFrame({"name": ["好邻居"], "opening_hours": ["06:00-23:00"]})
    assert not has_attribute(frame, book.attributes["breakfast_service"])[0]


def test_unknown_attribute_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_rulebook(
            overrides={"grade": {"基础型": {"must_have": [["breakfast", "fast_food+brunch"]]}}}
        )
    assert any("brunch" in p.message for p in info.value.problems)
    path = tmp_path / "city.toml"
    path.write_text(
        'extends = "default"\n[attributes.late]\nlabel = "夜间"\nopens_before = "25:00"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_rulebook(path)
    fields = {p.field for p in info.value.problems}
    assert {"attributes.late.opens_before", "attributes.late.source"} <= fields


def _city(snack: dict[str, Any]) -> Any:
    """Two 小区 on a street with every core 业态 near, the breakfast one given by ``snack``."""
    core = ["convenience_store", "wet_market", "repair", "pharmacy", "post_express"]
    outlets = [
        {"outlet_id": f"s{i}", "name": c, "category": c, "x": 350 + 10 * i}
        for i, c in enumerate(core)
    ]
    outlets.append(
        {
            "outlet_id": "snack",
            "name": snack["name"],
            "category": "fast_food",
            "opening_hours": snack.get("opening_hours"),
            "services": snack.get("services"),
            "x": 350 + 10 * len(core),
        }
    )
    net, homes, shops = street_town(outlets)
    return assess_city(net, shops, homes, city="示例", rulebook={"min_basic": 0})


@pytest.fixture(autouse=True)
def _lenient_rulebook(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rulebook={"min_basic": 0}`` in :func:`_city`: the default rulebook with no type counts."""
    import lifecircle.assess.pipeline as pipeline

    real = pipeline._rulebook

    def book(rulebook: Any, cat: Any) -> Any:
        if isinstance(rulebook, dict):
            zero = {"min_basic": 0, "min_quality": 0}
            return load_rulebook(
                overrides={"grade": {g: zero for g in ("基础型", "提升型", "品质型")}},
                catalogue=cat,
            )
        return real(rulebook, cat)

    monkeypatch.setattr(pipeline, "_rulebook", book)


@pytest.mark.parametrize(
    ("snack", "met"),
    [
        ({"name": "老王小吃", "opening_hours": "06:30-13:00"}, True),  # breakfast hours
        ({"name": "老王小吃", "opening_hours": "10:30-22:00"}, False),  # opens late
        ({"name": "老王小吃"}, False),  # nothing says breakfast
        ({"name": "老王包子铺"}, True),  # the name says it
        ({"name": "老王小吃", "services": "早餐;外卖"}, True),  # a services entry
    ],
)
def test_snack_shop_with_breakfast_meets_yizao(snack: dict[str, Any], met: bool) -> None:
    result = _city(snack)
    row = result.grades.iloc[0]
    missing = str(row["core_missing"])
    assert ("早餐店" in missing) is (not met), missing
    assert (row["grade"] != "未达标") is met  # the must-haves are the only rules here
    if not met:
        assert "快餐小吃店（早餐供应）" in missing
    # the evidence table keeps catalogue 业态 only; the access result too
    assert not result.evidence["category"].str.contains("+", regex=False).any()


def test_service_kpis_by_hand() -> None:
    from lifecircle.assess.attributes import service_kpis

    # homes: a (300 households) at 100 m, b (500) at 600 m; 10 min = 700 m at 4.2 km/h
    outlets = [
        {"outlet_id": "24h", "name": "罗森", "category": "convenience_store",
         "opening_hours": "24小时", "x": 1900},  # 1.3 km from b: nobody
        {"outlet_id": "kd", "name": "小卖部", "category": "convenience_store",
         "services": "代收代发;打印复印", "x": 1250},  # b only: 500 / 800
        {"outlet_id": "zc", "name": "老王小吃", "category": "fast_food",
         "opening_hours": "06:30-13:00", "x": 50},  # both
    ]  # fmt: skip
    net, homes, shops = street_town(outlets)
    result = assess_city(net, shops, homes, city="示例")
    kpis = service_kpis(result, load_rulebook()).set_index("kpi")["value"]
    assert kpis["households_within_10min:open_24h"] == 0.0
    assert kpis["households_within_10min:parcel"] == pytest.approx(500 / 800)
    assert kpis["households_within_10min:breakfast"] == 1.0
    # the 24-hour store moved next to the homes
    outlets[0]["x"] = 400
    net, homes, shops = street_town(outlets)
    moved = service_kpis(assess_city(net, shops, homes), load_rulebook()).set_index("kpi")
    assert moved.loc["households_within_10min:open_24h", "value"] == 1.0
    assert "24小时营业网点" in moved.loc["households_within_10min:open_24h", "kpi_zh"]
    # data without hours or services cannot show a 24-hour offer: unknown, not 0
    bare = [{k: v for k, v in o.items() if k not in ("opening_hours", "services")} for o in outlets]
    net, homes, shops = street_town(bare)
    unknown = service_kpis(assess_city(net, shops, homes), load_rulebook()).set_index("kpi")
    assert np.isnan(unknown.loc["households_within_10min:open_24h", "value"])
    assert "无法判断" in unknown.loc["households_within_10min:open_24h", "kpi_zh"]

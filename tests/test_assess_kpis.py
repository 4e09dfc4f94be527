"""City KPIs: hand-computed arithmetic on a tiny city, chain brands, district scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.assess.kpis import (
    CHAIN_TARGET,
    KPI_COLUMNS,
    ChainBrands,
    chain_outlets,
    compute_kpis,
    load_chain_brands,
)
from lifecircle.assess.survey import load_survey, read_responses, satisfaction_by_circle
from lifecircle.errors import InputError
from lifecircle.taxonomy import load_catalogue

CAT = load_catalogue()
NAN = float("nan")


# --------------------------------------------------------------------------------------------
# A tiny city: 4 communities in 2 circles and 2 districts; 6 outlets
# --------------------------------------------------------------------------------------------


def _residences() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "residence_id": ["r1", "r2", "r3", "r4"],
            "households": [100.0, 300.0, 200.0, NAN],
            "population": [250.0, 750.0, 500.0, NAN],
            "circle_id": ["C1", "C1", "C2", "C2"],
            "district": ["莲湖区", "莲湖区", "碑林区", "碑林区"],
        }
    )


def _access() -> pd.DataFrame:
    # pharmacy band 10 min (doorstep), elderly_care band 15 min (surround)
    return pd.DataFrame(
        {
            "residence_id": ["r1", "r2", "r3", "r4"] * 2,
            "category": ["pharmacy"] * 4 + ["elderly_care"] * 4,
            "nearest_min": [5.0, 12.0, 10.0, 3.0, 14.0, NAN, 16.0, 20.0],
        }
    )


def _outlets() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outlet_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "name": [
                "老百姓大药房(北大街店)",
                "街坊药店",
                "美宜佳",
                "小卖部",
                "全家福养老院",
                "罗森",
            ],
            "category": [
                "pharmacy",
                "pharmacy",
                "convenience_store",
                "convenience_store",
                "elderly_care",
                "unclassified",
            ],
            "is_chain": pd.array([None, None, False, True, None, None], dtype="boolean"),
            "district": ["莲湖区", "莲湖区", "莲湖区", "碑林区", "碑林区", "碑林区"],
        }
    )


def _grades() -> pd.DataFrame:
    return pd.DataFrame({"circle_id": ["C1", "C2"], "grade": ["基础型", "未达标"]})


def _kpis(**kw: Any) -> pd.DataFrame:
    args: dict[str, Any] = {
        "access": _access(),
        "residences": _residences(),
        "outlets": _outlets(),
    }
    args.update(kw)
    return compute_kpis(**args)


def _value(kpis: pd.DataFrame, kpi: str, scope: str = "city") -> pd.Series:
    hit = kpis[(kpis["scope"] == scope) & (kpis["kpi"] == kpi)]
    assert len(hit) == 1, f"{scope}/{kpi}: {len(hit)} rows"
    return hit.iloc[0]


def test_columns_and_types() -> None:
    kpis = _kpis()
    assert tuple(kpis.columns) == KPI_COLUMNS
    assert kpis["meets"].dtype == "boolean"
    assert kpis["value"].dtype == np.float64 and kpis["target"].dtype == np.float64
    assert set(kpis["scope"]) == {"city"}
    assert not kpis.duplicated(["scope", "kpi"]).any()


def test_coverage_shares_weighted_by_households() -> None:
    kpis = _kpis()
    # pharmacy covered at r1 (5), r3 (10 ≤ 10), r4 (3); r2 (12) not; r4 has no households
    hh = _value(kpis, "households_covered:pharmacy")
    assert hh["value"] == pytest.approx((100 + 200) / (100 + 300 + 200))
    assert hh["unit"] == "share" and np.isnan(hh["target"]) and pd.isna(hh["meets"])
    assert "药店" in hh["kpi_zh"] and "10" in hh["kpi_zh"]
    assert _value(kpis, "communities_covered:pharmacy")["value"] == pytest.approx(3 / 4)
    # elderly_care (15 min): only r1 (14); r2 unreachable (NaN)
    assert _value(kpis, "households_covered:elderly_care")["value"] == pytest.approx(100 / 600)
    assert _value(kpis, "communities_covered:elderly_care")["value"] == pytest.approx(1 / 4)
    assert "15" in _value(kpis, "households_covered:elderly_care")["kpi_zh"]


def test_chain_share_with_brand_list() -> None:
    kpis = _kpis()
    # typed outlets o1..o5: o1 chain by brand list, o3 explicit not chain although 美宜佳,
    # o4 explicit chain, o5 全家福 is not 全家; o6 unclassified is left out
    row = _value(kpis, "chain_share")
    assert row["value"] == pytest.approx(2 / 5)
    assert row["target"] == CHAIN_TARGET == 0.3 and row["source"] == "V2" and row["meets"]
    assert _value(kpis, "outlets_total")["value"] == 5


def test_chain_share_custom_list_and_target() -> None:
    kpis = _kpis(chain_brands=["街坊"], chain_target=0.5)
    row = _value(kpis, "chain_share")
    assert row["value"] == pytest.approx(2 / 5)  # o2 by the list, o4 explicit
    assert row["target"] == 0.5 and row["source"] == "city" and not row["meets"]


def test_outlets_per_10k() -> None:
    kpis = _kpis()
    # population 250 + 750 + 500 (r4 unknown) = 1500
    assert _value(kpis, "outlets_per_10k:pharmacy")["value"] == pytest.approx(2 / 1500 * 1e4)
    assert _value(kpis, "outlets_per_10k:convenience_store")["value"] == pytest.approx(
        2 / 1500 * 1e4
    )
    assert _value(kpis, "outlets_per_10k:all")["value"] == pytest.approx(5 / 1500 * 1e4)
    assert _value(kpis, "outlets_per_10k:pharmacy")["unit"] == "per 10k residents"


def test_grade_kpis() -> None:
    kpis = _kpis(grades=_grades())
    assert _value(kpis, "circles_total")["value"] == 2
    assert _value(kpis, "circles:basic")["value"] == 1
    assert _value(kpis, "circles:enhanced")["value"] == 0
    assert _value(kpis, "circles:not graded")["value"] == 1
    assert _value(kpis, "circles_basic_or_better")["value"] == 0.5
    assert _value(kpis, "communities_basic_or_better")["value"] == 0.5
    assert _value(kpis, "households_basic_or_better")["value"] == pytest.approx(400 / 600)


def test_evidence_kpis() -> None:
    evidence = pd.DataFrame(
        {
            "circle_id": ["C1", "C2", "C1", "C2"],
            "category": ["pharmacy", "pharmacy", "elderly_care", "elderly_care"],
            "present": [True, False, True, True],
        }
    )
    kpis = _kpis(evidence=evidence)
    assert _value(kpis, "circles_with:pharmacy")["value"] == 0.5
    assert _value(kpis, "circles_with:elderly_care")["value"] == 1.0


def test_floor_area_on_circles() -> None:
    circles = pd.DataFrame(
        {
            "circle_id": ["C1", "C2"],
            "households": [400.0, 200.0],
            "service_floor_area_m2": [150.0, 30.0],
        }
    )
    kpis = _kpis(circles=circles)
    row = _value(kpis, "service_floor_area_per_100hh")
    assert row["value"] == pytest.approx(180 / 600 * 100)  # = 30
    assert row["target"] == 30.0 and row["source"] == "V2" and row["meets"]
    assert row["unit"] == "m² per 100 households"


def test_floor_area_on_residences_named() -> None:
    res = _residences().assign(area=[10.0, 20.0, NAN, 5.0])  # r3 unknown, r4 no households
    kpis = _kpis(residences=res, floor_area="area", floor_area_target=20.0)
    row = _value(kpis, "service_floor_area_per_100hh")
    assert row["value"] == pytest.approx(30 / 400 * 100)  # 7.5
    assert not row["meets"] and row["source"] == "city"


def test_no_floor_area_no_kpi() -> None:
    assert "service_floor_area_per_100hh" not in set(_kpis()["kpi"])


def test_satisfaction_kpi() -> None:
    survey = load_survey()
    answers = pd.DataFrame(
        {"circle_id": ["C1"] * 50 + ["C2"] * 10, "overall": [5] * 45 + [3] * 5 + [4] * 5 + [2] * 5}
    )
    sat = satisfaction_by_circle(read_responses(answers, survey), survey)
    kpis = _kpis(satisfaction=sat, grades=_grades(), district_column="district")
    row = _value(kpis, "satisfaction_rate")
    assert row["value"] == pytest.approx(50 / 60)
    assert row["target"] == 0.9 and row["source"] == "V2" and not row["meets"]
    assert _value(kpis, "satisfaction_n_valid")["value"] == 60
    lianhu = _value(kpis, "satisfaction_rate", "莲湖区")
    assert lianhu["value"] == pytest.approx(0.9) and lianhu["meets"]
    assert _value(kpis, "satisfaction_rate", "碑林区")["value"] == pytest.approx(0.5)


def test_district_scopes() -> None:
    circles = pd.DataFrame(
        {
            "circle_id": ["C1", "C2"],
            "households": [400.0, 200.0],
            "service_floor_area_m2": [150.0, 30.0],
        }
    )
    kpis = _kpis(grades=_grades(), circles=circles, district_column="district")
    assert kpis["scope"].unique().tolist() == ["city", "碑林区", "莲湖区"]
    # coverage
    assert _value(kpis, "households_covered:pharmacy", "莲湖区")["value"] == pytest.approx(0.25)
    assert _value(kpis, "communities_covered:pharmacy", "莲湖区")["value"] == 0.5
    assert _value(kpis, "households_covered:pharmacy", "碑林区")["value"] == 1.0
    assert _value(kpis, "communities_covered:pharmacy", "碑林区")["value"] == 1.0
    # grades (circle district from its residences)
    assert _value(kpis, "circles:basic", "莲湖区")["value"] == 1
    assert _value(kpis, "circles:basic", "碑林区")["value"] == 0
    assert _value(kpis, "households_basic_or_better", "碑林区")["value"] == 0.0
    # outlets by their district column: 莲湖 o1 o2 o3 (o1 chain), 碑林 o4 o5 (o4 chain)
    assert _value(kpis, "chain_share", "莲湖区")["value"] == pytest.approx(1 / 3)
    assert _value(kpis, "chain_share", "碑林区")["value"] == pytest.approx(1 / 2)
    assert _value(kpis, "outlets_per_10k:pharmacy", "莲湖区")["value"] == pytest.approx(20.0)
    assert _value(kpis, "outlets_per_10k:elderly_care", "碑林区")["value"] == pytest.approx(20.0)
    # floor area by circle district
    assert _value(kpis, "service_floor_area_per_100hh", "莲湖区")["value"] == pytest.approx(37.5)
    assert not _value(kpis, "service_floor_area_per_100hh", "碑林区")["meets"]
    # the district rows add up to the city
    for kpi in ("circles_total", "outlets_total"):
        total = sum(_value(kpis, kpi, d)["value"] for d in ("莲湖区", "碑林区"))
        assert total == _value(kpis, kpi)["value"]


def test_district_on_circles_only_and_outlets_by_polygon() -> None:
    res = _residences().drop(columns="district")
    box1 = shapely.box(108.90, 34.20, 108.95, 34.30)
    box2 = shapely.box(108.95, 34.20, 109.00, 34.30)
    circles = gpd.GeoDataFrame(
        {"circle_id": ["C1", "C2"], "street": ["北院门", "南院门"]}, geometry=[box1, box2], crs=4326
    )
    outlets = gpd.GeoDataFrame(
        _outlets().drop(columns="district"),
        geometry=gpd.points_from_xy([108.91, 108.92, 108.93, 108.96, 108.97, 108.98], [34.25] * 6),
        crs=4326,
    )
    kpis = _kpis(residences=res, outlets=outlets, circles=circles, district_column="street")
    assert _value(kpis, "communities_covered:pharmacy", "北院门")["value"] == 0.5
    assert _value(kpis, "chain_share", "北院门")["value"] == pytest.approx(1 / 3)
    assert _value(kpis, "outlets_total", "南院门")["value"] == 2


def test_district_outlets_unplaceable_gives_city_only() -> None:
    outlets = _outlets().drop(columns="district")
    kpis = _kpis(outlets=outlets, district_column="district")
    assert "chain_share" not in set(kpis.loc[kpis["scope"] != "city", "kpi"])
    assert "chain_share" in set(kpis.loc[kpis["scope"] == "city", "kpi"])


def test_access_result_accepted() -> None:
    class _Result:
        def to_pandas(self) -> pd.DataFrame:
            return _access()

    kpis = _kpis(access=_Result())
    assert _value(kpis, "communities_covered:pharmacy")["value"] == 0.75


def test_custom_catalogue_band() -> None:
    kpis = _kpis(catalogue=CAT)
    assert kpis.attrs["catalogue_version"] == CAT.version


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------


def test_missing_access_column() -> None:
    with pytest.raises(InputError) as info:
        _kpis(access=_access().drop(columns="nearest_min"))
    p = info.value.problems[0]
    assert p.field == "nearest_min" and "access" in p.message


def test_grades_need_circle_ids() -> None:
    with pytest.raises(InputError) as info:
        _kpis(residences=_residences().drop(columns="circle_id"), grades=_grades())
    assert {p.field for p in info.value.problems} == {"circle_id"}


def test_unknown_grade() -> None:
    with pytest.raises(InputError, match="unknown grades"):
        _kpis(grades=pd.DataFrame({"circle_id": ["C1"], "grade": ["五星"]}))


def test_district_column_nowhere() -> None:
    with pytest.raises(InputError) as info:
        _kpis(district_column="区县")
    p = info.value.problems[0]
    assert p.field == "区县" and "neither" in p.message


def test_floor_area_column_missing() -> None:
    with pytest.raises(InputError) as info:
        _kpis(floor_area="面积")
    assert info.value.problems[0].field == "面积"


def test_negative_floor_area() -> None:
    with pytest.raises(InputError) as info:
        _kpis(residences=_residences().assign(service_floor_area_m2=[1.0, -2.0, 1.0, 1.0]))
    p = info.value.problems[0]
    assert p.field == "service_floor_area_m2" and "rows 2" in p.message


def test_bad_target() -> None:
    with pytest.raises(InputError) as info:
        _kpis(chain_target=-1)
    assert info.value.problems[0].field == "chain_target"


# --------------------------------------------------------------------------------------------
# Chain brands
# --------------------------------------------------------------------------------------------


def test_default_brand_list() -> None:
    brands = load_chain_brands()
    assert brands.provenance.confidence == "P" and "extend per city" in brands.note
    for name in (
        "美宜佳",
        "罗森",
        "7-ELEVEN",
        "全家",
        "好邻居",
        "便利蜂",
        "华润万家",
        "大参林",
        "老百姓大药房",
        "海王星辰",
        "菜鸟驿站",
        "中国邮政",
        "京东",
    ):
        assert name in brands.names


@pytest.mark.parametrize(
    ("name", "chain"),
    [
        ("7-Eleven(钟楼店)", True),
        ("７－ＥＬＥＶＥＮ 便利店", True),  # full-width, spaces
        ("罗森 LAWSON", True),
        ("全家便利店", True),
        ("全家福饺子馆", False),
        ("京东方显示", False),
        ("京东便利店", True),
        ("永辉盲人按摩", False),
        ("永辉超市(解放路店)", True),
        ("菜鸟驿站(东关店)", True),
        ("街角小店", False),
    ],
)
def test_brand_matching(name: str, chain: bool) -> None:
    assert chain_outlets(pd.DataFrame({"name": [name]})).tolist() == [chain]


def test_brand_column_and_extension(tmp_path: Path) -> None:
    # a given brand makes a chain outlet (issue 13: an is_chain/brand column when given)
    given = pd.DataFrame({"name": ["A店", "B店"], "brand": ["本地鲜", None]})
    assert chain_outlets(given).tolist() == [True, False]
    frame = pd.DataFrame({"name": ["本地鲜(A店)", "B店"]})
    assert chain_outlets(frame).tolist() == [False, False]
    assert chain_outlets(frame, load_chain_brands(extra=["本地鲜"])).tolist() == [True, False]
    text = tmp_path / "brands.txt"
    text.write_text("# 西安\n本地鲜\n\n", encoding="utf-8")
    assert load_chain_brands(text).names == ("本地鲜",)
    assert chain_outlets(frame, text).tolist() == [True, False]
    assert chain_outlets(frame, ChainBrands(())).tolist() == [False, False]


def test_bad_brand_file(tmp_path: Path) -> None:
    path = tmp_path / "b.toml"
    path.write_text(
        '[[brand]]\nname = ""\n[[brand]]\nname = "x"\naliases = "y"\n', encoding="utf-8"
    )
    with pytest.raises(InputError) as info:
        load_chain_brands(path)
    fields = {p.field for p in info.value.problems}
    assert fields == {"brand[1].name", "brand[2].aliases"}
    assert all(p.file == str(path) for p in info.value.problems)


# --------------------------------------------------------------------------------------------
# Real data (Xi'an old town Baidu POIs)
# --------------------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_xian_chain_share(xian_dir: dict[str, Path]) -> None:
    from lifecircle.ingest import read_outlets

    outlets = read_outlets(xian_dir["poi"])
    typed = outlets[outlets["category"] != "unclassified"]
    mask = chain_outlets(typed)
    share = float(mask.mean())
    assert 0.0 < share < CHAIN_TARGET  # few national chains in the old town's Baidu names
    names = typed.loc[mask, "name"]
    assert names.str.contains("老百姓大药房|中国邮政|顺丰").any()
    assert not names.str.contains("全家福|永辉盲人").any()

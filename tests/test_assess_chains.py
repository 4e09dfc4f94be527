"""Chain detection: branch suffixes, whole tokens, the city's list, the repeated-name proxy."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from lifecircle.assess.chains import (
    DEFAULT_MIN_OUTLETS,
    chain_brands_found,
    chain_settings,
    detect_chains,
    normalise_name,
)
from lifecircle.assess.kpis import ChainBrands, compute_kpis, load_chain_brands
from lifecircle.errors import InputError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("美宜佳(钟楼店)", "美宜佳"),
        ("美宜佳（钟楼店）", "美宜佳"),
        ("老百姓大药房（北大街分店）", "老百姓大药房"),
        ("老百姓大药房(北大街分店", "老百姓大药房"),  # unclosed
        ("罗森【西大街店】", "罗森"),
        ("韵达快递(西安城中公司NO.710028)", "韵达快递"),
        ("秦唐九州通大药房NO.112", "秦唐九州通大药房"),
        ("美宜佳-钟楼店", "美宜佳"),
        ("雍村饭店-中餐厅", "雍村饭店-中餐厅"),  # a hall of one hotel, not a branch
        ("怡康医药 第3分店", "怡康医药"),
        ("ＬＡＷＳＯＮ 罗森", "lawson罗森"),
        ("(钟楼店)", "(钟楼店)"),  # nothing left: keep the text
    ],
)
def test_branch_suffix_stripped(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


@pytest.mark.parametrize(
    ("name", "brand"),
    [
        ("中国邮政储蓄银行(钟楼支行)", "中国邮政储蓄银行"),
        ("中国邮政储蓄银行ATM", "中国邮政储蓄银行"),
        ("邮储银行(西大街支行)", "中国邮政储蓄银行"),  # alias → its brand
        ("中国邮政(西大街邮政所)", "中国邮政"),
        ("全家福饺子馆", None),
        ("全家便利店", "全家"),
        ("京东方显示", None),
        ("永辉盲人按摩", None),
        ("某某小吃(华润万家店)", None),  # a brand in the branch suffix is not the outlet's brand
        ("罗森 LAWSON", "罗森"),
    ],
)
def test_whole_token_matching(name: str, brand: str | None) -> None:
    found = detect_chains(pd.DataFrame({"name": [name]}))
    assert found["brand"].iloc[0] == brand if brand else pd.isna(found["brand"].iloc[0])
    assert found["is_chain"].iloc[0] == (brand is not None)
    assert found["chain_method"].iloc[0] == ("brand_list" if brand else "none")


def test_latin_brand_needs_word_boundaries() -> None:
    lst = ChainBrands(("ok",))
    found = detect_chains(pd.DataFrame({"name": ["Book Bar", "OK便利店", "ok-mart"]}), lst)
    assert found["is_chain"].tolist() == [False, True, True]


def test_city_list_is_added_and_named() -> None:
    frame = pd.DataFrame({"name": ["怡康医药(东大街店)", "美宜佳(钟楼店)", "街角药店"]})
    national = detect_chains(frame, replace(load_chain_brands(), min_outlets=0))
    assert national["chain_method"].tolist() == ["none", "brand_list", "none"]
    city = chain_settings({"brands": ["怡康医药"], "min_outlets": 0})
    found = detect_chains(frame, city)
    assert found["chain_method"].tolist() == ["city_list", "brand_list", "none"]
    assert found["brand"].tolist()[:2] == ["怡康医药", "美宜佳"]
    # the same from a city file's [assessment.chains] through load_chain_brands(extra=...)
    assert detect_chains(frame, load_chain_brands(extra=["怡康医药"]))["is_chain"].tolist() == [
        True,
        True,
        False,
    ]


def test_repeated_name_proxy_threshold_and_rejections() -> None:
    names = [
        "泰生医药(西门店)",
        "泰生医药（唐元店）",
        "泰生医药",
        "大众理发",
        "大众理发",
        "大众理发",
    ]
    names += ["独家小馆", "独家小馆(二店)"]
    frame = pd.DataFrame({"name": names})
    found = detect_chains(frame)  # shipped list: proxy at 3, generic names rejected
    assert DEFAULT_MIN_OUTLETS == 3
    assert found["is_chain"].tolist() == [True] * 3 + [False] * 5
    assert set(found.loc[found["is_chain"], "chain_method"]) == {"repeated_name"}
    assert set(found.loc[found["is_chain"], "brand"]) == {"泰生医药"}
    two = detect_chains(frame, chain_settings({"min_outlets": 2}))
    assert two["is_chain"].tolist() == [True] * 3 + [False] * 3 + [True] * 2
    off = detect_chains(frame, chain_settings({"min_outlets": 0}))
    assert not off["is_chain"].any()
    rejected = detect_chains(frame, chain_settings({"not_chains": ["泰生医药"]}))
    assert not rejected["is_chain"].any()


def test_bank_branch_and_atm_are_one_brand_for_the_proxy() -> None:
    frame = pd.DataFrame(
        {"name": ["西安银行(西大街支行)", "西安银行ATM", "西安银行24小时自助银行"]}
    )
    found = detect_chains(frame)
    assert found["brand"].tolist() == ["西安银行"] * 3
    assert found["chain_method"].tolist() == ["repeated_name"] * 3


def test_given_columns_win() -> None:
    frame = pd.DataFrame(
        {
            "name": ["美宜佳", "小店", "小店", "小店", "某药房"],
            "brand": [None, None, None, None, "本地药"],
            "is_chain": pd.array([False, True, None, None, None], dtype="boolean"),
        }
    )
    found = detect_chains(frame)
    assert found["is_chain"].tolist() == [False, True, True, True, True]
    assert found["chain_method"].tolist() == [
        "given",
        "given",
        "repeated_name",
        "repeated_name",
        "given",
    ]
    assert found["brand"].iloc[4] == "本地药"


def test_brands_found_lists_counts_and_methods() -> None:
    frame = pd.DataFrame(
        {
            "name": [
                "罗森(钟楼店)",
                "罗森",
                "泰生医药(西门店)",
                "泰生医药",
                "泰生医药(北)",
                "小店",
            ],
            "category": ["convenience_store"] * 2 + ["pharmacy"] * 3 + ["convenience_store"],
        }
    )
    found = chain_brands_found(frame)
    assert found[["brand", "chain_method", "outlets", "categories"]].values.tolist() == [
        ["泰生医药", "repeated_name", 3, "pharmacy"],
        ["罗森", "brand_list", 2, "convenience_store"],
    ]
    assert chain_brands_found(frame.iloc[5:]).empty


def test_kpi_label_states_the_method() -> None:
    access = pd.DataFrame({"residence_id": ["r1"], "category": "pharmacy", "nearest_min": [4.0]})
    residences = pd.DataFrame({"residence_id": ["r1"], "households": [10.0]})
    outlets = pd.DataFrame(
        {
            "name": ["泰生医药(西门店)", "泰生医药", "泰生医药(北)", "老百姓大药房", "小药店"],
            "category": "pharmacy",
        }
    )
    kpis = compute_kpis(access=access, residences=residences, outlets=outlets).set_index("kpi")
    assert kpis.loc["chain_share", "value"] == pytest.approx(4 / 5)
    assert "全国品牌名单" in kpis.loc["chain_share", "kpi_zh"]
    assert "同名网点≥3家" in kpis.loc["chain_share", "kpi_zh"]
    off = compute_kpis(
        access=access,
        residences=residences,
        outlets=outlets,
        chain_brands={"min_outlets": 0, "brands": ["泰生医药"]},
    ).set_index("kpi")
    assert off.loc["chain_share", "value"] == pytest.approx(4 / 5)
    assert "本市品牌名单" in off.loc["chain_share", "kpi_zh"]
    assert "同名网点" not in off.loc["chain_share", "kpi_zh"]


def test_bad_chain_settings(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        chain_settings({"brands": "怡康", "min_outlets": 1, "minoutlets": 3})
    fields = {p.field for p in info.value.problems}
    assert fields == {"chains.brands", "proxy.min_outlets", "chains.minoutlets"}
    path = tmp_path / "b.toml"
    path.write_text('[proxy]\nmin_outlets = -1\n[[brand]]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(InputError):
        load_chain_brands(path)


@pytest.mark.shared_data
def test_xian_chains(xian_dir: dict[str, Path]) -> None:
    from lifecircle.ingest import read_outlets

    outlets = read_outlets(xian_dir["poi"])
    typed = outlets["category"] != "unclassified"
    found = detect_chains(outlets)
    share = float(found.loc[typed, "is_chain"].mean())
    assert 0.08 < share < 0.2  # list + proxy; the list alone found 2.2 % before
    by_brand = chain_brands_found(outlets[typed]).set_index("brand")
    assert by_brand.loc["怡康医药超市", "chain_method"] == "repeated_name"
    assert by_brand.loc["怡康医药超市", "outlets"] >= 20
    assert by_brand.loc["中国邮政储蓄银行", "outlets"] > 30
    post = found.loc[typed & (found["brand"] == "中国邮政"), :]
    assert not outlets.loc[post.index, "name"].str.contains("储蓄银行").any()
    assert "大众理发" not in by_brand.index


def test_assessment_outlets_carry_brand_and_method() -> None:
    from lifecircle.assess import assess_city
    from lifecircle.testing import street_town

    names = ["泰生医药(西门店)", "泰生医药(北门店)", "泰生医药", "罗森(钟楼店)", "小卖部"]
    outlets = [
        {"outlet_id": f"o{i}", "name": n, "category": "pharmacy" if i < 3 else "convenience_store",
         "x": 300 + 20 * i}
        for i, n in enumerate(names)
    ]  # fmt: skip
    net, homes, shops = street_town(outlets)
    result = assess_city(net, shops, homes, chains={"brands": ["罗森"], "not_chains": []})
    out = result.outlets.set_index("outlet_id")
    assert out["chain_method"].tolist() == ["repeated_name"] * 3 + ["city_list", "none"]
    assert out["brand"].tolist()[:4] == ["泰生医药"] * 3 + ["罗森"]
    assert out["is_chain"].tolist() == [True] * 4 + [False]
    kpi = result.kpis.set_index("kpi").loc["chain_share"]
    assert kpi["value"] == pytest.approx(4 / 5)
    assert "本市品牌名单" in kpi["kpi_zh"] and "同名网点≥3家" in kpi["kpi_zh"]

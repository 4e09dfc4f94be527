"""Tests of the 业态 catalogue and classifier (lifecircle.taxonomy)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecircle.errors import InputError
from lifecircle.taxonomy import (
    UNCLASSIFIED,
    Catalogue,
    Category,
    classify,
    load_catalogue,
    unclassified_report,
)

DATA = Path(__file__).parent / "data"
BUNDLED = Path(__file__).resolve().parents[1] / "src" / "lifecircle" / "taxonomy" / "data"

#: The 2021 Guide's lists (standards.md §13 D1), in the Guide's order.
GUIDE_BASIC = [
    "便利店",
    "综合超市",
    "菜市场",
    "生鲜超市（菜店）",
    "早餐店",
    "洗染店",
    "美容美发店",
    "照相文印店",
    "家政服务点",
    "维修点",
    "药店",
    "邮政快递综合服务点（快递公共取送点）",
    "再生资源回收点",
    "前置仓",
]
GUIDE_QUALITY = [
    "社区养老服务机构",
    "特色餐饮店",
    "蛋糕烘焙店",
    "新式书店",
    "运动健身房",
    "幼儿托管点",
    "培训教育点",
    "旅游服务点",
    "保健养生店",
    "鲜花礼品店",
    "茶艺咖啡馆",
    "宠物服务站",
]
#: Shorter names of standards.md §2.2-2.3, §12, §13 and the code they must resolve to.
SHORT_NAMES = {
    "生鲜超市": "fresh_grocery",
    "菜店": "fresh_grocery",
    "蔬菜零售": "fresh_grocery",
    "生鲜店": "fresh_grocery",
    "运动健身": "fitness",
    "健身房": "fitness",
    "教育培训": "training",
    "老年康护": "elderly_care",
    "养老": "elderly_care",
    "养老机构": "elderly_care",
    "养老康护": "elderly_care",
    "养老站点": "elderly_care",
    "幼儿托管": "childcare",
    "托育": "childcare",
    "休闲娱乐": "leisure_entertainment",
    "特色餐饮": "specialty_dining",
    "阅读书屋": "bookstore",
    "保健养生": "wellness",
    "咖啡": "tea_coffee",
    "茶艺": "tea_coffee",
    "咖啡店": "tea_coffee",
    "茶饮咖啡": "tea_coffee",
    "蛋糕烘焙": "bakery",
    "宠物服务": "pet_service",
    "智能快件箱": "post_express",
    "智能信包箱（快件箱）": "post_express",
    "快递公共取送点": "post_express",
    "末端配送": "post_express",
    "社区食堂": "community_canteen",
    "助餐点": "community_canteen",
    "快餐店": "fast_food",
    "小超市": "convenience_store",
    "连锁便利店": "convenience_store",
    "大中型超市": "supermarket",
    "农贸市场": "wet_market",
    "标准化菜场": "wet_market",
    "洗染": "laundry",
    "美容美发": "beauty_hair",
    "家政店": "housekeeping",
    "社区卫生服务站": "community_clinic",
    "银行": "bank",
}


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


# ---------------------------------------------------------------------------------------------
# catalogue
# ---------------------------------------------------------------------------------------------


def test_catalogue_basics(cat: Catalogue) -> None:
    assert cat.version == "2026.11.1"
    assert dict(cat.bands) == {"doorstep": 10.0, "surround": 15.0}
    assert 26 <= len(cat) <= 36
    codes = [c.code for c in cat.categories]
    assert len(set(codes)) == len(codes)
    assert all(isinstance(c, Category) for c in cat)
    assert cat.codes() == codes
    assert set(cat.codes("basic")) | set(cat.codes("quality")) == set(codes)
    for c in cat:
        assert c.klass in ("basic", "quality")
        assert c.band == ("doorstep" if c.klass == "basic" else "surround")
        assert c.source and c.confidence in {"V1", "V2", "R", "A", "U", "P"}
        assert set(c.slogans) <= {"一店", "一早", "一菜", "一修", "一老", "一小"}
    slogans = {s: cat.get(c).code for c in codes for s in cat.get(c).slogans}  # type: ignore[union-attr]
    assert set(slogans) == {"一店", "一早", "一菜", "一修", "一老", "一小"}


@pytest.mark.parametrize("name", GUIDE_BASIC)
def test_guide_basic_types_resolve(cat: Catalogue, name: str) -> None:
    code = cat.resolve(name)
    assert code is not None
    category = cat.get(code)
    assert category is not None and category.klass == "basic"
    assert category.name_zh == name and category.confidence == "V2"
    assert cat.band_minutes(code) == 10.0


@pytest.mark.parametrize("name", GUIDE_QUALITY)
def test_guide_quality_types_resolve(cat: Catalogue, name: str) -> None:
    code = cat.resolve(name)
    assert code is not None
    category = cat.get(code)
    assert category is not None and category.klass == "quality"
    assert category.name_zh == name
    assert cat.band_minutes(name) == 15.0


@pytest.mark.parametrize(("name", "code"), sorted(SHORT_NAMES.items()))
def test_short_names_resolve(cat: Catalogue, name: str, code: str) -> None:
    assert cat.resolve(name) == code


def test_resolve_is_tolerant(cat: Catalogue) -> None:
    assert cat.resolve("生鲜超市(菜店)") == "fresh_grocery"
    assert cat.resolve(" 生鲜超市 （菜店） ") == "fresh_grocery"
    assert cat.resolve("邮政快递综合服务点(快递公共取送点)") == "post_express"
    assert cat.resolve("CONVENIENCE_STORE") == "convenience_store"
    assert cat.resolve("Convenience store") == "convenience_store"
    assert cat.resolve("ＡＴＭ") == "bank"  # full-width letters
    assert cat.resolve("加油站") is None
    assert cat.resolve("") is None


def test_catalogue_accessors(cat: Catalogue) -> None:
    assert cat.get("pharmacy") == cat.get(cat.resolve("药房") or "")
    assert cat.get("no_such_code") is None
    assert "pharmacy" in cat and "药店" not in cat
    frame = cat.to_frame()
    assert list(frame.index) == cat.codes()
    assert frame.loc["convenience_store", "tier_min"] == 5.0
    assert frame.loc["elderly_care", "band_minutes"] == 15.0
    assert frame.loc["elderly_care", "slogans"] == "一老"
    assert {"name_zh", "name_en", "class", "band", "source", "confidence"} <= set(frame.columns)
    assert cat.get("community_canteen").is_proposal  # type: ignore[union-attr]
    assert not cat.get("convenience_store").is_proposal  # type: ignore[union-attr]
    with pytest.raises(InputError, match="not a 业态"):
        cat.band_minutes("加油站")
    with pytest.raises(InputError, match="class 'luxury'"):
        cat.codes("luxury")


def test_every_category_is_reachable(cat: Catalogue) -> None:
    """Each 业态 is produced by some source rule or keyword (a category nothing maps to is dead)."""
    rules = cat.rules
    reachable = {r.category for r in (*rules.baidu, *rules.amap_typecode, *rules.osm)}
    reachable |= {r.category for r in rules.keywords}
    assert set(cat.codes()) <= reachable


# ---------------------------------------------------------------------------------------------
# catalogue validation and city overrides
# ---------------------------------------------------------------------------------------------

_MINI = """
version = "t1"
[bands]
doorstep = 10
surround = 15
[[category]]
code = "convenience_store"
name_zh = "便利店"
name_en = "Convenience store"
class = "basic"
band = "doorstep"
source = "test"
confidence = "V2"
[[category]]
code = "pharmacy"
name_zh = "药店"
name_en = "Pharmacy"
class = "basic"
band = "doorstep"
aliases = ["药房"]
source = "test"
confidence = "V2"
"""

_MINI_MAPS = {
    "baidu_tags.csv": "tag,category,refine,source,confidence,note\n医疗;药店,pharmacy,,t,P,\n",
    "amap_typecodes.csv": "typecode,category,refine,source,confidence,note\n"
    "060200,convenience_store,,t,A,\n",
    "amap_types.csv": "type,category,refine,source,confidence,note\n",
    "osm_tags.csv": "tags,category,refine,source,confidence,note\n"
    "shop=convenience,convenience_store,,t,V,\n",
    "keywords.csv": "category,include,exclude,source,confidence,note\n"
    "convenience_store,便利,,t,P,\npharmacy,药房|药店,,t,P,\n",
}


def _write_catalogue(tmp_path: Path, text: str = _MINI, **maps: str) -> Path:
    for name, content in {**_MINI_MAPS, **maps}.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    mappings = (
        '\n[mappings]\nbaidu = "baidu_tags.csv"\namap_typecode = "amap_typecodes.csv"\n'
        'amap_type = "amap_types.csv"\nosm = "osm_tags.csv"\nkeywords = "keywords.csv"\n'
    )
    head, sep, tail = text.partition("[[category]]")
    path = tmp_path / "catalogue.toml"
    path.write_text(head + mappings + sep + tail, encoding="utf-8")
    return path


def test_city_catalogue_file_loads(tmp_path: Path) -> None:
    cat = load_catalogue(_write_catalogue(tmp_path))
    assert cat.version == "t1" and cat.codes() == ["convenience_store", "pharmacy"]
    out = classify(
        pd.DataFrame({"name": ["大药房", "x"], "tag": ["医疗;药店", None]}), catalogue=cat
    )
    assert out["category"].tolist() == ["pharmacy", UNCLASSIFIED]


def _problems(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_validation_duplicate_code(tmp_path: Path) -> None:
    text = _MINI.replace('code = "pharmacy"', 'code = "convenience_store"')
    with pytest.raises(InputError) as exc:
        load_catalogue(_write_catalogue(tmp_path, text))
    (problem,) = [p for p in exc.value.problems if "used twice" in p.message]
    assert problem.file is not None and problem.file.endswith("catalogue.toml")
    assert problem.field == "[[category]] #2 (convenience_store).code"
    assert problem.fix


def test_validation_bad_band_and_class(tmp_path: Path) -> None:
    text = _MINI.replace('band = "doorstep"', 'band = "nearby"', 1).replace(
        'class = "basic"', 'class = "luxury"', 1
    )
    with pytest.raises(InputError) as exc:
        load_catalogue(_write_catalogue(tmp_path, text))
    messages = _problems(exc)
    assert any("band 'nearby' is not defined in [bands]" in m for m in messages)
    assert any("class 'luxury' is not known" in m for m in messages)
    assert any("[[category]] #1 (convenience_store).class" in m for m in messages)


def test_validation_unknown_keys_and_duplicate_alias(tmp_path: Path) -> None:
    text = _MINI.replace('version = "t1"', 'version = "t1"\ncolour = "red"').replace(
        'aliases = ["药房"]', 'aliases = ["便利店"]\nradius = 500'
    )
    with pytest.raises(InputError) as exc:
        load_catalogue(_write_catalogue(tmp_path, text))
    messages = _problems(exc)
    assert len(messages) == 3  # every problem gathered in one error
    assert any("unknown top-level key 'colour'" in m for m in messages)
    assert any("unknown key 'radius'" in m and "(pharmacy).radius" in m for m in messages)
    assert any(
        "'便利店' is already a name or alias of 业态 'convenience_store'" in m for m in messages
    )


def test_validation_bands_and_version(tmp_path: Path) -> None:
    text = _MINI.replace('version = "t1"', "version = 3").replace("surround = 15", "surround = -1")
    with pytest.raises(InputError) as exc:
        load_catalogue(_write_catalogue(tmp_path, text))
    messages = _problems(exc)
    assert any("version must be a non-empty string" in m for m in messages)
    assert any("band 'surround' must be a positive number" in m for m in messages)


def test_validation_mapping_files(tmp_path: Path) -> None:
    bad_keywords = (
        "category,include,exclude,source,confidence,note\n"
        "gas_station,加油,,t,P,\n"  # unknown category
        "pharmacy,(?<=大)药房,,t,P,\n"  # look-behind: RE2 cannot run it
        "convenience_store,便利,,t,X,\n"  # unknown confidence
    )
    bad_codes = "typecode,category,refine,source,confidence,note\n60200,convenience_store,,t,A,\n"
    with pytest.raises(InputError) as exc:
        load_catalogue(
            _write_catalogue(
                tmp_path, **{"keywords.csv": bad_keywords, "amap_typecodes.csv": bad_codes}
            )
        )
    problems = exc.value.problems
    by_field = {(Path(p.file or "").name, p.row, p.field) for p in problems}
    assert ("keywords.csv", 1, "category") in by_field
    assert ("keywords.csv", 2, "include") in by_field
    assert ("keywords.csv", 3, "confidence") in by_field
    assert ("amap_typecodes.csv", 1, "typecode") in by_field


def test_validation_toml_syntax(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('version = "x\n', encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML") as exc:
        load_catalogue(path)
    assert exc.value.problems[0].file == str(path)
    with pytest.raises(InputError, match="file not found"):
        load_catalogue(tmp_path / "missing.toml")


def test_override_changes_band(tmp_path: Path, cat: Catalogue) -> None:
    path = tmp_path / "xian.toml"
    path.write_text(
        'version = "xian-1"\n[bands]\ndoorstep = 8\nnear = 5\n'
        '[category_band]\nconvenience_store = "near"\n',
        encoding="utf-8",
    )
    city = load_catalogue(overrides=path)
    assert city.version == "2026.11.1+xian-1"
    assert city.band_minutes("pharmacy") == 8.0
    assert city.band_minutes("convenience_store") == 5.0
    assert city.band_minutes("fitness") == 15.0
    assert cat.band_minutes("pharmacy") == 10.0  # the bundled default is untouched
    assert city.to_frame().loc["pharmacy", "band_minutes"] == 8.0


def test_override_adds_aliases_keywords_and_category(tmp_path: Path) -> None:
    path = tmp_path / "city.toml"
    path.write_text(
        '[aliases]\nconvenience_store = ["小卖铺"]\n'
        '[keywords]\nbreakfast = ["肉夹馍"]\ncharging = "充电"\n'
        '[[category]]\ncode = "charging"\nname_zh = "充电设施"\nname_en = "Charging"\n'
        'class = "basic"\nband = "doorstep"\nsource = "city"\nconfidence = "P"\n',
        encoding="utf-8",
    )
    city = load_catalogue(overrides=path)
    assert city.version == "2026.11.1+city"
    assert city.resolve("小卖铺") == "convenience_store"
    assert city.codes()[-1] == "charging"
    frame = pd.DataFrame(
        {
            "name": ["张记腊汁肉夹馍", "电动车充电站", "x"],
            "category": [None, None, "充电设施"],
        }
    )
    out = classify(frame, catalogue=city)
    assert out["category"].tolist() == ["breakfast", "charging", "charging"]


def test_override_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'radius = 1\n[category_band]\npharmacy = "far"\nunknown_code = "surround"\n'
        '[[category]]\ncode = "pharmacy"\nname_zh = "药店2"\nname_en = "P2"\nclass = "basic"\n'
        'band = "doorstep"\nsource = "x"\nconfidence = "P"\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as exc:
        load_catalogue(overrides=path)
    messages = _problems(exc)
    assert any("unknown top-level key 'radius'" in m for m in messages)
    assert any("band 'far' is not defined" in m and "category_band.pharmacy" in m for m in messages)
    assert any("unknown 业态 code 'unknown_code'" in m for m in messages)
    assert any("'pharmacy' already exists" in m for m in messages)
    assert all(str(path) in m for m in messages)


# ---------------------------------------------------------------------------------------------
# classify: explicit category column
# ---------------------------------------------------------------------------------------------


def test_category_column_names_and_aliases(cat: Catalogue) -> None:
    names = [*GUIDE_BASIC, *GUIDE_QUALITY, *SHORT_NAMES]
    frame = pd.DataFrame({"category": [*names, "pharmacy", "Pharmacy", "unclassified", None, " "]})
    out = classify(frame, catalogue=cat)
    expected = [cat.resolve(n) for n in names] + ["pharmacy", "pharmacy", UNCLASSIFIED] * 1
    assert out["category"].tolist()[: len(expected)] == expected
    assert out["category"].tolist()[-2:] == [UNCLASSIFIED, UNCLASSIFIED]
    assert (out["rule"].iloc[: len(expected)] == "category_column").all()
    assert out["rule"].tolist()[-2:] == ["none", "none"]
    assert out.loc[0, "category_zh"] == "便利店" and out.loc[0, "class"] == "basic"
    assert out["class"].iloc[-1] is None


def test_category_column_beats_source_and_name() -> None:
    frame = pd.DataFrame(
        {"category": ["药店", None], "tag": ["酒店;快捷酒店"] * 2, "name": ["x"] * 2}
    )
    out = classify(frame)
    assert out["category"].tolist() == ["pharmacy", UNCLASSIFIED]
    assert out["rule"].tolist() == ["category_column", "baidu_tag:酒店;快捷酒店"]


def test_unknown_category_names_row_and_field() -> None:
    frame = pd.DataFrame({"category": ["便利店", "便利点", None, "加油站", "便利点"]})
    with pytest.raises(InputError) as exc:
        classify(frame, file="outlets.csv")
    problems = exc.value.problems
    assert [p.row for p in problems] == [2, 4, 5]
    assert {p.field for p in problems} == {"category"}
    assert {p.file for p in problems} == {"outlets.csv"}
    assert "'便利点'" in problems[0].message and "便利店" in problems[0].message  # close match
    assert "加油站" in problems[1].message
    assert "outlets.csv, row 2, field 'category'" in str(exc.value)


# ---------------------------------------------------------------------------------------------
# classify: OSM, Amap, Baidu, keywords
# ---------------------------------------------------------------------------------------------

OSM_CASES = [
    ({"shop": "convenience"}, "", "convenience_store", "osm:shop=convenience"),
    ({"amenity": "pharmacy"}, "", "pharmacy", "osm:amenity=pharmacy"),
    ({"craft": "shoe_repair"}, "", "repair", "osm:craft=shoe_repair"),
    ({"craft": "key_cutter"}, "", "repair", "osm:craft=key_cutter"),
    ({"shop": "hairdresser"}, "", "beauty_hair", "osm:shop=hairdresser"),
    ({"shop": "dry_cleaning"}, "", "laundry", "osm:shop=dry_cleaning"),
    ({"shop": "greengrocer"}, "", "fresh_grocery", "osm:shop=greengrocer"),
    ({"amenity": "marketplace"}, "", "wet_market", "osm:amenity=marketplace"),
    ({"amenity": "parcel_locker"}, "", "post_express", "osm:amenity=parcel_locker"),
    ({"amenity": "kindergarten"}, "", "childcare", "osm:amenity=kindergarten"),
    ({"leisure": "fitness_centre"}, "", "fitness", "osm:leisure=fitness_centre"),
    ({"amenity": "bank"}, "", "bank", "osm:amenity=bank"),
    (
        {"amenity": "social_facility", "social_facility:for": "senior"},
        "",
        "elderly_care",
        "osm:amenity=social_facility;social_facility:for=senior",
    ),
    ({"amenity": "social_facility"}, "幸福养老院", "elderly_care", "keyword:养老"),
    ({"amenity": "social_facility"}, "救助站", UNCLASSIFIED, "osm:amenity=social_facility"),
    (
        {"amenity": "fast_food", "cuisine": "breakfast"},
        "",
        "breakfast",
        "osm:amenity=fast_food;cuisine=breakfast",
    ),
    ({"amenity": "fast_food"}, "老王包子铺", "breakfast", "keyword:包子"),
    ({"amenity": "fast_food"}, "老王面馆", "fast_food", "osm:amenity=fast_food"),
    ({"amenity": "fast_food"}, "", "fast_food", "osm:amenity=fast_food"),
    ({"amenity": "restaurant"}, "蜀香川菜馆", "specialty_dining", "osm:amenity=restaurant"),
    ({"shop": "bicycle"}, "", UNCLASSIFIED, "none"),
    ({"shop": "clothes"}, "", UNCLASSIFIED, "none"),
    ({}, "", UNCLASSIFIED, "none"),
]


@pytest.mark.parametrize(("tags", "name", "code", "rule"), OSM_CASES)
def test_osm_plain_columns(tags: dict[str, str], name: str, code: str, rule: str) -> None:
    columns = ["shop", "amenity", "craft", "leisure", "social_facility:for", "cuisine"]
    frame = pd.DataFrame([{c: tags.get(c) for c in columns} | {"name": name or None}])
    out = classify(frame)
    assert (out.loc[0, "category"], out.loc[0, "rule"]) == (code, rule)


def test_osm_tags_dict_column() -> None:
    frame = pd.DataFrame(
        {
            "osm_tags": [
                {"shop": "bicycle", "service:bicycle:repair": "yes"},
                {"amenity": "social_facility", "social_facility:for": "senior"},
                {"shop": "convenience"},
                None,
                {"amenity": "bench"},
            ],
            "name": ["车行", "日间照料中心", "全家", None, "长椅"],
        }
    )
    out = classify(frame, source="osm")
    assert out["category"].tolist() == [
        "repair",
        "elderly_care",
        "convenience_store",
        UNCLASSIFIED,
        UNCLASSIFIED,
    ]
    assert out.loc[0, "rule"] == "osm:shop=bicycle;service:bicycle:repair=yes"


AMAP_CASES = [
    ("060200", "", "convenience_store", "amap:060200"),
    ("060201", "", "convenience_store", "amap:060201"),  # 7-ELEVEn, under the 中类 060200
    ("090601", "", "pharmacy", "amap:090601"),
    ("071100", "", "beauty_hair", "amap:071100"),
    ("071500", "", "laundry", "amap:071500"),
    ("070500", "菜鸟驿站", "post_express", "amap:070500"),
    ("070500", "长安顺达物流有限公司", UNCLASSIFIED, "keyword:物流"),
    ("141204", "", "childcare", "amap:141204"),
    ("050304", "", "breakfast", "amap:050304"),
    ("050300", "胡辣汤", "breakfast", "keyword:胡辣汤"),
    ("050100", "", "specialty_dining", "amap:050100"),
    ("060411", "屈臣氏", UNCLASSIFIED, "amap:060411"),
    ("100105", "7天酒店", UNCLASSIFIED, "amap:100105"),  # 大类 100000, final
    ("060200|050000", "", "convenience_store", "amap:060200"),
    ("999999", "", UNCLASSIFIED, "none"),
    ("abc", "", UNCLASSIFIED, "none"),
]


@pytest.mark.parametrize(("typecode", "name", "code", "rule"), AMAP_CASES)
def test_amap_typecodes(typecode: str, name: str, code: str, rule: str) -> None:
    out = classify(pd.DataFrame({"typecode": [typecode], "name": [name or None]}))
    assert (out.loc[0, "category"], out.loc[0, "rule"]) == (code, rule)


def test_amap_integer_typecodes_keep_leading_zero() -> None:
    out = classify(pd.DataFrame({"typecode": [60200, 90601, 141204]}))
    assert out["category"].tolist() == ["convenience_store", "pharmacy", "childcare"]
    assert out["rule"].tolist() == ["amap:060200", "amap:090601", "amap:141204"]


def test_amap_type_strings() -> None:
    frame = pd.DataFrame(
        {
            "type": [
                "医疗保健服务;医药保健销售店;药房",
                "餐饮服务;快餐厅;永和豆浆",
                "住宿服务;宾馆酒店;四星级宾馆|餐饮服务;糕饼店;糕饼店",
                "地名地址信息;交通地名;道路名|医疗保健服务;动物医疗场所;宠物诊所",
                "餐饮服务;餐饮相关场所;餐饮相关",
                "餐饮服务;餐饮相关场所;餐饮相关",
            ],
            "name": ["x", "永和豆浆", "东方大饭店", "宠物医院", "忘忧驿站", "小胖包子"],
        }
    )
    out = classify(frame, source="amap")
    assert out["category"].tolist() == [
        "pharmacy",
        "breakfast",
        UNCLASSIFIED,  # the first type that a rule knows decides
        "pet_service",
        # Amap's catch-all food place is a restaurant (issue 13: it was left unclassified); it
        # accepts food keywords only, so 驿站 does not make it a parcel point
        "specialty_dining",
        "breakfast",
    ]
    assert out.loc[0, "rule"] == "amap_type:医疗保健服务;医药保健销售店;药房"


BAIDU_CASES = [
    ("医疗;药店", "安康大药房", "pharmacy", "baidu_tag:医疗;药店"),
    ("购物;便利店", "福小卖部", "convenience_store", "baidu_tag:购物;便利店"),
    ("购物;超市", "日日便利", "convenience_store", "keyword:便利"),
    ("购物;超市", "甜甜水果超市", "fresh_grocery", "keyword:水果"),
    ("购物;超市", "永福超市", "supermarket", "baidu_tag:购物;超市"),
    ("美食;小吃快餐店", "老马家肉丸糊辣汤", "breakfast", "keyword:糊辣汤"),
    ("美食;小吃快餐店", "肯德基(南门餐厅)", "fast_food", "baidu_tag:美食;小吃快餐店"),
    ("美食;小吃快餐店", "某某小馆", "fast_food", "baidu_tag:美食;小吃快餐店"),
    ("生活服务;家政服务", "老张配钥匙开锁", "repair", "keyword:配钥匙"),
    ("生活服务;家政服务", "银牌搬家", UNCLASSIFIED, "keyword:搬家"),
    ("生活服务;物流公司", "韵达快递", "post_express", "baidu_tag:生活服务;物流公司"),
    ("生活服务;物流公司", "长安顺达物流有限公司", UNCLASSIFIED, "keyword:物流"),
    ("生活服务;洗衣店", "老李缝纫店", "repair", "keyword:缝纫"),
    ("酒店;快捷酒店", "菜鸟驿站酒店", UNCLASSIFIED, "baidu_tag:酒店;快捷酒店"),
    ("政府机构;福利机构", "阳光养老院", "elderly_care", "keyword:养老"),
    ("政府机构;福利机构", "残疾人联合会", UNCLASSIFIED, "baidu_tag:政府机构;福利机构"),
    ("教育培训;培训机构", "彩虹托管", "childcare", "keyword:托管"),
    ("公司企业", "幸福社区回收站", "recycling", "keyword:回收站"),
    (None, "菜鸟驿站", "post_express", "keyword:菜鸟驿站"),
    (None, "扶梯", UNCLASSIFIED, "keyword:扶梯"),
    (None, "某某", UNCLASSIFIED, "none"),
]


@pytest.mark.parametrize(("tag", "name", "code", "rule"), BAIDU_CASES)
def test_baidu_tags(tag: str | None, name: str, code: str, rule: str) -> None:
    out = classify(pd.DataFrame({"tag": [tag], "name": [name]}))
    assert (out.loc[0, "category"], out.loc[0, "rule"]) == (code, rule)


def test_source_name_uses_keywords_only() -> None:
    frame = pd.DataFrame({"tag": ["医疗;药店", "医疗;药店"], "name": ["早餐铺", "无名"]})
    assert classify(frame, source="name")["category"].tolist() == ["breakfast", UNCLASSIFIED]
    assert classify(frame, source="baidu")["category"].tolist() == ["pharmacy", "pharmacy"]


def test_source_errors() -> None:
    frame = pd.DataFrame({"name": ["x"]})
    with pytest.raises(InputError, match="source='baidu' needs the column tag"):
        classify(frame, source="baidu", file="a.csv")
    with pytest.raises(InputError, match="source 'gaode' is not known"):
        classify(frame, source="gaode")
    with pytest.raises(InputError, match="needs a 'name' column"):
        classify(pd.DataFrame({"tag": ["x"]}), source="name")
    with pytest.raises(InputError, match="expected a pandas DataFrame"):
        classify([1, 2])  # type: ignore[arg-type]


def test_result_is_index_aligned_and_keeps_every_row() -> None:
    frame = pd.DataFrame(
        {
            "name": ["好邻居便利店", "不知道", None, "大药房"],
            "tag": [None, None, None, "医疗;药店"],
        },
        index=["d", "a", "c", "b"],
    )
    out = classify(frame)
    assert list(out.index) == ["d", "a", "c", "b"]
    assert list(out.columns) == ["category", "category_zh", "rule", "class"]
    assert out["category"].tolist() == ["convenience_store", UNCLASSIFIED, UNCLASSIFIED, "pharmacy"]
    assert out["category_zh"].tolist() == ["便利店", "未分类", "未分类", "药店"]
    assert out["class"].tolist() == ["basic", None, None, "basic"]
    empty = classify(frame.iloc[:0])
    assert len(empty) == 0 and list(empty.columns) == list(out.columns)


def test_unclassified_report() -> None:
    frame = pd.DataFrame(
        {
            "name": ["如家", "汉庭", "全季", "某公司", "好邻居便利店", None],
            "tag": ["酒店;快捷酒店"] * 3 + ["公司企业;公司", "购物;便利店", None],
        }
    )
    report = unclassified_report(classify(frame), frame, top=5)
    assert list(report.columns) == ["field", "value", "count", "share", "examples"]
    assert report["value"].tolist() == ["酒店;快捷酒店", "公司企业;公司", "(no type)"]
    assert report["count"].tolist() == [3, 1, 1]
    assert report.loc[0, "examples"] == "如家、汉庭、全季"
    assert report["share"].sum() == pytest.approx(1.0)
    assert len(unclassified_report(classify(frame), frame, top=1)) == 1
    osm = pd.DataFrame({"shop": ["clothes", "clothes", "convenience"], "name": ["a", "b", "c"]})
    osm_report = unclassified_report(classify(osm), osm)
    assert osm_report[["field", "value", "count"]].values.tolist() == [["shop", "shop=clothes", 2]]
    with pytest.raises(InputError, match="rows"):
        unclassified_report(classify(frame), frame.iloc[:2])


def test_classify_100k_rows_is_fast() -> None:
    rng = np.random.default_rng(7)
    names = np.array(
        ["好邻居便利店", "老马家肉丸糊辣汤", "某某公司", "韵达快递", "李师发艺", "扶梯"]
    )
    tags = np.array(["购物;便利店", "美食;小吃快餐店", "公司企业;公司", None, "丽人;美发", None])
    pick = rng.integers(0, len(names), 100_000)
    frame = pd.DataFrame({"name": names[pick], "tag": tags[pick]})
    classify(frame.iloc[:100])  # warm the catalogue cache
    start = time.perf_counter()
    out = classify(frame)
    elapsed = time.perf_counter() - start
    expected = np.array(
        [
            "convenience_store",
            "breakfast",
            UNCLASSIFIED,
            "post_express",
            "beauty_hair",
            UNCLASSIFIED,
        ]
    )
    assert (out["category"].to_numpy() == expected[pick]).all()
    assert elapsed < 10.0, f"100,000 rows took {elapsed:.1f} s"


# ---------------------------------------------------------------------------------------------
# real data: Xi'an Baidu POIs and the hand-labelled sample
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def xian_poi(xian_dir: dict[str, Path]) -> pd.DataFrame:
    path = xian_dir["poi"]
    if not path.is_file():
        pytest.skip(f"{path} is not present")
    return pd.read_csv(path, dtype=str)


@pytest.fixture(scope="module")
def xian_classified(xian_poi: pd.DataFrame) -> pd.DataFrame:
    return classify(xian_poi, file="xian_oldtown_baidu_poi_merged_utf8.csv")


@pytest.mark.shared_data
def test_xian_invariants(
    cat: Catalogue, xian_poi: pd.DataFrame, xian_classified: pd.DataFrame
) -> None:
    out = xian_classified
    assert out.index.equals(xian_poi.index)
    assert out["category"].notna().all()
    assert set(out["category"]) <= set(cat.codes()) | {UNCLASSIFIED}
    tag = xian_poi["tag"]
    assert (out.loc[tag == "医疗;药店", "category"] == "pharmacy").all()
    assert (out.loc[tag == "房地产;住宅区", "category"] == UNCLASSIFIED).all()
    assert (out.loc[tag.fillna("").str.startswith("酒店"), "category"] == UNCLASSIFIED).all()
    # the basic 业态 that Baidu tags are found in numbers
    counts = out["category"].value_counts()
    for code, at_least in {
        "convenience_store": 100,
        "pharmacy": 200,
        "beauty_hair": 500,
        "repair": 90,
        "laundry": 50,
        "breakfast": 20,
        "post_express": 30,
        "elderly_care": 10,
    }.items():
        assert counts.get(code, 0) >= at_least, code
    report = unclassified_report(out, xian_poi)
    assert report["count"].is_monotonic_decreasing and len(report) == 10


@pytest.mark.shared_data
def test_xian_labelled_sample_accuracy(
    cat: Catalogue,
    xian_poi: pd.DataFrame,
    xian_classified: pd.DataFrame,
    record_property: pytest.RecordProperty,
) -> None:
    labels = pd.read_csv(DATA / "labelled_xian_outlets.csv", dtype=str)
    assert list(labels.columns) == ["uid", "expected"]
    assert len(labels) >= 330 and labels["uid"].is_unique
    assert set(labels["expected"]) <= set(cat.codes()) | {UNCLASSIFIED}
    predicted = pd.Series(xian_classified["category"].to_numpy(), index=xian_poi["uid"])
    predicted = predicted[~predicted.index.duplicated()]
    assert labels["uid"].isin(predicted.index).all(), "labelled uids missing from the Baidu file"
    got = predicted.loc[labels["uid"]].to_numpy()
    correct = got == labels["expected"].to_numpy()
    life_codes = set(cat.codes("basic")) | {"fitness", "elderly_care", "childcare"}
    life = labels["expected"].isin(life_codes).to_numpy()
    overall = float(correct.mean())
    life_acc = float(correct[life].mean())
    record_property("overall_accuracy", round(overall, 4))
    record_property("life_service_accuracy", round(life_acc, 4))
    print(
        f"\nlabelled Xi'an sample: overall {correct.sum()}/{len(correct)} = {overall:.1%}, "
        f"life-service {correct[life].sum()}/{life.sum()} = {life_acc:.1%}"
    )
    assert life.sum() >= 200
    assert life_acc >= 0.90, f"life-service accuracy {life_acc:.1%} < 90 %"
    assert overall >= 0.85, f"overall accuracy {overall:.1%}"

"""The grading rulebook: shipped files, city overrides, and every kind of bad rulebook."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from lifecircle.assess import PRESETS, load_rulebook
from lifecircle.assess.rulebook import CONFIDENCE_TAGS
from lifecircle.errors import InputError
from lifecircle.taxonomy import load_catalogue

DATA = Path(__file__).resolve().parents[1] / "src" / "lifecircle" / "assess" / "data"


def write(tmp_path: Path, text: str, name: str = "city.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(excinfo: pytest.ExceptionInfo[InputError]) -> list[tuple[str | None, str]]:
    return [(p.field, p.message) for p in excinfo.value.problems]


# ---------------------------------------------------------------------------- shipped rulebooks


def test_default_rulebook_thresholds():
    book = load_rulebook()
    cat = load_catalogue()
    assert book.version == "2026.11.1" and book.provisional
    assert book.coverage_share == 0.8
    basic, enhanced, quality = book.grades
    core = (
        ("convenience_store", "supermarket"),
        # 一早: 早餐店、小吃店、便利店+早餐服务 (issue 13, standards.md §14.2)
        ("breakfast", "fast_food+breakfast", "convenience_store+breakfast_service"),
        ("wet_market", "fresh_grocery"),
        ("repair",),
        ("pharmacy",),
        ("post_express",),
    )
    assert basic.must_have == core and enhanced.must_have == core
    assert quality.must_have == (*core, ("elderly_care", "community_canteen"), ("childcare",))
    # Shanxi's 15/23 and 20/30 (and §13's 10/23, 10/30) applied to the catalogue's universe
    n_basic, n_quality = len(cat.codes("basic")), len(cat.codes("quality"))
    assert (n_basic, n_quality) == (18, 15)
    assert [g.min_basic for g in book.grades] == [8, 12, 12]
    assert [g.min_quality for g in book.grades] == [0, 5, 10]
    assert [g.evaluation_min for g in book.grades] == [60, 70, 85]
    assert [g.satisfaction_min for g in book.grades] == [None, None, 0.9]
    assert not any(g.require_evaluation for g in book.grades)
    assert all(g.must_have_within_min is None for g in book.grades)  # each 业态's own band
    assert "share 15/23 of the catalogue's 18 basic 业态 → 12" in enhanced.rules["min_basic"].note


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_shipped_rule_has_source_and_confidence(name):
    raw = tomllib.loads((DATA / PRESETS[name]).read_text(encoding="utf-8"))
    book = load_rulebook(preset=name)
    frame = book.to_frame()
    assert frame["source"].str.len().min() > 20
    assert set(frame["confidence"]) <= CONFIDENCE_TAGS - {"city"}
    assert "note" in raw["meta"] and book.meta["name"]
    assert book.sha256 and len(book.files) == (1 if name == "default" else 2)


def test_shanxi_star_preset():
    book = load_rulebook(preset="shanxi_star")
    assert [g.label for g in book.grades] == ["三星 ★★★", "四星 ★★★★", "五星 ★★★★★"]
    assert all(g.min_basic == 12 and g.min_quality == 10 for g in book.grades)
    assert all(g.require_evaluation for g in book.grades)
    assert [g.evaluation_min for g in book.grades] == [60, 70, 85]


def test_beijing_8_preset():
    book = load_rulebook(preset="beijing_8")
    assert book.coverage_share == 1.0
    basic = book.grade("basic")
    assert len(basic.must_have) == 8
    assert {c for group in basic.must_have for c in group} == {
        "wet_market", "fresh_grocery", "convenience_store", "supermarket", "breakfast",
        "housekeeping", "beauty_hair", "post_express", "repair", "laundry",
    }  # fmt: skip
    assert ("pharmacy",) in book.grade("提升型").must_have


def test_to_frame_lists_every_rule():
    frame = load_rulebook().to_frame()
    assert list(frame.columns) == [
        "grade", "rule", "value", "source", "confidence", "file", "line", "note"
    ]  # fmt: skip
    row = frame[(frame["grade"] == "品质型") & (frame["rule"] == "satisfaction_min")].iloc[0]
    assert row["value"] == 0.9 and row["confidence"] == "V2" and row["line"] > 0


# ---------------------------------------------------------------------------- city files


def test_city_file_overrides_one_rule_and_keeps_the_rest(tmp_path: Path):
    path = write(
        tmp_path,
        'version = "xian-2026"\n'
        "coverage_share = 0.7\n"
        '[grade."提升型"]\n'
        "min_quality = 6\n"
        '[grade."品质型".min_quality]\n'
        "value = 12\n"
        'source = "西安市商务局 2026"\n',
    )
    book = load_rulebook(path)
    assert book.version == "2026.11.1+xian-2026"
    assert book.coverage_share == 0.7
    assert book.grade("提升型").min_quality == 6 and book.grade("提升型").min_basic == 12
    rule = book.grade("提升型").rules["min_quality"]
    assert (rule.confidence, rule.source, rule.line) == ("city", "set in city.toml", 4)
    q = book.grade("品质型").rules["min_quality"]
    assert (q.value, q.source, q.confidence) == (12, "西安市商务局 2026", "city")
    assert book.grade("基础型").coverage_share == 0.7  # the top-level share applies to every grade
    assert book.files[-1] == str(path) and len(book.files) == 2
    assert book.sha256 != load_rulebook().sha256


def test_false_switches_an_optional_threshold_off(tmp_path: Path):
    book = load_rulebook(overrides={"grade": {"品质型": {"satisfaction_min": False}}})
    assert book.grade("品质型").satisfaction_min is None


def test_english_grade_names_and_string_groups():
    book = load_rulebook(
        overrides={
            "grade": {"quality": {"must_have": [*load_must("品质型"), "bakery|florist_gift"]}}
        }
    )
    assert book.grade("品质型").must_have[-1] == ("bakery", "florist_gift")


def load_must(grade: str) -> list[list[str]]:
    return [list(g) for g in load_rulebook().grade(grade).must_have]


def test_chinese_names_resolve_to_codes():
    must = [
        ["便利店", "综合超市"],
        ["早餐", "快餐小吃店+breakfast", "便利店+breakfast_service"],
        ["菜市场", "菜店"],
        ["维修点"],
        ["药房"],
        ["快递驿站"],
    ]
    book = load_rulebook(overrides={"grade": {"基础型": {"must_have": must}}})
    assert book.grade("基础型").must_have == load_rulebook().grade("基础型").must_have


def test_count_as_share_or_integer():
    book = load_rulebook(
        overrides={"grade": {"品质型": {"min_quality": {"share": 0.8, "source": "x"}}}}
    )
    assert book.grade("品质型").min_quality == 12  # ceil(15 × 0.8)


def test_extends_chain_and_complete_files(tmp_path: Path):
    write(tmp_path, 'version = "base"\nextends = "beijing_8"\n', "base.toml")
    top = write(
        tmp_path, 'version = "top"\nextends = "base.toml"\n[grade."提升型"]\nmin_quality = 6\n'
    )
    book = load_rulebook(top)
    assert book.coverage_share == 1.0 and book.grade("提升型").min_quality == 6
    assert book.version == "2026.11.1+beijing8-2022+base+top"
    assert len(book.files) == 4  # default → beijing_8 → base → city
    complete = write(
        tmp_path,
        (DATA / "rulebook_default.toml").read_text(encoding="utf-8"),
        "complete.toml",
    )
    mine, default = load_rulebook(complete).to_frame(), load_rulebook().to_frame()
    assert mine.drop(columns="file").equals(default.drop(columns="file"))


# ---------------------------------------------------------------------------- bad rulebooks


def test_unknown_business_type_suggests_close_names(tmp_path: Path):
    path = write(
        tmp_path,
        '[grade."基础型".must_have]\n'
        'value = [["convenience_store"], ["breakfst"], ["药点"]]\n'
        'source = "city"\n'
        'confidence = "city"\n',
    )
    with pytest.raises(InputError) as info:
        load_rulebook(path)
    found = info.value.problems
    assert [p.field for p in found] == ["grade.基础型.must_have"] * 2
    assert found[0].file == str(path) and "(line 1)" in found[0].message
    assert "unknown 业态 'breakfst' in group 2" in found[0].message
    assert "breakfast" in (found[0].fix or "")
    assert "药店" in (found[1].fix or "")


@pytest.mark.parametrize(
    ("minutes", "match"),
    [
        (0, "must be positive minutes"),
        (-5, "must be positive minutes"),
        (20, "beyond the access search radius of 15 min"),
        ("ten", "must be positive minutes"),
    ],
)
def test_bad_band(minutes, match):
    with pytest.raises(InputError, match=match) as info:
        load_rulebook(overrides={"grade": {"基础型": {"must_have_within_min": minutes}}})
    assert info.value.problems[0].field == "grade.基础型.must_have_within_min"


def test_band_limit_follows_the_search_radius():
    book = load_rulebook(
        overrides={
            "grade": {g: {"must_have_within_min": 18} for g in ("基础型", "提升型", "品质型")}
        },
        max_minutes=20,
    )
    assert book.bands_min() == {18.0}


@pytest.mark.parametrize(
    ("overrides", "field", "match"),
    [
        ({"grade": {"提升型": {"min_basic": 5}}}, "grade.提升型.min_basic", "less than 基础型's 8"),
        (
            {"grade": {"品质型": {"min_quality": 3}}},
            "grade.品质型.min_quality",
            "less than 提升型's 5",
        ),
        (
            {"grade": {"基础型": {"coverage_share": 0.9}}},
            "grade.提升型.coverage_share",
            "coverage_share = 0.8 is less than 基础型's 0.9",
        ),
        (
            {"grade": {"提升型": {"must_have": [["breakfast"]]}}},
            "grade.提升型.must_have",
            "must-have convenience_store|supermarket of 基础型 is dropped by 提升型",
        ),
        (
            {"grade": {"提升型": {"evaluation_min": 50}}},
            "grade.提升型.evaluation_min",
            "evaluation_min is 50 while 基础型 requires 60",
        ),
        (
            {"grade": {"提升型": {"evaluation_min": False}}},
            "grade.提升型.evaluation_min",
            "evaluation_min is not set while 基础型 requires 60",
        ),
        (
            {"grade": {"基础型": {"require_evaluation": True}}},
            "grade.提升型.require_evaluation",
            "提升型 does not set require_evaluation while 基础型 does",
        ),
        (
            {"grade": {"基础型": {"must_have_within_min": 5}}},
            "grade.提升型.must_have_within_min",
            "may be 10 min away in 提升型 but only 5 min in 基础型",
        ),
    ],
)
def test_contradictory_grades(overrides, field, match):
    with pytest.raises(InputError, match=match) as info:
        load_rulebook(overrides=overrides)
    assert field in [p.field for p in info.value.problems]
    assert "a higher grade must demand at least" in str(info.value)


def test_a_stricter_alternative_group_is_not_a_contradiction():
    must = load_must("提升型")
    must[0] = ["supermarket"]  # 基础型 accepts 便利店 or 综合超市; 提升型 only 综合超市
    book = load_rulebook(overrides={"grade": {"提升型": {"must_have": must}, "品质型": {
        "must_have": [*must, ["elderly_care"], ["childcare"]]}}})  # fmt: skip
    assert book.grade("提升型").must_have[0] == ("supermarket",)


@pytest.mark.parametrize(
    ("text", "field", "match"),
    [
        ("colour = 1\n", "colour", "unknown top-level key 'colour'"),
        (
            '[grade."基础型"]\nmin_basics = 3\n',
            "grade.基础型.min_basics",
            "unknown key 'min_basics'",
        ),
        (
            '[grade."基础型".min_basic]\nvalue = 3\nsource = "x"\nconfidense = "P"\n',
            "grade.基础型.min_basic.confidense",
            "unknown key 'confidense' in rule min_basic",
        ),
        ('[grade."优秀型"]\nmin_basic = 3\n', "grade.优秀型", "unknown grade '优秀型'"),
    ],
)
def test_unknown_keys(tmp_path: Path, text, field, match):
    path = write(tmp_path, text)
    with pytest.raises(InputError, match=match) as info:
        load_rulebook(path)
    problem = next(p for p in info.value.problems if p.field == field)
    assert problem.file == str(path)
    assert "(line " in problem.message and problem.fix


@pytest.mark.parametrize(
    ("overrides", "field", "match"),
    [
        ({"grade": {"基础型": {"min_basic": "ten"}}}, "grade.基础型.min_basic", "whole number"),
        ({"grade": {"基础型": {"min_basic": 2.5}}}, "grade.基础型.min_basic", "whole number"),
        ({"coverage_share": 80}, "coverage_share", r"share in \(0, 1\], got 80"),
        (
            {"grade": {"品质型": {"satisfaction_min": 90}}},
            "grade.品质型.satisfaction_min",
            r"rate 0–1 or false, got 90 \(0.9\?\)",
        ),
        ({"grade": {"品质型": {"evaluation_min": 120}}}, "grade.品质型.evaluation_min", "0–100"),
        (
            {"grade": {"品质型": {"require_evaluation": "yes"}}},
            "grade.品质型.require_evaluation",
            "true or false",
        ),
        (
            {"grade": {"品质型": {"must_have": "breakfast"}}},
            "grade.品质型.must_have",
            "list of groups",
        ),
        ({"grade": {"品质型": {"must_have": [[]]}}}, "grade.品质型.must_have", "non-empty list"),
        (
            {"grade": {"品质型": {"min_quality": 16}}},
            "grade.品质型.min_quality",
            "cannot be met: catalogue 2026.11.1 has only 15 quality 业态",
        ),
        (
            {"grade": {"品质型": {"min_quality": {"share": "abc", "source": "x"}}}},
            "grade.品质型.min_quality",
            "share must be a fraction",
        ),
        (
            {"grade": {"品质型": {"min_quality": {"value": 3, "source": "x", "confidence": "V9"}}}},
            "grade.品质型.min_quality.confidence",
            "confidence 'V9' is not a known tag",
        ),
        (
            {"grade": {"品质型": {"min_quality": {"source": "x"}}}},
            "grade.品质型.min_quality",
            "exactly one of value or share",
        ),
        (
            {"grade": {"品质型": {"evaluation_min": {"share": 0.5, "source": "x"}}}},
            "grade.品质型.evaluation_min.share",
            "only allowed for min_basic / min_quality",
        ),
    ],
)
def test_wrong_types(overrides, field, match):
    with pytest.raises(InputError, match=match) as info:
        load_rulebook(overrides=overrides)
    assert field in [p.field for p in info.value.problems]


def test_every_problem_is_reported_at_once(tmp_path: Path):
    path = write(
        tmp_path,
        "colour = 1\n"
        '[grade."基础型"]\n'
        'min_basic = "many"\n'
        '[grade."品质型"]\n'
        "satisfaction_min = 95\n",
    )
    with pytest.raises(InputError) as info:
        load_rulebook(path)
    fields = [p.field for p in info.value.problems]
    assert fields == ["colour", "grade.基础型.min_basic", "grade.品质型.satisfaction_min"]
    lines = [p.message.rsplit("(line ", 1)[1] for p in info.value.problems]
    assert lines == ["1)", "3)", "5)"]


def test_invalid_toml_and_unquoted_chinese_table(tmp_path: Path):
    path = write(tmp_path, "[grade.基础型]\nmin_basic = 3\n")
    with pytest.raises(InputError, match=r'not valid TOML.*\[grade\."基础型"\]'):
        load_rulebook(path)


def test_missing_file_and_bad_extends(tmp_path: Path):
    with pytest.raises(InputError, match="rulebook file not found"):
        load_rulebook(tmp_path / "nope.toml")
    path = write(tmp_path, 'extends = "nowhere.toml"\n')
    with pytest.raises(InputError, match="no such preset or file"):
        load_rulebook(path)
    loop = write(tmp_path, 'extends = "loop.toml"\n', "loop.toml")
    with pytest.raises(InputError, match="makes a cycle"):
        load_rulebook(loop)


def test_complete_file_must_have_every_grade(tmp_path: Path):
    path = write(
        tmp_path,
        'version = "x"\nextends = "none"\ncoverage_share = 0.8\n'
        '[grade."基础型"]\nmust_have = []\nmin_basic = 0\nmin_quality = 0\n',
    )
    with pytest.raises(InputError) as info:
        load_rulebook(path)
    assert [p.field for p in info.value.problems] == ["grade.提升型", "grade.品质型"]


def test_preset_and_path_together_or_unknown_preset(tmp_path: Path):
    with pytest.raises(InputError, match="unknown rulebook preset 'hangzhou'"):
        load_rulebook(preset="hangzhou")
    with pytest.raises(InputError, match="both a rulebook file and a preset"):
        load_rulebook(write(tmp_path, ""), preset="default")

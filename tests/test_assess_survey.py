"""满意度调查: survey definitions, responses, satisfaction rates and Wilson intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle.assess.survey import (
    SURVEY_PRESETS,
    Z_95,
    load_survey,
    read_responses,
    satisfaction_by_circle,
    wilson_interval,
)
from lifecircle.errors import InputError, Problem

SURVEY = load_survey()


def _problem(
    exc: InputError, *, file: str | None = None, row: int | None = None, field: str | None = None
) -> Problem:
    """The first problem matching file/row/field; its location is also in the message."""
    for p in exc.problems:
        if (
            (file is None or p.file == file)
            and (row is None or p.row == row)
            and (field is None or p.field == field)
        ):
            text = str(exc)
            if file is not None:
                assert file in text
            if row is not None:
                assert f"row {row}" in text
            if field is not None:
                assert f"field '{field}'" in text
            return p
    raise AssertionError(f"no problem at file={file} row={row} field={field} in:\n{exc}")


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------------------------
# Wilson interval
# --------------------------------------------------------------------------------------------


def test_wilson_45_of_50() -> None:
    low, high = wilson_interval(45, 50)
    assert float(low) == pytest.approx(0.786398, abs=1e-6)
    assert float(high) == pytest.approx(0.956524, abs=1e-6)


def test_wilson_by_hand() -> None:
    # p = 0.9, z² = 3.841459, n = 50: centre = (0.9 + z²/100) / (1 + z²/50),
    # half = z / (1 + z²/50) * sqrt(0.09/50 + z²/10000)
    z2 = Z_95**2
    centre = (0.9 + z2 / 100) / (1 + z2 / 50)
    half = Z_95 / (1 + z2 / 50) * np.sqrt(0.09 / 50 + z2 / 10000)
    low, high = wilson_interval(45, 50)
    assert float(low) == pytest.approx(centre - half, abs=1e-12)
    assert float(high) == pytest.approx(centre + half, abs=1e-12)
    assert round(float(low), 4) == 0.7864 and round(float(high), 4) == 0.9565


def test_wilson_all_and_none_satisfied() -> None:
    low, high = wilson_interval([10, 0], [10, 10])
    assert low[0] == pytest.approx(0.722467, abs=1e-6) and high[0] == 1.0
    assert low[1] == 0.0 and high[1] == pytest.approx(0.277533, abs=1e-6)


def test_wilson_n_zero_is_nan() -> None:
    low, high = wilson_interval([0, 3], [0, 4])
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert np.isfinite(low[1]) and np.isfinite(high[1])


@settings(deadline=None, max_examples=60)
@given(
    st.integers(min_value=1, max_value=2000).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    )
)
def test_wilson_matches_scipy(kn: tuple[int, int]) -> None:
    from scipy.stats import binomtest

    k, n = kn
    ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(k, n)
    assert float(low) == pytest.approx(ref.low, abs=1e-6)
    assert float(high) == pytest.approx(ref.high, abs=1e-6)
    assert 0.0 <= float(low) <= k / n <= float(high) <= 1.0


# --------------------------------------------------------------------------------------------
# Survey definitions
# --------------------------------------------------------------------------------------------


def test_default_survey() -> None:
    assert SURVEY.labels == ("满意", "比较满意", "一般", "不太满意", "不满意")
    assert SURVEY.values == (5, 4, 3, 2, 1)
    assert SURVEY.satisfied_values == (5, 4)
    assert SURVEY.not_applicable[0] == "不清楚"
    assert SURVEY.target == 0.9
    assert SURVEY.overall_question is not None and SURVEY.overall_question.id == "overall"
    assert SURVEY.provenance["target"].confidence == "V2"
    for key in ("scale", "not_applicable", "satisfied", "questions"):
        assert SURVEY.provenance[key].confidence == "P"
        assert "standards.md" in SURVEY.provenance[key].source
    assert len({q.id for q in SURVEY.questions}) == len(SURVEY.questions) == 15
    assert SURVEY.scale_en[5] == "satisfied"


def test_four_point_preset() -> None:
    four = load_survey(preset="four_point")
    assert four.labels == ("满意", "基本满意", "不太满意", "不满意")
    assert four.values == (4, 3, 2, 1)
    assert four.satisfied_values == (4, 3)
    assert four.provenance["scale"].confidence == "V2"
    assert "济南" in four.provenance["scale"].source
    assert four.target == 0.9 and four.questions == SURVEY.questions  # from the default
    frame = pd.DataFrame(
        {"circle_id": ["A"] * 4, "overall": ["满意", "基本满意", "不太满意", "不清楚"]}
    )
    rates = satisfaction_by_circle(read_responses(frame, four), four)
    a = rates.set_index("circle_id").loc["A"]
    assert (a["n_valid"], a["n_satisfied"]) == (3, 2)
    assert a["rate"] == pytest.approx(2 / 3)


def test_four_point_rejects_five_point_answer() -> None:
    four = load_survey(preset="four_point")
    frame = pd.DataFrame({"circle_id": ["A", "A"], "overall": ["满意", "一般"]})
    with pytest.raises(InputError) as info:
        read_responses(frame, four)
    p = _problem(info.value, row=2, field="overall")
    assert "'一般'" in p.message and "基本满意=3" in p.message


def test_presets_listed() -> None:
    assert set(SURVEY_PRESETS) == {"default", "four_point"}
    assert load_survey("four_point").values == (4, 3, 2, 1)
    with pytest.raises(InputError, match="unknown survey preset 'seven'"):
        load_survey(preset="seven")


def test_city_survey_extends_default(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "city.toml",
        'version = "xa-1"\nextends = "default"\n\n[[question]]\nid = "q1"\ntext_zh = "买菜"\n'
        '\n[[question]]\nid = "all_in_all"\ntext_zh = "总体评价"\noverall = true\n',
    )
    city = load_survey(path)
    assert [q.id for q in city.questions] == ["q1", "all_in_all"]
    assert city.version == "xa-1" and city.labels == SURVEY.labels
    assert city.overall_question is not None and city.overall_question.id == "all_in_all"


_GOOD = """
version = "t"
[scale]
labels = ["好", "中", "差"]
values = [3, 2, 1]
source = "test"
confidence = "P"
[satisfied]
values = [3]
source = "test"
confidence = "P"
[target]
value = 0.8
source = "test"
confidence = "P"
[[question]]
id = "overall"
text_zh = "总体"
overall = true
"""


def test_custom_survey_file(tmp_path: Path) -> None:
    s = load_survey(_write(tmp_path / "s.toml", _GOOD))
    assert s.values == (3, 2, 1) and s.target == 0.8 and s.not_applicable == ()


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (("values = [3, 2, 1]", "values = [3, 2]"), "scale.values", "3 labels but 2 values"),
        (("values = [3]", "values = [4]"), "satisfied.values", "not values of the scale"),
        (("value = 0.8", "value = 90"), "target.value", "share in (0, 1]"),
        (('id = "overall"', 'id = "overall"\nweight = 2'), "question[1].weight", "unknown key"),
        (
            ('labels = ["好", "中", "差"]', 'labels = ["好", "好", "差"]'),
            "scale.labels",
            "duplicate",
        ),
        (
            ('confidence = "P"\n[satisfied]', 'confidence = "X"\n[satisfied]'),
            "scale.confidence",
            "not a known tag",
        ),
        (("values = [3]", "values = [3, 2, 1]"), "satisfied.values", "always 100 %"),
        (('version = "t"', 'version = "t"\nextends = "other"'), "extends", "bundled survey preset"),
    ],
)
def test_bad_survey_file(tmp_path: Path, edit: tuple[str, str], field: str, words: str) -> None:
    old, new = edit
    assert old in _GOOD
    path = _write(tmp_path / "bad.toml", _GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        load_survey(path)
    p = _problem(info.value, file=str(path), field=field)
    assert words in p.message


def test_bad_survey_duplicate_and_overall_questions(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bad.toml",
        _GOOD + '[[question]]\nid = "overall"\ntext_zh = "总体2"\noverall = true\n',
    )
    with pytest.raises(InputError) as info:
        load_survey(path)
    assert "repeats the id" in _problem(info.value, field="question[2].id").message
    assert (
        "2 questions are marked overall" in _problem(info.value, field="question.overall").message
    )


def test_bad_survey_missing_tables(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.toml", 'version = "t"\n')
    with pytest.raises(InputError) as info:
        load_survey(path)
    fields = {p.field for p in info.value.problems}
    assert {"scale", "satisfied", "target", "question"} <= fields


def test_survey_not_toml(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.toml", "version = \n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_survey(path)
    with pytest.raises(InputError, match="file not found"):
        load_survey(tmp_path / "missing.toml")


# --------------------------------------------------------------------------------------------
# Responses and rates
# --------------------------------------------------------------------------------------------


def _answers(circle: str, counts: dict[object, int]) -> pd.DataFrame:
    values = [a for a, n in counts.items() for _ in range(n)]
    return pd.DataFrame({"circle_id": circle, "overall": values})


def test_rate_on_known_counts() -> None:
    frame = pd.concat(
        [
            _answers(
                "A", {"满意": 30, 4: 15, "一般": 3, "不太满意": 1, 1: 1, "不清楚": 3, None: 2}
            ),
            _answers("B", {"满意": 3, "比较满意": 2, "一般": 5}),
        ],
        ignore_index=True,
    )
    rates = satisfaction_by_circle(read_responses(frame, SURVEY), SURVEY)
    assert rates["circle_id"].tolist() == ["A", "B", "city"]
    assert list(rates.columns) == [
        "circle_id",
        "n_valid",
        "n_satisfied",
        "rate",
        "ci_low",
        "ci_high",
        "below_target",
        "significantly_below",
    ]
    r = rates.set_index("circle_id")
    assert (r.loc["A", "n_valid"], r.loc["A", "n_satisfied"]) == (50, 45)
    assert r.loc["A", "rate"] == pytest.approx(0.9)
    assert r.loc["A", "ci_low"] == pytest.approx(0.7864, abs=5e-5)
    assert r.loc["A", "ci_high"] == pytest.approx(0.9565, abs=5e-5)
    assert not r.loc["A", "below_target"]  # 0.9 is not below 0.9 (point estimate)
    assert not r.loc["A", "significantly_below"]
    assert (r.loc["B", "n_valid"], r.loc["B", "n_satisfied"]) == (10, 5)
    assert r.loc["B", "below_target"] and r.loc["B", "significantly_below"]  # Wilson high 0.763
    assert (r.loc["city", "n_valid"], r.loc["city", "n_satisfied"]) == (60, 50)
    assert r.loc["city", "rate"] == pytest.approx(50 / 60)
    low, high = wilson_interval(50, 60)
    assert r.loc["city", "ci_low"] == pytest.approx(float(low))
    assert r.loc["city", "ci_high"] == pytest.approx(float(high))
    assert rates.attrs["question"] == "overall" and rates.attrs["target"] == 0.9


def test_below_but_not_significantly() -> None:
    frame = _answers("A", {"满意": 8, "一般": 2})  # 0.8 < 0.9 but Wilson high 0.943 ≥ 0.9
    r = satisfaction_by_circle(read_responses(frame, SURVEY), SURVEY).set_index("circle_id")
    assert r.loc["A", "below_target"] and not r.loc["A", "significantly_below"]


def test_all_satisfied() -> None:
    frame = _answers("A", {"满意": 6, "比较满意": 4})
    r = satisfaction_by_circle(read_responses(frame, SURVEY), SURVEY).set_index("circle_id")
    assert r.loc["A", "rate"] == 1.0 and r.loc["A", "ci_high"] == 1.0
    assert r.loc["A", "ci_low"] == pytest.approx(0.722467, abs=1e-6)
    assert not r.loc["A", "below_target"]


def test_no_valid_answers_gives_nan() -> None:
    frame = pd.concat(
        [_answers("A", {"不清楚": 2, None: 1}), _answers("B", {"满意": 1})], ignore_index=True
    )
    r = satisfaction_by_circle(read_responses(frame, SURVEY), SURVEY, circles=["A", "B", "C"])
    r = r.set_index("circle_id")
    for cid in ("A", "C"):
        assert r.loc[cid, "n_valid"] == 0 and r.loc[cid, "n_satisfied"] == 0
        assert np.isnan(r.loc[cid, "rate"]) and np.isnan(r.loc[cid, "ci_low"])
        assert pd.isna(r.loc[cid, "below_target"]) and pd.isna(r.loc[cid, "significantly_below"])
    assert r.index.tolist() == ["A", "B", "C", "city"]


def test_target_override() -> None:
    frame = _answers("A", {"满意": 8, "一般": 2})
    r = satisfaction_by_circle(read_responses(frame, SURVEY), SURVEY, target=0.8)
    assert not r.set_index("circle_id").loc["A", "below_target"]
    with pytest.raises(InputError, match="share in"):
        satisfaction_by_circle(read_responses(frame, SURVEY), SURVEY, target=90)


def test_question_choice_and_pooling() -> None:
    frame = pd.DataFrame(
        {
            "circle_id": ["A", "A", "A"],
            "早餐": ["满意", "不满意", "不满意"],  # named by Chinese text
            "pharmacy": [5, 5, "比较满意"],
        }
    )
    responses = read_responses(frame, SURVEY)
    assert responses.columns.tolist() == ["circle_id", "row", "breakfast", "pharmacy"]
    pooled = satisfaction_by_circle(responses, SURVEY).set_index("circle_id")  # no overall
    assert (pooled.loc["A", "n_valid"], pooled.loc["A", "n_satisfied"]) == (6, 4)
    one = satisfaction_by_circle(responses, SURVEY, question="早餐").set_index("circle_id")
    assert (one.loc["A", "n_valid"], one.loc["A", "n_satisfied"]) == (3, 1)
    with pytest.raises(InputError, match="not in the responses"):
        satisfaction_by_circle(responses, SURVEY, question="overall")
    with pytest.raises(InputError, match="not a question"):
        satisfaction_by_circle(responses, SURVEY, question="parking")


def test_overall_preferred_and_all_pools() -> None:
    frame = pd.DataFrame(
        {"circle_id": ["A", "A"], "overall": ["满意", "满意"], "prices": ["不满意", "不满意"]}
    )
    responses = read_responses(frame, SURVEY)
    r = satisfaction_by_circle(responses, SURVEY).set_index("circle_id")
    assert r.loc["A", "rate"] == 1.0
    pooled = satisfaction_by_circle(responses, SURVEY, question="all")
    assert pooled.set_index("circle_id").loc["A", "rate"] == 0.5
    assert pooled.attrs["question"] == "all"


def test_answers_numbers_labels_and_aliases() -> None:
    frame = pd.DataFrame(
        {
            "circle_id": [1, 1, 2, 2, 2],
            "overall": ["5", 4.0, " 较不满意 ", "不清楚", "非常满意"],
            "备注": ["x", None, None, None, None],
        }
    )
    out = read_responses(frame, SURVEY)
    assert out["circle_id"].tolist() == ["1", "1", "2", "2", "2"]
    assert out["overall"].tolist() == [5, 4, 2, pd.NA, 5]
    assert out["备注"].tolist()[0] == "x"
    assert out.attrs["n_not_applicable"] == {"overall": 1}


def test_responses_read_twice() -> None:
    once = read_responses(pd.DataFrame({"circle_id": ["A"], "overall": ["满意"]}), SURVEY)
    twice = read_responses(once, SURVEY)
    assert twice["overall"].tolist() == [5] and twice["row"].tolist() == [1]


def test_raw_table_is_read_by_satisfaction() -> None:
    frame = pd.DataFrame({"circle_id": ["A", "A"], "总体满意度": ["满意", "一般"]})
    r = satisfaction_by_circle(frame, SURVEY).set_index("circle_id")
    assert r.loc["A", "rate"] == 0.5


def test_excel_responses(tmp_path: Path) -> None:
    path = tmp_path / "answers.xlsx"
    pd.DataFrame({"circle_id": ["A", "B"], "overall": ["满意", 2]}).to_excel(path, index=False)
    out = read_responses(path, SURVEY)
    assert out["overall"].tolist() == [5, 2]
    bad = tmp_path / "bad.xlsx"
    pd.DataFrame({"circle_id": ["A", "B"], "overall": ["满意", 7]}).to_excel(bad, index=False)
    with pytest.raises(InputError) as info:
        read_responses(bad, SURVEY)
    _problem(info.value, file=str(bad), row=2, field="overall")


def test_gbk_csv_with_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "gbk.csv", "circle_id,总体满意度\nA,满意\n", "gbk")
    out = read_responses(path, SURVEY, encoding="gbk")
    assert out["overall"].tolist() == [5]


# --------------------------------------------------------------------------------------------
# Bad responses: one test per case, with file/row/field in the message
# --------------------------------------------------------------------------------------------


def test_answer_outside_scale(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "circle_id,overall,prices\nA,满意,5\nA,6,很好\nB,0,4\n")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY)
    p = _problem(info.value, file=str(path), row=2, field="overall")
    assert "'6' is not on the scale" in p.message and "满意=5" in p.message
    assert "'很好'" in _problem(info.value, file=str(path), row=2, field="prices").message
    _problem(info.value, file=str(path), row=3, field="overall")
    assert len(info.value.problems) == 3


def test_missing_circle_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "circle_id,overall\nA,满意\n,满意\n")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY)
    assert "no circle id" in _problem(info.value, file=str(path), row=2, field="circle_id").message


def test_missing_circle_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "circle,overall\nA,满意\n")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY)
    p = _problem(info.value, file=str(path), field="circle_id")
    assert "circle_column=" in (p.fix or "")
    out = read_responses(path, SURVEY, circle_column="circle")
    assert out["circle_id"].tolist() == ["A"]


def test_unknown_circle_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "circle_id,overall\nC01,满意\nC1O,满意\n")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY, known_circles=["C01", "C10"])
    p = _problem(info.value, file=str(path), row=2, field="circle_id")
    assert "'C1O' is not one of the circles" in p.message and "C10" in p.message
    assert len(info.value.problems) == 1


def test_reserved_city_id() -> None:
    with pytest.raises(InputError) as info:
        read_responses(pd.DataFrame({"circle_id": ["city"], "overall": [5]}), SURVEY)
    assert "reserved" in _problem(info.value, row=1, field="circle_id").message


def test_unknown_question_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "circle_id,overall,parking\nA,满意,满意\n")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY)
    p = _problem(info.value, file=str(path), field="parking")
    assert "not a question" in p.message and "extra_columns" in (p.fix or "")
    out = read_responses(path, SURVEY, extra_columns=["parking"])
    assert "parking" in out.columns


def test_no_question_columns() -> None:
    with pytest.raises(InputError, match="no question columns"):
        read_responses(pd.DataFrame({"circle_id": ["A"], "备注": ["x"]}), SURVEY)


def test_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY)
    assert "empty" in _problem(info.value, file=str(path)).message


def test_header_only_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "circle_id,overall\n")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY)
    assert "no data rows" in _problem(info.value, file=str(path)).message


def test_empty_excel(tmp_path: Path) -> None:
    path = tmp_path / "r.xlsx"
    pd.DataFrame().to_excel(path, index=False)
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY)
    assert "empty" in _problem(info.value, file=str(path)).message


def test_wrong_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "circle_id,总体满意度\nA,满意\n", "gbk")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY)
    p = _problem(info.value, file=str(path))
    assert "not UTF-8" in p.message and "gbk" in (p.fix or "")


def test_every_problem_in_one_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.csv", "circle_id,overall,parking\n,9,x\nZ,满意,y\n")
    with pytest.raises(InputError) as info:
        read_responses(path, SURVEY, known_circles=["A"])
    fields_rows = {(p.field, p.row) for p in info.value.problems}
    assert {("circle_id", 1), ("circle_id", 2), ("parking", None), ("overall", 1)} <= fields_rows

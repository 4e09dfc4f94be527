"""服务"好不好" evaluation: indicator sheets, evaluator scores and per-circle scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecircle.assess.evaluation import (
    SCORING_RULES,
    dimension_scores,
    evaluation_scores,
    load_indicator_sheet,
    read_evaluator_scores,
)
from lifecircle.errors import InputError, Problem

DEFAULT = load_indicator_sheet()

# Two dimensions, four indicators, one of each scoring rule (and a share with full_at).
SHEET_TOML = """
version = "t1"

[meta]
status = "local"
title_zh = "测试评价表"
source = "test"
confidence = "P"

[[dimension]]
id = "d1"
name_zh = "便利化"
weight = 60
source = "test"
confidence = "P"

[[dimension]]
id = "d2"
name_zh = "智慧化"
weight = 40
source = "test"
confidence = "P"

[[indicator]]
id = "i1"
name_zh = "布局"
dimension = "d1"
weight = 40
scoring = "scale"
max = 10
source = "test"
confidence = "P"

[[indicator]]
id = "i2"
name_zh = "菜市场"
dimension = "便利化"
weight = 20
scoring = "bool"
source = "test"
confidence = "P"

[[indicator]]
id = "i3"
name_zh = "连锁化率"
dimension = "d2"
weight = 30
scoring = "share"
full_at = 0.5
source = "test"
confidence = "P"

[[indicator]]
id = "i4"
name_zh = "平台使用率"
dimension = "d2"
weight = 10
scoring = "share"
source = "test"
confidence = "P"
"""


def _problem(
    exc: InputError, *, file: str | None = None, row: int | None = None, field: str | None = None
) -> Problem:
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


@pytest.fixture
def sheet(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_indicator_sheet(_write(tmp_path / "sheet.toml", SHEET_TOML))


# --------------------------------------------------------------------------------------------
# The default sheet
# --------------------------------------------------------------------------------------------


def test_default_sheet_is_a_labelled_proposal() -> None:
    assert DEFAULT.is_proposal and DEFAULT.status == "proposal"
    assert DEFAULT.provenance.confidence == "P"
    assert "建议稿" in DEFAULT.title_zh and "haobuhao_dimensions_P" in DEFAULT.provenance.source
    assert [(d.name_zh, d.weight) for d in DEFAULT.dimensions] == [
        ("便利化", 30.0),
        ("规范化", 20.0),
        ("智慧化", 15.0),
        ("品质化", 15.0),
        ("管理运营", 20.0),
    ]
    frame = DEFAULT.to_frame()
    assert frame["weight"].sum() == pytest.approx(100.0)
    by_dim = frame.groupby("dimension")["weight"].sum()
    for d in DEFAULT.dimensions:
        assert by_dim[d.id] == pytest.approx(d.weight)
    assert set(frame["scoring"]) == set(SCORING_RULES)
    assert (frame["confidence"] == "P").all() and frame["source"].str.len().min() > 0
    assert frame["id"].is_unique and frame["name_zh"].is_unique
    chain = DEFAULT.indicator("连锁化率")
    assert chain is not None and chain.full_at == 0.3 and chain.scoring == "share"


def test_default_full_marks() -> None:
    wide = pd.DataFrame(
        {
            "circle_id": ["A"],
            **{i.id: [i.max if i.scoring == "scale" else 1] for i in DEFAULT.indicators},
        }
    )
    out = evaluation_scores(read_evaluator_scores(wide, DEFAULT), DEFAULT)
    assert out["score"].tolist() == [100.0] and out["coverage"].tolist() == [1.0]


# --------------------------------------------------------------------------------------------
# Weighting on hand numbers
# --------------------------------------------------------------------------------------------


def _long_scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "circle_id": ["A", "A", "A", "A", "A", "A", "B", "B"],
            "evaluator": ["e1", "e2", "e1", "e2", "e1", "e1", "e1", "e1"],
            "indicator": ["i1", "布局", "i2", "菜市场", "i3", "i4", "i1", "i2"],
            "score": [8, 6, "是", "否", 0.25, "80%", 10, "有"],
        }
    )


def test_weighting_by_hand(sheet) -> None:  # type: ignore[no-untyped-def]
    scores = read_evaluator_scores(_long_scores(), sheet)
    assert scores.columns.tolist() == ["circle_id", "indicator", "score", "evaluator", "row"]
    assert scores["indicator"].tolist() == ["i1", "i1", "i2", "i2", "i3", "i4", "i1", "i2"]
    assert scores["score"].tolist() == [8, 6, 1, 0, 0.25, 0.8, 10, 1]
    out = evaluation_scores(scores, sheet).set_index("circle_id")
    # A: i1 mean 7/10 x 40 = 28; i2 half yes x 20 = 10; i3 0.25/0.5 x 30 = 15; i4 0.8 x 10 = 8
    assert out.loc["A", ["i1", "i2", "i3", "i4"]].tolist() == pytest.approx([28, 10, 15, 8])
    assert out.loc["A", "score"] == pytest.approx(61.0)
    assert out.loc["A", "coverage"] == 1.0
    # B: i1 40 + i2 20 points over 60 answered points -> 100, coverage 0.6
    assert out.loc["B", "score"] == pytest.approx(100.0)
    assert out.loc["B", "coverage"] == pytest.approx(0.6)
    assert np.isnan(out.loc["B", "i3"])
    assert out.columns.tolist() == ["score", "coverage", "i1", "i2", "i3", "i4"]
    assert out.attrs["n_evaluators"] == {"A": 2, "B": 1}


def test_share_capped_at_full_points(sheet) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"circle_id": ["A"], "i3": [0.8]})
    out = evaluation_scores(read_evaluator_scores(frame, sheet), sheet, min_coverage=0)
    assert out.loc[0, "i3"] == 30.0  # 0.8 ≥ full_at 0.5


def test_missing_indicator_policies(sheet) -> None:  # type: ignore[no-untyped-def]
    scores = read_evaluator_scores(_long_scores(), sheet)
    zero = evaluation_scores(scores, sheet, missing="zero").set_index("circle_id")
    assert zero.loc["B", "score"] == pytest.approx(60.0)
    nan = evaluation_scores(scores, sheet, missing="nan").set_index("circle_id")
    assert np.isnan(nan.loc["B", "score"]) and nan.loc["A", "score"] == pytest.approx(61.0)
    strict = evaluation_scores(scores, sheet, min_coverage=0.7).set_index("circle_id")
    assert np.isnan(strict.loc["B", "score"]) and strict.loc["B", "coverage"] == pytest.approx(0.6)
    with pytest.raises(InputError, match="missing='drop'"):
        evaluation_scores(scores, sheet, missing="drop")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="min_coverage"):
        evaluation_scores(scores, sheet, min_coverage=2)


def test_circles_without_scores_listed(sheet) -> None:  # type: ignore[no-untyped-def]
    out = evaluation_scores(read_evaluator_scores(_long_scores(), sheet), sheet, circles=["C"])
    c = out.set_index("circle_id").loc["C"]
    assert np.isnan(c["score"]) and c["coverage"] == 0.0
    assert out["circle_id"].tolist() == ["A", "B", "C"]


def test_wide_form_with_names_and_evaluators(sheet) -> None:  # type: ignore[no-untyped-def]
    wide = pd.DataFrame(
        {
            "circle_id": ["A", "A"],
            "评价人": ["张", "李"],
            "布局": [8, 6],
            "菜市场": ["是", "否"],
            "连锁化率": ["25%", 0.25],
            "i4": [0.8, None],
            "备注": ["ok", ""],
        }
    )
    out = evaluation_scores(read_evaluator_scores(wide, sheet), sheet)
    assert out.loc[0, "score"] == pytest.approx(61.0)


def test_raw_table_is_read_by_evaluation_scores(sheet) -> None:  # type: ignore[no-untyped-def]
    out = evaluation_scores(_long_scores(), sheet)
    assert out.set_index("circle_id").loc["A", "score"] == pytest.approx(61.0)
    with pytest.raises(InputError):  # an unvalidated frame is validated
        evaluation_scores(
            pd.DataFrame({"circle_id": ["A"], "indicator": ["i1"], "score": [11]}), sheet
        )


def test_dimension_scores(sheet) -> None:  # type: ignore[no-untyped-def]
    out = evaluation_scores(read_evaluator_scores(_long_scores(), sheet), sheet)
    dims = dimension_scores(out, sheet).set_index("circle_id")
    assert dims.loc["A"].tolist() == pytest.approx([38.0, 23.0])
    assert dims.loc["B", "d1"] == 60.0 and np.isnan(dims.loc["B", "d2"])


def test_excel_scores(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "scores.xlsx"
    pd.DataFrame({"circle_id": ["A"], "i1": [5], "i2": [True], "i3": [0.5], "i4": [1]}).to_excel(
        path, index=False
    )
    out = evaluation_scores(read_evaluator_scores(path, sheet), sheet)
    assert out.loc[0, "score"] == pytest.approx(20 + 20 + 30 + 10)


# --------------------------------------------------------------------------------------------
# Bad sheets: one test per case
# --------------------------------------------------------------------------------------------


def _bad_sheet(tmp_path: Path, old: str, new: str) -> tuple[InputError, str]:
    assert old in SHEET_TOML
    path = _write(tmp_path / "bad.toml", SHEET_TOML.replace(old, new, 1))
    with pytest.raises(InputError) as info:
        load_indicator_sheet(path)
    return info.value, str(path)


def test_dimension_weights_not_100(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, "weight = 60", "weight = 50")
    p = _problem(exc, file=file, field="dimension.weight")
    assert "sum to 90, not 100" in p.message


def test_indicator_weights_not_100(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, "weight = 40\nscoring", "weight = 35\nscoring")
    assert (
        "indicator weights sum to 95" in _problem(exc, file=file, field="indicator.weight").message
    )
    p = _problem(exc, file=file, field="dimension[1].weight")
    assert "weigh 55 points, but the dimension weighs 60" in p.message


def test_duplicate_indicator_id(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, 'id = "i2"', 'id = "i1"')
    assert "repeats the id" in _problem(exc, file=file, field="indicator[2].id").message


def test_duplicate_dimension_id(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, 'id = "d2"', 'id = "d1"')
    assert "repeated" in _problem(exc, file=file, field="dimension[2].id").message


def test_unknown_scoring_rule(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, 'scoring = "bool"', 'scoring = "stars"')
    p = _problem(exc, file=file, field="indicator[2].scoring")
    assert "'stars' is not known" in p.message and "scale, share, bool" in (p.fix or "")


def test_scale_without_max(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, "max = 10\n", "")
    assert "needs max" in _problem(exc, file=file, field="indicator[1].max").message


def test_bad_max(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, "max = 10", "max = 0")
    assert "positive number" in _problem(exc, file=file, field="indicator[1].max").message


def test_max_on_bool(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, 'scoring = "bool"', 'scoring = "bool"\nmax = 5')
    assert "scale indicators only" in _problem(exc, file=file, field="indicator[2].max").message


def test_bad_full_at(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, "full_at = 0.5", "full_at = 30")
    assert "(0, 1]" in _problem(exc, file=file, field="indicator[3].full_at").message


def test_unknown_dimension(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, 'dimension = "d2"', 'dimension = "d9"')
    assert "'d9' is not one" in _problem(exc, file=file, field="indicator[3].dimension").message


def test_unknown_key_and_status(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, 'status = "local"', 'status = "draft"\nauthor = "x"')
    _problem(exc, file=file, field="meta.status")
    assert "unknown key" in _problem(exc, file=file, field="meta.author").message


def test_missing_meta(tmp_path: Path) -> None:
    start = SHEET_TOML.index("[meta]")
    end = SHEET_TOML.index("[[dimension]]")
    path = _write(tmp_path / "bad.toml", SHEET_TOML[:start] + SHEET_TOML[end:])
    with pytest.raises(InputError) as info:
        load_indicator_sheet(path)
    _problem(info.value, file=str(path), field="meta")


def test_negative_weight(tmp_path: Path) -> None:
    exc, file = _bad_sheet(tmp_path, "weight = 10", "weight = -10")
    assert "positive number" in _problem(exc, file=file, field="indicator[4].weight").message


# --------------------------------------------------------------------------------------------
# Bad scores: one test per case, with file/row/field in the message
# --------------------------------------------------------------------------------------------


def test_unknown_indicator_long(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,indicator,score\nA,i1,5\nA,停车,3\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    p = _problem(info.value, file=str(path), row=2, field="indicator")
    assert "'停车' is not on indicator sheet t1" in p.message


def test_unknown_indicator_wide(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,i1,i5\nA,5,3\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    p = _problem(info.value, file=str(path), field="i5")
    assert "not an indicator" in p.message and "did you mean" in p.message


def test_score_above_max(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,i1,i3\nA,5,0.2\nB,11,0.3\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    p = _problem(info.value, file=str(path), row=2, field="i1")
    assert "score 11 is outside 0 … 10 points" in p.message


def test_negative_score(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,indicator,score\nA,i1,-1\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    _problem(info.value, file=str(path), row=1, field="score")


def test_share_above_one(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,i3\nA,35\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    p = _problem(info.value, file=str(path), row=1, field="i3")
    assert "share 0 … 1" in p.message and "35%" in (p.fix or "")


def test_score_not_a_number(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,i1\nA,good\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    assert "not a number" in _problem(info.value, file=str(path), row=1, field="i1").message


def test_bool_not_yes_no(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,i2\nA,maybe\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    assert "not yes/no" in _problem(info.value, file=str(path), row=1, field="i2").message


def test_scores_missing_circle_id(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,i1\nA,5\n,4\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    assert "no circle id" in _problem(info.value, file=str(path), row=2, field="circle_id").message


def test_scores_missing_circle_column(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "圈,i1\nA,5\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    _problem(info.value, file=str(path), field="circle_id")


def test_scores_unknown_circle(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,i1\nA,5\nX,4\n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet, known_circles=["A", "B"])
    p = _problem(info.value, file=str(path), row=2, field="circle_id")
    assert "'X' is not one of the circles" in p.message


def test_duplicate_evaluator_score(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(
        tmp_path / "s.csv", "circle_id,evaluator,indicator,score\nA,e1,i1,5\nA,e1,布局,6\n"
    )
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    assert "twice" in _problem(info.value, file=str(path), row=2, field="score").message


def test_scores_empty_file(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "  \n")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    assert "empty" in _problem(info.value, file=str(path)).message


def test_scores_no_indicator_columns(sheet) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="no indicator columns"):
        read_evaluator_scores(pd.DataFrame({"circle_id": ["A"], "备注": ["x"]}), sheet)


def test_scores_wrong_encoding(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.csv", "circle_id,布局\nA,5\n", "gbk")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    assert "not UTF-8" in _problem(info.value, file=str(path)).message
    assert read_evaluator_scores(path, sheet, encoding="gbk")["indicator"].tolist() == ["i1"]


def test_scores_damaged_excel(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "s.xlsx", "not a workbook")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet)
    assert "not a readable Excel workbook" in _problem(info.value, file=str(path)).message


def test_scores_unknown_excel_sheet(tmp_path: Path, sheet) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.xlsx"
    pd.DataFrame({"circle_id": ["A"], "i1": [5]}).to_excel(path, index=False, sheet_name="评分")
    with pytest.raises(InputError) as info:
        read_evaluator_scores(path, sheet, excel_sheet="scores")
    assert "'评分'" in _problem(info.value, file=str(path)).message
    assert len(read_evaluator_scores(path, sheet, excel_sheet="评分")) == 1

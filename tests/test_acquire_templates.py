"""The bureau's own tables: Excel templates written, filled, read back through the layer readers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from lifecircle.acquire import match_by_name, read_template
from lifecircle.cli import main
from lifecircle.errors import InputError
from lifecircle.geo import from_wgs84

WGS = "WGS-84（GPS、天地图、OpenStreetMap）"
GCJ = "GCJ-02（高德、腾讯）"
BD = "BD-09（百度）"


def _template(tmp_path: Path, kind: str) -> Path:
    out = tmp_path / f"{kind}.xlsx"
    result = CliRunner().invoke(main, ["template", kind, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _fill(path: Path, sheet: str, rows: list[list[object]]) -> None:
    wb = load_workbook(path)
    ws = wb[sheet]
    ws.delete_rows(2)  # the example row
    for row in rows:
        ws.append(row)
    wb.save(path)


def test_template_has_headers_lists_and_instructions(tmp_path: Path) -> None:
    wb = load_workbook(_template(tmp_path, "outlets"))
    assert wb.sheetnames[:2] == ["填写说明", "网点普查"]
    ws = wb["网点普查"]
    headers = [c.value for c in ws[1]]
    assert headers[:7] == ["编号", "名称", "业态", "地址", "经度", "纬度", "坐标系"]
    assert {"品牌", "是否连锁", "营业面积（平方米）", "营业时间", "服务项目", "从业人数"} <= set(
        headers
    )
    lists = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert lists["C2"].type == "list" and "选项" in lists["C2"].formula1  # 业态
    assert lists["G2"].type == "list"  # 坐标系
    options = [c.value for c in wb["选项"]["A"]][1:]
    assert "便利店" in options and "药店" in options and len(options) >= 26
    assert "How to fill in" in wb["填写说明"]["A1"].value
    gates = load_workbook(_template(tmp_path, "residences"))
    assert gates.sheetnames[:3] == ["填写说明", "小区名录", "出入口"]


def test_outlet_census_round_trips_with_values_typed(tmp_path: Path) -> None:
    path = _template(tmp_path, "outlets")
    assert read_template(path).empty  # only the example row: nothing
    glon, glat = from_wgs84(108.95, 34.26, "gcj02")
    blon, blat = from_wgs84(108.96, 34.27, "bd09")
    _fill(
        path,
        "网点普查",
        [
            [
                "S1",
                "惠民便利店",
                "便利店",
                "建设路1号",
                float(glon),
                float(glat),
                GCJ,
                "惠民",
                "是",
                80,
                "07:00-22:00",
                "代收快递、早餐",
                4,
            ],
            [
                "S2",
                "老王药店",
                "药店",
                "东大街2号",
                float(blon),
                float(blat),
                BD,
                None,
                "否",
                55.5,
                None,
                None,
                2,
            ],
            [
                None,
                "无坐标菜店",
                "生鲜超市",
                "西大街3号",
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
            ],
        ],
    )
    outlets = read_template(path)
    assert list(outlets["outlet_id"]) == ["S1", "S2"]
    assert list(outlets["category"]) == ["convenience_store", "pharmacy"]
    assert outlets["is_chain"].tolist() == [True, False]
    assert outlets["floor_area_m2"].tolist() == [80.0, 55.5]
    assert outlets["staff"].tolist() == [4.0, 2.0]
    assert outlets.loc[0, "services"] == "代收快递;早餐"
    assert outlets.loc[0, "brand"] == "惠民"
    # GCJ-02 and BD-09 converted back to WGS-84
    assert outlets.geometry.x.round(6).tolist() == [108.95, 108.96]
    assert outlets.geometry.y.round(6).tolist() == [34.26, 34.27]
    missing = outlets.attrs["without_coordinates"]
    assert missing[["row", "name", "address"]].to_numpy().tolist() == [
        [4, "无坐标菜店", "西大街3号"]
    ]
    places = pd.DataFrame(
        {
            "name": ["无坐标菜店", "别的店"],
            "id": ["B0FF1", "B0FF2"],
            "lng_gcj02": [108.9, 108.91],
            "lat_gcj02": [34.2, 34.21],
        }
    )
    matched = match_by_name(missing, places)
    assert matched.loc[0, "id_match"] == "B0FF1" and matched.loc[0, "matches"] == 1


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (
            [
                "S9",
                "坏店",
                "不存在的业态",
                None,
                108.95,
                34.26,
                WGS,
                None,
                None,
                None,
                None,
                None,
                None,
            ],
            "业态",
            "is not a 业态",
        ),
        (
            ["S9", "坏店", "药店", None, "东经108", 34.26, WGS, None, None, None, None, None, None],
            "经度",
            "is not a number",
        ),
        (
            ["S9", "坏店", "药店", None, 108.95, 34.26, None, None, None, None, None, None, None],
            "坐标系",
            "not their coordinate system",
        ),
        (
            ["S9", "坏店", "药店", None, 108.95, 34.26, "ABC", None, None, None, None, None, None],
            "坐标系",
            "is not a coordinate system",
        ),
        (
            ["S9", "坏店", "药店", None, 108.95, 34.26, WGS, None, "也许", None, None, None, None],
            "是否连锁",
            "yes/no",
        ),
        (
            ["S9", "坏店", "药店", None, 108.95, 34.26, WGS, None, None, -3, None, None, None],
            "营业面积（平方米）",
            "≥ 0",
        ),
        (
            ["S9", "坏店", "药店", None, 108.95, 34.26, WGS, None, None, None, None, None, 1.5],
            "从业人数",
            "whole number",
        ),
        (
            ["S9", None, "药店", None, 108.95, 34.26, WGS, None, None, None, None, None, None],
            "名称",
            "empty",
        ),
        (
            ["S1", "重复", "药店", None, 108.95, 34.26, WGS, None, None, None, None, None, None],
            "编号",
            "appears 2 times (rows 2, 3)",
        ),
        (
            ["S9", "坏店", "药店", None, 34.26, 108.95, WGS, None, None, None, None, None, None],
            "经度/纬度",
            "swapped",
        ),
    ],
)
def test_a_bad_row_names_file_sheet_row_and_column(
    tmp_path: Path, row: list[object], column: str, message: str
) -> None:
    path = _template(tmp_path, "outlets")
    good = ["S1", "好店", "药店", None, 108.95, 34.26, WGS, None, None, None, None, None, None]
    _fill(path, "网点普查", [good, row])
    with pytest.raises(InputError) as info:
        read_template(path)
    problems = info.value.problems
    assert any(message in p.message for p in problems), problems
    p = next(p for p in problems if message in p.message)
    assert p.file == f"{path}, sheet 网点普查"
    assert p.row == 3  # the Excel row (header is row 1, the good row is row 2)
    assert p.field == column
    assert f"{path}, sheet 网点普查, row 3, field '{column}'" in str(info.value)


def test_residence_list_round_trips_with_gates(tmp_path: Path) -> None:
    path = _template(tmp_path, "residences")
    glon, glat = from_wgs84(108.951, 34.261, "gcj02")
    _fill(
        path,
        "小区名录",
        [
            ["R1", "建设新村", 320, 850, 108.95, 34.26, WGS, "建设路20号"],
            ["R2", "东关小区", None, 1000, None, None, None, "东关正街"],
            ["R3", "西关小区", 100, None, 108.94, 34.25, WGS, None],
        ],
    )
    wb = load_workbook(path)
    wb["出入口"].append(["R1", float(glon), float(glat), GCJ])
    wb.save(path)
    residences = read_template(path)
    assert list(residences["residence_id"]) == ["R1", "R3"]
    assert residences["households"].tolist() == [320.0, 100.0]
    assert residences.loc[0, "population"] == 850.0
    assert bool(residences.loc[1, "population_estimated"])
    gates = residences.attrs["entrances"]
    assert gates["residence_id"].tolist() == ["R1", "R3", "R1"]
    assert round(gates.geometry.x.iloc[2], 6) == 108.951
    assert residences.attrs["without_coordinates"]["name"].tolist() == ["东关小区"]
    wb = load_workbook(path)
    wb["出入口"].append(["R9", 108.95, 34.26, WGS])
    wb.save(path)
    with pytest.raises(InputError, match=r"sheet 出入口, row 3, field '小区编号'"):
        read_template(path)


def test_cli_reads_a_template_into_layers_every_command_takes(tmp_path: Path) -> None:
    from lifecircle.ingest import read_outlets

    path = _template(tmp_path, "outlets")
    _fill(
        path,
        "网点普查",
        [
            ["S1", "惠民便利店", "便利店", None, 108.95, 34.26, WGS, None, None, None, None, None, None],
            [None, "无坐标菜店", "生鲜超市", "西大街3号", None, None, None, None, None, None, None,
             None, None],
        ],
    )  # fmt: skip
    places = tmp_path / "amap_places.csv"
    pd.DataFrame({"id": ["B0FF1"], "name": ["无坐标菜店"], "lng_gcj02": [108.9]}).to_csv(
        places, index=False, encoding="utf-8-sig"
    )
    out = tmp_path / "layers"
    args = ["template", "read", str(path), "--match", str(places), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 行无坐标" in result.output
    layer = read_outlets(out / "outlets.gpkg")
    assert layer["category"].tolist() == ["convenience_store"]
    missing = pd.read_csv(out / "without_coordinates.csv", encoding="utf-8-sig", dtype=str)
    assert missing.loc[0, "id_match"] == "B0FF1" and missing.loc[0, "row"] == "3"
    bad = _template(tmp_path, "outlets")
    _fill(bad, "网点普查", [["S1", "店", "不存在", None, 108.95, 34.26, WGS] + [None] * 6])
    failed = CliRunner().invoke(main, ["template", "read", str(bad), "--out", str(out)])
    assert failed.exit_code != 0
    assert "sheet 网点普查, row 2, field '业态'" in failed.output

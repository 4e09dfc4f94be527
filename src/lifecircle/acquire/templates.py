"""Excel templates for a city's own tables, and their readers.

* ``outlets``: the commerce bureau's (商务局) outlet census — 名称, 业态, 地址, 经纬度 + 坐标系,
  品牌/连锁, 营业面积, 营业时间, 服务项目, 从业人数;
* ``residences``: the housing bureau's (住建局) 小区 list — 名称, 户数, 人口, 出入口坐标 (one
  main gate per row; more gates on the sheet 出入口).

:func:`write_template` writes the workbook: Chinese headers, drop-down lists (data validation) for
业态 and 坐标系, number checks, an instructions sheet (填写说明, Chinese and English).
:func:`read_template` takes a filled workbook back through the same validators as every other
layer (:func:`~lifecircle.ingest.read_outlets`, :func:`~lifecircle.ingest.read_residences`);
every problem names the file, the sheet, the Excel row and the column header.  Rows without
coordinates are not errors: addresses cannot be geocoded offline, so they are listed
(``attrs["without_coordinates"]``) and :func:`match_by_name` finds them in a provider import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from lifecircle.errors import InputError, Problem, Problems

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["TEMPLATE_KINDS", "match_by_name", "read_template", "write_template"]

TemplateKind = Literal["outlets", "residences"]
TEMPLATE_KINDS: tuple[str, ...] = ("outlets", "residences")

#: Choices of the 坐标系 column (the text before the bracket is what counts).
CRS_CHOICES: tuple[str, ...] = (
    "WGS-84（GPS、天地图、OpenStreetMap）",
    "GCJ-02（高德、腾讯）",
    "BD-09（百度）",
)
_ROWS = 5000  # rows prepared with drop-down lists and checks


@dataclass(frozen=True)
class _Column:
    header: str  # Chinese header written in the template
    field: str  # the reader's column name
    kind: str  # text, number, whole, category, crs, yesno, lon, lat
    required: bool
    note_zh: str
    note_en: str
    example: Any = None


_OUTLET_COLUMNS = (
    _Column(
        "编号",
        "outlet_id",
        "text",
        False,
        "可留空，自动按行号编号",
        "optional id; row number if empty",
        "SC-001",
    ),
    _Column(
        "名称", "name", "text", True, "网点名称（店招）", "outlet name", "惠民便利店（建设路店）"
    ),
    _Column(
        "业态",
        "category",
        "category",
        True,
        "从下拉列表选择",
        "业态, from the drop-down list",
        "便利店",
    ),
    _Column(
        "地址",
        "address",
        "text",
        False,
        "详细地址（无坐标时用于按名称匹配）",
        "address",
        "建设路12号",
    ),
    _Column(
        "经度",
        "lon",
        "lon",
        False,
        "十进制度，如 108.95123",
        "longitude, decimal degrees",
        108.95123,
    ),
    _Column(
        "纬度", "lat", "lat", False, "十进制度，如 34.26012", "latitude, decimal degrees", 34.26012
    ),
    _Column(
        "坐标系",
        "crs",
        "crs",
        False,
        "有经纬度时必填：从下拉列表选择",
        "coordinate system (required with coordinates)",
        CRS_CHOICES[1],
    ),
    _Column("品牌", "brand", "text", False, "连锁品牌名", "brand", "惠民"),
    _Column("是否连锁", "is_chain", "yesno", False, "是/否", "chain: 是 (yes) / 否 (no)", "是"),
    _Column("营业面积（平方米）", "floor_area_m2", "number", False, "数字", "floor area, m²", 80),
    _Column(
        "营业时间", "opening_hours", "text", False, "如 07:00-22:00", "opening hours", "07:00-22:00"
    ),
    _Column(
        "服务项目",
        "services",
        "text",
        False,
        "多项用顿号或分号分隔",
        "services, separated by 、 or ;",
        "代收快递、早餐",
    ),
    _Column("从业人数", "staff", "whole", False, "整数", "staff, whole number", 4),
)
_RESIDENCE_COLUMNS = (
    _Column(
        "编号",
        "residence_id",
        "text",
        False,
        "可留空，自动按行号编号；出入口表用它对应",
        "optional id; the gates sheet refers to it",
        "XQ-001",
    ),
    _Column("小区名称", "name", "text", True, "小区名称", "name of the 小区", "建设新村"),
    _Column(
        "户数",
        "households",
        "whole",
        False,
        "整数；户数、人口至少填一项",
        "households (give households or population)",
        320,
    ),
    _Column("人口", "population", "whole", False, "整数", "population", 850),
    _Column(
        "出入口经度", "lon", "lon", False, "主出入口，十进制度", "main gate longitude", 108.95301
    ),
    _Column(
        "出入口纬度", "lat", "lat", False, "主出入口，十进制度", "main gate latitude", 34.26155
    ),
    _Column(
        "坐标系",
        "crs",
        "crs",
        False,
        "有经纬度时必填：从下拉列表选择",
        "coordinate system (required with coordinates)",
        CRS_CHOICES[0],
    ),
    _Column("地址", "address", "text", False, "地址", "address", "建设路20号"),
)
_GATE_COLUMNS = (
    _Column(
        "小区编号", "residence_id", "text", True, "小区名录中的编号", "id of the 小区", "XQ-001"
    ),
    _Column("经度", "lon", "lon", True, "十进制度", "longitude", 108.95402),
    _Column("纬度", "lat", "lat", True, "十进制度", "latitude", 34.26088),
    _Column("坐标系", "crs", "crs", True, "从下拉列表选择", "coordinate system", CRS_CHOICES[0]),
)
_SHEETS = {"outlets": "网点普查", "residences": "小区名录"}
_GATES_SHEET = "出入口"
_HELP_SHEET = "填写说明"
_LISTS_SHEET = "选项"


def _columns(kind: str) -> tuple[_Column, ...]:
    return _OUTLET_COLUMNS if kind == "outlets" else _RESIDENCE_COLUMNS


def write_template(kind: TemplateKind, path: str | Path, *, example: bool = True) -> Path:
    """Write the Excel template of ``kind`` (``"outlets"`` or ``"residences"``).

    Parameters
    ----------
    kind
        ``"outlets"`` (商务局网点普查) or ``"residences"`` (住建局小区名录).
    path
        The ``.xlsx`` file to write.
    example
        Fill the first data row with an example (delete it before use; the reader ignores a row
        equal to the example).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = write_template("outlets", pathlib.Path(tempfile.mkdtemp()) / "census.xlsx")
    >>> read_template(path).empty
    True
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from lifecircle.taxonomy import load_catalogue

    if kind not in TEMPLATE_KINDS:
        raise InputError(
            Problem(f"unknown template {kind!r}", field="kind", fix="use outlets or residences"),
            "template",
        )
    wb = Workbook()
    data = wb.active
    assert data is not None  # a new workbook has its sheet
    data.title = _SHEETS[kind]
    lists = wb.create_sheet(_LISTS_SHEET)
    names = [c.name_zh for c in load_catalogue()]
    lists["A1"] = "业态"
    lists["B1"] = "坐标系"
    lists["C1"] = "是否连锁"
    for i, name in enumerate(names, start=2):
        lists.cell(i, 1, name)
    for i, crs in enumerate(CRS_CHOICES, start=2):
        lists.cell(i, 2, crs)
    for i, yes in enumerate(("是", "否"), start=2):
        lists.cell(i, 3, yes)
    lists.sheet_state = "hidden"
    refs = {
        "category": f"'{_LISTS_SHEET}'!$A$2:$A${len(names) + 1}",
        "crs": f"'{_LISTS_SHEET}'!$B$2:$B${len(CRS_CHOICES) + 1}",
        "yesno": f"'{_LISTS_SHEET}'!$C$2:$C$3",
    }
    sheets = [(data, _columns(kind))]
    if kind == "residences":
        sheets.append((wb.create_sheet(_GATES_SHEET, 1), _GATE_COLUMNS))
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF2CC")
    for ws, columns in sheets:
        for j, col in enumerate(columns, start=1):
            cell = ws.cell(1, j, col.header)
            cell.font = bold
            if col.required:
                cell.fill = fill
            cell.comment = Comment(f"{col.note_zh}\n{col.note_en}", "lifecircle")
            letter = cell.column_letter
            ws.column_dimensions[letter].width = max(12, 2 * len(col.header) + 4)
            if example and ws is data:
                ws.cell(2, j, col.example)
            rng = f"{letter}2:{letter}{_ROWS + 1}"
            dv: DataValidation | None = None
            if col.kind in refs:
                dv = DataValidation(type="list", formula1=f"={refs[col.kind]}", allow_blank=True)
                dv.error = "请从下拉列表中选择 / choose from the list"
            elif col.kind in ("number", "whole"):
                dv = DataValidation(
                    type="decimal" if col.kind == "number" else "whole",
                    operator="greaterThanOrEqual",
                    formula1="0",
                    allow_blank=True,
                )
                dv.error = "请填写不小于 0 的数字 / a number ≥ 0"
            elif col.kind in ("lon", "lat"):
                lo, hi = ("72", "137") if col.kind == "lon" else ("0", "56")
                dv = DataValidation(
                    type="decimal", operator="between", formula1=lo, formula2=hi, allow_blank=True
                )
                dv.error = f"十进制度，{lo}–{hi} / decimal degrees in China ({lo} to {hi})"
            if dv is not None:
                dv.showErrorMessage = True
                ws.add_data_validation(dv)
                dv.add(rng)
        ws.freeze_panes = "A2"
    _write_help(wb.create_sheet(_HELP_SHEET, 0), kind)
    wb.active = 1
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def _write_help(ws: Any, kind: str) -> None:
    from openpyxl.styles import Font

    title = "商业网点普查表" if kind == "outlets" else "小区名录"
    lines = [
        f"{title} · 填写说明 / How to fill in this template",
        "",
        f"1. 在工作表「{_SHEETS[kind]}」中每行填写一个{'网点' if kind == 'outlets' else '小区'}；"
        "第一行是表头，请勿修改。黄色表头为必填。",
        "   Fill one row per "
        + ("outlet" if kind == "outlets" else "小区")
        + f" on the sheet {_SHEETS[kind]}; keep the header row. Yellow headers are required.",
        "2. 经纬度为十进制度；有经纬度时必须在「坐标系」列选择坐标系（高德/腾讯为 GCJ-02，百度为 BD-09，"
        "GPS/天地图为 WGS-84）。",
        "   Coordinates in decimal degrees; choose their system in 坐标系 (Amap/Tencent GCJ-02, "
        "Baidu BD-09, GPS WGS-84).",
        "3. 没有坐标的行不会报错，读入时单独列出，可按名称与高德/百度数据匹配补全坐标（地址无法离线地理编码）。",
        "   Rows without coordinates are listed on reading and can be matched by name to an "
        "Amap/Baidu import (addresses cannot be geocoded offline).",
        "4. 第二行是示例，填写前请删除或覆盖。 / Row 2 is an example: overwrite or delete it.",
        "5. 读入 / Read back: lifecircle.acquire.read_template(文件) — "
        "每个问题都会给出文件、工作表、行号和列名 / every problem names file, sheet, row and column.",
    ]
    if kind == "outlets":
        lines.insert(
            6,
            "   业态 从下拉列表选择（一刻钟便民生活圈业态目录）；是否连锁 填 是/否。 / 业态 from the "
            "list (the catalogue); 是否连锁 is 是 (yes) or 否 (no).",
        )
    else:
        lines.insert(
            6,
            f"   户数、人口至少填一项；出入口经纬度为主出入口，其余出入口填在「{_GATES_SHEET}」表（用编号对应）。 "
            "/ Give households or population; the coordinates are the main gate, other gates go "
            f"on the sheet {_GATES_SHEET} (by 编号).",
        )
    for i, text in enumerate(lines, start=1):
        ws.cell(i, 1, text)
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 120
    row = len(lines) + 2
    ws.cell(row, 1, "列 / Columns").font = Font(bold=True)
    for col in _columns(kind):
        row += 1
        need = "必填 required" if col.required else "选填 optional"
        ws.cell(row, 1, f"{col.header}：{col.note_zh}（{need}） / {col.note_en}")


# ---- reading ----------------------------------------------------------------------------------


@dataclass
class _Sheet:
    frame: pd.DataFrame  # columns: the reader's field names; cells as Excel gave them
    rows: np.ndarray  # Excel row of each frame row
    label: str  # "file.xlsx, sheet 网点普查"
    headers: dict[str, str]  # field -> header


def _load_sheet(
    wb: Any, file: str, sheet: str, columns: Sequence[_Column], problems: Problems
) -> _Sheet | None:
    label = f"{file}, sheet {sheet}"
    if sheet not in wb.sheetnames:
        problems.add(
            f"the workbook has no sheet {sheet!r} (sheets: {', '.join(wb.sheetnames)})",
            fix="use the template written by 'lifecircle template' and keep its sheet names",
        )
        return None
    ws = wb[sheet]
    rows = list(ws.iter_rows(values_only=True))
    header = [str(v).strip() if v is not None else "" for v in (rows[0] if rows else [])]
    index: dict[str, int] = {}
    for col in columns:
        if col.header in header:
            index[col.field] = header.index(col.header)
        elif col.required:
            problems.items.append(
                Problem(
                    f"the column {col.header!r} is missing (header row: {', '.join(h for h in header if h)})",
                    file=label,
                    row=1,
                    field=col.header,
                    fix="keep the template's header row as written",
                )
            )
    examples = tuple(c.example for c in columns)
    data: list[list[Any]] = []
    excel_rows: list[int] = []
    for r, values in enumerate(rows[1:], start=2):
        cells = [
            values[index[c.field]] if c.field in index and index[c.field] < len(values) else None
            for c in columns
        ]
        cells = [None if isinstance(v, str) and not v.strip() else v for v in cells]
        if all(v is None for v in cells) or tuple(cells) == examples:
            continue
        data.append(cells)
        excel_rows.append(r)
    frame = pd.DataFrame(data, columns=[c.field for c in columns], dtype=object)
    return _Sheet(
        frame, np.array(excel_rows, dtype=np.int64), label, {c.field: c.header for c in columns}
    )


def _check_cells(sheet: _Sheet, columns: Sequence[_Column], problems: Problems) -> None:
    """Template-level checks: required text, numbers, the 坐标系 of rows with coordinates."""
    from lifecircle.errors import CRSError
    from lifecircle.geo import parse_crs_name

    frame = sheet.frame
    crs_out = np.full(len(frame), None, dtype=object)
    for col in columns:
        values = frame[col.field].to_numpy(dtype=object)
        for i, v in enumerate(values):
            row = int(sheet.rows[i])

            def add(message: str, fix: str, col: _Column = col, row: int = row) -> None:
                problems.items.append(Problem(message, sheet.label, row, col.header, fix))

            if v is None:
                if col.required:
                    add("the cell is empty", f"fill in {col.header} ({col.note_en})")
                continue
            if col.kind in ("number", "whole"):
                number = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
                if pd.isna(number) or number < 0 or (col.kind == "whole" and number != int(number)):
                    want = "a whole number" if col.kind == "whole" else "a number"
                    add(f"{v!r} is not {want} ≥ 0", f"write {want}, e.g. {col.example}")
            elif col.kind == "crs":
                try:
                    crs_out[i] = parse_crs_name(str(v).split("（")[0].split("(")[0])
                except CRSError:
                    add(
                        f"{v!r} is not a coordinate system",
                        "choose WGS-84, GCJ-02 or BD-09 from the list",
                    )
    has_xy = frame["lon"].notna().to_numpy() | frame["lat"].notna().to_numpy()
    crs_given = frame["crs"].notna().to_numpy()
    for j in np.flatnonzero(has_xy & ~crs_given):
        problems.items.append(
            Problem(
                "coordinates are given but not their coordinate system",
                sheet.label,
                int(sheet.rows[j]),
                sheet.headers["crs"],
                "choose WGS-84, GCJ-02 (Amap, Tencent) or BD-09 (Baidu) from the list",
            )
        )
    frame["crs"] = crs_out


def _to_wgs84(sheet: _Sheet) -> pd.DataFrame:
    """Coordinates converted row by row to WGS-84 (cells that are not numbers kept as they are)."""
    from lifecircle.geo import to_wgs84

    frame = sheet.frame.copy()
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(float)
    for crs in ("gcj02", "bd09"):
        sel = (frame["crs"] == crs).to_numpy() & np.isfinite(lon) & np.isfinite(lat)
        if sel.any():
            x, y = to_wgs84(lon[sel], lat[sel], crs)
            frame.loc[sel, "lon"] = x
            frame.loc[sel, "lat"] = y
    return frame.drop(columns="crs")


def _relabel(error: InputError, sheet: _Sheet, problems: Problems) -> None:
    """Problems of a reader (rows = positions in the frame) → Excel rows and headers."""
    import re

    def excel(n: int) -> int:
        return int(sheet.rows[n - 1]) if 1 <= n <= sheet.rows.size else n

    def rows_in_text(match: re.Match[str]) -> str:
        numbers = ", ".join(str(excel(int(n))) for n in match.group(2).split(", "))
        return f"{match.group(1)}{numbers}"

    headers = {**sheet.headers}
    if "lon" in headers and "lat" in headers:
        headers["lon/lat"] = f"{headers['lon']}/{headers['lat']}"
    for p in error.problems:
        row = excel(p.row) if p.row is not None else None
        field = headers.get(str(p.field), p.field) if p.field is not None else None
        message = re.sub(r"(\brows? )(\d+(?:, \d+)*)", rows_in_text, p.message)
        problems.items.append(Problem(message, sheet.label, row, field, p.fix))


def read_template(
    path: str | Path, kind: TemplateKind | None = None, *, network: Any = None
) -> gpd.GeoDataFrame:
    """Read a filled template back, validated as every other layer of its kind.

    Parameters
    ----------
    path
        The ``.xlsx`` file.
    kind
        ``"outlets"`` or ``"residences"``; by default found from the sheet names.
    network
        Passed to the reader (points far outside the network's area are errors).

    Returns
    -------
    geopandas.GeoDataFrame
        The frame of :func:`~lifecircle.ingest.read_outlets` (outlets: plus ``address``,
        ``floor_area_m2``, ``staff``) or :func:`~lifecircle.ingest.read_residences`
        (residences: plus ``address``), in WGS-84.  ``attrs["without_coordinates"]`` lists the
        rows without coordinates (Excel row, id, name, address); for residences
        ``attrs["entrances"]`` holds the gates (``residence_id``, point) for
        :func:`~lifecircle.access.compute_access`.

    Raises
    ------
    InputError
        Listing every problem, each with file, sheet, row (as Excel numbers them) and column.
    """
    from openpyxl import load_workbook

    file = str(path)
    problems = Problems(file=file)
    if not Path(path).exists():
        problems.add("file not found", fix="check the path")
        problems.raise_if_any("template")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        problems.add(f"not an Excel workbook ({type(exc).__name__})", fix="give the .xlsx template")
        problems.raise_if_any("template")
        raise  # unreachable
    try:
        if kind is None:
            found = [k for k, s in _SHEETS.items() if s in wb.sheetnames]
            kind = found[0] if found else "outlets"  # type: ignore[assignment]
        assert kind is not None
        columns = _columns(kind)
        sheet = _load_sheet(wb, file, _SHEETS[kind], columns, problems)
        gates = (
            _load_sheet(wb, file, _GATES_SHEET, _GATE_COLUMNS, Problems(file=file))
            if kind == "residences" and _GATES_SHEET in wb.sheetnames
            else None
        )
    finally:
        wb.close()
    problems.raise_if_any("template")
    assert sheet is not None
    if sheet.frame.empty:
        import geopandas as gpd

        return gpd.GeoDataFrame({"name": []}, geometry=gpd.GeoSeries([], crs=4326))
    _check_cells(sheet, columns, problems)
    if gates is not None:
        _check_cells(gates, _GATE_COLUMNS, problems)
    frame = _to_wgs84(sheet)
    id_field = "outlet_id" if kind == "outlets" else "residence_id"
    frame[id_field] = [
        str(v) if v is not None else f"row{r}"
        for v, r in zip(frame[id_field], sheet.rows, strict=True)
    ]
    missing = (frame["lon"].isna() & frame["lat"].isna()).to_numpy()
    # rows without coordinates are listed, not errors: the reader sees only the others
    located = _Sheet(
        frame.loc[~missing].reset_index(drop=True), sheet.rows[~missing], sheet.label, sheet.headers
    )
    result = None
    try:
        if kind == "outlets":
            from lifecircle.ingest import read_outlets

            if not located.frame.empty:
                result = read_outlets(
                    located.frame, crs="wgs84", lon="lon", lat="lat", network=network
                )
        else:
            from lifecircle.ingest import read_residences

            if not located.frame.empty:
                result = read_residences(
                    located.frame.assign(kind="xiaoqu"),
                    crs="wgs84",
                    lon="lon",
                    lat="lat",
                    network=network,
                )
    except InputError as exc:
        _relabel(exc, located, problems)
    problems.raise_if_any("template")
    if result is None:  # every row lacks coordinates
        import geopandas as gpd

        result = gpd.GeoDataFrame({id_field: [], "name": []}, geometry=gpd.GeoSeries([], crs=4326))
    extra = ["address"] + (["floor_area_m2", "staff"] if kind == "outlets" else [])
    joined = located.frame.set_index(id_field)[extra].reindex(result[id_field].to_numpy())
    for name in extra:
        values = joined[name].to_numpy()
        if name in ("floor_area_m2", "staff"):
            values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
        result.insert(len(result.columns) - 1, name, values)
    result.attrs["without_coordinates"] = pd.DataFrame(
        {
            "row": sheet.rows[missing],
            id_field: frame.loc[missing, id_field].to_numpy(),
            "name": frame.loc[missing, "name"].to_numpy(),
            "address": frame.loc[missing, "address"].to_numpy(),
        }
    )
    result.attrs["source_file"] = sheet.label
    if gates is not None:
        import geopandas as gpd

        g = _to_wgs84(gates)
        known = set(result["residence_id"])
        for i, rid in enumerate(g["residence_id"]):
            if str(rid) not in known:
                problems.items.append(
                    Problem(
                        f"no 小区 with 编号 {rid!r}",
                        gates.label,
                        int(gates.rows[i]),
                        "小区编号",
                        f"use an 编号 of the sheet {_SHEETS['residences']}",
                    )
                )
        problems.raise_if_any("template")
        main = result[["residence_id", "geometry"]]
        extra_gates = gpd.GeoDataFrame(
            {"residence_id": g["residence_id"].astype(str).to_numpy()},
            geometry=gpd.points_from_xy(
                pd.to_numeric(g["lon"]).to_numpy(float), pd.to_numeric(g["lat"]).to_numpy(float)
            ),
            crs=4326,
        )
        result.attrs["entrances"] = pd.concat([main, extra_gates], ignore_index=True)
    return result


def match_by_name(rows: pd.DataFrame, places: pd.DataFrame, *, name: str = "name") -> pd.DataFrame:
    """Match rows without coordinates to a provider import by normalised name.

    Parameters
    ----------
    rows
        ``attrs["without_coordinates"]`` of :func:`read_template`.
    places
        A provider import (``PlaceImport.places``) or any frame with a ``name`` column.
    name
        The name column of ``places``.

    Returns
    -------
    pandas.DataFrame
        ``rows`` with the matching place's columns (suffixed ``_match``) where exactly one place
        has the same normalised name (brackets' width, spaces and case ignored), and ``matches``:
        how many places have that name (0: none, >1: ambiguous, left unmatched).

    Examples
    --------
    >>> rows = pd.DataFrame({"row": [3], "name": ["惠民便利店(建设路店)"]})
    >>> places = pd.DataFrame({"name": ["惠民便利店（建设路店）"], "id": ["B0FF1"]})
    >>> match_by_name(rows, places)[["name", "id_match", "matches"]].to_numpy().tolist()
    [['惠民便利店(建设路店)', 'B0FF1', 1]]
    """
    from lifecircle.taxonomy import normalise_name

    keys = places[name].astype(str).map(normalise_name)
    counts = keys.value_counts()
    unique = places.loc[keys.map(counts).eq(1).to_numpy()].copy()
    unique["_key"] = keys[keys.map(counts).eq(1)].to_numpy()
    left = rows.copy()
    left["_key"] = left["name"].astype(str).map(normalise_name)
    left["matches"] = left["_key"].map(counts).fillna(0).astype(int)
    merged = left.merge(
        unique.add_suffix("_match").rename(columns={"_key_match": "_key"}), on="_key", how="left"
    )
    return merged.drop(columns="_key")

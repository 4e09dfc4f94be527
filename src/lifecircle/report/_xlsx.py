"""The Excel workbook: one sheet per table, two header rows (label, column name), frozen heads."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecircle.report._labels import column_label, text
from lifecircle.report._tables import snapshot_rows

__all__ = ["HEADER_ROWS", "access_matrix", "write_workbook"]

#: Header rows of every sheet: row 1 = label in the report language, row 2 = column name.
#: Data start on row 3; ``pandas.read_excel(path, sheet_name=..., header=1)`` reads a sheet back
#: with the machine column names.
HEADER_ROWS = 2
_MAX_WIDTH = 60


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop geometry, turn list/array cells into ``;``-joined text, nullable types to objects."""
    out = pd.DataFrame(frame).copy()
    if "geometry" in out.columns:
        out = out.drop(columns="geometry")
    out = pd.DataFrame(out)
    for col in out.columns:
        series = out[col]
        if series.dtype == object:
            sample = series.dropna().head(50)
            if any(isinstance(v, (list, tuple, np.ndarray)) for v in sample):
                out[col] = series.map(
                    lambda v: (
                        ";".join(str(x) for x in v)
                        if isinstance(v, (list, tuple, np.ndarray))
                        else v
                    )
                )
        elif isinstance(series.dtype, pd.BooleanDtype):
            out[col] = series.astype(object).where(series.notna(), None)
    return out


def _display_width(value: Any) -> int:
    s = str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _format_sheet(ws: Any, frame: pd.DataFrame, labels: list[str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fill = PatternFill("solid", fgColor="DCE6F1")
    for j, label in enumerate(labels, start=1):
        cell = ws.cell(row=1, column=j, value=label)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        name_cell = ws.cell(row=2, column=j)
        name_cell.font = Font(italic=True, color="57606A")
    ws.freeze_panes = ws.cell(row=HEADER_ROWS + 1, column=1)
    sample = frame.head(200)
    for j, col in enumerate(frame.columns, start=1):
        widths = [_display_width(labels[j - 1]), _display_width(col)]
        widths += [_display_width(v) for v in sample[col].tolist() if v is not None]
        ws.column_dimensions[get_column_letter(j)].width = min(max(widths) + 2, _MAX_WIDTH)


def access_matrix(
    access: pd.DataFrame, residences: pd.DataFrame, lang: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The access table as a matrix: one row per residence, one column per 业态 (nearest walk,
    minutes, 1 decimal; blank = none within the largest band), and labels of the 业态 columns."""
    from lifecircle.report._tables import category_labels

    codes = list(dict.fromkeys(access["category"].astype(str)))
    names = access.drop_duplicates("category").set_index("category")
    zh = names["category_zh"] if "category_zh" in names.columns else names.index.to_series()
    labels = dict(
        zip(codes, category_labels(codes, [zh.get(c, c) for c in codes], lang), strict=True)
    )
    wide = access.pivot_table(
        index="residence_id",
        columns="category",
        values="nearest_min",
        aggfunc="first",
        dropna=False,
        sort=False,
    ).reindex(columns=codes)
    wide = wide.round(1)
    keep = [
        c for c in ("residence_id", "name", "circle_id", "households") if c in residences.columns
    ]
    head = pd.DataFrame(residences[keep]).drop_duplicates("residence_id")
    out = head.merge(wide, left_on="residence_id", right_index=True, how="right")
    return out.reset_index(drop=True), labels


def write_workbook(
    path: Path,
    tables: Mapping[str, pd.DataFrame | None],
    snapshot: Mapping[str, Any],
    lang: str,
    *,
    access_row_cap: int,
    extra_labels: Mapping[str, Mapping[str, str]] | None = None,
    notes: list[tuple[str, str]] | None = None,
) -> Path:
    """Write ``tables`` (sheet name → frame; ``None`` skipped) and the snapshot sheet.

    ``extra_labels`` gives per sheet the row-1 labels of columns not in the common list.
    """
    notes = list(notes or [])
    extra_labels = extra_labels or {}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for sheet, frame in tables.items():
            if frame is None:
                continue
            plain = _plain(frame)
            if sheet == "access" and len(plain) > access_row_cap:
                notes.append(
                    (
                        text("sheet_note", lang),
                        text("access_capped", lang, n=len(plain), cap=access_row_cap),
                    )
                )
                plain = plain.iloc[:access_row_cap]
            elif len(plain) > access_row_cap:  # a city's blind spots: millions of rows
                notes.append(
                    (
                        text("sheet_note", lang),
                        text("sheet_capped", lang, sheet=sheet, n=len(plain), cap=access_row_cap),
                    )
                )
                plain = plain.iloc[:access_row_cap]
            plain.to_excel(writer, sheet_name=sheet, index=False, startrow=HEADER_ROWS - 1)
            own = extra_labels.get(sheet, {})
            labels = [own.get(str(c)) or column_label(str(c), lang) for c in plain.columns]
            _format_sheet(writer.sheets[sheet], plain, labels)
        rows = snapshot_rows(snapshot, lang) + notes
        snap = pd.DataFrame(rows, columns=["item", "value"])
        snap.to_excel(writer, sheet_name="snapshot", index=False, startrow=HEADER_ROWS - 1)
        _format_sheet(
            writer.sheets["snapshot"],
            snap,
            [text("snapshot_item", lang), text("snapshot_value", lang)],
        )
    return path

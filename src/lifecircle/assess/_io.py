"""Private helpers shared by the survey, evaluation and KPI modules of :mod:`lifecircle.assess`.

Reading TOML configuration files and CSV/Excel tables with every problem reported as a
:class:`~lifecircle.errors.Problem` (file, 1-based data row, field, fix).
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np
import pandas as pd

from lifecircle.errors import InputError, Problem, Problems
from lifecircle.ingest import _tables as t

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__: list[str] = []  # private module

#: Confidence tags (standards.md §0).
CONFIDENCE = frozenset({"V1", "V2", "R", "A", "U", "P"})
#: The ``circle_id`` of the whole-city row of per-circle tables.
CITY = "city"

DATA_DIR = Path(__file__).resolve().parent / "data"
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Provenance:
    """Where a configured value comes from.

    Attributes
    ----------
    source
        The document or reasoning behind the value (standards.md section, policy document).
    confidence
        Confidence tag of standards.md §0: ``V1`` official text, ``V2`` specific secondary
        source, ``P`` proposal of this software, ...
    """

    source: str
    confidence: str


#: Provenance of values given in code (no source recorded).
NO_PROVENANCE = Provenance("", "P")


def norm_text(value: object) -> str:
    """NFKC-normalised text without whitespace, case-folded (for matching labels and names)."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(value))).casefold()


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Read a TOML file; a missing or unparseable file raises :class:`InputError`."""
    p = Path(path)
    if not p.is_file():
        raise InputError(
            Problem(f"{what} file not found", file=str(p), fix="give the path of a TOML file"),
            what,
        )
    try:
        with p.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            Problem(
                f"not valid TOML ({exc})",
                file=str(p),
                fix="check the syntax near the line given (quotes, brackets, commas); save as UTF-8",
            ),
            what,
        ) from None


def check_keys(
    raw: dict[str, Any], allowed: Iterable[str], file: str, where: str, problems: Problems
) -> None:
    """Record a problem for every key of ``raw`` not in ``allowed``."""
    allowed = tuple(allowed)
    for key in raw:
        if key not in allowed:
            problems.add(
                f"unknown key {key!r}",
                field=f"{where}.{key}" if where else key,
                fix=f"remove it or check the spelling; allowed: {', '.join(allowed)}",
            )


def text_value(
    raw: dict[str, Any],
    key: str,
    where: str,
    problems: Problems,
    *,
    required: bool = True,
    default: str = "",
) -> str:
    """A non-empty string value of a TOML table (a problem when missing or not text)."""
    value = raw.get(key)
    field = f"{where}.{key}" if where else key
    if value is None and not required:
        return default
    if not isinstance(value, str) or not value.strip():
        problems.add(
            f"{key} must be a non-empty string, got {value!r}",
            field=field,
            fix=f'write {key} = "..."',
        )
        return default
    return value.strip()


def provenance(raw: dict[str, Any], where: str, problems: Problems) -> Provenance:
    """The ``source`` and ``confidence`` of a TOML table."""
    source = text_value(raw, "source", where, problems)
    confidence = text_value(raw, "confidence", where, problems, default="P")
    if confidence and confidence not in CONFIDENCE:
        problems.add(
            f"confidence {confidence!r} is not a known tag",
            field=f"{where}.confidence" if where else "confidence",
            fix=f"use one of {', '.join(sorted(CONFIDENCE))} (standards.md §0)",
        )
    return Provenance(source, confidence)


def is_number(value: object) -> TypeGuard[int | float]:
    """True for int/float TOML values (not booleans)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def read_sheet(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    what: str,
    encoding: str | None = None,
    sheet: str | int = 0,
) -> t.RawTable:
    """Read a CSV, Excel workbook or DataFrame into a :class:`~lifecircle.ingest._tables.RawTable`.

    CSV cells are read as text (UTF-8 by default; ``encoding="gbk"`` for Chinese Excel/WPS
    exports); Excel cells keep their types.  An empty file, a header without rows and an
    undecodable file raise :class:`InputError` naming the file.
    """
    label = t.source_label(source)
    if isinstance(source, pd.DataFrame):
        table = t.read_table(source, what=what)
    else:
        path = Path(source)
        if path.suffix.lower() in _EXCEL_SUFFIXES:
            table = _read_excel(path, label, what, sheet)
        else:
            table = t.read_table(path, what=what, encoding=encoding)
    table.frame.columns = [str(c).strip().lstrip("\ufeff") for c in table.frame.columns]
    if len(table.frame.columns) == 0:
        raise InputError(
            Problem(
                "the table is empty (no header row)",
                file=label,
                fix=f"give a table with a header row and one row per {what[:-1]}",
            ),
            what,
        )
    if len(table.frame) == 0:
        raise InputError(
            Problem(
                f"the table has no {what} (a header but no data rows)",
                file=label,
                fix=f"add one row per {what[:-1]} below the header",
            ),
            what,
        )
    return table


def _read_excel(path: Path, label: str, what: str, sheet: str | int) -> t.RawTable:
    if not path.exists():
        raise InputError(
            Problem(
                "file not found",
                file=label,
                fix="check the path (relative paths are read from the working directory)",
            ),
            what,
        )
    if path.stat().st_size == 0:
        raise InputError(
            Problem("the file is empty", file=label, fix=f"give a workbook with a table of {what}"),
            what,
        )
    try:
        book = pd.ExcelFile(path)
    except Exception as exc:  # openpyxl/xlrd/zipfile raise many kinds for damaged files
        raise InputError(
            Problem(
                f"not a readable Excel workbook ({type(exc).__name__}: {exc})",
                file=label,
                fix="save the file again from Excel/WPS as .xlsx, or export it as UTF-8 CSV",
            ),
            what,
        ) from None
    with book:
        try:
            frame = pd.read_excel(book, sheet_name=sheet, dtype=object)
        except (ValueError, IndexError, KeyError) as exc:
            raise InputError(
                Problem(
                    f"cannot read sheet {sheet!r} ({exc}); the workbook has sheets "
                    + ", ".join(repr(n) for n in book.sheet_names),
                    file=label,
                    fix="pass the sheet's name or 0-based position",
                ),
                what,
            ) from None
    frame = frame.dropna(how="all").reset_index(drop=True)
    return t.RawTable(frame, np.arange(1, len(frame) + 1, dtype=np.int64), label)


def read_circle_ids(
    table: t.RawTable,
    column: str,
    problems: Problems,
    *,
    known_circles: Iterable[object] | None,
    what: str,
) -> np.ndarray | None:
    """The circle id of each row (object array of ``str``, ``""`` where blank).

    Records problems for a missing column, blank ids, the reserved id ``city`` and ids not among
    ``known_circles``.  Returns ``None`` when the column is missing.
    """
    frame = table.frame
    col = column if column in frame.columns else t.find_column(frame.columns, [column])
    if col is None:
        problems.add(
            f"no circle id column {column!r}",
            field=column,
            fix=f"add a column {column!r} naming each row's life circle, or pass "
            f"circle_column= the right name ({t.did_you_mean(column, frame.columns)})",
        )
        return None
    ids = t._id_strings(frame[col])
    blank = ids == ""
    if blank.any():
        t.add_row_problems(
            problems,
            table.rows[blank],
            "no circle id",
            field=col,
            fix=f"write the circle id of this {what[:-1]}, or remove the row",
        )
    reserved = ids == CITY
    if reserved.any():
        t.add_row_problems(
            problems,
            table.rows[reserved],
            f"{CITY!r} is reserved for the whole-city row of the results",
            field=col,
            fix="rename this circle",
        )
    if known_circles is not None:
        known = {str(c) for c in known_circles}
        unknown = ~blank & ~reserved & ~np.isin(ids, list(known))
        if unknown.any():
            messages = [
                f"circle id {cid!r} is not one of the circles ({_closest(cid, known)})"
                for cid in ids[unknown]
            ]
            t.add_row_problems(
                problems,
                table.rows[unknown],
                messages,
                field=col,
                fix="correct the id (ids are compared as text) or add the circle to the circles "
                "layer",
            )
    return ids


def _closest(value: str, known: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(value, sorted(known), n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    shown = sorted(known)[:10]
    return "known ids: " + ", ".join(repr(c) for c in shown) + (" ..." if len(known) > 10 else "")

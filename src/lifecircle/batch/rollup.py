"""Provincial / national roll-up of a batch: one row per city and totals, from the cities' outputs.

Built only from what each city wrote to its folder (``manifest.json``, ``kpis.csv``,
``grades.csv``, ``satisfaction.csv``), so a roll-up can be rebuilt at any time without rerunning
anything, and a city whose results are current (skipped in this run) counts like a fresh one.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecircle.assess.model import GRADES, NOT_GRADED, UNVERIFIED
from lifecircle.batch.city import MANIFEST
from lifecircle.batch.config import CityConfig

__all__ = ["ROLLUP_COLUMNS", "Rollup", "build_rollup", "write_rollup"]

log = logging.getLogger(__name__)

#: 业态 whose 15-minute coverage the roll-up shows (一店一早、一菜一修: the core of the Guide).
CORE_CATEGORIES = ("convenience_store", "breakfast", "wet_market", "repair")

#: Columns of the roll-up table with their labels (中文 / English).
ROLLUP_COLUMNS: dict[str, str] = {
    "group": "分组 Group",
    "city": "城市/片区 City",
    "status": "状态 Status",
    "n_residences": "小区数 Residences",
    "households": "户数 Households",
    "n_outlets": "网点数 Outlets",
    "n_circles": "生活圈数 Circles",
    **{
        f"circles_{g}": f"{g} {en}"
        for g, en in zip(GRADES, ("basic", "enhanced", "quality"), strict=True)
    },
    f"circles_{NOT_GRADED}": f"{NOT_GRADED} not graded",
    f"circles_{UNVERIFIED}": f"{UNVERIFIED} unverified",
    "circles_basic_or_better": "基础型及以上生活圈占比 Circles ≥ basic",
    "households_basic_or_better": "基础型及以上生活圈户数占比 Households in circles ≥ basic",
    "basic_coverage": "基本保障类业态平均覆盖户数占比 Mean household coverage, basic 业态",
    **{
        f"coverage:{c}": label
        for c, label in zip(
            CORE_CATEGORIES,
            (
                "便利店覆盖 Convenience store coverage",
                "早餐店覆盖 Breakfast coverage",
                "菜市场覆盖 Wet market coverage",
                "维修点覆盖 Repair coverage",
            ),
            strict=True,
        )
    },
    "chain_share": "连锁化率 Chain share",
    "satisfaction_rate": "满意率 Satisfaction",
    "satisfaction_n": "有效问卷 Valid answers",
}
_SHARES = (
    "circles_basic_or_better",
    "households_basic_or_better",
    "basic_coverage",
    *(f"coverage:{c}" for c in CORE_CATEGORIES),
    "chain_share",
    "satisfaction_rate",
)
_COUNTS = (
    "n_residences",
    "households",
    "n_outlets",
    "n_circles",
    *(f"circles_{g}" for g in (*GRADES, NOT_GRADED, UNVERIFIED)),
    "satisfaction_n",
)
#: Which weights average each share across cities.
_WEIGHTS = {
    "households_basic_or_better": "households",
    "basic_coverage": "households",
    **{f"coverage:{c}": "households" for c in CORE_CATEGORIES},
    "chain_share": "n_outlets",
    "satisfaction_rate": "satisfaction_n",
}


@dataclass
class Rollup:
    """The roll-up tables.

    Attributes
    ----------
    table
        One row per city, then one per group and one for all (``city`` = ``合计 total``); columns
        :data:`ROLLUP_COLUMNS` plus ``id``, ``level`` (``city``, ``group``, ``all``).
    kpis
        City KPIs side by side: ``kpi, kpi_zh, unit`` and one column per city id.
    circles
        Every circle of every city: ``city_id`` plus the columns of ``grades.csv``.
    failed
        ``id, city, error`` of the cities without results.
    """

    table: pd.DataFrame
    kpis: pd.DataFrame
    circles: pd.DataFrame
    failed: pd.DataFrame


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    return pd.read_csv(path, encoding="utf-8-sig")


def _city_row(
    city: CityConfig, folder: Path
) -> tuple[dict[str, Any], pd.DataFrame | None, pd.DataFrame | None]:
    row: dict[str, Any] = {"id": city.id, "city": city.name, "group": city.group, "level": "city"}
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        row["status"] = "no results"
        return row, None, None
    row["status"] = "ok"
    row["n_residences"] = manifest.get("n_residences")
    row["n_outlets"] = manifest.get("n_outlets")
    grades = _read_csv(folder / "grades.csv")
    kpis = _read_csv(folder / "kpis.csv")
    if grades is not None:
        row["n_circles"] = len(grades)
        row["households"] = float(pd.to_numeric(grades["households"], errors="coerce").sum())
        counts = grades["grade"].value_counts()
        for g in (*GRADES, NOT_GRADED, UNVERIFIED):
            row[f"circles_{g}"] = int(counts.get(g, 0))
        row["circles_basic_or_better"] = (
            sum(row[f"circles_{g}"] for g in GRADES) / len(grades) if len(grades) else math.nan
        )
    if kpis is not None:
        city_kpis = kpis[kpis["scope"].astype(str) == "city"] if "scope" in kpis else kpis
        values = city_kpis.drop_duplicates("kpi").set_index("kpi")["value"]
        values = pd.to_numeric(values, errors="coerce")
        row["households_basic_or_better"] = values.get("households_basic_or_better", math.nan)
        row["chain_share"] = values.get("chain_share", math.nan)
        for c in CORE_CATEGORIES:
            row[f"coverage:{c}"] = values.get(f"households_covered:{c}", math.nan)
        row["basic_coverage"] = _basic_coverage(folder, values)
    sat = _read_csv(folder / "satisfaction.csv")
    if sat is not None and "circle_id" in sat:
        whole = sat[sat["circle_id"].astype(str) == "city"]
        if len(whole):
            row["satisfaction_rate"] = float(whole["rate"].to_numpy(dtype=float)[0])
            row["satisfaction_n"] = int(whole["n_valid"].to_numpy(dtype=float)[0])
    return row, kpis, grades


def _basic_coverage(folder: Path, values: pd.Series) -> float:
    """Mean household coverage over the basic 业态 (from the evidence table's classes)."""
    evidence = _read_csv(folder / "evidence.csv")
    if evidence is None or "class" not in evidence:
        return math.nan
    basic = evidence.loc[evidence["class"] == "basic", "category"].astype(str).unique()
    shares = [values.get(f"households_covered:{c}", math.nan) for c in basic]
    shares = [s for s in shares if not pd.isna(s)]
    return float(np.mean(shares)) if shares else math.nan


def _total(rows: pd.DataFrame, label: str, group: str, level: str) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "", "city": label, "group": group, "level": level}
    ok = rows[rows["status"] == "ok"]
    out["status"] = f"{len(ok)}/{len(rows)} ok"
    for c in _COUNTS:
        if c in ok:
            out[c] = float(pd.to_numeric(ok[c], errors="coerce").sum(min_count=1))
    circles = out.get("n_circles") or 0
    out["circles_basic_or_better"] = (
        sum(out.get(f"circles_{g}", 0) or 0 for g in GRADES) / circles if circles else math.nan
    )
    for share, weight in _WEIGHTS.items():
        if share not in ok or weight not in ok:
            continue
        v = pd.to_numeric(ok[share], errors="coerce").to_numpy(dtype=float)
        w = pd.to_numeric(ok[weight], errors="coerce").to_numpy(dtype=float)
        keep = np.isfinite(v) & np.isfinite(w) & (w > 0)
        out[share] = float(np.average(v[keep], weights=w[keep])) if keep.any() else math.nan
    return out


def build_rollup(
    out_dir: str | os.PathLike[str],
    cities: Sequence[CityConfig],
    records: Sequence[Mapping[str, Any]] = (),
) -> Rollup:
    """Gather the cities' results from ``out_dir/<city id>/`` into the roll-up tables.

    Parameters
    ----------
    out_dir
        The batch output folder.
    cities
        The batch's cities (their order is the table's).
    records
        This run's run-log records, to list the failed cities with their error.
    """
    out = Path(out_dir)
    failed_now = {r["id"]: r for r in records if r.get("status") == "failed"}
    rows: list[dict[str, Any]] = []
    kpi_frames: list[pd.DataFrame] = []
    circle_frames: list[pd.DataFrame] = []
    failed: list[dict[str, Any]] = []
    for city in cities:
        if city.id in failed_now:
            row: dict[str, Any] = {
                "id": city.id,
                "city": city.name,
                "group": city.group,
                "level": "city",
                "status": "failed",
            }
            kpis = grades = None
        else:
            row, kpis, grades = _city_row(city, out / city.id)
        rows.append(row)
        if row["status"] != "ok":
            error = failed_now.get(city.id, {}).get("error", "no results in the folder")
            failed.append({"id": city.id, "city": city.name, "error": error})
            continue
        if kpis is not None:
            k = kpis[kpis["scope"].astype(str) == "city"] if "scope" in kpis else kpis
            k = k.drop_duplicates("kpi").set_index("kpi")
            kpi_frames.append(k[["kpi_zh", "unit"]].assign(**{city.id: k["value"]}))
        if grades is not None:
            circle_frames.append(grades.assign(city_id=city.id, city=city.name))
    table = pd.DataFrame(rows)
    totals: list[dict[str, Any]] = []
    groups = [g for g in dict.fromkeys(table["group"]) if g] if len(table) else []
    if len(groups) > 1 or (groups and (table["group"] == "").any()):
        for g in groups:
            totals.append(_total(table[table["group"] == g], f"{g} 合计 total", g, "group"))
    if len(table):
        totals.append(_total(table, "全部 合计 total", "", "all"))
    table = pd.concat([table, pd.DataFrame(totals)], ignore_index=True)
    columns = ["level", "id", *ROLLUP_COLUMNS]
    for c in columns:
        if c not in table:
            table[c] = math.nan
    table = table[columns]
    if kpi_frames:
        kpis_wide = kpi_frames[0]
        for frame in kpi_frames[1:]:
            extra = frame.drop(columns=["kpi_zh", "unit"])
            kpis_wide = kpis_wide.join(extra, how="outer")
            kpis_wide["kpi_zh"] = kpis_wide["kpi_zh"].fillna(frame["kpi_zh"])
            kpis_wide["unit"] = kpis_wide["unit"].fillna(frame["unit"])
        order = list(dict.fromkeys(k for f in kpi_frames for k in f.index))
        kpis_wide = kpis_wide.loc[order].reset_index()
    else:
        kpis_wide = pd.DataFrame(columns=["kpi", "kpi_zh", "unit"])
    circles = pd.concat(circle_frames, ignore_index=True) if circle_frames else pd.DataFrame()
    return Rollup(table, kpis_wide, circles, pd.DataFrame(failed, columns=["id", "city", "error"]))


def _fmt(value: Any, share: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if share and isinstance(value, int | float):
        return f"{100 * float(value):.1f}%"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _html(rollup: Rollup, title: str) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(label)}</th>" for label in ROLLUP_COLUMNS.values())
    body = []
    for _, row in rollup.table.iterrows():
        cls = f' class="{row["level"]}"' if row["level"] != "city" else ""
        cells = "".join(
            f"<td{' class=num' if c in _SHARES or c in _COUNTS else ''}>"
            f"{esc(_fmt(row[c], c in _SHARES))}</td>"
            for c in ROLLUP_COLUMNS
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    failed = ""
    if len(rollup.failed):
        items = "".join(
            f"<li><b>{esc(str(r.city))}</b> ({esc(str(r.id))}): <pre>{esc(str(r.error))}</pre></li>"
            for r in rollup.failed.itertuples()
        )
        failed = f"<h2>未完成的城市 Cities without results</h2><ul>{items}</ul>"
    when = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.5em; }}
th {{ background: #f0f0f0; vertical-align: bottom; }}
td.num {{ text-align: right; }}
tr.group td {{ background: #f7f7f7; font-weight: bold; }}
tr.all td {{ background: #e8eef7; font-weight: bold; }}
pre {{ white-space: pre-wrap; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>一刻钟便民生活圈汇总 / 15-minute life circles, roll-up of {int((rollup.table["level"] == "city").sum())}
cities · {esc(when)}. 每个城市的详细结果见其文件夹 / details in each city's folder.</p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
{failed}
</body></html>
"""


def write_rollup(
    out_dir: str | os.PathLike[str],
    cities: Sequence[CityConfig],
    records: Sequence[Mapping[str, Any]] = (),
    *,
    title: str = "",
) -> dict[str, Path]:
    """Write ``rollup.csv``, ``rollup_kpis.csv``, ``rollup.xlsx`` and ``rollup.html``.

    Parameters
    ----------
    out_dir
        The batch output folder (holding one folder per city).
    cities, records
        As for :func:`build_rollup`.
    title
        Heading of the HTML page (default: 汇总 Roll-up).

    Returns
    -------
    dict
        Written files by name.
    """
    out = Path(out_dir)
    rollup = build_rollup(out, cities, records)
    files = {
        "rollup.csv": out / "rollup.csv",
        "rollup_kpis.csv": out / "rollup_kpis.csv",
        "rollup.xlsx": out / "rollup.xlsx",
        "rollup.html": out / "rollup.html",
    }
    rollup.table.to_csv(files["rollup.csv"], index=False, encoding="utf-8-sig")
    rollup.kpis.to_csv(files["rollup_kpis.csv"], index=False, encoding="utf-8-sig")
    with pd.ExcelWriter(files["rollup.xlsx"], engine="openpyxl") as xlsx:
        labelled = rollup.table.rename(columns=ROLLUP_COLUMNS)
        labelled.to_excel(xlsx, sheet_name="rollup", index=False)
        rollup.kpis.to_excel(xlsx, sheet_name="kpis", index=False)
        if len(rollup.circles):
            rollup.circles.to_excel(xlsx, sheet_name="circles", index=False)
        if len(rollup.failed):
            rollup.failed.to_excel(xlsx, sheet_name="failed", index=False)
    files["rollup.html"].write_text(_html(rollup, title or "汇总 Roll-up"), encoding="utf-8")
    return files

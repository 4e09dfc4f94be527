"""Write the city and circle reports of an :class:`~lifecircle.assess.model.Assessment`."""

from __future__ import annotations

import datetime as _dt
import logging
import re
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lifecircle.assess.model import GRADES, NOT_GRADED, UNVERIFIED, Assessment
from lifecircle.errors import InputError, Problems
from lifecircle.report import _figures as fig
from lifecircle.report._fonts import CJK_FONT_FAMILY_CSS, CJK_FONT_FILE, CJK_LICENSE_FILE
from lifecircle.report._labels import LANGS, column_label, grade_label, text
from lifecircle.report._pdf import PdfBlock, build_pdf
from lifecircle.report._plan import (
    circle_plan_text,
    city_plan_text,
    plan_circles_table,
    plan_city_table,
    project_sites_table,
    project_table,
)
from lifecircle.report._tables import (
    DisplayTable,
    audit_table,
    category_labels,
    district_table,
    evaluation_table,
    evidence_table,
    fmt_number,
    fmt_share,
    grade_table,
    kpi_category_table,
    kpi_table,
    satisfaction_table,
    short_date,
    snapshot_table,
    split_kpis,
)
from lifecircle.report._xlsx import access_matrix, write_workbook

if TYPE_CHECKING:
    import geopandas as gpd

    from lifecircle.plan.projects import ProjectPlan

__all__ = ["BLIND_SPOT_CATEGORIES", "FORMATS", "PLAN_SHEETS", "write_reports"]

log = logging.getLogger(__name__)

#: Output formats.
FORMATS: tuple[str, ...] = ("html", "pdf", "xlsx")
#: Workbook sheets of the 1+N project list: ProjectPlan attribute → sheet name.
PLAN_SHEETS: dict[str, str] = {"projects": "项目清单", "sites": "建议点位", "city": "全市计划"}
#: 业态 of the blind-spot map by default: the core 一店一早、一菜一修.
BLIND_SPOT_CATEGORIES: tuple[str, ...] = ("convenience_store", "breakfast", "wet_market", "repair")

#: Columns each table must have (the contract of :class:`~lifecircle.assess.model.Assessment`).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "grades": ("circle_id", "grade", "households", "missing_for_next_grade"),
    "evidence": (
        "circle_id",
        "category",
        "class",
        "band_min",
        "present",
        "households_covered_share",
        "nearest_min_median",
        "count_within_band_median",
    ),
    "kpis": ("kpi", "value", "target", "unit", "meets"),
    "blind_spots": ("residence_id", "circle_id", "category", "households"),
    "satisfaction": (
        "circle_id",
        "n_valid",
        "n_satisfied",
        "rate",
        "ci_low",
        "ci_high",
        "below_target",
    ),
    "evaluation": ("circle_id", "score"),
    "residences": ("residence_id", "circle_id"),
    "circles": ("circle_id",),
}
#: Snapshot parameter names read for the coverage target line (first found wins).
_COVERAGE_KEYS = ("coverage_share", "household_share", "has_share", "coverage_target")
_SPEED_KEYS = ("walk_speed_kmh", "walk_speed", "walk_speed_m_per_min")
_DPI = 150


@dataclass
class _Image:
    src: str
    caption: str
    width: int
    height: int
    path: Path


def _check(assessment: Assessment, lang: str, formats: Sequence[str]) -> None:
    found = Problems(file=None)
    if lang not in LANGS:
        found.add(f"language {lang!r} is not supported", field="lang", fix="use 'zh' or 'en'")
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        found.add(
            f"unknown format(s) {unknown}", field="formats", fix=f"choose from {list(FORMATS)}"
        )
    for name, required in _REQUIRED.items():
        frame = getattr(assessment, name)
        if frame is None:
            continue
        missing = [c for c in required if c not in frame.columns]
        if missing:
            found.add(
                f"table '{name}' lacks column(s) {missing}; it has {list(frame.columns)}",
                field=name,
                fix="build the assessment with lifecircle.assess (see Assessment's documented columns)",
            )
    found.raise_if_any("report input")


def _safe_name(value: object) -> str:
    name = re.sub(r"[^\w.\-]+", "_", str(value)).strip("._")
    return name or "circle"


def _param(snapshot: Mapping[str, Any], keys: Sequence[str]) -> tuple[str, Any] | None:
    for where in (snapshot.get("parameters"), snapshot.get("rulebook"), snapshot):
        if isinstance(where, Mapping):
            for key in keys:
                if where.get(key) is not None:
                    return key, where[key]
    return None


def _speed_text(snapshot: Mapping[str, Any], lang: str) -> str:
    found = _param(snapshot, _SPEED_KEYS)
    if found is None:
        return text("speed_unknown", lang)
    key, value = found
    if key == "walk_speed_m_per_min":
        return f"{float(value):g} m/min"
    try:
        return f"{float(value):g} km/h"
    except (TypeError, ValueError):
        return str(value)


def _coverage(assessment: Assessment, lang: str) -> pd.DataFrame:
    """City share of households covered per 业态 (circle shares weighted by circle households)."""
    ev = assessment.evidence
    if len(ev) == 0:
        return pd.DataFrame({"label": [], "class": [], "share": []})
    hh = assessment.grades.set_index(assessment.grades["circle_id"].astype(str))["households"]
    weights = ev["circle_id"].astype(str).map(pd.to_numeric(hh, errors="coerce")).fillna(0.0)
    share = pd.to_numeric(ev["households_covered_share"], errors="coerce")
    frame = pd.DataFrame(
        {
            "category": ev["category"].astype(str),
            "category_zh": ev["category_zh"] if "category_zh" in ev else ev["category"],
            "class": ev["class"],
            "w": weights.where(share.notna(), 0.0),
            "ws": (share * weights).fillna(0.0),
        }
    )
    grouped = frame.groupby("category", sort=False).agg(
        category_zh=("category_zh", "first"),
        klass=("class", "first"),
        w=("w", "sum"),
        ws=("ws", "sum"),
    )
    if (grouped["w"] <= 0).all():  # no households: plain mean of circle shares
        grouped["share"] = frame.assign(s=share).groupby("category", sort=False)["s"].mean()
    else:
        grouped["share"] = grouped["ws"] / grouped["w"].where(grouped["w"] > 0)
    grouped = grouped.reset_index()
    grouped["order"] = grouped["klass"].map({"basic": 0, "quality": 1}).fillna(2)
    grouped = grouped.sort_values(["order", "share"], ascending=[True, False], kind="stable")
    grouped["label"] = category_labels(
        grouped["category"].tolist(), grouped["category_zh"].tolist(), lang
    )
    return grouped.rename(columns={"klass": "class"})[["category", "label", "class", "share"]]


def _blind_panels(
    assessment: Assessment, categories: Sequence[str], lang: str
) -> list[tuple[str, str, float, float, str]]:
    """``(code, label, band, share lacking, unit)``: the share is of households when every
    residence has a household count, else of residences."""
    ev = assessment.evidence
    bands = ev.drop_duplicates("category").set_index("category")
    residences = assessment.residences
    hh = (
        pd.to_numeric(residences["households"], errors="coerce")
        if "households" in residences
        else None
    )
    by_households = hh is not None and bool(hh.notna().all()) and float(hh.sum()) > 0
    unit = text("unit_households" if by_households else "unit_residences", lang)
    bs = assessment.blind_spots
    panels = []
    for code in categories:
        if code not in bands.index:
            continue
        zh = bands.at[code, "category_zh"] if "category_zh" in bands.columns else code
        label = category_labels([code], [zh], lang)[0]
        lacking = bs.loc[bs["category"] == code]
        if by_households and hh is not None:
            share = float(pd.to_numeric(lacking["households"], errors="coerce").sum()) / float(
                hh.sum()
            )
        else:
            share = lacking["residence_id"].nunique() / max(len(residences), 1)
        band = float(bands["band_min"].astype(float).loc[code])
        panels.append((code, label, band, share, unit))
    return panels


def _image(path: Path, rel: str, caption: str, dpi: int) -> _Image:
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    scale = 96 / dpi
    return _Image(rel, caption, round(w * scale), round(h * scale), path)


def _figures_text(figures: dict[str, Any], lang: str) -> str:
    """The run's basis (the same figures as summary.json)."""
    f = figures
    method = text(
        "method_median" if f.get("households_method") == "median" else "method_none", lang
    )
    return text(
        "figures_text",
        lang,
        res=f"{f['residences_assessed']:,}",
        res_read=f"{f['residences_read']:,}",
        hh=fmt_number(f["households_assessed"], lang, 0),
        hh_known=fmt_number(f["households_known"], lang, 0),
        hh_est=fmt_number(f["households_estimated"], lang, 0),
        method=method,
        pop=fmt_number(f["population_assessed"], lang, 0),
        outlets=f"{f['outlets_assessed']:,}",
        outlets_read=f"{f['outlets_read']:,}",
    )


def _summary(assessment: Assessment, lang: str) -> str:
    grades = assessment.grades
    n = len(grades)
    graded = int(grades["grade"].isin(GRADES).sum())
    hh = pd.to_numeric(grades["households"], errors="coerce").sum()
    f = assessment.figures or {}
    n_res = f.get("residences_assessed", len(assessment.residences))
    n_outlets = f.get("outlets_assessed", len(assessment.outlets))
    text_ = text(
        "summary_text",
        lang,
        n_circles=f"{n:,}",
        n_res=f"{n_res:,}",
        households=fmt_number(f.get("households_assessed", hh), lang, 0),
        n_graded=f"{graded:,}",
        share=fmt_share(graded / n if n else np.nan, lang),
        n_quality=f"{int((grades['grade'] == '品质型').sum()):,}",
        n_outlets=f"{n_outlets:,}",
    )
    return text_ + (" " + _figures_text(f, lang) if f else "")


def _howto(assessment: Assessment, lang: str, with_plan: bool = False) -> list[str]:
    return [
        text("howto_distance", lang, speed=_speed_text(assessment.snapshot, lang)),
        text("howto_bands", lang),
        text("howto_blind", lang),
        *([text("howto_plan", lang)] if with_plan else []),
        text("howto_provisional", lang),
        text("howto_sources", lang),
    ]


def _jinja_env() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _copy_font(out: Path) -> Path:
    target_dir = out / "fonts"
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / CJK_FONT_FILE.name
    if not target.exists() or target.stat().st_size != CJK_FONT_FILE.stat().st_size:
        shutil.copyfile(CJK_FONT_FILE, target)
        shutil.copyfile(CJK_LICENSE_FILE, target_dir / CJK_LICENSE_FILE.name)
    return target


def _labels_table(rows: list[tuple[str, str]], lang: str) -> DisplayTable:
    return DisplayTable(
        [text("snapshot_item", lang), text("snapshot_value", lang)],
        [[k, v] for k, v in rows],
        [False, False],
        widths=[1.4, 2.0],
    )


def _software_version() -> str:
    from lifecircle import __version__

    return __version__


def write_reports(
    assessment: Assessment,
    out_dir: str | Path,
    *,
    lang: str = "zh",
    per_circle: bool = True,
    formats: Sequence[str] = FORMATS,
    blind_spot_categories: Sequence[str] = BLIND_SPOT_CATEGORIES,
    coverage_target: float | None = None,
    access_row_cap: int = 200_000,
    dpi: int = _DPI,
    projects: ProjectPlan | None = None,
) -> dict[str, Path]:
    """Write the city report (HTML, PDF, Excel) and one report per circle (HTML, PDF).

    Parameters
    ----------
    assessment
        A graded city (:func:`lifecircle.assess.pipeline.assess_city`).
    out_dir
        Output folder (created).  It receives ``report.html``, ``report.pdf``, ``report.xlsx``,
        ``img/`` (the PNG maps and charts the HTML shows), ``fonts/`` (the CJK font the HTML
        uses, with its licence) and ``circles/<circle_id>.html|.pdf`` with ``circles/img/``.
    lang
        ``"zh"`` (Chinese, default) or ``"en"``.
    per_circle
        Also write one report per circle (in the HTML/PDF formats asked for).
    formats
        Any of ``"html"``, ``"pdf"``, ``"xlsx"``.
    blind_spot_categories
        业态 codes shown on the blind-spot map (default: 一店一早、一菜一修); codes without
        evidence are skipped.
    coverage_target
        Share of households that counts as "has it", drawn as a line on the coverage chart;
        by default ``snapshot["parameters"]["coverage_share"]`` when present.
    access_row_cap
        At most this many rows (residences) go to the workbook's access sheet, and to any other
        sheet (a city's blind spots can run to millions of rows, more than a sheet holds); a
        note in the snapshot sheet says so when it cuts.
    dpi
        Resolution of the PNG maps and charts of the city report.
    projects
        The 1+N project list (:func:`lifecircle.plan.projects.project_list`): the city report
        gets the city plan ("1": per 业态, per circle, a map of the proposed sites), each
        circle's report its plan ("N": missing 业态 ranked by households gained, proposed
        sites, on its map too), the workbook the sheets ``项目清单``, ``建议点位`` and
        ``全市计划``.

    Returns
    -------
    dict
        Written documents by their path relative to ``out_dir`` (``"report.html"``,
        ``"report.pdf"``, ``"report.xlsx"``, ``"circles/<id>.html"``, ...).

    Raises
    ------
    InputError
        Unknown ``lang`` or format, or an assessment table without its documented columns.

    Notes
    -----
    The workbook has one sheet per table (``grades, evidence, kpis, blind_spots,
    satisfaction, evaluation`` when present, ``circles`` without geometry, ``access``, with
    ``projects`` ``项目清单, 建议点位, 全市计划`` (the plan's ``projects``, ``sites`` without
    geometry and ``city``), ``snapshot``).  Row 1 holds the column labels in the report language, row 2 the column
    names; read a sheet back with ``pandas.read_excel(path, sheet_name=..., header=1)``.
    The access sheet is the access table as a matrix (one row per residence, the walking
    minutes to the nearest outlet of each 业态); the full long table is what
    :meth:`lifecircle.access.AccessResult.write` writes.

    Examples
    --------
    A street with two 小区, a convenience store and a breakfast shop:

    >>> import tempfile
    >>> import geopandas as gpd, shapely
    >>> from lifecircle.assess.pipeline import assess_city
    >>> from lifecircle.testing import network_from_polylines
    >>> net = network_from_polylines([[(0, 0), (2000, 0)]])
    >>> at = lambda x: shapely.Point(500_000 + x, 3_790_000)
    >>> homes = gpd.GeoDataFrame({"residence_id": ["a", "b"], "households": [300, 500]},
    ...                          geometry=[at(100), at(600)], crs=net.crs)
    >>> shops = gpd.GeoDataFrame({"outlet_id": ["s1", "s2"],
    ...                           "category": ["convenience_store", "breakfast"]},
    ...                          geometry=[at(350), at(400)], crs=net.crs)
    >>> result = assess_city(net, shops, homes, city="示例")
    >>> with tempfile.TemporaryDirectory() as out:
    ...     written = write_reports(result, out, formats=("html", "xlsx"))
    ...     sorted(written)
    ['circles/C01.html', 'report.html', 'report.xlsx']
    """
    formats = tuple(dict.fromkeys(formats))
    _check(assessment, lang, formats)
    out = _validate_output_dir(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    snapshot = dict(assessment.snapshot)
    if not (snapshot.get("lifecircle_version") or snapshot.get("software_version")):
        snapshot["software_version"] = _software_version()
    version = str(snapshot.get("lifecircle_version") or snapshot.get("software_version"))
    date = short_date(snapshot.get("date") or _dt.date.today().isoformat())
    title = text("title_city", lang)
    written: dict[str, Path] = {}
    started = time.perf_counter()

    if coverage_target is None:
        found = _param(snapshot, _COVERAGE_KEYS)
        coverage_target = float(found[1]) if found is not None else None

    visual = "html" in formats or "pdf" in formats
    images: dict[str, _Image] = {}
    if visual:
        base = fig.Basemap(assessment.network)
        img = out / "img"
        images = _city_images(
            assessment, base, img, lang, blind_spot_categories, coverage_target, dpi
        )
        if projects is not None and len(projects.sites):
            suffix = "" if lang == "zh" else f"_{lang}"
            path = fig.map_project_sites(
                base,
                assessment.circles,
                projects.sites,
                lang,
                img / f"map_project_sites{suffix}.png",
                dpi=dpi,
            )
            images["plan"] = _image(path, f"img/{path.name}", text("map_plan", lang), dpi)
        log.info("city figures in %.1f s", time.perf_counter() - started)

    links = (
        {str(c): f"circles/{_safe_name(c)}.html" for c in assessment.grades["circle_id"]}
        if per_circle and "html" in formats
        else None
    )
    headline, per_category = split_kpis(assessment.kpis)
    kpis = kpi_table(headline, lang)
    kpis_by_category = kpi_category_table(per_category, lang) if len(per_category) else None
    grades = grade_table(assessment.grades, lang, links)
    sat = (
        satisfaction_table(assessment.satisfaction, lang)
        if assessment.satisfaction is not None and len(assessment.satisfaction)
        else None
    )
    evaluation = (
        evaluation_table(assessment.evaluation, lang)
        if assessment.evaluation is not None and len(assessment.evaluation)
        else None
    )
    snap_table = snapshot_table(snapshot, lang)
    summary = _summary(assessment, lang)
    audit, audit_text = None, None
    if assessment.audit is not None and len(assessment.audit):
        c = assessment.audit["status"].value_counts()
        audit_text = text(
            "audit_text", lang, n=len(assessment.audit), ok=int(c.get("ok", 0)),
            warn=int(c.get("warn", 0)), fail=int(c.get("fail", 0)),
        )  # fmt: skip
        audit = audit_table(assessment.audit, lang)
    districts = district_table(assessment.kpis, lang)
    howto = _howto(assessment, lang, projects is not None)
    plan = None
    if projects is not None:
        plan = {
            "text": city_plan_text(projects, lang),
            "city": plan_city_table(projects.city, lang) if len(projects.city) else None,
            "circles": plan_circles_table(projects, lang, links)
            if len(projects.projects)
            else None,
        }
    header = f"{assessment.city} · {title} · {date}"

    if "html" in formats:
        font = _copy_font(out)
        env = _jinja_env()
        html = env.get_template("city.html.j2").render(
            lang=lang,
            t=_TextProxy(lang),
            title=title,
            city=assessment.city,
            date=date,
            version=version,
            cjk_family=CJK_FONT_FAMILY_CSS,
            font_url=font.relative_to(out).as_posix(),
            kpis_by_category=kpis_by_category,
            snapshot=snap_table,
            summary=summary,
            audit=audit,
            audit_text=audit_text,
            districts=districts,
            kpis=kpis,
            images=images,
            grades=grades,
            satisfaction=sat,
            evaluation=evaluation,
            plan=plan,
            howto=howto,
        )
        (out / "report.html").write_text(html, encoding="utf-8")
        written["report.html"] = out / "report.html"

    if "pdf" in formats:
        blocks = [
            PdfBlock("title", title),
            PdfBlock("subtitle", f"{assessment.city} · {date}"),
            *(
                [
                    PdfBlock("heading", text("audit", lang)),
                    PdfBlock("para", audit_text or ""),
                    PdfBlock("table", audit, font_size=7),
                ]
                if audit is not None
                else []
            ),
            PdfBlock("heading", text("summary", lang)),
            PdfBlock("para", summary),
            *(
                [PdfBlock("heading", text("by_district", lang)), PdfBlock("table", districts)]
                if districts is not None
                else []
            ),
            *(
                [
                    PdfBlock(
                        "image",
                        images["districts"].path,
                        images["districts"].caption,
                        height_share=0.44,
                    )
                ]
                if "districts" in images
                else []
            ),
            PdfBlock("heading", text("kpis", lang)),
            PdfBlock("table", kpis) if kpis.rows else PdfBlock("para", text("no_kpis", lang)),
            *(
                [
                    PdfBlock("heading", text("kpis_by_category", lang)),
                    PdfBlock("table", kpis_by_category, font_size=7),
                ]
                if kpis_by_category is not None
                else []
            ),
            PdfBlock("heading", text("charts", lang)),
            PdfBlock("image", images["grades"].path, height_share=0.3, width_share=0.62),
            PdfBlock("image", images["coverage"].path, height_share=0.75),
            PdfBlock("heading", text("maps", lang)),
            PdfBlock("image", images["outlets"].path, images["outlets"].caption, height_share=0.44),
            PdfBlock(
                "image", images["grades_map"].path, images["grades_map"].caption, height_share=0.44
            ),
        ]
        if "blind" in images:
            blocks.append(
                PdfBlock("image", images["blind"].path, images["blind"].caption, height_share=0.85)
            )
        blocks += [
            PdfBlock("heading", text("grade_table", lang)),
            PdfBlock("table", grades, font_size=7),
        ]
        if sat is not None:
            blocks += [PdfBlock("heading", text("satisfaction", lang)), PdfBlock("table", sat)]
        if evaluation is not None:
            blocks += [PdfBlock("heading", text("evaluation", lang)), PdfBlock("table", evaluation)]
        if plan is not None:
            blocks += _plan_blocks(plan, images.get("plan"), lang)
        blocks += [PdfBlock("heading", text("howto", lang)), PdfBlock("bullets", howto)]
        blocks += [
            PdfBlock("heading", text("snapshot", lang)),
            PdfBlock("box", snap_table, font_size=7),
        ]
        build_pdf(
            out / "report.pdf",
            blocks,
            header=header,
            lang=lang,
            title=f"{title} · {assessment.city}",
        )
        written["report.pdf"] = out / "report.pdf"

    if "xlsx" in formats:
        tables: dict[str, pd.DataFrame | None] = {
            "audit": assessment.audit,
            "grades": assessment.grades,
            "evidence": assessment.evidence,
            "kpis": assessment.kpis,
            "blind_spots": assessment.blind_spots,
            "satisfaction": assessment.satisfaction,
            "evaluation": assessment.evaluation,
            "circles": pd.DataFrame(assessment.circles.drop(columns="geometry", errors="ignore")),
        }
        labels: dict[str, dict[str, str]] = {}
        if len(assessment.access):
            tables["access"], labels["access"] = access_matrix(
                assessment.access, assessment.residences, lang
            )
        notes = [(text("sheet_note", lang), text("access_sheet", lang))]
        if projects is not None:
            tables.update(
                {
                    PLAN_SHEETS["projects"]: projects.projects,
                    PLAN_SHEETS["sites"]: projects.sites,
                    PLAN_SHEETS["city"]: projects.city,
                }
            )
            notes.append((text("sheet_note", lang), text("plan_sheets", lang)))
        write_workbook(
            out / "report.xlsx",
            tables,
            snapshot,
            lang,
            access_row_cap=access_row_cap,
            extra_labels=labels,
            notes=notes,
        )
        written["report.xlsx"] = out / "report.xlsx"
    log.info("city report in %.1f s", time.perf_counter() - started)

    if per_circle and visual:
        written.update(
            _circle_reports(assessment, base, out, lang, formats, date, version, projects)
        )
        log.info("city and circle reports in %.1f s", time.perf_counter() - started)
    return written


def _plan_blocks(plan: dict[str, Any], image: _Image | None, lang: str) -> list[PdfBlock]:
    """The city plan ("1") in the city PDF."""
    blocks = [PdfBlock("heading", text("plan_city", lang)), PdfBlock("para", plan["text"])]
    if plan["city"] is not None:
        blocks += [
            PdfBlock("subheading", text("plan_city_table", lang)),
            PdfBlock("table", plan["city"], font_size=7),
        ]
    if plan["circles"] is not None:
        blocks += [
            PdfBlock("subheading", text("plan_circles_table", lang)),
            PdfBlock("table", plan["circles"], font_size=7),
        ]
    if image is not None:
        blocks.append(PdfBlock("image", image.path, image.caption, height_share=0.6))
    return blocks


class _TextProxy:
    """Template access to labels: ``{{ t.snapshot }}``."""

    def __init__(self, lang: str) -> None:
        self._lang = lang

    def __getattr__(self, key: str) -> str:
        return text(key, self._lang)


def _city_images(
    assessment: Assessment,
    base: fig.Basemap,
    img: Path,
    lang: str,
    blind_categories: Sequence[str],
    coverage_target: float | None,
    dpi: int,
) -> dict[str, _Image]:
    suffix = "" if lang == "zh" else f"_{lang}"
    images: dict[str, _Image] = {}

    def add(key: str, path: Path, caption: str) -> None:
        images[key] = _image(path, f"img/{path.name}", caption, dpi)

    add(
        "grades",
        fig.chart_grades(assessment.grades, lang, img / f"chart_grades{suffix}.png", dpi=dpi),
        text("chart_grades", lang),
    )
    add(
        "coverage",
        fig.chart_coverage(
            _coverage(assessment, lang),
            coverage_target,
            lang,
            img / f"chart_coverage{suffix}.png",
            dpi=dpi,
        ),
        text("chart_coverage", lang),
    )
    add(
        "outlets",
        fig.map_outlets(base, assessment.outlets, lang, img / f"map_outlets{suffix}.png", dpi=dpi),
        text("map_outlets", lang),
    )
    add(
        "grades_map",
        fig.map_grades(
            base,
            assessment.circles,
            assessment.grades,
            assessment.residences,
            lang,
            img / f"map_grades{suffix}.png",
            dpi=dpi,
        ),
        text("map_grades", lang),
    )
    districts = getattr(assessment, "districts", None) or {}
    if districts:
        from lifecircle.assess.pipeline import district_summary

        level, polygons = next(iter(districts.items()))
        summary = district_summary(assessment.kpis)
        summary = summary.loc[summary["level"] == level]
        share = dict(zip(summary["district"].astype(str), summary["households_basic_or_better"],
                         strict=True))  # fmt: skip
        add(
            "districts",
            fig.map_districts(
                base, polygons, share, lang, img / f"map_districts{suffix}.png", dpi=dpi
            ),
            text("map_districts", lang, level=level),
        )
    panels = _blind_panels(assessment, blind_categories, lang)
    if panels:
        add(
            "blind",
            fig.map_blind_spots(
                base,
                assessment.residences,
                assessment.blind_spots,
                panels,
                lang,
                img / f"map_blind_spots{suffix}.png",
                dpi=dpi,
            ),
            text("map_blind", lang),
        )
    return images


def _circle_reports(
    assessment: Assessment,
    base: fig.Basemap,
    out: Path,
    lang: str,
    formats: Sequence[str],
    date: str,
    version: str,
    projects: ProjectPlan | None = None,
) -> dict[str, Path]:
    circles_dir = out / "circles"
    img_dir = circles_dir / "img"
    img_dir.mkdir(parents=True, exist_ok=True)
    crs = base.network.crs
    areas: dict[str, Any] = {}
    circles = assessment.circles
    if len(circles) and circles.geometry is not None:
        proj = circles.to_crs(crs) if circles.crs is not None else circles
        areas = dict(zip(proj["circle_id"].astype(str), proj.geometry.values, strict=True))
    mapper = fig.CircleMapper(base, assessment.outlets, lang, with_sites=projects is not None)
    plans: dict[str, pd.DataFrame] = {}
    sites_by: dict[str, gpd.GeoDataFrame] = {}
    show: dict[str, bool] = {}
    if projects is not None:
        p = projects.projects
        plans = {str(k): g for k, g in p.groupby(p["circle_id"].astype(str), sort=False)}
        s = projects.sites
        sites_by = {str(k): g for k, g in s.groupby(s["circle_id"].astype(str), sort=False)}
        show = {
            "floor_area": bool(pd.to_numeric(p["floor_area_m2"], errors="coerce").notna().any()),
            "rent": bool(pd.to_numeric(p["rent"], errors="coerce").notna().any()),
        }
    res_by = {
        str(k): g
        for k, g in assessment.residences.groupby(assessment.residences["circle_id"].astype(str))
    }
    ev_by = {
        str(k): g
        for k, g in assessment.evidence.groupby(assessment.evidence["circle_id"].astype(str))
    }
    env = _jinja_env() if "html" in formats else None
    howto = _howto(assessment, lang, projects is not None)
    suffix = "" if lang == "zh" else f"_{lang}"
    written: dict[str, Path] = {}
    font_rel = "../fonts/" + CJK_FONT_FILE.name
    empty_res = assessment.residences.iloc[:0]
    for rec in assessment.grades.to_dict("records"):
        cid = str(rec["circle_id"])
        name = _safe_name(cid)
        residences: gpd.GeoDataFrame = res_by.get(cid, empty_res)
        evidence = ev_by.get(cid, assessment.evidence.iloc[:0])
        order = evidence["class"].map({"basic": 0, "quality": 1}).fillna(2)
        evidence = evidence.assign(_o=order).sort_values("_o", kind="stable").drop(columns="_o")
        circle_sites = sites_by.get(cid)
        map_path = mapper.draw(
            areas.get(cid), residences, img_dir / f"{name}{suffix}.png", circle_sites
        )
        circle_map = _image(map_path, f"img/{map_path.name}", text("circle_map", lang), 110)
        display_name = (
            str(rec.get("name")) if isinstance(rec.get("name"), str) and rec.get("name") else cid
        )
        title = text(
            "title_circle",
            lang,
            name=display_name
            if display_name == cid
            else f"{display_name}（{cid}）"
            if lang != "en"
            else f"{display_name} ({cid})",
        )
        summary_rows = [
            (column_label("circle_id", lang), cid),
            (text("grade", lang), grade_label(rec.get("grade"), lang)),
            (text("households", lang), fmt_number(rec.get("households"), lang, 0)),
            (text("residences", lang), f"{len(residences):,}"),
            (text("n_basic", lang), fmt_number(rec.get("n_basic"), lang, 0)),
            (text("n_quality", lang), fmt_number(rec.get("n_quality"), lang, 0)),
        ]
        for key, col, share in (
            ("evaluation_score", "evaluation_score", False),
            ("satisfaction_rate", "satisfaction_rate", True),
        ):
            value = rec.get(col)
            if value is not None and not pd.isna(value):
                summary_rows.append(
                    (
                        text(key, lang),
                        fmt_share(value, lang, 1) if share else fmt_number(value, lang, 1),
                    )
                )
        next_grade = rec.get("next_grade")
        if isinstance(next_grade, str) and next_grade:
            summary_rows.append((text("next_grade", lang), grade_label(next_grade, lang)))
        summary = _labels_table(summary_rows, lang)
        summary.status[1][1] = "bad" if rec.get("grade") in (NOT_GRADED, UNVERIFIED) else None
        missing_col = (
            "missing_for_next_grade_en"
            if lang == "en" and "missing_for_next_grade_en" in rec
            else "missing_for_next_grade"
        )
        missing = rec.get(missing_col)
        has_next = isinstance(next_grade, str) and bool(next_grade)
        missing_text = (
            missing if isinstance(missing, str) and missing else text("nothing_missing", lang)
        )
        missing_label = (
            text("missing_for", lang, grade=grade_label(next_grade, lang)) if has_next else ""
        )
        ev_table = evidence_table(evidence, lang)
        plan = None
        if projects is not None:
            mine = plans.get(cid, projects.projects.iloc[:0])
            plan = {
                "text": circle_plan_text(mine, lang),
                "projects": project_table(mine, lang, **show) if len(mine) else None,
                "sites": project_sites_table(circle_sites, lang)
                if circle_sites is not None and len(circle_sites)
                else None,
            }
        if env is not None:
            html = env.get_template("circle.html.j2").render(
                lang=lang,
                t=_TextProxy(lang),
                title=title,
                city=assessment.city,
                date=date,
                version=version,
                cjk_family=CJK_FONT_FAMILY_CSS,
                font_url=font_rel,
                back_url="../report.html",
                summary=summary,
                missing=missing_text,
                missing_label=missing_label,
                map=circle_map,
                evidence=ev_table,
                plan=plan,
                howto=howto,
            )
            path = circles_dir / f"{name}.html"
            path.write_text(html, encoding="utf-8")
            written[f"circles/{name}.html"] = path
        if "pdf" in formats:
            blocks = [
                PdfBlock("title2", title),
                PdfBlock("subtitle", f"{assessment.city} · {date}"),
                PdfBlock(
                    "side",
                    (
                        [
                            PdfBlock("table", summary, font_size=7.5),
                            PdfBlock(
                                "para",
                                f"{missing_label}{missing_text}",
                            ),
                        ],
                        map_path,
                    ),
                    height_share=0.3,
                ),
                PdfBlock("heading", text("evidence", lang)),
                PdfBlock("table", ev_table, font_size=6.5),
            ]
            if plan is not None:
                blocks += [
                    PdfBlock("heading", text("plan_circle", lang)),
                    PdfBlock("para", plan["text"]),
                ]
                if plan["projects"] is not None:
                    blocks.append(PdfBlock("table", plan["projects"], font_size=6.5))
                if plan["sites"] is not None:
                    blocks += [
                        PdfBlock("subheading", text("plan_sites", lang)),
                        PdfBlock("table", plan["sites"], font_size=6.5),
                    ]
            path = circles_dir / f"{name}.pdf"
            build_pdf(
                path, blocks, header=f"{assessment.city} · {title} · {date}", lang=lang, title=title
            )
            written[f"circles/{name}.pdf"] = path
    return written


def _validate_output_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"output path {out} exists and is not a folder", "out_dir")
    return out

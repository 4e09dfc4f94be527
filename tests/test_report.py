"""Reports: HTML, PDF and Excel from an Assessment (synthetic city; Xi'an with shared data).

PDF text checks use poppler's ``pdftotext`` when it is installed (``apt-get install
poppler-utils``) and are skipped otherwise; the font-embedding and page-count checks read the
PDF bytes and always run.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from _assessment_fixture import build_assessment
from lifecircle.assess.model import Assessment
from lifecircle.errors import InputError
from lifecircle.report import write_reports
from lifecircle.report._fonts import pdf_markup, register_pdf_fonts, split_runs
from lifecircle.report._labels import _TEXT, COLUMNS, column_label, text
from lifecircle.report._tables import fmt_number, fmt_share, kpi_table
from lifecircle.report.writer import _coverage

PDFTOTEXT = shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(
    PDFTOTEXT is None, reason="poppler-utils (pdftotext) not installed"
)


@pytest.fixture(scope="module")
def assessment() -> Assessment:
    return build_assessment()


@pytest.fixture(scope="module")
def zh_out(
    assessment: Assessment, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("report_zh")
    return out, write_reports(assessment, out)


@pytest.fixture(scope="module")
def en_out(
    assessment: Assessment, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("report_en")
    return out, write_reports(assessment, out, lang="en", per_circle=False, dpi=72)


def _pdf_text(path: Path, *, keep_spaces: bool = False) -> str:
    """The PDF's text, whitespace removed (Chinese) or collapsed to single spaces."""
    assert PDFTOTEXT is not None
    raw = subprocess.run(
        [PDFTOTEXT, str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    return re.sub(r"\s+", " " if keep_spaces else "", raw)


def _pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", path.read_bytes()))


def _pdf_fonts(path: Path) -> tuple[list[str], int]:
    """Base font names and the number of embedded font files (reportlab writes them uncompressed)."""
    data = path.read_bytes()
    names = sorted({m.decode() for m in re.findall(rb"/BaseFont /([A-Za-z0-9+\-]+)", data)})
    return names, len(re.findall(rb"/FontFile2", data))


# --- the files ------------------------------------------------------------------------------


def test_writes_city_and_circle_files(
    zh_out: tuple[Path, dict[str, Path]], assessment: Assessment
) -> None:
    out, written = zh_out
    expected = {"report.html", "report.pdf", "report.xlsx"}
    for cid in assessment.grades["circle_id"]:
        expected |= {f"circles/{cid}.html", f"circles/{cid}.pdf"}
    assert set(written) == expected
    for rel, path in written.items():
        assert path == out / rel
        assert path.stat().st_size > 1000
    assert (out / "fonts" / "DroidSansFallbackFull.ttf").is_file()
    assert (out / "fonts" / "DroidSansFallback-LICENSE.txt").is_file()


def test_formats_subset_writes_only_those(assessment: Assessment, tmp_path: Path) -> None:
    written = write_reports(assessment, tmp_path, formats=("xlsx",))
    assert set(written) == {"report.xlsx"}
    assert not (tmp_path / "img").exists()
    assert not (tmp_path / "circles").exists()


# --- PDF ------------------------------------------------------------------------------------


def test_pdf_fonts_are_embedded_and_cjk(zh_out: tuple[Path, dict[str, Path]]) -> None:
    out, _ = zh_out
    for pdf in (out / "report.pdf", out / "circles" / "A.pdf"):
        names, embedded = _pdf_fonts(pdf)
        assert any(n.endswith("+DroidSansFallback") for n in names), names
        assert any(n.endswith("+DejaVuSans") for n in names), names
        # every font is a subset (XXXXXX+Name) with its file embedded: no Helvetica fallback
        assert all("+" in n for n in names), names
        assert embedded == len(names)


def test_pdf_pages(zh_out: tuple[Path, dict[str, Path]]) -> None:
    out, _ = zh_out
    assert _pdf_pages(out / "report.pdf") >= 3
    for cid in "ABC":
        assert _pdf_pages(out / "circles" / f"{cid}.pdf") == 1


@needs_poppler
def test_pdf_text_is_extractable_chinese(zh_out: tuple[Path, dict[str, Path]]) -> None:
    out, _ = zh_out
    body = _pdf_text(out / "report.pdf")
    for expected in (
        "一刻钟便民生活圈评估报告",
        "西安示例城区",
        "品质型",
        "基础型",
        "未达标",
        "第1页",
        "数据快照",
        "说明",
    ):
        assert expected in body, expected
    assert "达到基础型及以上的生活圈比例" in body  # KPI table
    assert "2026-11-22" in body
    circle = _pdf_text(out / "circles" / "C.pdf")
    assert "西大街生活圈" in circle and "未达标" in circle and "菜市场" in circle


@needs_poppler
def test_pdf_english(en_out: tuple[Path, dict[str, Path]]) -> None:
    out, _ = en_out
    body = _pdf_text(out / "report.pdf", keep_spaces=True)
    assert "15-minute convenience life circle assessment" in body
    assert "Page 1" in body
    assert "quality" in body and "not graded" in body
    assert "一刻钟便民生活圈评估报告" not in body


# --- XLSX -----------------------------------------------------------------------------------


def test_xlsx_sheets_headers_and_rows(
    zh_out: tuple[Path, dict[str, Path]], assessment: Assessment
) -> None:
    out, _ = zh_out
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=False)
    assert book.sheetnames == [
        "grades",
        "evidence",
        "kpis",
        "blind_spots",
        "satisfaction",
        "evaluation",
        "circles",
        "access",
        "snapshot",
    ]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A3"
    grades = book["grades"]
    assert grades["A1"].value == "生活圈编号"
    assert grades["A2"].value == "circle_id"
    assert grades["C1"].value == "等级"
    assert (grades.column_dimensions["A"].width or 0) >= 8
    tables = {
        "grades": assessment.grades,
        "evidence": assessment.evidence,
        "kpis": assessment.kpis,
        "blind_spots": assessment.blind_spots,
        "satisfaction": assessment.satisfaction,
        "evaluation": assessment.evaluation,
    }
    for name, frame in tables.items():
        assert frame is not None
        back = pd.read_excel(out / "report.xlsx", sheet_name=name, header=1)
        assert list(back.columns) == list(frame.columns), name
        assert len(back) == len(frame), name
    circles = pd.read_excel(out / "report.xlsx", sheet_name="circles", header=1)
    assert "geometry" not in circles.columns and len(circles) == 3
    # access: one row per residence, one column per 业态 (nearest walk in minutes)
    access = pd.read_excel(out / "report.xlsx", sheet_name="access", header=1)
    assert len(access) == assessment.access["residence_id"].nunique()
    cats = list(dict.fromkeys(assessment.access["category"]))
    assert list(access.columns) == ["residence_id", "name", "circle_id", "households", *cats]
    expected = assessment.access.set_index(["residence_id", "category"])["nearest_min"]
    got = access.set_index("residence_id")["convenience_store"]
    for rid, minutes in got.items():
        want = expected[(rid, "convenience_store")]
        assert (pd.isna(minutes) and pd.isna(want)) or minutes == pytest.approx(round(want, 1))
    assert book["access"].cell(row=1, column=5).value == "便利店"
    snapshot = pd.read_excel(out / "report.xlsx", sheet_name="snapshot", header=1)
    assert "2026-11-22" in snapshot["value"].astype(str).tolist()


def test_xlsx_english_labels(en_out: tuple[Path, dict[str, Path]]) -> None:
    out, _ = en_out
    book = openpyxl.load_workbook(out / "report.xlsx")
    assert book["grades"]["A1"].value == "Circle id"
    assert book["grades"]["A2"].value == "circle_id"
    assert book["access"].cell(row=1, column=5).value == "Convenience store"


def test_access_cap_is_noted(assessment: Assessment, tmp_path: Path) -> None:
    write_reports(assessment, tmp_path, formats=("xlsx",), access_row_cap=4)
    access = pd.read_excel(tmp_path / "report.xlsx", sheet_name="access", header=1)
    assert len(access) == 4
    snapshot = pd.read_excel(tmp_path / "report.xlsx", sheet_name="snapshot", header=1)
    assert snapshot["value"].str.contains("仅写入前 4 行").any()


def test_other_long_sheets_are_capped_too(assessment: Assessment, tmp_path: Path) -> None:
    # a city's blind spots run to millions of rows, more than a sheet holds (1,048,576)
    cap = 3
    assert len(assessment.blind_spots) > cap and len(assessment.grades) <= cap
    write_reports(assessment, tmp_path, formats=("xlsx",), access_row_cap=cap)
    spots = pd.read_excel(tmp_path / "report.xlsx", sheet_name="blind_spots", header=1)
    assert len(spots) == cap
    grades = pd.read_excel(tmp_path / "report.xlsx", sheet_name="grades", header=1)
    assert len(grades) == len(assessment.grades)
    notes = pd.read_excel(tmp_path / "report.xlsx", sheet_name="snapshot", header=1)["value"]
    assert notes.str.contains(f"blind_spots 工作表共 {len(assessment.blind_spots)} 行").any()


# --- HTML -----------------------------------------------------------------------------------


def test_html_tables_images_and_font(
    zh_out: tuple[Path, dict[str, Path]], assessment: Assessment
) -> None:
    out, _ = zh_out
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    assert "@font-face" in html and 'url("fonts/DroidSansFallbackFull.ttf")' in html
    assert "LifecircleCJK" in html and "sans-serif" in html
    assert html.count("<table>") >= 5  # snapshot, KPIs, grades, satisfaction, evaluation
    for heading in (
        "数据快照",
        "主要指标与目标对照",
        "各生活圈等级",
        "居民满意度",
        "服务“好不好”评价得分",
        "说明",
    ):
        assert heading in html, heading
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) == 5
    for src in srcs:
        assert (out / src).is_file() and (out / src).stat().st_size > 5000
    # grade table rows link to the circle pages
    for cid in assessment.grades["circle_id"]:
        assert f'href="circles/{cid}.html"' in html
    assert "品质型" in html and "未达标" in html
    assert "✗" in html and "✓" in html


def test_circle_html_has_evidence_and_map(
    zh_out: tuple[Path, dict[str, Path]], assessment: Assessment
) -> None:
    out, _ = zh_out
    page = (out / "circles" / "B.html").read_text(encoding="utf-8")
    assert 'url("../fonts/DroidSansFallbackFull.ttf")' in page
    assert 'href="../report.html"' in page
    n_categories = int((assessment.evidence["circle_id"] == "B").sum())
    evidence_part = page.split("业态“有没有”明细")[1]
    assert evidence_part.split("</table>")[0].count("<tr>") == n_categories + 1
    assert "品质提升类业态还差 10 种" in page  # missing for the next grade
    (src,) = re.findall(r'<img src="([^"]+)"', page)
    assert (out / "circles" / src).is_file()


def test_html_english(en_out: tuple[Path, dict[str, Path]]) -> None:
    out, written = en_out
    assert not any(k.startswith("circles/") for k in written)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    for label in (
        "Data snapshot",
        "Key indicators against targets",
        "Grade of each circle",
        "How to read this report",
    ):
        assert label in html
    assert "not graded" in html and "quality" in html
    assert "主要指标" not in html and "数据快照" not in html
    assert "10 more quality types" in html  # missing_for_next_grade_en


def test_optional_tables_absent(assessment: Assessment, tmp_path: Path) -> None:
    bare = dataclasses.replace(assessment, satisfaction=None, evaluation=None, snapshot={})
    write_reports(bare, tmp_path, per_circle=False, formats=("html", "xlsx"), dpi=72)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>居民满意度</h2>" not in html and "评价得分</h2>" not in html
    assert "配置的速度" in html  # no walking speed in the snapshot
    sheets = openpyxl.load_workbook(tmp_path / "report.xlsx").sheetnames
    assert "satisfaction" not in sheets and "evaluation" not in sheets


def test_tolerates_nullable_columns_and_outlets_without_class(
    assessment: Assessment, tmp_path: Path
) -> None:
    residences = assessment.residences.copy()
    households = residences["households"].astype("Float64")
    households.iloc[0] = pd.NA
    residences["households"] = households
    residences["circle_id"] = residences["circle_id"].astype("string")
    variant = dataclasses.replace(
        assessment, residences=residences, outlets=assessment.outlets.drop(columns="class")
    )
    written = write_reports(variant, tmp_path, formats=("html",), dpi=72)
    assert "circles/A.html" in written
    assert (tmp_path / "img" / "map_outlets.png").stat().st_size > 5000


def test_empty_assessment(assessment: Assessment, tmp_path: Path) -> None:
    empty = dataclasses.replace(
        assessment,
        grades=assessment.grades.iloc[:0],
        evidence=assessment.evidence.iloc[:0],
        blind_spots=assessment.blind_spots.iloc[:0],
        kpis=assessment.kpis.iloc[:0],
        circles=assessment.circles.iloc[:0],
        access=assessment.access.iloc[:0],
        satisfaction=None,
        evaluation=None,
    )
    written = write_reports(empty, tmp_path, dpi=60)
    assert set(written) == {"report.html", "report.pdf", "report.xlsx"}
    assert "未计算城市指标" in (tmp_path / "report.html").read_text(encoding="utf-8")


# --- bad input --------------------------------------------------------------------------------


def test_unknown_language(assessment: Assessment, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"language 'fr'.*use 'zh' or 'en'"):
        write_reports(assessment, tmp_path, lang="fr")


def test_unknown_format(assessment: Assessment, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"unknown format\(s\) \['docx'\]"):
        write_reports(assessment, tmp_path, formats=("html", "docx"))


def test_table_without_documented_columns(assessment: Assessment, tmp_path: Path) -> None:
    broken = dataclasses.replace(
        assessment,
        grades=assessment.grades.drop(columns=["grade"]),
        evidence=assessment.evidence.drop(columns=["present", "band_min"]),
    )
    with pytest.raises(InputError) as info:
        write_reports(broken, tmp_path)
    message = str(info.value)
    assert "2 problems" in message
    assert "table 'grades' lacks column(s) ['grade']" in message
    assert "table 'evidence' lacks column(s) ['band_min', 'present']" in message


def test_output_path_is_a_file(assessment: Assessment, tmp_path: Path) -> None:
    target = tmp_path / "report"
    target.write_text("x")
    with pytest.raises(InputError, match="exists and is not a folder"):
        write_reports(assessment, target)


# --- pieces -----------------------------------------------------------------------------------


def test_every_label_has_glyphs() -> None:
    """Each character of every label is in the Latin or the CJK font (no tofu in the PDF)."""
    latin, cjk = register_pdf_fonts()
    strings = [s for pair in _TEXT.values() for s in pair] + [
        s for pair in COLUMNS.values() for s in pair
    ]
    from lifecircle.taxonomy import load_catalogue

    strings += [c.name_zh for c in load_catalogue().categories] + ["基础型提升型品质型未达标"]
    missing = {ch for s in strings for ch in s if ord(ch) not in latin and ord(ch) not in cjk}
    assert missing == set()


def test_split_runs_and_markup() -> None:
    assert split_runs("品质型 A1（5 分钟）") == [
        (True, "品质型"),
        (False, " A1"),
        (True, "（"),
        (False, "5 "),
        (True, "分钟）"),
    ]
    assert pdf_markup("a<b 菜") == 'a&lt;b <font name="LifecircleCJK">菜</font>'


def test_formatting() -> None:
    assert fmt_number(1234567, "zh") == "1,234,567"
    assert fmt_number(2.345, "zh", 1) == "2.3"
    assert fmt_number(float("nan"), "zh") == "—"
    assert fmt_share(0.905, "zh", 1) == "90.5%"
    assert fmt_share(None, "en") == "—"
    assert column_label("n_5min", "zh") == "5 分钟内网点数"
    assert column_label("no_such_column", "en") == "no_such_column"
    assert text("page", "en", n=3) == "Page 3"


def test_kpi_table_meets_and_shares(assessment: Assessment) -> None:
    table = kpi_table(assessment.kpis, "zh")
    first = table.rows[0]
    assert first[:5] == ["达到基础型及以上的生活圈比例", "66.7%", "100.0%", "%", "✗"]
    assert table.status[0][4] == "bad"
    assert table.rows[2][4] == "✓" and table.status[2][4] == "ok"
    assert table.rows[3][4] == "—" and table.status[3][4] is None  # no target: meets unknown
    assert table.rows[4][1] == "—"  # no floor areas given


def test_city_coverage_weights_circles_by_households(assessment: Assessment) -> None:
    cov = _coverage(assessment, "zh").set_index("category")
    ev = assessment.evidence[assessment.evidence["category"] == "pharmacy"].set_index("circle_id")
    hh = assessment.grades.set_index("circle_id")["households"]
    expected = sum(ev.at[c, "households_covered_share"] * hh[c] for c in "ABC") / hh.sum()
    assert cov.at["pharmacy", "share"] == pytest.approx(expected)
    # basic types first, then quality, each by share descending
    classes = cov["class"].tolist()
    assert classes == sorted(classes, key=lambda c: c != "basic")


# --- Xi'an old town (../shared/data) ----------------------------------------------------------------

XIAN_RESIDENCES = (
    "city == '西安' and source in ['ke.com', 'sofang.com'] "
    "and 108.915 <= lng_wgs84 <= 108.971 and 34.250 <= lat_wgs84 <= 34.283"
)


@pytest.fixture(scope="module")
def xian_report(xian_dir: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    from lifecircle.assess.pipeline import assess_city
    from lifecircle.ingest import read_network, read_outlets, read_residences

    net = read_network(xian_dir["gpkg"])
    outlets = read_outlets(
        xian_dir["poi"],
        lon="lng_bd09",
        lat="lat_bd09",
        crs="bd09",
        network=net,
        on_missing="drop",
        on_outside="drop",
    )
    residences = read_residences(
        xian_dir["xiaoqu"],
        where=XIAN_RESIDENCES,
        lon="lng_bd09",
        lat="lat_bd09",
        crs="bd09",
        network=net,
        on_missing="drop",
        on_outside="drop",
    )
    start = time.perf_counter()
    assessment = assess_city(
        net,
        outlets,
        residences,
        city="西安老城",
        input_files=[xian_dir["gpkg"], xian_dir["poi"], xian_dir["xiaoqu"]],
    )
    assessed = time.perf_counter()
    out = tmp_path_factory.mktemp("xian_report")
    written = write_reports(assessment, out)
    done = time.perf_counter()
    return {
        "assessment": assessment,
        "out": out,
        "written": written,
        "assess_s": assessed - start,
        "report_s": done - assessed,
    }


@pytest.mark.shared_data
@pytest.mark.slow
def test_xian_report(xian_report: dict) -> None:
    a: Assessment = xian_report["assessment"]
    out: Path = xian_report["out"]
    written = xian_report["written"]
    ids = a.grades["circle_id"].astype(str)
    assert {"report.html", "report.pdf", "report.xlsx"} <= set(written)
    assert {f"circles/{c}.pdf" for c in ids} <= set(written)
    assert {f"circles/{c}.html" for c in ids} <= set(written)
    # assessment + every report within the acceptance budget (reading the files excluded)
    total = xian_report["assess_s"] + xian_report["report_s"]
    assert total < 60.0, (xian_report["assess_s"], xian_report["report_s"])
    # PDF: fonts embedded, each circle on one page
    names, embedded = _pdf_fonts(out / "report.pdf")
    assert embedded == len(names) and any("DroidSansFallback" in n for n in names)
    assert all(_pdf_pages(out / "circles" / f"{c}.pdf") == 1 for c in ids)
    # workbook: one grades row per circle, one evidence row per circle × 业态
    grades = pd.read_excel(out / "report.xlsx", sheet_name="grades", header=1)
    assert len(grades) == len(a.grades)
    evidence = pd.read_excel(out / "report.xlsx", sheet_name="evidence", header=1)
    assert len(evidence) == len(a.evidence)
    access = pd.read_excel(out / "report.xlsx", sheet_name="access", header=1)
    assert len(access) == a.access["residence_id"].nunique()
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "西安老城" in html and html.count("<img ") == 5
    if PDFTOTEXT is not None:
        body = _pdf_text(out / "report.pdf")
        assert "西安老城" in body and "各生活圈等级" in body and "连锁化率" in body

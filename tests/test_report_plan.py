"""The 1+N project list in the reports: city plan (1), circle plans (N), workbook sheets.

The synthetic city of ``_assessment_fixture`` graded by the real pipeline, with four candidate
sites (names, floor areas, rents): some projects reach the target, some cannot.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from _assessment_fixture import build_assessment
from lifecircle.assess import assess_city
from lifecircle.assess.model import Assessment
from lifecircle.plan.projects import (
    CITY_COLUMNS,
    PROJECT_COLUMNS,
    PROJECT_SITE_COLUMNS,
    ProjectPlan,
    project_list,
)
from lifecircle.report import PLAN_SHEETS, write_reports
from lifecircle.report._plan import project_note
from lifecircle.report._tables import category_labels, fmt_number, fmt_share
from lifecircle.testing import SYNTHETIC_CRS

PDFTOTEXT = shutil.which("pdftotext")
needs_poppler = pytest.mark.skipif(
    PDFTOTEXT is None, reason="poppler-utils (pdftotext) not installed"
)


def at(x: float, y: float) -> shapely.Point:
    return shapely.Point(500_000 + x, 3_790_000 + y)


@pytest.fixture(scope="module")
def graded() -> tuple[Assessment, ProjectPlan]:
    fixture = build_assessment()
    res = fixture.residences[["residence_id", "name", "households", "population", "circle_id"]]
    homes = gpd.GeoDataFrame(
        res.drop(columns="circle_id"), geometry=fixture.residences.geometry, crs=4326
    )
    shops = fixture.outlets[["outlet_id", "name", "category", "geometry"]]
    assessment = assess_city(
        fixture.network,
        shops,
        homes,
        mapping=pd.DataFrame(res[["residence_id", "circle_id"]]),
        city=fixture.city,
    )
    candidates = gpd.GeoDataFrame(
        {
            "site_id": ["S1", "S2", "S3", "S4"],
            "name": ["西大街临街铺面", "鼓楼闲置用房", "钟楼社区用房", "城外远处"],
            "floor_area": [120.0, 85.0, 60.0, 40.0],
            "rent": [8000.0, 5200.0, 3000.0, 500.0],
        },
        geometry=[at(1750, 1000), at(1000, 1000), at(250, 1000), at(2000, 0)],
        crs=SYNTHETIC_CRS,
    ).to_crs(4326)
    return assessment, project_list(assessment, candidates)


@pytest.fixture(scope="module")
def zh_plan(
    graded: tuple[Assessment, ProjectPlan], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    assessment, plan = graded
    out = tmp_path_factory.mktemp("report_plan_zh")
    write_reports(assessment, out, projects=plan, dpi=72)
    return out


def _section(html: str, heading: str) -> str:
    """The first table after ``heading``."""
    return html.split(heading, 1)[1].split("</table>", 1)[0]


def _rows(table_html: str) -> list[list[str]]:
    """Body rows of a table as cell texts (links and tags removed)."""
    body = table_html.split("<tbody>", 1)[1]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return rows


def test_the_plan_has_every_kind_of_project(graded: tuple[Assessment, ProjectPlan]) -> None:
    _, plan = graded
    p = plan.projects
    assert p["reaches_target"].any() and not p["reaches_target"].all()
    assert (p["n_sites"] == 0).any() and (p["n_sites"] > 0).any()
    assert set(plan.sites["site_id"]) <= {"S1", "S2", "S3", "S4"}


def test_city_html_has_the_city_plan(zh_plan: Path, graded: tuple[Assessment, ProjectPlan]) -> None:
    _, plan = graded
    html = (zh_plan / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="plan">城市项目清单（1）</h2>' in html
    n = len(plan.projects)
    assert f"共 {n} 个项目" in html
    assert f"建议新增点位 {plan.sites['site_id'].nunique()} 处" in html
    # one row per 业态, the numbers of ProjectPlan.city
    rows = _rows(_section(html, "各业态补缺计划（全市汇总）"))
    city = plan.city
    assert len(rows) == len(city)
    labels = category_labels(city["category"].tolist(), city["category_zh"].tolist(), "zh")
    for row, label, rec in zip(rows, labels, city.to_dict("records"), strict=True):
        assert row[0] == label
        assert row[2:7] == [
            fmt_number(rec[c], "zh", 0)
            for c in (
                "circles_missing",
                "n_projects",
                "n_sites",
                "households_lacking",
                "households_gained",
            )
        ]
        assert (
            row[7]
            == f"{fmt_share(rec['share_before'], 'zh')} → {fmt_share(rec['share_after'], 'zh')}"
        )
    # one row per circle with projects, linked to its page
    per_circle = _section(html, "各生活圈项目")
    assert len(_rows(per_circle)) == plan.projects["circle_id"].nunique()
    for cid in plan.projects["circle_id"].unique():
        assert f'href="circles/{cid}.html"' in per_circle
    # the map of proposed sites
    assert (zh_plan / "img" / "map_project_sites.png").stat().st_size > 5000
    assert 'src="img/map_project_sites.png"' in html
    assert "项目清单：对每个生活圈缺少的业态" in html  # how to read it


def test_circle_html_has_its_plan(zh_plan: Path, graded: tuple[Assessment, ProjectPlan]) -> None:
    _, plan = graded
    for cid, mine in plan.projects.groupby("circle_id"):
        page = (zh_plan / "circles" / f"{cid}.html").read_text(encoding="utf-8")
        assert '<h2 id="plan">本生活圈项目清单（N）</h2>' in page
        table = page.split('<h2 id="plan">', 1)[1].split("</table>", 1)[0]
        for head in ("面积（m²）", "租金", "达到目标", "新增覆盖户数"):
            assert f"<th>{head}</th>" in table
        rows = _rows(table)
        assert len(rows) == len(mine)
        labels = category_labels(mine["category"].tolist(), mine["category_zh"].tolist(), "zh")
        for row, label, rec in zip(rows, labels, mine.to_dict("records"), strict=True):
            assert row[0] == str(rec["rank"]) and row[1] == label
            assert row[4] == fmt_number(rec["households_gained"], "zh", 0)
            assert row[5] == str(rec["n_sites"])
            assert row[7] == fmt_number(rec["floor_area_m2"], "zh", 1)
            assert row[8] == fmt_number(rec["rent"], "zh", 0)
            assert row[9] == ("✓" if rec["reaches_target"] else "✗")
            assert row[10] == project_note(rec, "zh")
        assert [r[0] for r in rows] == [str(i) for i in range(1, len(mine) + 1)]
        sites = plan.sites.loc[plan.sites["circle_id"] == cid]
        site_rows = _rows(page.split("<h3>建议点位</h3>", 1)[1].split("</table>", 1)[0])
        assert [r[0] for r in site_rows] == list(dict.fromkeys(sites["site_id"]))
        for row in site_rows:
            site = sites.loc[sites["site_id"] == row[0]].iloc[0]
            assert row[1] == site["name"] and row[-2:] == [
                fmt_number(site["floor_area"], "zh", 1),
                fmt_number(site["rent"], "zh", 0),
            ]


def test_xlsx_plan_sheets_equal_the_plan(
    zh_plan: Path, graded: tuple[Assessment, ProjectPlan]
) -> None:
    _, plan = graded
    path = zh_plan / "report.xlsx"
    sheets = openpyxl.load_workbook(path).sheetnames
    assert sheets[-4:] == ["项目清单", "建议点位", "全市计划", "snapshot"]
    expected = {
        "projects": (plan.projects, list(PROJECT_COLUMNS)),
        "sites": (pd.DataFrame(plan.sites.drop(columns="geometry")), list(PROJECT_SITE_COLUMNS)),
        "city": (plan.city, list(CITY_COLUMNS)),
    }
    for key, (frame, columns) in expected.items():
        back = pd.read_excel(path, sheet_name=PLAN_SHEETS[key], header=1)
        assert list(back.columns) == [c for c in columns if c != "geometry"], key
        assert len(back) == len(frame), key
        numeric = frame.select_dtypes("number").columns
        pd.testing.assert_frame_equal(
            back[numeric].astype(float), frame[numeric].astype(float).reset_index(drop=True)
        )
        text_cols = [c for c in frame.columns if c not in numeric]
        assert (
            back[text_cols]
            .fillna("")
            .astype(str)
            .equals(frame[text_cols].fillna("").astype(str).reset_index(drop=True))
        ), key
    book = openpyxl.load_workbook(path)
    heads = [c.value for c in book["项目清单"][1]]
    assert heads[PROJECT_COLUMNS.index("households_gained")] == "新增覆盖户数"
    assert heads[PROJECT_COLUMNS.index("reaches_target")] == "达到目标"
    assert [c.value for c in book["全市计划"][1]][3] == "缺少该业态的生活圈数"
    snapshot = pd.read_excel(path, sheet_name="snapshot", header=1)
    assert snapshot["value"].astype(str).str.contains("工作表 项目清单、建议点位、全市计划").any()


@needs_poppler
def test_pdf_has_the_plans(zh_plan: Path, graded: tuple[Assessment, ProjectPlan]) -> None:
    _, plan = graded

    def pdf_text(path: Path) -> str:
        assert PDFTOTEXT is not None
        raw = subprocess.run(
            [PDFTOTEXT, str(path), "-"], capture_output=True, check=True, text=True
        ).stdout
        return re.sub(r"\s+", "", raw)

    body = pdf_text(zh_plan / "report.pdf")
    for expected in (
        "城市项目清单（1）",
        "各业态补缺计划（全市汇总）",
        "各生活圈项目",
        "建议点位分布",
    ):
        assert expected in body, expected
    assert f"共{len(plan.projects)}个项目" in body
    top = plan.city.iloc[0]
    assert fmt_number(top["households_gained"], "zh", 0) in body
    mine = plan.projects.loc[plan.projects["circle_id"] == "C"]
    circle = pdf_text(zh_plan / "circles" / "C.pdf")
    assert "本生活圈项目清单（N）" in circle and "建议点位" in circle
    assert f"缺少{len(mine)}个业态" in circle
    assert "西大街临街铺面" in circle and "候选点位无法使本圈达到目标" in circle


def test_english_plan(graded: tuple[Assessment, ProjectPlan], tmp_path: Path) -> None:
    assessment, plan = graded
    write_reports(assessment, tmp_path, lang="en", projects=plan, formats=("html", "xlsx"), dpi=60)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "City plan (1): projects per business type" in html
    assert f"{len(plan.projects)} projects (circle × missing business type)" in html
    assert "项目清单" not in html
    page = (tmp_path / "circles" / "C.html").read_text(encoding="utf-8")
    assert "Circle plan (N): projects" in page
    assert "the candidates cannot reach the target" in page
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    heads = [c.value for c in book[PLAN_SHEETS["projects"]][1]]
    assert heads[PROJECT_COLUMNS.index("households_gained")] == "Households gained"


def test_without_a_plan_nothing_is_added(
    graded: tuple[Assessment, ProjectPlan], tmp_path: Path
) -> None:
    assessment, _ = graded
    write_reports(assessment, tmp_path, formats=("html", "xlsx"), dpi=60)
    assert "项目清单" not in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "项目清单" not in (tmp_path / "circles" / "C.html").read_text(encoding="utf-8")
    assert not set(PLAN_SHEETS.values()) & set(
        openpyxl.load_workbook(tmp_path / "report.xlsx").sheetnames
    )
    assert not (tmp_path / "img" / "map_project_sites.png").exists()


def test_a_plan_without_projects(graded: tuple[Assessment, ProjectPlan], tmp_path: Path) -> None:
    assessment, plan = graded
    empty = ProjectPlan(plan.projects.iloc[:0], plan.sites.iloc[:0], plan.city.iloc[:0])
    write_reports(assessment, tmp_path, projects=empty, dpi=60)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "城市项目清单（1）" in html and "各生活圈均不缺业态" in html
    assert "本生活圈不缺业态" in (tmp_path / "circles" / "A.html").read_text(encoding="utf-8")
    back = pd.read_excel(tmp_path / "report.xlsx", sheet_name=PLAN_SHEETS["projects"], header=1)
    assert list(back.columns) == list(PROJECT_COLUMNS) and len(back) == 0


def test_project_notes() -> None:
    assert project_note({"n_sites": 0, "model": "mclp", "note": ""}, "zh") == (
        "步行范围内没有候选点位"
    )
    too_many = {"n_sites": 3, "model": "mclp", "note": "5 sites needed for 80%; best 3 shown"}
    assert project_note(too_many, "zh") == "达到目标需 5 个点位，列出覆盖最多的 3 个"
    assert project_note(too_many, "en") == "5 sites needed for the target; the best 3 are listed"
    assert project_note({"n_sites": 2, "model": "lscp", "note": ""}, "zh") == ""

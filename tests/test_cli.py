"""The command line, run in-process with click's runner on the sample city and on Xi'an."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from lifecircle.cli import main

ACCESS_COLUMNS = [
    "residence_id",
    "category",
    "category_zh",
    "nearest_m",
    "nearest_min",
    "nearest_outlet_id",
    "n_5min",
    "n_10min",
    "n_15min",
]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_help_is_bilingual():
    code, out = invoke("--help")
    assert code == 0
    assert "一刻钟便民生活圈" in out and "15-minute" in out
    for command in ("run", "inspect", "access"):
        code, out = invoke(command, "--help")
        assert code == 0 and "/" in out
    for command in ("run", "assess", "report"):
        code, out = invoke(command, "--help")
        flat = " ".join(out.split())  # as wrapped for the terminal's width
        assert "--projects / --no-projects" in flat and "1+N 项目清单" in flat
        assert "the 1+N project list" in flat


def test_run_on_sample_city_writes_results(tmp_path: Path):
    code, out = invoke("run", "--no-serve", "--out", str(tmp_path))
    assert code == 0, out
    assert "OpenStreetMap" in out and str(tmp_path.resolve()) in out
    table = pq.read_table(tmp_path / "access.parquet").to_pandas()
    assert list(table.columns[: len(ACCESS_COLUMNS)]) == ACCESS_COLUMNS
    for name in ("grades.csv", "evidence.csv", "report.html", "report.pdf", "report.xlsx"):
        assert (tmp_path / name).stat().st_size > 0, name
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    assert summary["residences"] == table["residence_id"].nunique() > 0
    # the 1+N project list: CSV files, workbook sheets and report sections agree
    for name, sheet in (
        ("projects.csv", "项目清单"),
        ("project_sites.csv", "建议点位"),
        ("city_plan.csv", "全市计划"),
    ):
        csv = pd.read_csv(tmp_path / name)
        assert len(csv) > 0, name
        assert len(pd.read_excel(tmp_path / "report.xlsx", sheet_name=sheet, header=1)) == len(csv)
    assert "城市项目清单（1）" in (tmp_path / "report.html").read_text("utf-8")
    assert "项目清单 Project list" in out
    # unreachable is missing, never a sentinel
    reached = table["nearest_m"].dropna()
    assert (reached >= 0).all() and (reached <= 15 * 70 + 1e-6).all()


# the walled old town, where the POIs are (PROVENANCE: POI bbox 108.915–108.971 E, 34.250–34.283 N)
OLD_TOWN = (
    "city == '西安' and source in ['ke.com', 'sofang.com'] and 108.915 <= lng_wgs84 <= 108.971"
    " and 34.250 <= lat_wgs84 <= 34.283"
)


def xian_args(xian_dir: dict[str, Path]) -> list[str]:
    return [
        "--network", str(xian_dir["gpkg"]),
        "--outlets", str(xian_dir["poi"]),
        "--outlets-lon", "lng_bd09", "--outlets-lat", "lat_bd09", "--outlets-crs", "bd09",
        "--residences", str(xian_dir["xiaoqu"]),
        "--residences-where", OLD_TOWN,
        "--residences-lon", "lng_bd09", "--residences-lat", "lat_bd09",
        "--residences-crs", "bd09",
        "--drop-missing", "--drop-outside",
    ]  # fmt: skip


@pytest.mark.shared_data
def test_access_on_xian_writes_the_long_table(xian_dir, tmp_path: Path):
    code, out = invoke("access", *xian_args(xian_dir), "--out", str(tmp_path))
    assert code == 0, out
    csv = pd.read_csv(tmp_path / "access.csv")
    assert list(csv.columns[: len(ACCESS_COLUMNS)]) == ACCESS_COLUMNS
    parquet = pq.read_table(tmp_path / "access.parquet")
    assert {"knn_outlet_ids", "knn_m"} <= set(parquet.column_names)
    assert parquet.num_rows == len(csv)
    pharmacy = csv[csv["category"] == "pharmacy"]
    assert pharmacy["n_15min"].gt(0).mean() > 0.9  # 211 pharmacies in the old town
    assert (tmp_path / "residences.parquet").exists()


@pytest.mark.shared_data
def test_inspect_xian_summarises_and_flags_wrong_crs(xian_dir):
    code, out = invoke("inspect", *xian_args(xian_dir))
    assert code == 0, out
    assert "药店" in out and "km" in out and "未分类 unclassified" in out
    wrong = [a if a != "bd09" else "wgs84" for a in xian_args(xian_dir)]
    code, out = invoke("inspect", *wrong)
    assert code == 1
    assert "bd09" in out  # the offset warning names the better declaration


def test_bad_input_exits_with_a_clear_message(tmp_path: Path):
    bad = tmp_path / "outlets.csv"
    bad.write_text("id,lon,lat,category\n1,abc,34.2,便利店\n", encoding="utf-8")
    from lifecircle.datasets import get_path

    code, out = invoke(
        "access", "--network", str(get_path("helsinki")), "--outlets", str(bad),
        "--residences", str(get_path("helsinki")), "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == 2
    assert "outlets.csv" in out and "row 1" in out and "lon" in out


@pytest.mark.shared_data
@pytest.mark.slow
def test_assess_with_report_on_xian_within_a_minute(xian_dir, tmp_path: Path):
    import time

    t0 = time.perf_counter()
    code, out = invoke(
        "assess", *xian_args(xian_dir), "--city", "西安老城", "--report", "--out", str(tmp_path)
    )
    elapsed = time.perf_counter() - t0
    assert code == 0, out
    grades = pd.read_csv(tmp_path / "grades.csv")
    assert {"circle_id", "grade", "households", "missing_for_next_grade"} <= set(grades.columns)
    assert grades["grade"].isin(["基础型", "提升型", "品质型", "未达标", "待核实"]).all()
    evidence = pd.read_csv(tmp_path / "evidence.csv")
    assert set(evidence["circle_id"]) == set(grades["circle_id"])
    mapping = pd.read_csv(tmp_path / "circle_mapping.csv")
    assert mapping["circle_id"].notna().all()  # every community is graded through its circle
    for name in ("report.html", "report.pdf", "report.xlsx", "kpis.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    projects = pd.read_csv(tmp_path / "projects.csv")
    assert set(projects["circle_id"].astype(str)) <= set(grades["circle_id"].astype(str))
    assert "城市项目清单（1）" in (tmp_path / "report.html").read_text("utf-8")
    assert elapsed < 60


def test_report_no_projects_skips_the_project_list(tmp_path: Path):
    from lifecircle.datasets import get_path

    pbf = str(get_path("helsinki"))
    code, out = invoke(
        "report", "--network", pbf, "--outlets", pbf, "--residences", pbf,
        "--no-projects", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, out
    assert (tmp_path / "report.html").stat().st_size > 0
    for name in ("projects.csv", "project_sites.csv", "city_plan.csv"):
        assert not (tmp_path / name).exists(), name
    assert "项目清单" not in (tmp_path / "report.html").read_text("utf-8")
    import openpyxl

    assert "项目清单" not in openpyxl.load_workbook(tmp_path / "report.xlsx").sheetnames


def test_plan_on_sample_city_writes_sites_and_summary(tmp_path: Path):
    from lifecircle.datasets import get_path

    pbf = str(get_path("helsinki"))
    code, out = invoke(
        "plan", "--network", pbf, "--outlets", pbf, "--residences", pbf,
        "--category", "药店", "--p", "2", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, out
    sites = pd.read_csv(tmp_path / "sites.csv")
    assert list(sites.columns[:4]) == ["site_id", "lon", "lat", "households_gained"]
    summary = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    for key in ("households_covered_before", "households_covered_after", "objective", "bound",
                "gap", "method"):  # fmt: skip
        assert key in summary
    assert summary["households_covered_after"] >= summary["households_covered_before"]


def test_help_loads_no_numerical_stack() -> None:
    """``lifecircle --help`` imports only the CLI (heavy modules load when a command runs)."""
    import subprocess
    import sys

    code = (
        "import sys, lifecircle.cli; "
        "heavy = [m for m in ('pandas', 'numpy', 'geopandas', 'numba', 'shapely') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout

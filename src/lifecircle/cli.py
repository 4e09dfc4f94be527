"""Command line: ``lifecircle`` (thin layer over the library).

Help texts are bilingual (中文 / English).  Long work shows progress bars on stderr; results are
written to the ``--out`` folder and the command ends by printing where they are.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from lifecircle import __version__
from lifecircle.errors import InputError, LifecircleError

__all__ = ["main"]

log = logging.getLogger("lifecircle")

CRS_CHOICES = click.Choice(["wgs84", "gcj02", "bd09"], case_sensitive=False)
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.captureWarnings(True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LifecircleError as exc:
            click.secho(f"错误 Error: {exc}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version")
@click.option("-v", "--verbose", count=True, help="更多日志 (-v, -vv) / more log output.")
def main(verbose: int) -> None:
    """城市一刻钟便民生活圈：步行可达性评估与规划。

    lifecircle — 15-minute convenience life circles: who reaches which everyday
    services (业态) on foot, along the real street network.

    \b
    常用命令 / Main commands:
      run       在示例城市上运行完整流程 / run the whole job on the bundled sample city
      inspect   检查输入数据 / summarise and check a city's inputs
      access    计算步行可达性 / walking access from every residence to every 业态
      assess    生活圈评级 / grade every life circle, with evidence and KPIs
      report    评估并写出报告 / assess and write HTML/PDF/Excel reports
      plan      新增网点选址 / where to add outlets of one 业态 (MCLP/LSCP/p-median)
      batch     多城市批量运行（Dask）/ many cities in one run, on Dask
      serve     启动网页平台 / serve the web platform (resident map, merchants, planners)
    """
    _setup_logging(verbose)


_WALK_SPEED_OPTION = click.option(
    "--walk-speed",
    default="4.2",
    show_default=True,
    help="步行速度 km/h，或 elderly(老年人 3.0) / walking speed in km/h, or 'elderly'.",
)
_LANG_OPTION = click.option(
    "--lang",
    type=click.Choice(["zh", "en"]),
    default="zh",
    show_default=True,
    help="报告语言 / report language.",
)
_OUT_OPTION = click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="输出目录 / output folder.",
)


def _network_options(f: Any) -> Any:
    f = click.option(
        "--encoding",
        default=None,
        help="属性表编码，如 gbk / attribute encoding of road lines, e.g. gbk.",
    )(f)
    f = click.option(
        "--layer", default=None, help="GeoPackage 图层名 / layer name in a GeoPackage."
    )(f)
    f = click.option(
        "--network",
        "network_path",
        required=True,
        type=click.Path(exists=True, dir_okay=False),
        help="路网：.osm.pbf、OSMnx GraphML 或道路线 (GPKG/GeoJSON/SHP) / street network.",
    )(f)
    return f


def _layer_options(f: Any) -> Any:
    opts = [
        click.option(
            "--drop-missing",
            is_flag=True,
            help="跳过缺坐标的行（记录在日志中）/ leave out rows without coordinates (logged).",
        ),
        click.option(
            "--drop-outside",
            is_flag=True,
            help="跳过路网范围外的点（记录在日志中）/ leave out points outside the network's area (logged).",
        ),
        click.option(
            "--residences-where",
            default=None,
            help="筛选小区的 pandas 查询，如 \"city == '西安'\" / pandas query to filter residences.",
        ),
        click.option(
            "--residences-lon", default=None, help="小区经度列 / longitude column of residences."
        ),
        click.option(
            "--residences-lat", default=None, help="小区纬度列 / latitude column of residences."
        ),
        click.option(
            "--residences-crs",
            type=CRS_CHOICES,
            default="wgs84",
            show_default=True,
            help="小区坐标系 / coordinate system of residences.",
        ),
        click.option(
            "--residences",
            "residences_path",
            type=click.Path(exists=True, dir_okay=False),
            help="小区/社区/楼栋 (CSV/GeoJSON/GPKG/.osm.pbf) / residences.",
        ),
        click.option(
            "--outlets-lon", default=None, help="网点经度列 / longitude column of outlets."
        ),
        click.option(
            "--outlets-lat", default=None, help="网点纬度列 / latitude column of outlets."
        ),
        click.option(
            "--outlets-crs",
            type=CRS_CHOICES,
            default="wgs84",
            show_default=True,
            help="网点坐标系 wgs84/gcj02(高德)/bd09(百度) / coordinate system of outlets.",
        ),
        click.option(
            "--outlets",
            "outlets_path",
            type=click.Path(exists=True, dir_okay=False),
            help="商业网点 (CSV/GeoJSON/GPKG/.osm.pbf) / outlets.",
        ),
    ]
    for opt in opts:
        f = opt(f)
    return f


def _read_inputs(kw: dict[str, Any], *, need_layers: bool = True) -> dict[str, Any]:
    from lifecircle.ingest import read_network, read_outlets, read_residences

    t0 = time.perf_counter()
    net = read_network(kw["network_path"], layer=kw.get("layer"), encoding=kw.get("encoding"))
    log.info("network read in %.1f s", time.perf_counter() - t0)
    out: dict[str, Any] = {"network": net}
    on_invalid: dict[str, Any] = {
        "on_outside": "drop" if kw.get("drop_outside") else "error",
        "on_missing": "drop" if kw.get("drop_missing") else "error",
    }
    if kw.get("outlets_path"):
        out["outlets"] = read_outlets(
            kw["outlets_path"],
            crs=kw["outlets_crs"],
            lon=kw.get("outlets_lon"),
            lat=kw.get("outlets_lat"),
            network=net,
            **on_invalid,
        )
    elif need_layers:
        raise InputError("--outlets is required / 需要 --outlets", "command line")
    if kw.get("residences_path"):
        out["residences"] = read_residences(
            kw["residences_path"],
            crs=kw["residences_crs"],
            lon=kw.get("residences_lon"),
            lat=kw.get("residences_lat"),
            where=kw.get("residences_where"),
            network=net,
            **on_invalid,
        )
    elif need_layers:
        raise InputError("--residences is required / 需要 --residences", "command line")
    return out


@main.command(context_settings=CONTEXT)
@_network_options
@_layer_options
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 / print JSON.")
def inspect(as_json: bool, **kw: Any) -> None:
    """检查一个城市的输入数据 / Summarise and check a city's inputs.

    打印：各业态网点数、未分类比例及主要未匹配类型、路网里程、连通分量、范围、坐标系，
    以及发现的全部问题。Prints counts per 业态, the unclassified share with the top unmatched
    source types, network km, components, bounding box, CRS and every problem found.
    """
    from lifecircle.inspect import inspect_inputs, render_inspection

    report = inspect_inputs(
        kw["network_path"],
        outlets=kw.get("outlets_path"),
        residences=kw.get("residences_path"),
        outlets_crs=kw["outlets_crs"],
        residences_crs=kw["residences_crs"],
        outlets_lon=kw.get("outlets_lon"),
        outlets_lat=kw.get("outlets_lat"),
        residences_lon=kw.get("residences_lon"),
        residences_lat=kw.get("residences_lat"),
        residences_where=kw.get("residences_where"),
        layer=kw.get("layer"),
        encoding=kw.get("encoding"),
        drop_missing=kw.get("drop_missing", False),
        drop_outside=kw.get("drop_outside", False),
    )
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(render_inspection(report))
    if report["problems"]:
        sys.exit(1)


def _access_options(f: Any) -> Any:
    opts = [
        click.option(
            "--formats",
            default="parquet,csv",
            show_default=True,
            help="输出格式 / output formats: parquet,csv.",
        ),
        click.option(
            "--max-snap",
            type=float,
            default=250.0,
            show_default=True,
            help="最大吸附距离(米)，超出的点被排除并说明原因 / points farther than this "
            "from every walkable edge are left out with a reason.",
        ),
        click.option(
            "--k",
            "k",
            type=int,
            default=3,
            show_default=True,
            help="每个业态列出最近的 k 个网点 / k nearest outlets per 业态.",
        ),
        click.option(
            "--bands",
            default="5,10,15",
            show_default=True,
            help="步行时间圈(分钟) / time bands in minutes.",
        ),
        _WALK_SPEED_OPTION,
        click.option(
            "--entrances",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="小区出入口 (含 residence_id) / gates with residence_id.",
        ),
    ]
    for opt in opts:
        f = opt(f)
    return f


def _run_access(inputs: dict[str, Any], kw: dict[str, Any], out: Path) -> Any:
    from lifecircle.access import compute_access

    entrances = None
    if kw.get("entrances"):
        import geopandas as gpd

        entrances = gpd.read_file(kw["entrances"])
    bands = [float(b) for b in str(kw["bands"]).split(",") if b.strip()]
    result = compute_access(
        inputs["network"],
        inputs["outlets"],
        inputs["residences"],
        entrances=entrances,
        walk_speed=kw["walk_speed"],
        bands_min=bands,
        k=kw["k"],
        max_snap_m=kw["max_snap"],
        progress=True,
    )
    formats = [f.strip() for f in str(kw["formats"]).split(",") if f.strip()]
    return result, result.write(out, formats)


@main.command(context_settings=CONTEXT)
@_network_options
@_layer_options
@_access_options
@click.option(
    "--nodes",
    "with_nodes",
    is_flag=True,
    help="同时写出每个路网节点的结果 nodes.parquet（热力图）/ also write per-node results (heat maps).",
)
@click.option(
    "--walking-areas",
    "with_areas",
    is_flag=True,
    help="同时写出每个小区的 5/10/15 分钟步行范围 walking_areas.gpkg / also write each residence's "
    "walking areas.",
)
@_OUT_OPTION
def access(out_dir: str, with_nodes: bool, with_areas: bool, **kw: Any) -> None:
    """计算每个小区到每个业态的步行距离 / Walking access from every residence to every 业态.

    \b
    写出 / writes:
      OUT/access.parquet  长表 residence × 业态（含最近 k 个网点列表）/ long table with k-nearest lists
      OUT/access.csv      同上，不含列表列 / same without the list columns
      OUT/residences.parquet  小区及吸附信息 (GeoParquet) / residences with snapping
      OUT/excluded.csv    被排除的点及原因 / points left out, with reasons
      OUT/nodes.parquet   (--nodes) 每个节点 × 业态 / every node × 业态
      OUT/walking_areas.gpkg  (--walking-areas) 步行范围多边形 / walking-area polygons
    """
    inputs = _read_inputs(kw)
    out = Path(out_dir)
    result, files = _run_access(inputs, kw, out)
    bands = [float(b) for b in str(kw["bands"]).split(",") if b.strip()]
    if with_nodes:
        from lifecircle.access import node_access

        nodes = node_access(
            inputs["network"], inputs["outlets"], categories=result.params["categories"],
            walk_speed=kw["walk_speed"], bands_min=bands, max_snap_m=kw["max_snap"], progress=True,
        )  # fmt: skip
        nodes.to_parquet(out / "nodes.parquet")
        files.append(out / "nodes.parquet")
    if with_areas:
        from lifecircle.access.isochrone import walking_areas

        ok = result.residences[result.residences["status"] == "ok"]
        areas = walking_areas(
            inputs["network"], ok[["residence_id", "geometry"]], id_column="residence_id",
            minutes=bands, walk_speed=kw["walk_speed"], max_snap_m=kw["max_snap"],
        )  # fmt: skip
        areas.to_file(out / "walking_areas.gpkg", layer="walking_areas", driver="GPKG")
        files.append(out / "walking_areas.gpkg")
    click.echo(f"步行可达性已完成 Access done: {result.table.num_rows} rows")
    for f in files:
        click.echo(f"  {f}")


def _assess_options(f: Any) -> Any:
    opts = [
        click.option("--city", default="", help="城市/片区名称 / city or area name."),
        click.option(
            "--scores",
            type=click.Path(exists=True, dir_okay=False),
            help="评价打分 (CSV/Excel) / evaluator scores.",
        ),
        click.option(
            "--indicators",
            type=click.Path(exists=True, dir_okay=False),
            help="服务评价指标表 (TOML，默认为建议稿) / indicator sheet (default: a proposal).",
        ),
        click.option(
            "--responses",
            type=click.Path(exists=True, dir_okay=False),
            help="满意度问卷答卷 (CSV/Excel) / survey responses.",
        ),
        click.option(
            "--survey",
            default=None,
            help="问卷定义 TOML 或预设 default/four_point / survey definition or preset.",
        ),
        click.option(
            "--rulebook",
            default=None,
            help="评级规则 TOML 或预设 default/shanxi_star/beijing_8 / rulebook file or preset.",
        ),
        click.option(
            "--mapping",
            type=click.Path(exists=True, dir_okay=False),
            help="小区→生活圈对应表 (CSV/Excel) / residence → circle table.",
        ),
        click.option(
            "--circles",
            "circles_path",
            type=click.Path(exists=True, dir_okay=False),
            help="生活圈边界 (含 circle_id)；不给则自动划分 / circle boundaries; default: proposed "
            "automatically.",
        ),
    ]
    for opt in opts:
        f = opt(f)
    return f


def _run_assessment(kw: dict[str, Any]) -> Any:
    from lifecircle.assess import assess_city

    inputs = _read_inputs(kw)
    circles = None
    if kw.get("circles_path"):
        import geopandas as gpd

        circles = gpd.read_file(kw["circles_path"])
    files = [kw[k] for k in ("network_path", "outlets_path", "residences_path") if kw.get(k)]
    files += [kw[k] for k in ("circles_path", "mapping", "responses", "scores") if kw.get(k)]
    return assess_city(
        inputs["network"], inputs["outlets"], inputs["residences"], city=kw.get("city") or "",
        circles=circles, mapping=kw.get("mapping"), rulebook=kw.get("rulebook"),
        walk_speed=kw.get("walk_speed", "4.2"), survey=kw.get("survey"),
        responses=kw.get("responses"), indicator_sheet=kw.get("indicators"),
        evaluator_scores=kw.get("scores"), input_files=files, progress=True,
    )  # fmt: skip


def _write_assessment(assessment: Any, out: Path) -> list[Path]:
    from lifecircle.assess import write_circle_mapping

    out.mkdir(parents=True, exist_ok=True)
    files = []
    tables = {
        "grades.csv": assessment.grades,
        "evidence.csv": assessment.evidence,
        "kpis.csv": assessment.kpis,
        "blind_spots.csv": assessment.blind_spots,
        "satisfaction.csv": assessment.satisfaction,
        "evaluation.csv": assessment.evaluation,
    }
    for name, frame in tables.items():
        if frame is not None:
            frame.to_csv(out / name, index=False, encoding="utf-8-sig")  # opens in Excel
            files.append(out / name)
    assessment.circles.to_file(out / "circles.geojson", driver="GeoJSON")
    files.append(out / "circles.geojson")
    files.append(
        write_circle_mapping(assessment.residences, out / "circle_mapping.csv", assessment.circles)
    )
    return files


def _projects_option(f: Any) -> Any:
    return click.option(
        "--projects/--no-projects",
        "with_projects",
        default=True,
        show_default=True,
        help="1+N 项目清单：报告中列出各生活圈缺什么、在哪补及全市汇总，并写出 projects.csv "
        "project_sites.csv city_plan.csv（--no-projects 跳过）/ the 1+N project list: the "
        "reports show what each circle lacks, where to add it and the city roll-up, and the "
        "three CSV files are written (--no-projects skips it).",
    )(f)


def _print_grades(assessment: Any) -> None:
    counts = assessment.grades["grade"].value_counts()
    parts = [f"{g} {int(counts.get(g, 0))}" for g in ("品质型", "提升型", "基础型", "未达标")]
    click.echo(f"生活圈 Circles: {len(assessment.grades)} — " + ", ".join(parts))


@main.command(context_settings=CONTEXT)
@_network_options
@_layer_options
@_assess_options
@_WALK_SPEED_OPTION
@click.option(
    "--report/--no-report",
    "with_report",
    default=False,
    show_default=True,
    help="同时写出报告 / also write the reports.",
)
@_projects_option
@_LANG_OPTION
@_OUT_OPTION
def assess(out_dir: str, with_report: bool, lang: str, with_projects: bool, **kw: Any) -> None:
    """生活圈评级：有没有、缺什么、KPI / Grade every life circle, with its evidence and KPIs.

    \b
    写出 / writes:
      OUT/grades.csv       每个生活圈一行：circle_id, grade, households, missing_for_next_grade …
      OUT/evidence.csv     生活圈 × 业态 的"有没有"表 / the circle × 业态 evidence table
      OUT/kpis.csv         城市指标及目标 / city KPIs against targets
      OUT/blind_spots.csv  各业态盲区小区 / residences lacking a 业态 within its band
      OUT/circles.geojson, OUT/circle_mapping.csv  生活圈及可编辑的对应表 / circles, editable mapping
      (--report) OUT/report.html, report.pdf, report.xlsx, OUT/circles/*.html|.pdf
      (--report) OUT/projects.csv, project_sites.csv, city_plan.csv  1+N 项目清单 / project list
                 (--no-projects 不写 / skipped with --no-projects)
    """
    out = Path(out_dir)
    assessment = _run_assessment(kw)
    files = _write_assessment(assessment, out)
    if with_report:
        files += _write_reports(assessment, out, lang, with_projects)
    _print_grades(assessment)
    click.echo(f"结果 Results in {out.resolve()}:")
    for f in files:
        click.echo(f"  {f}")


def _write_reports(assessment: Any, out: Path, lang: str, with_projects: bool = True) -> list[Path]:
    from lifecircle.report import write_reports

    files: list[Path] = []
    projects = None
    if with_projects:
        projects = _project_plan(assessment)
        files += projects.write(out)
    written = write_reports(assessment, out, lang=lang, projects=projects)
    return files + [Path(p) for p in written.values()]


def _project_plan(assessment: Any) -> Any:
    """The 1+N project list at the assessment's coverage target, on generated candidates."""
    from lifecircle.plan.projects import project_list

    t0 = time.perf_counter()
    params = (assessment.snapshot or {}).get("parameters", {})
    plan = project_list(assessment, target_share=params.get("coverage_share"))
    log.info("project list in %.1f s", time.perf_counter() - t0)
    p = plan.projects
    click.echo(
        f"项目清单 Project list: {len(p)} projects in {p['circle_id'].nunique()} circles, "
        f"{plan.sites['site_id'].nunique()} sites proposed"
    )
    return plan


@main.command(context_settings=CONTEXT)
@_network_options
@_layer_options
@_assess_options
@_WALK_SPEED_OPTION
@_LANG_OPTION
@_projects_option
@_OUT_OPTION
def report(out_dir: str, lang: str, with_projects: bool, **kw: Any) -> None:
    """评估并写出报告 HTML/PDF/Excel / Assess and write the reports (HTML, PDF, Excel).

    \b
    写出 / writes OUT/report.html, OUT/report.pdf, OUT/report.xlsx, OUT/circles/*.html
    and the tables of 'lifecircle assess'; with the 1+N project list (城市项目清单 in the
    city report, 本生活圈项目清单 on each circle's page, sheets 项目清单/建议点位/全市计划)
    OUT/projects.csv, OUT/project_sites.csv, OUT/city_plan.csv (--no-projects: none).
    """
    out = Path(out_dir)
    assessment = _run_assessment(kw)
    files = _write_assessment(assessment, out) + _write_reports(
        assessment, out, lang, with_projects
    )
    _print_grades(assessment)
    click.echo(f"报告 Reports in {out.resolve()}:")
    for f in files:
        click.echo(f"  {f}")


@main.command(context_settings=CONTEXT)
@_network_options
@_layer_options
@click.option(
    "--category",
    required=True,
    help="要规划的业态（代码或中文名，如 pharmacy / 药店）/ the 业态 to plan (code or name).",
)
@click.option(
    "--p",
    "p",
    type=int,
    default=None,
    help="新增网点数（mclp、pmedian 必填）/ number of new sites (needed by mclp, pmedian).",
)
@click.option(
    "--model",
    type=click.Choice(["mclp", "lscp", "pmedian"]),
    default="mclp",
    show_default=True,
    help="mclp 覆盖最多户数 / most households covered; lscp 最少网点达到覆盖目标 / fewest sites "
    "for --target; pmedian 户均步行距离最短 / least household-weighted walk.",
)
@click.option(
    "--candidates",
    "candidates_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="候选点位（闲置用房、临街铺面，可含 floor_area 面积、rent 租金、capacity 服务户数）；"
    "不给则沿步行道路每隔 --spacing 米生成 / candidate sites (optional floor_area, rent, "
    "capacity); default: generated along the walkable streets.",
)
@click.option(
    "--candidates-crs",
    type=CRS_CHOICES,
    default="wgs84",
    show_default=True,
    help="候选点坐标系 / coordinate system of the candidates.",
)
@click.option(
    "--spacing",
    type=float,
    default=100.0,
    show_default=True,
    help="生成候选点的间距(米) / spacing of generated candidates (m).",
)
@click.option(
    "--band",
    type=float,
    default=None,
    help="算作覆盖的步行分钟数（默认取该业态的步行圈：家门口 10、家周边 15）/ walking minutes "
    "that count as covered (default: the 业态's band).",
)
@_WALK_SPEED_OPTION
@click.option(
    "--target",
    type=float,
    default=1.0,
    show_default=True,
    help="lscp：覆盖户数占比目标（含现有网点）/ lscp: share of all households to cover.",
)
@click.option(
    "--capacities",
    "use_capacities",
    is_flag=True,
    help="使用候选点的 capacity 列（可服务户数）/ use the candidates' capacity column.",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "mip", "heuristic"]),
    default="auto",
    show_default=True,
    help="求解方式：auto 按规模自动 / mip 精确(HiGHS) / heuristic 启发式(给出证明界) / "
    "how to solve.",
)
@click.option(
    "--time-limit",
    type=float,
    default=60.0,
    show_default=True,
    help="求解时限(秒) / time limit in seconds.",
)
@_OUT_OPTION
def plan(
    out_dir: str,
    category: str,
    p: int | None,
    model: str,
    candidates_path: str | None,
    candidates_crs: str,
    spacing: float,
    band: float | None,
    walk_speed: str,
    target: float,
    use_capacities: bool,
    method: str,
    time_limit: float,
    **kw: Any,
) -> None:
    """新增网点选址：按步行网络覆盖 / Where to open new outlets of one 业态, on walking coverage.

    覆盖 = 在该业态步行圈内（沿路网步行，不用直线距离）；现有同业态网点保留。
    Covered = within the 业态's band walking along the network; existing outlets stay.

    \b
    写出 / writes:
      OUT/sites.csv      site_id, lon, lat, households_gained
      OUT/sites.geojson  同上，含候选点属性 / the same with the candidates' data
      OUT/summary.json   households_covered_before, households_covered_after, objective,
                         bound, gap, method …
    """
    from lifecircle.plan import plan_sites, read_candidates

    inputs = _read_inputs(kw)
    candidates = None
    if candidates_path:
        candidates = read_candidates(
            candidates_path,
            crs=candidates_crs,
            network=inputs["network"],
            on_missing="drop" if kw.get("drop_missing") else "error",
            on_outside="drop" if kw.get("drop_outside") else "error",
        )
    result = plan_sites(
        inputs["network"], inputs["outlets"], inputs["residences"], category=category, p=p,
        model=model, candidates=candidates, band_min=band, walk_speed=walk_speed,
        spacing_m=spacing, target=target, use_capacities=use_capacities,
        time_limit=time_limit, method=method,
    )  # fmt: skip
    files = result.write(Path(out_dir))
    s = result.summary()
    gap = "—" if s["gap"] is None else f"{100 * s['gap']:.2f}%"
    click.echo(
        f"{s['category_zh']} {s['category']}: {s['n_sites']} 个新网点 new sites "
        f"({s['model']}, {s['method']}, {s['status']}, gap {gap})"
    )
    click.echo(
        f"步行 {s['band_min']:g} 分钟覆盖户数 Households within {s['band_min']:g} min: "
        f"{s['households_covered_before']:,.0f} → {s['households_covered_after']:,.0f} "
        f"of {s['households_total']:,.0f}"
    )
    click.echo(f"结果 Results in {Path(out_dir).resolve()}:")
    for f in files:
        click.echo(f"  {f}")


@main.command(context_settings=CONTEXT)
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="已有 Dask 集群的调度器地址，如 tcp://10.0.0.5:8786 / address of an existing Dask "
    "scheduler (default: start a local cluster).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="本机工作进程数（默认 CPU 核数；0 = 不用 Dask，逐个城市运行）/ local worker processes "
    "(default: CPU cores; 0: no Dask, one city after another in this process).",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="输出目录（默认取配置中的 out）/ output folder (default: the config's out).",
)
@click.option(
    "--force",
    is_flag=True,
    help="忽略已完成的结果，全部重算 / recompute every city, even those whose results are current.",
)
def batch(
    config: str, scheduler: str | None, workers: int | None, out_dir: str | None, force: bool
) -> None:
    """多个城市/片区批量评估 / Assess many cities or districts in one run, on Dask.

    \b
    CONFIG 为 TOML 文件，列出各城市的输入与设置（格式见 lifecircle.batch.config）。
    CONFIG is a TOML file listing each city's inputs and settings (see lifecircle.batch.config).
    输入、规则和软件版本未变的城市会被跳过；失败的城市记录错误，其余城市照常完成。
    Cities whose inputs, rulebook and software are unchanged are skipped; a failing city is
    logged with its error and the others go on (exit status 1 at the end).

    \b
    写出 / writes:
      OUT/<city id>/      每个城市的表格、报告和 manifest.json / each city's tables, reports, manifest
      OUT/run_log.jsonl   每个城市的状态、耗时、内存峰值及错误 / per-city status, timings, memory, errors
      OUT/rollup.csv, rollup_kpis.csv, rollup.xlsx, rollup.html  汇总 / the roll-up
    """
    from lifecircle.batch import batch_client, dashboard_link, load_batch_config, run_batch

    cfg = load_batch_config(config)
    click.echo(f"批量 Batch: {len(cfg.cities)} cities from {config}")
    with batch_client(scheduler=scheduler, n_workers=workers) as client:
        if client is not None:
            n = len(client.scheduler_info().get("workers", {}))
            link = dashboard_link(client)
            click.echo(f"Dask: {client.scheduler.address}, {n} workers")
            if link:
                click.echo(f"Dask 仪表盘 Dashboard: {link}")
        summary = run_batch(cfg, out=out_dir, client=client, force=force, progress=True)
    click.echo(
        f"完成 Done in {summary.wall_s:.1f} s: {summary.count('ok')} ok, "
        f"{summary.count('skipped')} skipped (unchanged), {summary.count('failed')} failed"
    )
    for record in summary.failed:
        click.secho(
            f"  失败 FAILED {record['city']} ({record.get('stage', '?')}): {record.get('error')}",
            fg="red",
            err=True,
        )
    if summary.rollup_error:
        click.secho(f"  汇总失败 Roll-up failed: {summary.rollup_error}", fg="red", err=True)
    click.echo(f"运行日志 Run log: {summary.run_log}")
    for f in summary.rollup.values():
        click.echo(f"  {f}")
    sys.exit(summary.exit_code)


@main.command(context_settings=CONTEXT)
@click.option(
    "--out",
    "out_dir",
    default="lifecircle-output",
    show_default=True,
    type=click.Path(file_okay=False),
    help="输出目录 / output folder.",
)
@_WALK_SPEED_OPTION
@_LANG_OPTION
@click.option(
    "--serve/--no-serve",
    "with_serve",
    default=True,
    show_default=True,
    help="最后启动网页平台 / end by serving the web platform (Ctrl+C to stop).",
)
@_projects_option
@click.option("--port", default=8000, show_default=True, type=int, help="网页端口 / web port.")
def run(
    out_dir: str, walk_speed: str, lang: str, with_serve: bool, with_projects: bool, port: int
) -> None:
    """在内置示例城市（赫尔辛基 OSM）上运行完整流程 / Run the whole job on the bundled sample city.

    示例数据 © OpenStreetMap contributors (ODbL)。Sample data © OpenStreetMap contributors, ODbL.
    """
    from lifecircle.datasets import get_path

    pbf = get_path("helsinki")
    kw: dict[str, Any] = {
        "network_path": str(pbf),
        "outlets_path": str(pbf),
        "residences_path": str(pbf),
        "outlets_crs": "wgs84",
        "residences_crs": "wgs84",
        "walk_speed": walk_speed,
        "bands": "5,10,15",
        "k": 3,
        "max_snap": 250.0,
        "formats": "parquet,csv",
    }
    t0 = time.perf_counter()
    click.echo(f"示例城市 Sample city: {pbf.name} (© OpenStreetMap contributors, ODbL)")
    inputs = _read_inputs(kw)
    net = inputs["network"]
    click.echo(f"路网 Network: {net.n_nodes} nodes, {net.n_edges} edges, {net.total_km:.1f} km")
    click.echo(
        f"网点 Outlets: {len(inputs['outlets'])}; 小区/楼栋 Residences: {len(inputs['residences'])}"
    )
    out = Path(out_dir)
    from lifecircle.assess import assess_city

    assessment = assess_city(
        net, inputs["outlets"], inputs["residences"], city="Helsinki 赫尔辛基（示例 sample）",
        walk_speed=walk_speed, input_files=[pbf], progress=True,
    )  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    assessment.access.to_parquet(out / "access.parquet")
    files = [out / "access.parquet", *_write_assessment(assessment, out)]
    summary = _coverage_summary(assessment.access)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), "utf-8")
    files.append(out / "summary.json")
    click.echo("\n各业态 15 分钟步行覆盖率 Share of residences with the 业态 within 15 min:")
    for row in summary["coverage"][:40]:
        click.echo(f"  {row['category_zh']:<12} {row['category']:<24} {row['share_15min']:6.1%}")
    _print_grades(assessment)
    click.echo("报告 Writing reports (HTML, PDF, Excel) …")
    files += _write_reports(assessment, out, lang, with_projects)
    click.echo(f"\n完成 Done in {time.perf_counter() - t0:.1f} s. 结果 Results in {out.resolve()}:")
    for f in files[:12]:
        click.echo(f"  {f}")
    if len(files) > 12:
        click.echo(f"  … and {len(files) - 12} more (circle pages in {out / 'circles'})")
    click.echo(f"打开报告 Open the report: {(out / 'report.html').resolve().as_uri()}")
    if with_serve:
        click.echo("\n启动网页平台 Starting the web platform on the sample city …")
        _serve("127.0.0.1", port, None, ())


def _coverage_summary(table: Any) -> dict[str, Any]:
    last = [c for c in table.columns if c.startswith("n_") and c.endswith("min")][-1]
    rows: list[tuple[float, str, str]] = []
    for (code, zh), grp in table.groupby(["category", "category_zh"], sort=False, observed=True):
        counts = grp[last]
        if not counts.isna().all():
            rows.append((float((counts.fillna(0) > 0).mean()), str(code), str(zh)))
    rows.sort(key=lambda r: -r[0])
    coverage = [{"category": c, "category_zh": z, "share_15min": v} for v, c, z in rows]
    return {"residences": int(table["residence_id"].nunique()), "coverage": coverage}


@main.command(context_settings=CONTEXT)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="监听地址 / address to listen on."
)
@click.option("--port", default=8000, show_default=True, type=int, help="端口 / port.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="数据目录（数据库、缓存、报告）/ data folder (database, cache, reports); "
    "default $LIFECIRCLE_DATA_DIR or ~/.local/share/lifecircle.",
)
@click.argument("cities", nargs=-1)
@click.option(
    "--access-log/--no-access-log",
    default=False,
    show_default=True,
    help="逐条记录请求 / log every request (costs time under load).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="服务进程数（建议等于 CPU 核数；意外退出的进程会自动重启）/ server processes (as many as "
    "CPU cores for production; one that dies is replaced).",
)
def serve(
    host: str,
    port: int,
    data_dir: str | None,
    access_log: bool,
    workers: int,
    cities: tuple[str, ...],
) -> None:
    """启动网页平台 / Serve the web platform (便民地图, 商户进图, 规划看板).

    CITY 为内置示例名 (helsinki)、.osm.pbf 文件、city.toml 或含 city.toml 的目录；
    不给则使用内置示例城市。设置见环境变量 LIFECIRCLE_*（如 LIFECIRCLE_DATABASE_URL、
    LIFECIRCLE_SECRET_KEY、LIFECIRCLE_MODE=production）。

    CITY is a bundled sample name (helsinki), an .osm.pbf file, a city.toml or a folder
    holding one; with none the bundled sample city is served.  Settings come from the
    LIFECIRCLE_* environment variables (LIFECIRCLE_DATABASE_URL, LIFECIRCLE_SECRET_KEY,
    LIFECIRCLE_MODE=production, LIFECIRCLE_TILE_URL, ...).
    """
    _serve(host, port, data_dir, cities, workers=workers, access_log=access_log)


def _serve(
    host: str,
    port: int,
    data_dir: str | None,
    cities: tuple[str, ...],
    *,
    workers: int = 1,
    access_log: bool = False,
) -> None:
    import uvicorn
    from pydantic import ValidationError

    from lifecircle.web.app import create_app, load_cities
    from lifecircle.web.config import Settings

    overrides: dict[str, Any] = {"progress": True}
    if cities:
        overrides["cities"] = list(cities)
    if data_dir:
        overrides["data_dir"] = data_dir
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise InputError(
            "; ".join(str(e["msg"]) for e in exc.errors()), "settings (LIFECIRCLE_*)"
        ) from None
    if settings.is_dev:
        click.echo(
            "开发模式 Development mode: demo accounts planner/planner-demo, "
            "merchant/merchant-demo, admin/admin-demo (LIFECIRCLE_MODE=production turns this off)",
            err=True,
        )
    t0 = time.perf_counter()
    click.echo(f"载入城市 Loading {', '.join(settings.cities)} …", err=True)
    # computed (or read from the cache) once here: each worker process then reads the cache
    registry = load_cities(settings)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    click.echo(f"就绪 Ready in {time.perf_counter() - t0:.1f} s.")
    click.echo(f"便民地图 Open the platform at {url}  (API docs {url}docs; Ctrl+C 停止 to stop)")
    if workers == 1:
        app = create_app(settings, cities=registry)
        uvicorn.run(
            app, host=host, port=port, log_level="info", proxy_headers=True, access_log=access_log
        )
        return
    # several processes: each builds its own app from the same settings (the environment);
    # the dev-mode signing key is written once here, not raced for by the workers
    settings.signing_key()
    os.environ["LIFECIRCLE_CITIES"] = ",".join(settings.cities)
    os.environ["LIFECIRCLE_DATA_DIR"] = str(settings.data_dir)
    os.environ["LIFECIRCLE_PROGRESS"] = "false"
    from lifecircle.web.serve import serve_processes

    serve_processes(
        host, port, workers, log_level="info", proxy_headers=True, access_log=access_log
    )


if __name__ == "__main__":  # pragma: no cover
    main()
# `lifecircle admin …`: accounts of the web platform (lifecircle.web.admin_cli)
main.add_command(__import__("lifecircle.web.admin_cli", fromlist=["admin"]).admin)

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
from lifecircle.errors import InputError, LifecircleError, Problem

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
    一个城市就是一个城市文件 city.toml（lifecircle init 生成）；各命令都接受它，
    命令行参数覆盖其中的设置。A city is a city file (lifecircle init writes one); every
    command takes it, and flags override its keys.

    \b
    常用命令 / Main commands:
      init      新建城市文件模板 / write a commented city file template
      run       完整流程（不给城市文件则用示例城市）/ the whole job (sample city without a file)
      audit     数据体检 / the data audit: where the inputs are thin or missing
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


#: Command-line flags of the city options → (city-file key path, kind); ``path`` values are made
#: absolute (relative to the working folder) before they join the city file's keys.
_FLAG_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "network_path": (("network", "path"), "path"),
    "layer": (("network", "layer"), "value"),
    "encoding": (("network", "encoding"), "value"),
    "network_crs": (("network", "crs"), "value"),
    "outlets_path": (("outlets", "path"), "path"),
    "outlets_crs": (("outlets", "crs"), "value"),
    "outlets_lon": (("outlets", "lon"), "value"),
    "outlets_lat": (("outlets", "lat"), "value"),
    "outlets_encoding": (("outlets", "encoding"), "value"),
    "outlets_layer": (("outlets", "layer"), "value"),
    "residences_path": (("residences", "path"), "path"),
    "residences_crs": (("residences", "crs"), "value"),
    "residences_lon": (("residences", "lon"), "value"),
    "residences_lat": (("residences", "lat"), "value"),
    "residences_where": (("residences", "where"), "value"),
    "residences_encoding": (("residences", "encoding"), "value"),
    "residences_layer": (("residences", "layer"), "value"),
    "entrances": (("entrances", "path"), "path"),
    "entrances_crs": (("entrances", "crs"), "value"),
    "entrances_id": (("entrances", "residence_id"), "value"),
    "boundary": (("boundary", "path"), "path"),
    "boundary_crs": (("boundary", "crs"), "value"),
    "circles_path": (("circles", "path"), "path"),
    "circles_crs": (("circles", "crs"), "value"),
    "mapping": (("mapping",), "path"),
    "rulebook": (("rulebook",), "rulebook"),
    "survey": (("survey",), "rulebook"),
    "responses": (("responses",), "path"),
    "indicators": (("indicators",), "path"),
    "scores": (("scores",), "path"),
    "needs": (("needs",), "path"),
    "walk_speed": (("walk_speed",), "speed"),
    "city": (("name",), "value"),
    "max_snap": (("max_snap_m",), "value"),
    "k": (("k",), "value"),
    "bands": (("bands",), "bands"),
    "lang": (("lang",), "value"),
}
#: Flags applied to both point layers.
_BOTH_LAYERS = {"drop_missing": "drop_missing", "drop_outside": "drop_outside",
                "accept_offset": "accept_offset"}  # fmt: skip
#: The flag that sets a city-file key (for messages in the user's terms).
_FLAG_OF_KEY = {".".join(k): "--" + f.replace("_path", "").replace("_", "-") for f, (k, _) in
                _FLAG_KEYS.items()}  # fmt: skip
_FLAG_OF_KEY.update({"network.layer": "--layer", "network.encoding": "--encoding",
                     "name": "--city", "max_snap_m": "--max-snap"})  # fmt: skip


def _city_argument(f: Any) -> Any:
    return click.argument(
        "city_file", required=False, metavar="[CITY.toml]", type=click.Path(exists=True)
    )(f)


def _option(*names: str, **kw: Any) -> Any:
    return click.option(*names, default=kw.pop("default", None), **kw)


def _city_options(f: Any) -> Any:
    """The flags that describe a city; each overrides the city file's key of the same meaning."""
    path = click.Path(exists=True, dir_okay=False)
    opts = [
        _option(
            "--accept-offset",
            is_flag=True,
            default=False,
            help="接受与路网偏移不符的声明坐标系"
            "（仅警告）/ keep a declared CRS the offset check contradicts (warning only).",
        ),
        _option(
            "--drop-missing",
            is_flag=True,
            default=False,
            help="跳过缺坐标的行（记录在日志中）/ leave out rows without coordinates (logged).",
        ),
        _option(
            "--drop-outside",
            is_flag=True,
            default=False,
            help="跳过路网范围外的点（记录在日志中）/ leave out points outside the network's area "
            "(logged).",
        ),
        _option("--boundary-crs", type=CRS_CHOICES, help="研究范围坐标系 / CRS of the boundary."),
        _option(
            "--boundary",
            type=path,
            help="研究范围多边形（裁剪网点与小区）/ study-area polygon "
            "(clips outlets and residences).",
        ),
        _option(
            "--entrances-id", help="出入口表中的小区 id 列 / residence id column of the entrances."
        ),
        _option("--entrances-crs", type=CRS_CHOICES, help="出入口坐标系 / CRS of the entrances."),
        _option(
            "--entrances",
            type=path,
            help="小区出入口 (CSV/GeoJSON/GPKG，含 residence_id) / gates with residence_id.",
        ),
        _option("--residences-layer", help="小区图层名 / layer of the residences file."),
        _option(
            "--residences-encoding", help="小区文件编码，如 gbk / text encoding of residences."
        ),
        _option(
            "--residences-where",
            help="筛选小区的 pandas 查询，如 \"city == '西安'\" / pandas "
            "query to filter residences.",
        ),
        _option("--residences-lon", help="小区经度列 / longitude column of residences."),
        _option("--residences-lat", help="小区纬度列 / latitude column of residences."),
        _option(
            "--residences-crs",
            type=CRS_CHOICES,
            help="小区坐标系（默认 wgs84）/ coordinate system of residences (default wgs84).",
        ),
        _option(
            "--residences",
            "residences_path",
            type=path,
            help="小区/社区/楼栋 (CSV/GeoJSON/GPKG/.osm.pbf) / residences.",
        ),
        _option("--outlets-layer", help="网点图层名 / layer of the outlets file."),
        _option("--outlets-encoding", help="网点文件编码，如 gbk / text encoding of outlets."),
        _option("--outlets-lon", help="网点经度列 / longitude column of outlets."),
        _option("--outlets-lat", help="网点纬度列 / latitude column of outlets."),
        _option(
            "--outlets-crs",
            type=CRS_CHOICES,
            help="网点坐标系 wgs84/gcj02(高德)/bd09(百度)，"
            "默认 wgs84 / coordinate system of outlets (default wgs84).",
        ),
        _option(
            "--outlets",
            "outlets_path",
            type=path,
            help="商业网点 (CSV/GeoJSON/GPKG/.osm.pbf) / outlets.",
        ),
        _option(
            "--network-crs",
            help="路网坐标系（文件未声明时），如 EPSG:32649 / CRS of the "
            "network when its file declares none.",
        ),
        _option("--encoding", help="道路线属性表编码，如 gbk / attribute encoding of road lines."),
        _option("--layer", help="路网 GeoPackage 图层名 / layer name of the network file."),
        _option(
            "--network",
            "network_path",
            type=path,
            help="路网：.osm.pbf、OSMnx GraphML 或道路线 (GPKG/GeoJSON/SHP) / street network.",
        ),
    ]
    for opt in opts:
        f = opt(f)
    return _city_argument(f)


def _absolute(value: str) -> str:
    return str(Path(value).expanduser().resolve())


def _bands_value(text: str) -> list[float]:
    try:
        bands = [float(b) for b in str(text).split(",") if b.strip()]
    except ValueError:
        raise InputError(
            Problem(
                f"--bands {text!r}: expected minutes separated by commas",
                field="--bands",
                fix="e.g. --bands 5,10,15",
            ),
            "command line",
        ) from None
    if not bands:
        raise InputError(Problem("--bands is empty", field="--bands", fix="e.g. --bands 5,10,15"),
                         "command line")  # fmt: skip
    return bands


def _given(ctx: click.Context, name: str) -> bool:
    from click.core import ParameterSource

    source = ctx.get_parameter_source(name)
    return source is not None and source not in (ParameterSource.DEFAULT,)


def _city_spec(kw: dict[str, Any], *, need_layers: bool = True) -> Any:
    """The city of a command: the city file (if given) with every flag given on top.

    Without a city file the flags alone describe the city.  Flags and file keys go through the
    same validator; a problem with a key a flag set names the flag too.
    """
    from lifecircle._toml import read_toml
    from lifecircle.project.spec import spec_from_mapping

    ctx = click.get_current_context()
    city_file = kw.get("city_file")
    if city_file:
        path = Path(city_file)
        if path.is_dir():
            path = path / "city.toml"
        doc, text = read_toml(path, "city file", "check the TOML syntax near the position given")
    else:
        path, doc, text = Path.cwd() / "(command line)", {}, ""
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
    set_keys: set[str] = set()

    def put(keys: tuple[str, ...], value: Any) -> None:
        target = doc
        for key in keys[:-1]:
            current = target.get(key)
            if isinstance(current, str):
                current = {"path": current}
            target[key] = dict(current or {})
            target = target[key]
        target[keys[-1]] = value
        set_keys.add(".".join(keys))

    for name, (keys, kind) in _FLAG_KEYS.items():
        if name not in kw or kw[name] is None or not _given(ctx, name):
            continue
        value = kw[name]
        if kind == "path" or (kind == "rulebook" and Path(value).is_file()):
            value = _absolute(value)
        elif kind == "bands":
            value = _bands_value(value)
        elif kind == "speed":
            value = value if not _is_float(value) else float(value)
        put(keys, value)
    for name, key in _BOTH_LAYERS.items():
        if kw.get(name):
            for layer in ("outlets", "residences"):
                if layer in doc:
                    put((layer, key), True)
    if not city_file:
        doc.setdefault("name", kw.get("city") or "city")
        for layer in ("network", "outlets", "residences"):
            if layer not in doc and (need_layers or layer == "network"):
                flag = "--" + layer
                raise InputError(
                    Problem(
                        f"{flag} is required without a city file",
                        field=flag,
                        fix=f"give {flag} FILE, or a city file (lifecircle init writes one)",
                    ),
                    "command line",
                )
        if not need_layers:
            for layer in ("outlets", "residences"):
                doc.setdefault(layer, doc["network"])
    try:
        return spec_from_mapping(doc, path, text)
    except InputError as exc:
        raise _in_user_terms(exc, set_keys) from None


def _is_float(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _in_user_terms(exc: InputError, set_keys: set[str]) -> InputError:
    """Name the flag beside the key of every problem a flag caused."""
    problems = []
    for p in exc.problems:
        key = (p.field or "").split(" ")[0]
        flag = _FLAG_OF_KEY.get(key) if any(key.startswith(k) for k in set_keys) else None
        if flag:
            p = Problem(p.message, p.file, p.row, f"{p.field} ({flag})", p.fix)
        problems.append(p)
    return type(exc)(problems, exc.what)


@main.command(context_settings=CONTEXT)
@_city_options
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出 / print JSON.")
def inspect(as_json: bool, **kw: Any) -> None:
    """检查一个城市的输入数据 / Summarise and check a city's inputs.

    打印：各业态网点数、未分类比例及主要未匹配类型、路网里程、连通分量、范围、坐标系，
    以及发现的全部问题。Prints counts per 业态, the unclassified share with the top unmatched
    source types, network km, components, bounding box, CRS and every problem found.
    (数据体检见 lifecircle audit / for the data audit see lifecircle audit.)
    """
    from lifecircle.inspect import inspect_inputs, render_inspection

    spec = _city_spec(kw, need_layers=False)
    given = {k: kw.get(k) for k in ("outlets_path", "residences_path")}
    if kw.get("city_file"):  # the city file names both layers
        given = {"outlets_path": spec.outlets.path, "residences_path": spec.residences.path}
    o, r, n = dict(spec.outlets.options), dict(spec.residences.options), spec.network.options
    report = inspect_inputs(
        spec.network.path,
        outlets=given["outlets_path"],
        residences=given["residences_path"],
        outlets_crs=o.get("crs", "wgs84"),
        residences_crs=r.get("crs", "wgs84"),
        outlets_lon=o.get("lon"),
        outlets_lat=o.get("lat"),
        residences_lon=r.get("lon"),
        residences_lat=r.get("lat"),
        residences_where=r.get("where"),
        layer=n.get("layer"),
        encoding=n.get("encoding"),
        drop_missing=r.get("on_missing") == "drop",
        drop_outside=r.get("on_outside") == "drop",
    )
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(render_inspection(report))
    if report["problems"]:
        sys.exit(1)


def _write_summary(
    out: Path, inputs: Any, access: Any, extra: dict[str, Any] | None = None
) -> None:
    """``summary.json`` with the run's figures (the same as every other output's)."""
    from lifecircle.project.run import input_figures

    excluded = access.excluded if access is not None else None
    left_out = (
        excluded.loc[excluded["layer"] == "outlets", "id"].astype(str).tolist()
        if excluded is not None and len(excluded)
        else []
    )
    doc = {
        **(extra or {}),
        **input_figures(inputs, access.residences if access else None, left_out),
    }
    (out / "summary.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), "utf-8")


def _out_folder(out_dir: str | None, spec: Any) -> Path:
    from lifecircle.project.run import writable_folder

    folder = out_dir or spec.out
    if folder is None:
        raise InputError(
            Problem(
                "no output folder",
                field="--out",
                fix='give --out FOLDER, or out = "folder" in the city file',
            ),
            "command line",
        )
    return writable_folder(folder)


_OUT_OPTION = click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="输出目录（默认取城市文件的 out）/ output folder (default: the city file's out).",
)


def _access_options(f: Any) -> Any:
    opts = [
        click.option(
            "--formats",
            default="parquet,csv",
            show_default=True,
            help="输出格式 / output formats: parquet,csv.",
        ),
        _option(
            "--max-snap",
            type=float,
            help="最大吸附距离(米，默认 250)，超出的点被排除并说明原因 / points farther than this "
            "from every walkable edge are left out with a reason (default 250 m).",
        ),
        _option(
            "--k",
            "k",
            type=int,
            help="每个业态列出最近的 k 个网点（默认 3）/ k nearest outlets per 业态 (default 3).",
        ),
        _option(
            "--bands",
            help="步行时间圈(分钟，默认 5,10,15) / time bands in minutes (default 5,10,15).",
        ),
        _WALK_SPEED_OPTION,
    ]
    for opt in opts:
        f = opt(f)
    return f


@main.command(context_settings=CONTEXT)
@_city_options
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
def access(out_dir: str | None, with_nodes: bool, with_areas: bool, **kw: Any) -> None:
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
    from lifecircle.access import compute_access
    from lifecircle.project import read_inputs

    spec = _city_spec(kw)
    out = _out_folder(out_dir, spec)
    formats = [f.strip() for f in str(kw["formats"]).split(",") if f.strip()]
    inputs = read_inputs(spec, progress=True)
    bands = list(spec.bands)
    result = compute_access(
        inputs.network, inputs.outlets, inputs.residences, entrances=inputs.entrances,
        walk_speed=spec.walk_speed, bands_min=bands, k=spec.k, max_snap_m=spec.max_snap_m,
        progress=True,
    )  # fmt: skip
    files = result.write(out, formats)
    _write_summary(out, inputs, result)
    files.append(out / "summary.json")
    if with_nodes:
        from lifecircle.access import node_access

        nodes = node_access(
            inputs.network, inputs.outlets, categories=result.params["categories"],
            walk_speed=spec.walk_speed, bands_min=bands, max_snap_m=spec.max_snap_m,
            progress=True,
        )  # fmt: skip
        nodes.to_parquet(out / "nodes.parquet")
        files.append(out / "nodes.parquet")
    if with_areas:
        from lifecircle.access.isochrone import walking_areas

        ok = result.residences[result.residences["status"] == "ok"]
        areas = walking_areas(
            inputs.network, ok[["residence_id", "geometry"]], id_column="residence_id",
            minutes=bands, walk_speed=spec.walk_speed, max_snap_m=spec.max_snap_m,
        )  # fmt: skip
        areas.to_file(out / "walking_areas.gpkg", layer="walking_areas", driver="GPKG")
        files.append(out / "walking_areas.gpkg")
    click.echo(f"步行可达性已完成 Access done: {result.table.num_rows} rows")
    for f in files:
        click.echo(f"  {f}")


def _assess_options(f: Any) -> Any:
    path = click.Path(exists=True, dir_okay=False)
    opts = [
        _option("--city", help="城市/片区名称 / city or area name."),
        _option("--scores", type=path, help="评价打分 (CSV/Excel) / evaluator scores."),
        _option(
            "--indicators",
            type=path,
            help="服务评价指标表 (TOML，默认为建议稿) / indicator sheet (default: a proposal).",
        ),
        _option("--responses", type=path, help="满意度问卷答卷 (CSV/Excel) / survey responses."),
        _option(
            "--survey",
            help="问卷定义 TOML 或预设 default/four_point / survey definition or preset.",
        ),
        _option(
            "--rulebook",
            help="评级规则 TOML 或预设 default/shanxi_star/beijing_8 / rulebook file or preset.",
        ),
        _option(
            "--mapping", type=path, help="小区→生活圈对应表 (CSV/Excel) / residence → circle table."
        ),
        _option(
            "--circles-crs",
            type=CRS_CHOICES,
            help="生活圈边界坐标系 / CRS of the circle boundaries.",
        ),
        _option(
            "--circles",
            "circles_path",
            type=path,
            help="生活圈边界 (含 circle_id)；不给则自动"
            "划分 / circle boundaries; default: proposed automatically.",
        ),
    ]
    for opt in opts:
        f = opt(f)
    return f


def _projects_option(f: Any) -> Any:
    f = click.option(
        "--needs",
        type=click.Path(exists=True, dir_okay=False),
        default=None,
        help="居民需求清单 CSV/Excel（circle_id, category[, count]），同一优先级内提高该项目排序 / "
        "residents' needs (circle_id, category[, count]): raise that project within its "
        "priority tier (问需于民).",
    )(f)
    return click.option(
        "--projects/--no-projects",
        "with_projects",
        default=None,
        help="1+N 项目清单：报告中列出各生活圈缺什么、在哪补及全市汇总，并写出 projects.csv "
        "project_sites.csv city_plan.csv（--no-projects 跳过；默认取城市文件 projects）/ the 1+N "
        "project list in the reports and its three CSV files (--no-projects skips it).",
    )(f)


def _print_grades(assessment: Any) -> None:
    from lifecircle.assess import ALL_GRADES

    counts = assessment.grades["grade"].value_counts()
    parts = [f"{g} {int(counts.get(g, 0))}" for g in ALL_GRADES]
    click.echo(f"生活圈 Circles: {len(assessment.grades)} — " + ", ".join(parts))


def _print_audit(run: Any) -> None:
    c = run.audit.counts()
    click.echo(f"数据体检 Data audit: {c['ok']} ok, {c['warn']} warn, {c['fail']} fail (audit.csv)")
    table = run.audit.table
    for row in table.loc[table["status"] == "fail"].head(8).itertuples(index=False):
        click.secho(f"  ✗ {row.check}: {row.message}", fg="red")


def _print_figures(figures: dict[str, Any]) -> None:
    f = figures
    click.echo(
        f"小区 Residences: {f['residences_assessed']:,} assessed of {f['residences_read']:,} read; "
        f"户数 households {f['households_assessed']:,} ({f['households_known']:,} known + "
        f"{f['households_estimated']:,} estimated, {f['households_method']}); "
        f"网点 outlets {f['outlets_assessed']:,} assessed of {f['outlets_read']:,} read"
    )


def _print_plan(run: Any) -> None:
    if run.plan is not None:
        p = run.plan.projects
        click.echo(
            f"项目清单 Project list: {len(p)} projects in {p['circle_id'].nunique()} circles, "
            f"{run.plan.sites['site_id'].nunique()} sites proposed"
        )
        if run.plan.unchecked:
            click.echo("未能核实（POI 数据不含且未提供数据）Not checked (not in POI data, no city "
                       "data): " + ", ".join(run.plan.unchecked))  # fmt: skip


def _run_and_write(kw: dict[str, Any], out_dir: str | None, **write: Any) -> Any:
    from lifecircle.project import run_city

    spec = _city_spec(kw)
    out = _out_folder(out_dir, spec)
    click.echo(f"城市 City: {spec.name}" + (f" ({spec.source})" if spec.source else ""))
    run = run_city(spec, progress=True)
    _print_figures(run.figures)
    _print_audit(run)
    if write.get("reports") is not False:
        click.echo("报告 Writing reports …")
    files = run.write(out, **write)
    _print_plan(run)
    _print_grades(run.assessment)
    click.echo(f"结果 Results in {out.resolve()}:")
    for f in files[:20]:
        click.echo(f"  {f}")
    if len(files) > 20:
        click.echo(f"  … and {len(files) - 20} more")
    return run


@main.command(context_settings=CONTEXT)
@_city_options
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
def assess(out_dir: str | None, with_report: bool, with_projects: bool | None, **kw: Any) -> None:
    """生活圈评级：有没有、缺什么、KPI / Grade every life circle, with its evidence and KPIs.

    \b
    CITY.toml 为城市文件（lifecircle init 生成）；命令行参数覆盖文件中的同名设置。
    CITY.toml is a city file (lifecircle init writes one); flags override its keys.
    写出 / writes:
      OUT/summary.json     本次运行的总数（小区、户数及估算方法、人口、网点）/ the run's figures
      OUT/audit.csv        数据体检 / the data audit (ok/warn/fail per check and scope)
      OUT/grades.csv       每个生活圈一行：circle_id, 各级片区, grade（含 待核实）, households …
      OUT/evidence.csv     生活圈 × 业态 的"有没有"表 / the circle × 业态 evidence table
      OUT/kpis.csv         全市及各片区指标 / city and district KPIs (scope, basis)
      OUT/blind_spots.csv  各业态盲区小区 / residences lacking a 业态 within its band
      OUT/evaluation.csv   服务"好不好" 生活圈 × 指标（数据自动/评价打分/缺失）/ per circle × indicator
      OUT/evaluation_scores.csv  各生活圈得分及缺失指标 / score per circle, missing items listed
      OUT/circles.geojson, OUT/circle_mapping.csv  生活圈及可编辑的对应表 / circles, editable mapping
      (--report) OUT/report.html, report.pdf, report.xlsx, OUT/circles/*.html|.pdf
      (--report) OUT/projects.csv, project_sites.csv, city_plan.csv  1+N 项目清单 / project list
    """
    _run_and_write(kw, out_dir, reports=with_report, projects=with_projects)


@main.command(context_settings=CONTEXT)
@_city_options
@_assess_options
@_WALK_SPEED_OPTION
@_LANG_OPTION
@_projects_option
@_OUT_OPTION
def report(out_dir: str | None, with_projects: bool | None, **kw: Any) -> None:
    """评估并写出报告 HTML/PDF/Excel / Assess and write the reports (HTML, PDF, Excel).

    \b
    写出 / writes OUT/report.html, OUT/report.pdf, OUT/report.xlsx, OUT/circles/*.html
    and the tables of 'lifecircle assess'; with the 1+N project list (城市项目清单 in the
    city report, 本生活圈项目清单 on each circle's page, sheets 项目清单/建议点位/全市计划)
    OUT/projects.csv, OUT/project_sites.csv, OUT/city_plan.csv (--no-projects: none).
    """
    _run_and_write(kw, out_dir, reports=True, projects=with_projects)


@main.command(context_settings=CONTEXT)
@_city_options
@_OUT_OPTION
def audit(**kw: Any) -> None:
    """数据体检：输入数据哪里不全、哪里过少 / The data audit: where the inputs are thin or missing.

    \b
    写出 OUT/audit.csv（check, scope, category, value, threshold, status, message, message_en）、
    OUT/duplicates.csv 与 OUT/summary.json；有 fail 项时退出码为 1。
    Writes OUT/audit.csv, OUT/duplicates.csv and OUT/summary.json (OUT = the city file's out,
    or --out); exits with 1 when a check fails.
    """
    from lifecircle.project import audit_city, read_inputs

    spec = _city_spec(kw)
    out = _out_folder(kw.get("out_dir"), spec)
    inputs = read_inputs(spec, progress=True)
    result = audit_city(inputs)
    result.table.to_csv(out / "audit.csv", index=False, encoding="utf-8-sig")
    result.duplicates.to_csv(out / "duplicates.csv", index=False, encoding="utf-8-sig")
    result.brands.to_csv(out / "brands.csv", index=False, encoding="utf-8-sig")
    _write_summary(out, inputs, None, extra={"audit": result.counts()})
    c = result.counts()
    click.echo(
        f"数据体检 Data audit of {spec.name}: {c['ok']} ok, {c['warn']} warn, {c['fail']} fail"
    )
    for row in result.table.loc[result.table["status"] != "ok"].itertuples(index=False):
        mark = "✗" if row.status == "fail" else "!"
        click.secho(f"  {mark} {row.check} [{row.scope}] {row.message}",
                    fg="red" if row.status == "fail" else "yellow")  # fmt: skip
    if len(result.brands):
        top = ", ".join(f"{b} {n}" for b, n in result.brands[["brand", "outlets"]].head(12).values)
        click.echo(
            f"连锁品牌 Chain brands found ({len(result.brands)}; brands.csv, confirm with "
            f"chains.brands or reject with chains.not_chains): {top}"
        )
    click.echo(
        f"结果 Results in {out.resolve()}: audit.csv, duplicates.csv, brands.csv, summary.json"
    )
    if c["fail"]:
        sys.exit(1)


@main.command(context_settings=CONTEXT)
@_city_options
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
    out_dir: str | None,
    category: str,
    p: int | None,
    model: str,
    candidates_path: str | None,
    candidates_crs: str,
    spacing: float,
    band: float | None,
    target: float,
    use_capacities: bool,
    method: str,
    time_limit: float,
    **kw: Any,
) -> None:
    """新增网点选址：按步行网络覆盖 / Where to open new outlets of one 业态, on walking coverage.

    覆盖 = 在该业态步行圈内（沿路网步行，不用直线距离）；现有同业态网点保留。户数与
    lifecircle assess 相同（同一户数口径，见 summary.json）。
    Covered = within the 业态's band walking along the network; existing outlets stay.  The
    households are those of lifecircle assess (the same household policy).

    \b
    写出 / writes:
      OUT/sites.csv      site_id, lon, lat, households_gained
      OUT/sites.geojson  同上，含候选点属性 / the same with the candidates' data
      OUT/summary.json   households_covered_before, households_covered_after, objective,
                         bound, gap, method …
    """
    from lifecircle.plan import plan_sites, read_candidates
    from lifecircle.project import read_inputs

    spec = _city_spec(kw)
    out = _out_folder(out_dir, spec)
    inputs = read_inputs(spec, progress=True)
    candidates = None
    if candidates_path:
        o = spec.residences.options
        candidates = read_candidates(
            candidates_path,
            crs=candidates_crs,
            network=inputs.network,
            on_missing=o.get("on_missing", "error"),
            on_outside=o.get("on_outside", "error"),
        )
    result = plan_sites(
        inputs.network, inputs.outlets, inputs.residences, category=category, p=p,
        model=model, candidates=candidates, band_min=band, walk_speed=spec.walk_speed,
        spacing_m=spacing, target=target, use_capacities=use_capacities,
        time_limit=time_limit, method=method,
    )  # fmt: skip
    files = result.write(out)
    _write_summary(out, inputs, None, extra=json.loads((out / "summary.json").read_text("utf-8")))
    s = result.summary()
    gap = "—" if s["gap"] is None else f"{100 * s['gap']:.2f}%"
    click.echo(
        f"{s['category_zh']} {s['category']}: {s['n_sites']} 个新网点 new sites "
        f"({s['model']}, {s['method']}, {s['status']}, gap {gap})"
    )
    click.echo(
        f"步行 {s['band_min']:g} 分钟覆盖户数 Households within {s['band_min']:g} min: "
        f"{s['households_covered_before']:,.0f} → {s['households_covered_after']:,.0f} "
        f"of {s['households_total']:,.0f} ({inputs.households.describe()})"
    )
    click.echo(f"结果 Results in {out.resolve()}:")
    for f in files:
        click.echo(f"  {f}")


@main.command(context_settings=CONTEXT)
@click.argument("folder", type=click.Path(file_okay=False))
@click.option(
    "--name", default=None, help="城市/片区名称 / the city's name (default: the folder's)."
)
def init(folder: str, name: str | None) -> None:
    """新建城市文件（带中英文注释的模板）/ Write a commented city file template.

    \b
    写出 FOLDER/city.toml；填好路径后运行 lifecircle audit FOLDER/city.toml。
    Writes FOLDER/city.toml; fill in the paths, then run lifecircle audit FOLDER/city.toml.
    """
    from importlib import resources

    target = Path(folder) / "city.toml"
    if target.exists():
        raise InputError(
            Problem(
                f"{target} already exists",
                field="FOLDER",
                fix="choose another folder, or edit the existing city file",
            ),
            "command line",
        )
    Path(folder).mkdir(parents=True, exist_ok=True)
    title = name or Path(folder).resolve().name
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in title).strip("_") or "city"
    text = (resources.files("lifecircle.project") / "data" / "city_template.toml").read_text(
        "utf-8"
    )
    text = text.replace("{version}", __version__).replace("{name}", title.replace('"', "'"))
    target.write_text(text.replace("{id}", slug), "utf-8")
    click.echo(f"已写出城市文件 City file written: {target}")
    click.echo(f"下一步 Next: 填写路径 fill in the paths, then  lifecircle audit {target}")


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
@_city_argument
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="输出目录（默认：城市文件的 out，示例城市为 lifecircle-output）/ output folder (default: "
    "the city file's out; lifecircle-output for the sample city).",
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
    city_file: str | None,
    out_dir: str | None,
    walk_speed: str,
    lang: str,
    with_serve: bool,
    with_projects: bool | None,
    port: int,
    needs: str | None = None,
) -> None:
    """运行完整流程：数据体检 → 步行可达性 → 评级 → 报告 → 网页平台 / Run the whole job.

    \b
    CITY.toml 为城市文件（lifecircle init 生成）；不给则使用内置示例城市（赫尔辛基 OSM，
    © OpenStreetMap contributors, ODbL）。
    CITY.toml is a city file (lifecircle init writes one); without it the bundled sample city
    (central Helsinki, OpenStreetMap, ODbL) is used.
    """
    from lifecircle.project import run_city
    from lifecircle.project.spec import spec_from_mapping

    ctx = click.get_current_context()
    t0 = time.perf_counter()
    if city_file:
        spec = _city_spec(
            {"city_file": city_file, "walk_speed": walk_speed, "lang": lang, "needs": needs}
        )
    else:
        from lifecircle.datasets import get_path

        pbf = str(get_path("helsinki"))
        click.echo(f"示例城市 Sample city: {Path(pbf).name} (© OpenStreetMap contributors, ODbL)")
        doc: dict[str, Any] = {
            "name": "Helsinki 赫尔辛基（示例 sample）",
            "id": "helsinki",
            "attribution": "© OpenStreetMap contributors (ODbL)",
            "network": pbf,
            "outlets": pbf,
            "residences": pbf,
            "walk_speed": float(walk_speed) if _is_float(walk_speed) else walk_speed,
            "lang": lang,
            "out": str(Path(out_dir or "lifecircle-output").resolve()),
        }
        if needs:
            doc["needs"] = _absolute(needs)
        spec = spec_from_mapping(doc, Path.cwd() / "(sample city)")
    if not _given(ctx, "lang") and city_file:
        lang = spec.lang
    out = _out_folder(out_dir, spec)
    run_ = run_city(spec, progress=True)
    net = run_.inputs.network
    click.echo(f"路网 Network: {net.n_nodes} nodes, {net.n_edges} edges, {net.total_km:.1f} km")
    _print_figures(run_.figures)
    _print_audit(run_)
    coverage = _coverage_summary(run_.assessment.access)
    click.echo("\n各业态 15 分钟步行覆盖率 Share of residences with the 业态 within 15 min:")
    for row in coverage["coverage"][:40]:
        click.echo(f"  {row['category_zh']:<12} {row['category']:<24} {row['share_15min']:6.1%}")
    _print_grades(run_.assessment)
    click.echo("报告 Writing reports (HTML, PDF, Excel) …")
    files = run_.write(out, reports=True, lang=lang, projects=with_projects)
    _print_plan(run_)
    summary_path = out / "summary.json"
    summary = json.loads(summary_path.read_text("utf-8"))
    summary.update(coverage)
    summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2), "utf-8")
    click.echo(f"\n完成 Done in {time.perf_counter() - t0:.1f} s. 结果 Results in {out.resolve()}:")
    for f in files[:12]:
        click.echo(f"  {f}")
    if len(files) > 12:
        click.echo(f"  … and {len(files) - 12} more (circle pages in {out / 'circles'})")
    click.echo(f"打开报告 Open the report: {(out / 'report.html').resolve().as_uri()}")
    if with_serve:
        click.echo("\n启动网页平台 Starting the web platform …")
        _serve("127.0.0.1", port, None, (city_file,) if city_file else ())


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


from lifecircle.acquire.cli import register as _register_acquire  # noqa: E402

_register_acquire(main)  # lifecircle fetch … / lifecircle template …

from lifecircle.web.admin_cli import admin as _admin  # noqa: E402

main.add_command(_admin)  # lifecircle admin …: accounts of the web platform

if __name__ == "__main__":  # pragma: no cover
    main()

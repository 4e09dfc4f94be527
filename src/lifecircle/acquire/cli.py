"""Command-line commands of :mod:`lifecircle.acquire`: ``lifecircle fetch …`` and ``lifecircle template``.

Thin: options are parsed here, the work is done by the library.  Registered on the main group at
the end of :mod:`lifecircle.cli`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

__all__ = ["fetch", "register", "template"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}
_CRS = click.Choice(["wgs84", "gcj02", "bd09"], case_sensitive=False)


@click.group(context_settings=CONTEXT)
def fetch() -> None:
    """获取真实城市的数据 / Get a real city's data.

    \b
      amap      高德 POI（多边形搜索，按类型编码，自动切分不截断）/ Amap places, complete
      baidu     百度 POI（矩形检索，按分类标签，自动切分不截断）/ Baidu places, complete
      osm       按边界裁剪 OSM .pbf，写出路网/网点/小区图层 / clip an OSM extract to a boundary
      boundary  行政区划边界（高德行政区查询或文件）/ an administrative boundary
    """


_OUT_DIR_OPTION = click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="输出目录 / output folder.",
)


def _key_options(env: str, what: str) -> Callable[[Any], Any]:
    """``--key`` (or the environment variable ``env``) and ``--key-file``."""

    def wrap(f: Any) -> Any:
        f = click.option(
            "--key-file",
            type=click.Path(exists=True, dir_okay=False),
            default=None,
            help="密钥文件（第一行）/ a file whose first line is the key.",
        )(f)
        return click.option(
            "--key",
            envvar=env,
            show_envvar=True,
            default=None,
            help=f"{what}密钥（建议用环境变量 {env} 或 --key-file，不会写入任何输出或日志）"
            f" / your key (better from {env} or --key-file; never written to outputs or logs).",
        )(f)

    return wrap


def _boundary_options(f: Any) -> Any:
    f = click.option(
        "--boundary-crs",
        type=_CRS,
        default="wgs84",
        show_default=True,
        help="边界坐标系（高德行政区边界为 gcj02）/ coordinate system of the boundary file.",
    )(f)
    f = click.option(
        "--boundary",
        "boundary_path",
        required=True,
        type=click.Path(exists=True, dir_okay=False),
        help="城市边界 GeoJSON/GPKG/SHP / the city's boundary polygon.",
    )(f)
    return f


def _provider_options(env: str) -> Callable[[Any], Any]:
    def wrap(f: Any) -> Any:
        opts = [
            click.option(
                "--categories",
                default=None,
                help="业态，逗号分隔（代码或中文名；默认全部）/ 业态 codes or names, comma-separated"
                " (default: all).",
            ),
            click.option(
                "--qps",
                type=float,
                default=3.0,
                show_default=True,
                help="每秒最多请求数 / requests per second at most.",
            ),
            click.option(
                "--max-requests",
                type=int,
                default=None,
                help="本次最多发送的请求数（当日剩余配额）/ requests this run may send (the quota left).",
            ),
            click.option(
                "--cache",
                type=click.Path(dir_okay=False),
                default=None,
                help="SQLite 缓存文件（默认 OUT/<provider>_cache.sqlite；中断后重跑即续传，不重复请求）"
                " / SQLite cache (default OUT/<provider>_cache.sqlite; a re-run resumes, asks nothing twice).",
            ),
            click.option(
                "--retries", type=int, default=4, show_default=True, help="重试次数 / retries."
            ),
            click.option(
                "--backoff",
                type=float,
                default=1.0,
                show_default=True,
                help="首次重试等待秒数（之后加倍）/ first wait before a retry, doubled each time (s).",
            ),
            click.option(
                "--base-url",
                default=None,
                help="服务地址（代理或测试服务器）/ the service's address (a proxy or a test server).",
            ),
            click.option(
                "--cap",
                type=int,
                default=None,
                help="单次查询结果上限（默认按服务文档）/ the service's per-query result cap.",
            ),
            _OUT_DIR_OPTION,
        ]
        for opt in reversed(opts):
            f = opt(f)
        return _boundary_options(_key_options(env, "")(f))

    return wrap


def _read_key(key: str | None, key_file: str | None, env: str) -> str:
    if key_file is not None:
        lines = Path(key_file).read_text(encoding="utf-8-sig").split()
        key = lines[0] if lines else ""
    if not key:
        raise click.UsageError(
            f"没有密钥 / no key: set the environment variable {env}, or give --key-file FILE."
        )
    return key.strip()


@contextmanager
def _request_bar(label: str) -> Iterator[Callable[[int], None]]:
    from tqdm import tqdm

    with tqdm(desc=label, unit=" 请求 req", disable=None) as bar:
        yield bar.update


def _run_places(provider: str, env: str, kw: dict[str, Any]) -> None:
    from lifecircle.acquire import fetch_amap_places, fetch_baidu_places, read_boundary

    key = _read_key(kw["key"], kw["key_file"], env)
    boundary = read_boundary(kw["boundary_path"], kw["boundary_crs"])
    out = Path(kw["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "categories": [c.strip() for c in kw["categories"].split(",") if c.strip()]
        if kw["categories"]
        else None,
        "cache": kw["cache"] or out / f"{provider}_cache.sqlite",
        "qps": kw["qps"],
        "max_requests": kw["max_requests"],
        "retries": kw["retries"],
        "backoff_s": kw["backoff"],
    }
    if kw["base_url"]:
        options["base_url"] = kw["base_url"]
    if kw["cap"]:
        options["cap"] = kw["cap"]
    run = fetch_amap_places if provider == "amap" else fetch_baidu_places
    with _request_bar(f"{provider} 查询 queries") as progress:
        result = run(boundary, key, progress=progress, **options)
    paths = result.write(out)
    m = result.manifest
    click.echo(
        f"{provider}: {m['places']} 个网点 places ({m['crs']}); 请求 requests sent {m['requests_sent']}, "
        f"缓存 from cache {m['requests_cached']}; 去重 duplicates {m['duplicates_removed']}, "
        f"边界外 outside {m['outside_boundary']}"
    )
    if m["truncated_cells"]:
        click.secho(
            f"注意 Note: {len(m['truncated_cells'])} 个最小网格仍达上限 cells still at the cap "
            "(listed in the manifest)",
            fg="yellow",
            err=True,
        )
    for p in paths:
        click.echo(f"  {p}")
    date = m["query_date_last"]
    click.echo(
        f'城市文件 In the city file: [outlets] path = "{paths[0]}", crs = "{m["crs"]}"'
        + (f", date = {date}" if date else "")
    )


@fetch.command(context_settings=CONTEXT)
@_provider_options("LIFECIRCLE_AMAP_KEY")
def amap(**kw: Any) -> None:
    """高德 POI：多边形搜索，结果达上限的网格四分直至全部取回 / Every Amap place of the 业态 in a boundary.

    Queries Amap's polygon search by the catalogue's type codes; a cell whose result count reaches
    the cap is split into four until every cell is under it.  Writes amap_places.csv (GCJ-02
    coordinates as Amap gives them, lng_gcj02/lat_gcj02) and amap_manifest.json.
    """
    _run_places("amap", "LIFECIRCLE_AMAP_KEY", kw)


@fetch.command(context_settings=CONTEXT)
@_provider_options("LIFECIRCLE_BAIDU_AK")
def baidu(**kw: Any) -> None:
    """百度 POI：矩形检索，结果达上限的网格四分直至全部取回 / Every Baidu place of the 业态 in a boundary.

    Queries Baidu's place search (bounds) by the catalogue's tags; a cell whose total reaches the
    cap is split into four until every cell is under it.  Writes baidu_places.csv (BD-09
    coordinates as Baidu gives them, lng_bd09/lat_bd09) and baidu_manifest.json.
    """
    _run_places("baidu", "LIFECIRCLE_BAIDU_AK", kw)


@fetch.command(context_settings=CONTEXT)
@click.option(
    "--district",
    default=None,
    help="行政区名称或编码（高德行政区查询）/ district name or adcode (Amap district API).",
)
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="或从文件读取 / or read the boundary from a file.",
)
@click.option(
    "--from-crs",
    type=_CRS,
    default="wgs84",
    show_default=True,
    help="文件的坐标系 / coordinate system of --from-file.",
)
@_key_options("LIFECIRCLE_AMAP_KEY", "高德")
@click.option("--base-url", default=None, help="服务地址 / the service's address.")
@click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="输出 GeoJSON / output GeoJSON file.",
)
@click.option(
    "--out-crs",
    type=_CRS,
    default="gcj02",
    show_default=True,
    help="输出坐标系 / coordinate system written.",
)
def boundary(
    district: str | None,
    from_file: str | None,
    from_crs: str,
    key: str | None,
    key_file: str | None,
    base_url: str | None,
    out_file: str,
    out_crs: str,
) -> None:
    """行政区划边界 / An administrative boundary, from Amap's district API or a file.

    Writes a bare GeoJSON geometry, in GCJ-02 by default as Amap's boundaries are; give it to the
    other commands with --boundary FILE --boundary-crs gcj02.
    """
    import json

    import shapely

    from lifecircle.acquire import convert_geometry, read_boundary

    if (district is None) == (from_file is None):
        raise click.UsageError(
            "给出 --district 或 --from-file 之一 / give --district or --from-file."
        )
    if from_file is not None:
        wgs = read_boundary(from_file, from_crs)
        label = Path(from_file).name
    else:
        from lifecircle.acquire._client import open_client
        from lifecircle.acquire.boundary import AMAP_URL, fetch_district, judge_amap

        secret = _read_key(key, key_file, "LIFECIRCLE_AMAP_KEY")
        with open_client(
            "amap", base_url or AMAP_URL, secret, "key", judge_amap, qps=3.0
        ) as client:
            found = fetch_district(client, str(district))
        wgs = convert_geometry(found.boundary_gcj02, "gcj02", "wgs84")
        label = f"{found.name} ({found.adcode}, {found.level})"
    geometry = convert_geometry(wgs, "wgs84", out_crs)
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(shapely.geometry.mapping(geometry)), encoding="utf-8")
    click.echo(f"边界 Boundary {label} → {out} ({out_crs})")


@fetch.command(context_settings=CONTEXT)
@click.option(
    "--pbf",
    "pbf_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="区域 OSM 数据 .osm.pbf（如 Geofabrik 全国文件）/ the regional extract.",
)
@_boundary_options
@click.option(
    "--buffer",
    "buffer_m",
    type=float,
    default=1000.0,
    show_default=True,
    help="边界外扩（米）/ margin around the boundary, metres.",
)
@click.option("--name", default=None, help="城市名称（默认取边界文件名）/ the city's name.")
@click.option(
    "--no-layers",
    is_flag=True,
    help="只裁剪，不读出路网/网点/小区图层 / clip only, skip writing the layers.",
)
@_OUT_DIR_OPTION
def osm(
    pbf_path: str,
    boundary_path: str,
    boundary_crs: str,
    buffer_m: float,
    name: str | None,
    no_layers: bool,
    out_dir: str,
) -> None:
    """按边界裁剪 OSM 数据，写出路网、网点、小区图层和城市配置 / Clip an OSM extract to a city.

    Streams the extract with pyosmium in bounded memory: nodes inside the boundary + buffer, every
    way touching them (complete) and every relation with a kept member.  Writes city.osm.pbf,
    city.toml (the city file every command reads, naming the clip for network, outlets and
    residences, with boundary.geojson and the buffer), clip.json (counts, MB/s) and, unless
    --no-layers, network.gpkg, outlets.gpkg and residences.gpkg read from the clip by the same
    readers as every input.
    """
    import json

    from tqdm import tqdm

    from lifecircle.acquire import read_boundary
    from lifecircle.acquire.osm_clip import clip_osm, extract_date, write_city_file

    boundary_geom = read_boundary(boundary_path, boundary_crs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "city.osm.pbf"
    with tqdm(desc="裁剪 clipping", unit=" obj", unit_scale=True, disable=None) as bar:
        report = clip_osm(
            pbf_path, boundary_geom, target, buffer_m=buffer_m, overwrite=True, progress=bar.update
        )
    summary = {
        "source": str(pbf_path),
        "boundary": str(boundary_path),
        "boundary_crs": boundary_crs,
        "buffer_m": buffer_m,
        "nodes_inside": report.nodes_inside,
        "ways": report.ways,
        "relations": report.relations,
        "input_mb": round(report.input_bytes / 1e6, 3),
        "seconds": report.seconds,
        "mb_per_s": report.mb_per_s,
    }
    (out / "clip.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    city = write_city_file(
        out,
        name or Path(boundary_path).stem,
        target,
        boundary_geom,
        buffer_m=buffer_m,
        date=extract_date(pbf_path),
    )
    click.echo(
        f"裁剪 Clipped {summary['input_mb']:.1f} MB in {report.seconds:.1f} s "
        f"({report.mb_per_s:.1f} MB/s): {report.ways} 条路/面 ways, {report.relations} relations"
    )
    if not no_layers:
        _write_osm_layers(target, out)
    click.echo(f"  {target}\n  {city}")


def _write_osm_layers(pbf: Path, out: Path) -> None:
    """Read the clip with the layer readers (validating it) and write GeoPackages to look at."""
    from lifecircle.ingest import read_network, read_outlets, read_residences

    network = read_network(pbf, keep="all")
    network.edges_gdf().to_file(out / "network.gpkg", layer="edges", driver="GPKG")
    outlets = read_outlets(pbf)
    outlets.to_file(out / "outlets.gpkg", driver="GPKG")
    residences = read_residences(pbf)
    residences.drop(columns="footprint", errors="ignore").to_file(
        out / "residences.gpkg", driver="GPKG"
    )
    click.echo(
        f"路网 network {network.n_edges} edges ({network.total_km:.1f} km); 网点 outlets "
        f"{len(outlets)}; 小区/住宅 residences {len(residences)}"
    )


@click.group(context_settings=CONTEXT)
def template() -> None:
    """Excel 填报模板：写出与读回 / Excel templates of a city's own tables: write, read back.

    \b
      outlets     商务局网点普查模板 / the commerce bureau's outlet census
      residences  住建局小区名录模板 / the housing bureau's 小区 list
      read        读回填好的模板并校验，写出各命令可用的图层 / read a filled one back
    """


_XLSX_OUT = click.option(
    "--out",
    "out_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="输出 .xlsx 文件 / the .xlsx file to write.",
)
_NO_EXAMPLE = click.option(
    "--no-example", is_flag=True, help="不写示例行 / leave out the example row."
)


def _write_template(kind: str, out_file: str, no_example: bool) -> None:
    from lifecircle.acquire.templates import write_template

    path = write_template(kind, out_file, example=not no_example)  # type: ignore[arg-type]
    click.echo(f"模板 Template ({kind}) → {path}")


@template.command("outlets", context_settings=CONTEXT)
@_XLSX_OUT
@_NO_EXAMPLE
def template_outlets(out_file: str, no_example: bool) -> None:
    """商务局网点普查模板 / The outlet census template.

    名称, 业态 (drop-down list), 地址, 经度/纬度 + 坐标系 (drop-down list), 品牌, 是否连锁, 营业面积,
    营业时间, 服务项目, 从业人数; an instructions sheet (填写说明).
    """
    _write_template("outlets", out_file, no_example)


@template.command("residences", context_settings=CONTEXT)
@_XLSX_OUT
@_NO_EXAMPLE
def template_residences(out_file: str, no_example: bool) -> None:
    """住建局小区名录模板 / The 小区 list template.

    小区名称, 户数, 人口, 出入口经纬度 + 坐标系 (drop-down list), 地址; more gates on the sheet 出入口;
    an instructions sheet (填写说明).
    """
    _write_template("residences", out_file, no_example)


@template.command("read", context_settings=CONTEXT)
@click.argument("xlsx", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--match",
    "match_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="按名称为无坐标的行匹配 POI（fetch amap/baidu 的 *_places.csv）"
    " / match rows without coordinates by name to a provider import.",
)
@_OUT_DIR_OPTION
def template_read(xlsx: str, match_path: str | None, out_dir: str) -> None:
    """读回填好的模板并校验 / Read a filled template back, validated as every layer.

    Writes <name>.gpkg (WGS-84 points that --outlets/--residences and the city file accept),
    for residences also <name>_entrances.gpkg (for --entrances), and without_coordinates.csv
    listing the rows that have no coordinates (with --match, the provider place of the same name).
    Every problem names the file, the sheet, the row and the column.
    """
    import pandas as pd

    from lifecircle.acquire.templates import match_by_name, read_template

    layer = read_template(xlsx)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(xlsx).stem
    written = []
    if len(layer):
        path = out / f"{stem}.gpkg"
        layer.drop(columns="footprint", errors="ignore").to_file(path, driver="GPKG")
        written.append(path)
    gates = layer.attrs.get("entrances")
    if gates is not None and len(gates):
        path = out / f"{stem}_entrances.gpkg"
        gates.to_file(path, driver="GPKG")
        written.append(path)
    missing = layer.attrs.get("without_coordinates", pd.DataFrame())
    if len(missing):
        if match_path is not None:
            places = pd.read_csv(match_path, dtype=str, encoding="utf-8-sig")
            missing = match_by_name(missing, places)
        path = out / "without_coordinates.csv"
        missing.to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    click.echo(
        f"读入 Read {len(layer)} 行 rows with coordinates; {len(missing)} 行无坐标 without "
        "(listed; addresses cannot be geocoded offline)"
    )
    for p in written:
        click.echo(f"  {p}")


def register(group: click.Group) -> None:
    """Add ``fetch`` and ``template`` to the main command group."""
    group.add_command(fetch)
    group.add_command(template)

"""Batch runs on a 2-worker LocalCluster: equal to the serial run, resumable, failures contained.

One cluster and one pair of runs serve the whole module (LocalCluster startup is slow): three
real areas (Xi'an old town west and east of 108.943°E, the west one in 2 tiles, and the bundled
Helsinki extract) plus a city whose outlets file is corrupt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

from lifecircle.batch import (
    BatchSummary,
    batch_client,
    build_rollup,
    load_batch_config,
    run_batch,
)
from lifecircle.datasets import get_path

pytestmark = pytest.mark.shared_data

GOOD = ("xian_west", "xian_east", "helsinki")
TABLES = ("grades.csv", "evidence.csv", "kpis.csv", "blind_spots.csv", "circle_mapping.csv")


def _xian_city(name: str, city_id: str, lon_range: str, xian: dict[str, Path], extra: str) -> str:
    where = (
        "city == '西安' and source in ['ke.com', 'sofang.com'] and "
        f"{lon_range} and 34.250 <= lat_wgs84 <= 34.283"
    )
    return f"""
[[city]]
name = "{name}"
id = "{city_id}"
group = "西安"
network = "{xian["gpkg"].as_posix()}"
outlets = {{ path = "{xian["poi"].as_posix()}", crs = "bd09", lon = "lng_bd09", lat = "lat_bd09" }}
residences = {{ path = "{xian["xiaoqu"].as_posix()}", where = "{where}", crs = "bd09", lon = "lng_bd09", lat = "lat_bd09", drop_missing = true, drop_outside = true }}
{extra}
"""


def _config(folder: Path, xian: dict[str, Path], *, broken: bool) -> Path:
    pbf = get_path("helsinki").as_posix()
    text = '[batch]\ntitle = "测试汇总 Test roll-up"\n[defaults]\nreport = false\n'
    text += _xian_city(
        "西安老城西", "xian_west", "108.915 <= lng_wgs84 < 108.943", xian, "tiles = 2"
    )
    text += _xian_city("西安老城东", "xian_east", "108.943 <= lng_wgs84 <= 108.971", xian, "")
    text += '[[city]]\nname = "Helsinki"\nid = "helsinki"\ngroup = "Suomi"\n'
    text += f'network = "{pbf}"\noutlets = "{pbf}"\nresidences = "{pbf}"\n'
    if broken:
        (folder / "broken_outlets.csv").write_text(
            "outlet_id,name,lon,lat,category\n"
            "1,A,24.94,60.17,convenience_store\n"
            "2,B,abc,60.17,breakfast\n",
            encoding="utf-8",
        )
        text += '[[city]]\nname = "Broken"\nid = "broken"\ngroup = "Suomi"\n'
        text += f'network = "{pbf}"\noutlets = "broken_outlets.csv"\nresidences = "{pbf}"\n'
    path = folder / ("batch.toml" if broken else "serial.toml")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("batch")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with batch_client(n_workers=2, dashboard_address=":0") as c:
        yield c


@pytest.fixture(scope="module")
def serial(folder: Path, xian_dir: dict[str, Path]) -> BatchSummary:
    config = load_batch_config(_config(folder, xian_dir, broken=False))
    return run_batch(config, out=folder / "serial", client=None)


@pytest.fixture(scope="module")
def runs(folder: Path, xian_dir: dict[str, Path], client: Any) -> tuple[BatchSummary, BatchSummary]:
    config = load_batch_config(_config(folder, xian_dir, broken=True))
    first = run_batch(config, out=folder / "cluster", client=client)
    second = run_batch(config, out=folder / "cluster", client=client)
    return first, second


def _log(summary: BatchSummary) -> list[dict[str, Any]]:
    """This run's events in the run log."""
    events = [json.loads(line) for line in summary.run_log.read_text("utf-8").splitlines()]
    return [e for e in events if e["run_id"] == summary.run_id]


def _status(summary: BatchSummary) -> dict[str, str]:
    return {r["id"]: r["status"] for r in summary.records}


def test_cluster_results_equal_the_serial_run(serial: BatchSummary, runs: tuple) -> None:
    first, _ = runs
    assert _status(serial) == dict.fromkeys(GOOD, "ok")
    for city in GOOD:
        a, b = serial.out / city, first.out / city
        for name in TABLES:
            pd.testing.assert_frame_equal(pd.read_csv(a / name), pd.read_csv(b / name))
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / "access.parquet"), pd.read_parquet(b / "access.parquet")
        )
        assert gpd.read_parquet(a / "residences.parquet").equals(
            gpd.read_parquet(b / "residences.parquet")
        )
        assert gpd.read_file(a / "circles.geojson").equals(gpd.read_file(b / "circles.geojson"))
        snap_a, snap_b = (json.loads((d / "snapshot.json").read_text("utf-8")) for d in (a, b))
        for snap in (snap_a, snap_b):
            snap.pop("date"), snap.pop("timings_s")
        assert snap_a == snap_b
    west = pd.read_csv(first.out / "xian_west" / "grades.csv")
    assert len(west) > 0


def test_failed_city_is_logged_and_the_others_are_intact(runs: tuple) -> None:
    first, _ = runs
    assert _status(first) == {**dict.fromkeys(GOOD, "ok"), "broken": "failed"}
    assert first.exit_code == 1
    (failed,) = [e for e in _log(first) if e.get("id") == "broken"]
    assert failed["stage"] == "ingest"
    assert failed["error_type"] == "InputError"
    assert "broken_outlets.csv, row 2, field 'lon'" in failed["error"]
    (problem,) = failed["problems"]
    assert (Path(problem["file"]).name, problem["row"], problem["field"]) == (
        "broken_outlets.csv",
        2,
        "lon",
    )
    assert problem["fix"]
    assert not (first.out / "broken" / "manifest.json").exists()
    for city in GOOD:
        manifest = json.loads((first.out / city / "manifest.json").read_text("utf-8"))
        assert manifest["status"] == "ok"
        assert all((first.out / city / f).is_file() for f in manifest["outputs"])


def test_run_log_has_timings_memory_and_workers(runs: tuple) -> None:
    first, _ = runs
    events = _log(first)
    start = events[0]
    assert start["event"] == "start" and start["workers"] == 2 and start["n_cities"] == 4
    assert events[-1]["event"] == "end"
    assert (events[-1]["ok"], events[-1]["failed"]) == (3, 1)
    ok = {e["id"]: e for e in events if e.get("event") == "city" and e["status"] == "ok"}
    for record in ok.values():
        assert {"check", "ingest", "assess", "write"} <= set(record["timings_s"])
        assert record["peak_rss_mb"] > 50
        assert all(s["worker"].startswith("tcp://") for s in record["steps"])
        assert all(s["method"] == "vmhwm" for s in record["steps"])
        assert record["n_nodes"] > 1000 and record["n_circles"] >= 1
    assert ok["xian_west"]["tiles"] == 2
    assert [s["step"] for s in ok["xian_west"]["steps"]].count("tile 1") == 1
    assert "access_tiles" in ok["xian_west"]["timings_s"]


def test_second_run_skips_every_finished_city(runs: tuple) -> None:
    first, second = runs
    assert _status(second) == {**dict.fromkeys(GOOD, "skipped"), "broken": "failed"}
    assert second.exit_code == 1
    for city in GOOD:
        record = next(r for r in second.records if r["id"] == city)
        assert record["fingerprint"] == next(
            r["fingerprint"] for r in first.records if r["id"] == city
        )
        assert set(record["timings_s"]) == {"check"}
    events = [json.loads(line) for line in second.run_log.read_text("utf-8").splitlines()]
    assert [e["run_id"] for e in events if e["event"] == "start"] == [first.run_id, second.run_id]


def test_rollup_lists_every_city_with_totals(runs: tuple) -> None:
    _, second = runs
    assert set(second.rollup) == {"rollup.csv", "rollup_kpis.csv", "rollup.xlsx", "rollup.html"}
    table = pd.read_csv(second.rollup["rollup.csv"], encoding="utf-8-sig")
    cities = table[table["level"] == "city"].set_index("id")
    assert list(cities.index) == [*GOOD, "broken"]
    assert cities.loc["broken", "status"] == "failed"
    good = cities.loc[list(GOOD)]
    grades = good[[c for c in good.columns if c.startswith("circles_") and "_or_" not in c]]
    assert (grades.sum(axis=1) == good["n_circles"]).all()
    assert good["households_basic_or_better"].between(0, 1).all()
    assert good["chain_share"].between(0, 1).all()
    everything = table[table["level"] == "all"].iloc[0]
    assert everything["n_circles"] == good["n_circles"].sum()
    assert everything["status"] == "3/4 ok"
    groups = table[table["level"] == "group"]
    assert set(groups["group"]) == {"西安", "Suomi"}
    kpis = pd.read_csv(second.rollup["rollup_kpis.csv"], encoding="utf-8-sig")
    assert {"kpi", "kpi_zh", "unit", *GOOD} <= set(kpis.columns)
    page = second.rollup["rollup.html"].read_text("utf-8")
    assert "西安老城东" in page and "Broken" in page and "field &#x27;lon&#x27;" in page
    sheets = pd.read_excel(second.rollup["rollup.xlsx"], sheet_name=None)
    assert {"rollup", "kpis", "circles", "failed"} <= set(sheets)


def test_rollup_rebuilds_from_the_folders(runs: tuple, folder: Path) -> None:
    first, _ = runs
    config = load_batch_config(folder / "batch.toml")
    rollup = build_rollup(first.out, config.cities)
    statuses = rollup.table.set_index("id")["status"]
    assert statuses["broken"] == "no results"
    assert (statuses[list(GOOD)] == "ok").all()


def test_cli_batch_command(folder: Path, runs: tuple) -> None:
    from click.testing import CliRunner

    from lifecircle.cli import main

    assert "batch" in main.commands
    pbf = get_path("helsinki").as_posix()
    config = folder / "cli.toml"
    config.write_text(
        f'[defaults]\nreport = false\n[[city]]\nname = "Helsinki"\nnetwork = "{pbf}"\n'
        f'outlets = "{pbf}"\nresidences = "{pbf}"\n[[city]]\nname = "Broken"\n'
        f'network = "{pbf}"\noutlets = "broken_outlets.csv"\nresidences = "{pbf}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["batch", str(config), "--workers", "0", "--out", str(folder / "cli")]
    )
    assert result.exit_code == 1, result.output
    assert "1 ok" in result.output and "1 failed" in result.output
    assert (folder / "cli" / "Helsinki" / "manifest.json").is_file()


def test_changed_input_reruns_only_that_city(runs: tuple, folder: Path, client: Any) -> None:
    """Last: fixes the broken file, so the folder changes."""
    first, _ = runs
    (folder / "broken_outlets.csv").write_text(
        "outlet_id,name,lon,lat,category\n1,A,24.94,60.17,convenience_store\n",
        encoding="utf-8",
    )
    config = load_batch_config(folder / "batch.toml")
    third = run_batch(config, out=first.out, client=client)
    assert _status(third) == {**dict.fromkeys(GOOD, "skipped"), "broken": "ok"}
    assert third.exit_code == 0

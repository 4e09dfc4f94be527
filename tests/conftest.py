"""Shared fixtures: paths to the real-city data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent — but
    not under CI (``CI`` set), where the data is provided and its absence is a failure."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(
                f"CI is set but {SHARED_DATA} is missing: the real-city tests would not run"
            )
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def xian_dir(shared_data: Path) -> dict[str, Path]:
    """The Xi'an old-town files: network, Baidu POIs, 小区 table."""
    return {
        "graphml": shared_data / "xian_oldtown_osm_network" / "xian_oldtown_osm_network.graphml",
        "gpkg": shared_data / "xian_oldtown_osm_network" / "xian_oldtown_osm_network.gpkg",
        "ways": shared_data / "xian_oldtown_osm_network" / "xian_oldtown_osm_ways.geojson",
        "raw_shp": shared_data
        / "xian_oldtown_osm_network"
        / "raw_richieBao_rode_project"
        / "rode_project.shp",
        "poi": shared_data / "xian_oldtown_baidu_poi" / "xian_oldtown_baidu_poi_merged_utf8.csv",
        "xiaoqu": shared_data
        / "residential_communities_xiaoqu"
        / "xiaoqu_all_sources_normalized.csv",
    }


# this file is a conftest, not a module of doctests: keep --doctest-modules from importing it a
# second time under the same module name as the other conftest.py
collect_ignore = ["conftest.py"]


@pytest.fixture(scope="session")
def xian_town(xian_dir: dict[str, Path]) -> tuple[Any, Any, Any]:
    """Xi'an old town read once: ``(network, outlets, residences)`` — the OSM network, the Baidu
    POIs declared BD-09, the 小区 of ke.com/sofang.com inside the old-town box.  Shared by the
    tests of a whole run: copy before changing them."""
    from lifecircle.ingest import read_network, read_outlets, read_residences

    net = read_network(xian_dir["gpkg"])
    outlets = read_outlets(xian_dir["poi"], lon="lng_bd09", lat="lat_bd09", crs="bd09", network=net)
    residences = read_residences(
        xian_dir["xiaoqu"],
        where="city == '西安' and source in ['ke.com', 'sofang.com'] and "
        "108.915 <= lng_wgs84 <= 108.971 and 34.250 <= lat_wgs84 <= 34.283",
        lon="lng_bd09", lat="lat_bd09", crs="bd09", network=net,
        on_missing="drop", on_outside="drop",
    )  # fmt: skip
    return net, outlets, residences

"""Shared fixtures: paths to the real-city data in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
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

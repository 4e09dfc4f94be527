"""OSM clip: the clipped network equals the full one inside the polygon + buffer (bundled sample)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner

from lifecircle.acquire import convert_geometry, read_boundary
from lifecircle.acquire.osm_clip import buffered_area, clip_osm
from lifecircle.datasets import get_path
from lifecircle.errors import InputError
from lifecircle.ingest import read_network, read_outlets
from lifecircle.network import WalkNetwork

# an L-shaped polygon in central Helsinki (not a box: the clip follows the polygon)
POLYGON = shapely.Polygon(
    [(24.938, 60.164), (24.948, 60.164), (24.948, 60.167), (24.943, 60.167), (24.943, 60.170),
     (24.938, 60.170)]
)  # fmt: skip
BUFFER_M = 150.0


@pytest.fixture(scope="module")
def full() -> WalkNetwork:
    return read_network(get_path("helsinki"), keep="all")


@pytest.fixture(scope="module")
def clipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clip") / "city.osm.pbf"
    report = clip_osm(get_path("helsinki"), POLYGON, out, buffer_m=BUFFER_M)
    assert report.ways > 0 and report.mb_per_s > 0
    return out


def _edges_inside(net: WalkNetwork, area: shapely.Geometry) -> set[tuple[str, int, int, float]]:
    geoms = gpd.GeoSeries(net.edge_geometry, crs=net.crs).to_crs(4326)
    inside = geoms.within(area).to_numpy()
    osmid = net.edge_attrs["osmid"].astype(str).to_numpy()
    out = set()
    for i in inside.nonzero()[0]:
        u, v = sorted((int(net.node_id[net.edge_u[i]]), int(net.node_id[net.edge_v[i]])))
        out.add((str(osmid[i]), u, v, round(float(net.edge_length[i]), 2)))
    return out


def test_clipped_network_equals_the_full_network_inside_polygon_and_buffer(
    full: WalkNetwork, clipped: Path
) -> None:
    area = buffered_area(POLYGON, BUFFER_M)
    net = read_network(clipped, keep="all")
    expected = _edges_inside(full, area)
    assert len(expected) > 300
    assert _edges_inside(net, area) == expected
    # and nothing far away was kept: every clipped edge touches the area (ways are complete)
    geoms = gpd.GeoSeries(net.edge_geometry, crs=net.crs).to_crs(4326)
    assert geoms.intersects(area).mean() > 0.5
    assert net.n_edges < full.n_edges / 2


def test_clipped_outlets_equal_the_full_outlets_inside(clipped: Path) -> None:
    area = buffered_area(POLYGON, BUFFER_M)
    every = read_outlets(get_path("helsinki"))
    mine = read_outlets(clipped)
    expected = set(every.loc[every.geometry.within(area), "outlet_id"])
    assert expected and expected == set(mine.loc[mine.geometry.within(area), "outlet_id"])


def test_cli_writes_the_clip_layers_and_city_file(tmp_path: Path) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python ≥ 3.11

    from lifecircle.cli import main

    # the boundary given in GCJ-02 gives the same clip as in WGS-84
    boundary = tmp_path / "helsinki_gcj02.geojson"
    boundary.write_text(shapely.to_geojson(convert_geometry(POLYGON, "wgs84", "gcj02")))
    out = tmp_path / "out"
    args = ["fetch", "osm", "--pbf", str(get_path("helsinki")), "--boundary", str(boundary)]
    args += ["--boundary-crs", "gcj02", "--buffer", str(BUFFER_M), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "MB/s" in result.output
    names = {p.name for p in out.iterdir()}
    assert {"city.osm.pbf", "city.toml", "clip.json", "network.gpkg", "outlets.gpkg"} <= names
    assert "residences.gpkg" in names
    city = tomllib.loads((out / "city.toml").read_text(encoding="utf-8"))
    assert city["name"] == "helsinki_gcj02"
    for layer in ("network", "outlets", "residences"):
        assert city[layer]["path"] == "city.osm.pbf"
    assert city["boundary"] == {"path": "boundary.geojson", "crs": "wgs84", "buffer_m": BUFFER_M}
    written = read_boundary(out / "boundary.geojson")
    assert written.symmetric_difference(POLYGON).area < 1e-9  # back in WGS-84
    direct = tmp_path / "direct.osm.pbf"
    clip_osm(get_path("helsinki"), POLYGON, direct, buffer_m=BUFFER_M)
    a = read_network(direct, keep="all")
    b = read_network(out / "city.osm.pbf", keep="all")
    assert a.n_edges == b.n_edges


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        clip_osm(tmp_path / "missing.osm.pbf", POLYGON, tmp_path / "o.osm.pbf")
    junk = tmp_path / "junk.osm.pbf"
    junk.write_bytes(b"this is not a protobuf file" * 100)
    with pytest.raises(InputError, match="cannot be read"):
        clip_osm(junk, POLYGON, tmp_path / "o.osm.pbf")
    assert not (tmp_path / "o.osm.pbf").exists()
    with pytest.raises(InputError, match="do not overlap"):
        clip_osm(
            get_path("helsinki"), shapely.box(108.9, 34.2, 109.0, 34.3), tmp_path / "x.osm.pbf"
        )
    assert not (tmp_path / "x.osm.pbf").exists()
    existing = tmp_path / "exists.osm.pbf"
    existing.write_bytes(b"")
    with pytest.raises(InputError, match="exists"):
        clip_osm(get_path("helsinki"), POLYGON, existing)

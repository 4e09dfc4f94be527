"""Tests of lifecircle.ingest.residences and the residential part of ingest.osm_features."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from lifecircle import geo
from lifecircle.datasets import get_path
from lifecircle.errors import CRSError, InputError
from lifecircle.ingest.osm_features import M2_PER_HOUSEHOLD, read_osm_residences
from lifecircle.ingest.residences import HOUSEHOLD_SIZE, RESIDENCE_COLUMNS, read_residences
from lifecircle.testing import network_from_polylines

# Two points in Xi'an's old town (WGS-84).
BELL_TOWER = (108.94237, 34.26105)
SOUTH_GATE = (108.94240, 34.25100)


def _csv(tmp_path: Path, text: str, name: str = "res.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _problems(exc: pytest.ExceptionInfo[InputError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


# --- reading ---------------------------------------------------------------------------------


def test_csv_households_population_and_defaults(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "小区名称,经度,纬度,房屋总数,人口\n"
        "甲,108.94,34.26,1200户,\n"
        "乙,108.95,34.27,,524\n"
        '丙,108.96,34.28,"1,000",2000\n'
        "丁,108.97,34.29,,\n",
    )
    res = read_residences(path)
    assert list(res.columns) == list(RESIDENCE_COLUMNS)
    assert res.crs.to_epsg() == 4326
    assert res["residence_id"].tolist() == ["1", "2", "3", "4"]  # numbered by row
    assert res["name"].tolist() == ["甲", "乙", "丙", "丁"]
    assert res["kind"].eq("xiaoqu").all()
    np.testing.assert_allclose(res["households"], [1200, 524 / 2.62, 1000, np.nan])
    np.testing.assert_allclose(res["population"], [1200 * 2.62, 524, 2000, np.nan])
    assert res["households_estimated"].tolist() == [False, True, False, False]
    assert res["population_estimated"].tolist() == [True, False, False, False]
    assert res["footprint"].isna().all()
    assert res.geometry.x.tolist() == [108.94, 108.95, 108.96, 108.97]
    assert res.attrs["source_file"] == str(path)
    assert res.attrs["declared_crs"] == "wgs84"
    assert res.attrs["household_size"] == HOUSEHOLD_SIZE == 2.62


def test_household_size_is_configurable() -> None:
    df = pd.DataFrame({"lon": [108.94], "lat": [34.26], "households": [100]})
    res = read_residences(df, household_size=3.0)
    assert res["population"].iloc[0] == pytest.approx(300.0)


@pytest.mark.parametrize("size", [0.0, -1.0, float("nan")])
def test_bad_household_size(size: float) -> None:
    df = pd.DataFrame({"lon": [108.94], "lat": [34.26], "households": [100]})
    with pytest.raises(InputError, match="household_size"):
        read_residences(df, household_size=size)


def test_named_columns_and_ids() -> None:
    df = pd.DataFrame(
        {
            "code": ["a", "b"],
            "x_coord": [108.94, 108.95],
            "y_coord": [34.26, 34.27],
            "hh_total": [10, 20],
            "label": ["A", "B"],
            "kind": ["building", None],
        }
    )
    res = read_residences(
        df, lon="x_coord", lat="y_coord", id_column="code", households="hh_total", name="label"
    )
    assert res["residence_id"].tolist() == ["a", "b"]
    assert res["households"].tolist() == [10.0, 20.0]
    assert res["name"].tolist() == ["A", "B"]
    assert res["kind"].tolist() == ["building", "xiaoqu"]
    assert read_residences(df, lon="x_coord", lat="y_coord", kind="block")["kind"].eq("block").all()


def test_where_filters_rows_and_keeps_file_row_numbers(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "city,name,lng,lat,households\n"
        "西安,甲,108.94,34.26,100\n"
        "福州,乙,119.30,26.08,200\n"
        "西安,丙,108.95,abc,300\n",
    )
    res = read_residences(path, where="city == '福州'")
    assert res["name"].tolist() == ["乙"]
    res = read_residences(path, where="households >= 200 and lat != 'abc'")  # numbers compare
    assert res["name"].tolist() == ["乙"]
    with pytest.raises(InputError) as exc:
        read_residences(path, where="city == '西安'")
    assert exc.value.problems[0].row == 3  # the file's row, not the filtered position
    assert exc.value.problems[0].field == "lat"


def test_where_errors(tmp_path: Path) -> None:
    path = _csv(tmp_path, "city,lng,lat\n西安,108.94,34.26\n")
    with pytest.raises(InputError, match="row filter") as exc:
        read_residences(path, where="town == '西安'")
    assert "city" in str(exc.value)  # lists the columns
    with pytest.raises(InputError, match="no residences"):
        read_residences(path, where="city == '上海'")
    with pytest.raises(InputError, match="true/false"):
        read_residences(path, where="lng")


def test_pair_named_after_declared_crs_is_chosen() -> None:
    wlon, wlat = BELL_TOWER
    blon, blat = geo.wgs84_to_bd09(wlon, wlat)
    df = pd.DataFrame(
        {
            "name": ["钟楼"],
            "lng_wgs84": [wlon],
            "lat_wgs84": [wlat],
            "lng_bd09": [float(blon)],
            "lat_bd09": [float(blat)],
            "households": [1],
        }
    )
    for crs in ("bd09", "wgs84", "百度"):
        res = read_residences(df, crs=crs)
        assert res.geometry.x.iloc[0] == pytest.approx(wlon, abs=1e-8)
        assert res.geometry.y.iloc[0] == pytest.approx(wlat, abs=1e-8)
        assert res.attrs["declared_crs"] == geo.parse_crs_name(crs)
    with pytest.raises(InputError, match="several longitude/latitude"):
        read_residences(df, crs="gcj02")


def test_unknown_crs_name() -> None:
    df = pd.DataFrame({"lon": [108.94], "lat": [34.26]})
    with pytest.raises(CRSError, match="unknown coordinate system"):
        read_residences(df, crs="utm")


def test_polygons_keep_footprint_and_use_a_point_inside(tmp_path: Path) -> None:
    # an L-shaped block whose centroid lies outside it
    ring = [(0, 0), (100, 0), (100, 10), (10, 10), (10, 100), (0, 100), (0, 0)]
    to_wgs = pyproj.Transformer.from_crs(32649, 4326, always_xy=True)
    lonlat = [to_wgs.transform(500_000 + x, 3_790_000 + y) for x, y in ring]
    glon, glat = geo.wgs84_to_gcj02([p[0] for p in lonlat], [p[1] for p in lonlat])
    feature = {
        "type": "Feature",
        "properties": {"id": "L1", "name": "L", "households": 50},
        "geometry": {"type": "Polygon", "coordinates": [list(zip(glon, glat, strict=True))]},
    }
    path = tmp_path / "blocks.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    res = read_residences(path, crs="gcj02")
    poly = res["footprint"].iloc[0]
    assert poly.geom_type == "Polygon"
    assert res["footprint"].crs.to_epsg() == 4326
    # the footprint was converted GCJ-02 → WGS-84 vertex by vertex
    back = np.array(poly.exterior.coords)
    np.testing.assert_allclose(back, np.array(lonlat), atol=1e-8)
    assert poly.contains(res.geometry.iloc[0])
    assert not poly.contains(poly.centroid)
    assert res["residence_id"].tolist() == ["L1"]


def test_projected_layer_is_reprojected(tmp_path: Path) -> None:
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(
        {"households": [10]}, geometry=[shapely.Point(500_000, 3_790_000)], crs=32649
    )
    path = tmp_path / "pts.gpkg"
    gdf.to_file(path)
    res = read_residences(path)
    lon, _ = pyproj.Transformer.from_crs(32649, 4326, always_xy=True).transform(500_000, 3_790_000)
    assert res.geometry.x.iloc[0] == pytest.approx(lon)
    with pytest.raises(InputError, match="GCJ-02 and BD-09"):
        read_residences(path, crs="gcj02")


def test_geometry_preferred_over_columns_unless_named(tmp_path: Path) -> None:
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(
        {"lng": [1.0], "lat": [2.0]}, geometry=[shapely.Point(108.94, 34.26)], crs=4326
    )
    assert read_residences(gdf).geometry.x.iloc[0] == 108.94
    assert read_residences(gdf, lon="lng", lat="lat").geometry.x.iloc[0] == 1.0


# --- bad input: every case ------------------------------------------------------------------


def test_missing_coordinate_columns_suggest_close_names(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,longtitude,latitde\n甲,108.94,34.26\n")
    with pytest.raises(InputError, match="no longitude/latitude columns") as exc:
        read_residences(path)
    text = str(exc.value)
    assert "latitde" in text and "longtitude" in text


def test_misnamed_given_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,lng,lat,户数\n甲,108.94,34.26,10\n")
    with pytest.raises(InputError) as exc:
        read_residences(path, lon="lngg", lat="lat", households="户 数x", id_column="idx")
    probs = exc.value.problems
    assert {p.field for p in probs} == {"lngg", "户 数x", "idx"}
    assert "did you mean 'lng'" in str(exc.value)
    with pytest.raises(InputError, match="only lon= was given"):
        read_residences(path, lon="lng")


def test_non_numeric_and_negative_counts_all_reported(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,lng,lat,households,population\n"
        "a,108.94,34.26,约500户,100\n"
        "b,108.95,34.27,-3,-1\n"
        "c,108.96,34.28,12,many\n"
        "d,108.97,34.29,inf,\n",
    )
    with pytest.raises(InputError) as exc:
        read_residences(path)
    got = {(p.row, p.field) for p in exc.value.problems}
    assert got == {
        (1, "households"),
        (2, "households"),
        (2, "population"),
        (3, "population"),
        (4, "households"),
    }
    assert "'约500户' is not a number of households" in str(exc.value)
    assert "cannot be negative" in str(exc.value)


def test_non_numeric_coordinates_with_rows(tmp_path: Path) -> None:
    path = _csv(tmp_path, "id,lng,lat\na,108.94,34.26\nb,108°57',34.27\nc,108.96,北纬34\n")
    with pytest.raises(InputError) as exc:
        read_residences(path)
    assert {(p.row, p.field) for p in exc.value.problems} == {(2, "lng"), (3, "lat")}


def test_missing_coordinates_error_or_drop(tmp_path: Path) -> None:
    path = _csv(tmp_path, "id,lng,lat,households\na,108.94,34.26,5\nb,,,6\n")
    with pytest.raises(InputError, match="no coordinates") as exc:
        read_residences(path)
    assert exc.value.problems[0].row == 2
    res = read_residences(path, on_missing="drop")
    assert res["residence_id"].tolist() == ["a"]
    assert res.attrs["dropped_missing_rows"] == [2]


def test_swapped_columns_reported_once(tmp_path: Path) -> None:
    rows = "".join(f"r{i},34.2{i},108.9{i}\n" for i in range(5))
    path = _csv(tmp_path, "id,lng,lat\n" + rows)
    with pytest.raises(InputError, match="look swapped") as exc:
        read_residences(path, crs="bd09")
    assert len(exc.value.problems) == 1
    assert "lon='lat', lat='lng'" in str(exc.value)


def test_swapped_row_and_out_of_range_rows(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,lng,lat\n"
        "a,108.94,34.26\n"
        "b,108.95,34.27\n"
        "c,34.28,108.96\n"  # swapped row
        "d,200.0,34.2\n"  # out of range
        "e,108.9,-95\n",  # out of range
    )
    with pytest.raises(InputError) as exc:
        read_residences(path)
    msgs = {p.row: p.message for p in exc.value.problems}
    assert set(msgs) == {3, 4, 5}
    assert "look swapped" in msgs[3]
    assert "out of range" in msgs[4] and "out of range" in msgs[5]


def test_chinese_systems_outside_china(tmp_path: Path) -> None:
    path = _csv(tmp_path, "id,lng,lat\na,108.94,34.26\nb,24.94,60.17\n")
    with pytest.raises(InputError, match="outside China") as exc:
        read_residences(path, crs="bd09")
    assert exc.value.problems[0].row == 2
    assert len(read_residences(path, crs="wgs84")) == 2


def test_duplicate_and_empty_ids(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "residence_id,lng,lat\nx,108.94,34.26\ny,108.95,34.27\nx,108.96,34.28\n,108.97,34.29\n"
        "x,108.98,34.30\n",
    )
    with pytest.raises(InputError) as exc:
        read_residences(path)
    text = str(exc.value)
    assert "id 'x' appears 3 times (rows 1, 3, 5)" in text
    assert any(p.message == "empty id" and p.row == 4 for p in exc.value.problems)


def test_empty_file_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        read_residences(_csv(tmp_path, "", "empty.csv"))
    with pytest.raises(InputError, match="no residences"):
        read_residences(_csv(tmp_path, "name,lng,lat\n", "header.csv"))
    with pytest.raises(InputError, match="no residences"):
        read_residences(pd.DataFrame({"lng": [], "lat": []}))


def test_missing_file_and_unsupported_type(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_residences(tmp_path / "nope.csv")
    other = tmp_path / "res.xlsx"
    other.write_bytes(b"PK")
    with pytest.raises(InputError, match="unsupported file type"):
        read_residences(other)


def test_gbk_file_needs_encoding(tmp_path: Path) -> None:
    path = _csv(tmp_path, "小区名称,经度,纬度,户数\n碑林小区,108.94,34.26,300\n", encoding="gbk")
    with pytest.raises(InputError, match="not UTF-8") as exc:
        read_residences(path)
    assert "--residences-encoding gbk" in str(exc.value)
    assert exc.value.problems[0].file == str(path)
    res = read_residences(path, encoding="gbk")
    assert res["name"].tolist() == ["碑林小区"]
    with pytest.raises(InputError, match="not valid utf-8"):
        read_residences(path, encoding="utf-8")
    with pytest.raises(InputError, match="unknown text encoding"):
        read_residences(path, encoding="klingon")


def test_many_rows_with_one_problem_are_summarised(tmp_path: Path) -> None:
    rows = "".join(f"r{i},108.9,34.2,bad\n" for i in range(25))
    path = _csv(tmp_path, "id,lng,lat,households\n" + rows)
    with pytest.raises(InputError) as exc:
        read_residences(path)
    assert len(exc.value.problems) == 11  # 10 rows shown, then a summary
    assert "15 more rows" in exc.value.problems[-1].message


def test_outside_network_error_or_drop() -> None:
    net = network_from_polylines([[(0, 0), (1000, 0)], [(1000, 0), (1000, 1000)]])
    to_wgs = pyproj.Transformer.from_crs(net.crs, 4326, always_xy=True)
    _, _, x1, _ = net.bounds()
    on_edges = [(500_000 + 100 * k, 3_790_000) for k in range(1, 6)]  # on the first edge
    near = (x1 + 1000, 3_790_500)  # 1 km east of the box
    far = (x1 + 18_000, 3_790_500)
    lon, lat = to_wgs.transform(*np.array([*on_edges, near, far]).T)
    df = pd.DataFrame({"id": ["a", "b", "c", "d", "e", "near", "far"], "lon": lon, "lat": lat})
    with pytest.raises(InputError, match="outside the network") as exc:
        read_residences(df, network=net)
    assert "far" in str(exc.value) and "clip the layer" in str(exc.value)
    assert exc.value.problems[0].row is None and "rows 7" in str(exc.value)
    res = read_residences(df, network=net, on_outside="drop")
    assert res["residence_id"].tolist() == ["a", "b", "c", "d", "e", "near"]
    assert res.attrs["dropped_outside_ids"] == ["far"]
    assert res.attrs["offset_check"].suspicious is False
    with pytest.raises(InputError, match="outside the network"):
        read_residences(df, network=net, max_outside_m=500)


def test_every_problem_of_a_file_in_one_error(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,lng,lat,households\na,108.94,34.26,x\na,108.95,,3\nc,north,34.28,-5\n",
    )
    with pytest.raises(InputError) as exc:
        read_residences(path)
    assert len(exc.value.problems) == 5  # households x, missing lat, lng 'north', -5, dup id
    assert str(exc.value).startswith("Invalid residences: 5 problems found")


# --- OpenStreetMap buildings -----------------------------------------------------------------


def _square(lon0: float, lat0: float, w: float, h: float) -> list[tuple[float, float]]:
    """Corners of a w × h metre rectangle (closed) starting at (lon0, lat0), in WGS-84."""
    utm = geo.local_utm_crs(lon0, lat0)
    fwd = pyproj.Transformer.from_crs(4326, utm, always_xy=True)
    inv = pyproj.Transformer.from_crs(utm, 4326, always_xy=True)
    x, y = fwd.transform(lon0, lat0)
    corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return [inv.transform(cx, cy) for cx, cy in corners]


@pytest.fixture(scope="module")
def tiny_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four buildings: apartments (20 × 50 m, 4 levels), house (10 × 10 m, no levels),
    apartments with building:flats=12, and building=yes (ignored); plus a shop node."""
    import osmium

    path = tmp_path_factory.mktemp("osm") / "tiny.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    nid = 1
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    specs = [
        (20, 50, {"building": "apartments", "building:levels": "4", "name": "A"}),
        (10, 10, {"building": "house"}),
        (30, 30, {"building": "apartments", "building:flats": "12"}),
        (30, 30, {"building": "yes"}),
    ]
    nodes: list[Any] = []
    for k, (w, h, tags) in enumerate(specs):
        corners = _square(108.94 + 0.002 * k, 34.26, w, h)
        ids = []
        for lon, lat in corners:
            nodes.append(osmium.osm.mutable.Node(id=nid, location=(lon, lat), tags={}))
            ids.append(nid)
            nid += 1
        ways.append((100 + k, [*ids, ids[0]], tags))
    nodes.append(
        osmium.osm.mutable.Node(id=nid, location=(108.95, 34.27), tags={"shop": "convenience"})
    )
    for node in nodes:
        writer.add_node(node)
    for wid, refs, tags in ways:
        writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))
    writer.close()
    return path


def test_osm_residences_closed_form(tiny_pbf: Path) -> None:
    b = read_osm_residences(tiny_pbf)
    b = b.set_index("osm_id")
    assert sorted(b.index) == [100, 101, 102]  # building=yes is not residential
    np.testing.assert_allclose(b["footprint_m2"], [1000.0, 100.0, 900.0], rtol=1e-3)
    assert b.loc[100, "levels"] == 4.0 and b.loc[100, "levels_source"] == "building:levels"
    assert b.loc[101, "levels"] == 2.0 and b.loc[101, "levels_source"] == "default"
    assert b.loc[100, "households"] == pytest.approx(1000 * 4 / M2_PER_HOUSEHOLD, rel=1e-3)
    assert b.loc[101, "households"] == pytest.approx(100 * 2 / M2_PER_HOUSEHOLD, rel=1e-3)
    assert b.loc[102, "households"] == 12.0
    assert b.loc[102, "households_source"] == "building:flats"
    assert b.loc[100, "name"] == "A"
    assert b.crs.to_epsg() == 4326
    assert shapely.contains(b.geometry.values, shapely.points(b["lon"], b["lat"])).all()
    assert b.geom_type.eq("Polygon").all()
    # configurable estimate
    b2 = read_osm_residences(tiny_pbf, m2_per_household=50.0, default_levels=1.0).set_index(
        "osm_id"
    )
    assert b2.loc[100, "households"] == pytest.approx(1000 * 4 / 50.0, rel=1e-3)
    assert b2.loc[101, "households"] == pytest.approx(100 * 1 / 50.0, rel=1e-3)
    with pytest.raises(InputError, match="m2_per_household"):
        read_osm_residences(tiny_pbf, m2_per_household=0)


def test_read_residences_from_pbf(tiny_pbf: Path) -> None:
    res = read_residences(tiny_pbf)
    assert res["residence_id"].tolist() == ["way/100", "way/101", "way/102"]
    assert res["kind"].eq("building").all()
    assert res["households_estimated"].tolist() == [True, True, False]
    assert res["population"].iloc[2] == pytest.approx(12 * HOUSEHOLD_SIZE)
    assert res["footprint"].geom_type.eq("Polygon").all()
    assert shapely.contains(res["footprint"].values, res.geometry.values).all()
    with pytest.raises(CRSError, match="OpenStreetMap data are WGS-84"):
        read_residences(tiny_pbf, crs="gcj02")


def test_helsinki_residential_buildings() -> None:
    typed = read_osm_residences(get_path("helsinki"), untyped_in_residential_landuse=False)
    assert len(typed) == 21  # apartments/residential with a complete outline in the extract
    assert typed["building"].eq("apartments").all()
    assert (typed["footprint_m2"] > 300).all() and (typed["footprint_m2"] < 2000).all()
    assert typed["households"].sum() == pytest.approx(989, abs=1)
    b = read_osm_residences(get_path("helsinki"))
    untyped = b[b["building"] == "yes"]
    assert len(b) == 21 + len(untyped) and len(untyped) > 10  # building=yes in landuse=residential
    assert (untyped["levels"][untyped["levels_source"] == "default"] == 4).all()
    res = read_residences(get_path("helsinki"))
    assert res["residence_id"].is_unique and len(res) == len(b)


def test_untyped_buildings_outside_residential_landuse_are_not_homes(tmp_path: Path) -> None:
    import osmium

    path = tmp_path / "b.osm.pbf"
    square = [(0.0, 0.0), (0.001, 0.0), (0.001, 0.001), (0.0, 0.001)]

    def ring(first_id: int, dx: float) -> list[osmium.osm.mutable.Node]:
        return [
            osmium.osm.mutable.Node(id=first_id + i, location=(108.9 + x + dx, 34.2 + y))
            for i, (x, y) in enumerate(square)
        ]

    with osmium.SimpleWriter(str(path)) as w:
        nodes = ring(1, 0.0) + ring(11, 0.01) + ring(21, -0.0005)
        big = [(108.9 - 0.0005 + x * 3, 34.2 - 0.0005 + y * 3) for x, y in square]
        nodes += [osmium.osm.mutable.Node(id=31 + i, location=xy) for i, xy in enumerate(big)]
        for n in sorted(nodes, key=lambda n: n.id):
            w.add_node(n)
        w.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2, 3, 4, 1], tags={"building": "yes"}))
        w.add_way(
            osmium.osm.mutable.Way(id=2, nodes=[11, 12, 13, 14, 11], tags={"building": "yes"})
        )
        w.add_way(
            osmium.osm.mutable.Way(
                id=3, nodes=[21, 22, 23, 24, 21], tags={"building": "yes", "shop": "bakery"}
            )
        )
        w.add_way(
            osmium.osm.mutable.Way(
                id=4, nodes=[31, 32, 33, 34, 31], tags={"landuse": "residential"}
            )
        )
    b = read_osm_residences(path)
    assert b["osm_id"].tolist() == [1]  # inside the residential area, no shop tag


# --- real data: Xi'an 小区 -------------------------------------------------------------------


@pytest.fixture(scope="module")
def xian_xiaoqu(xian_dir: dict[str, Path]) -> pd.DataFrame:
    """Xi'an ke.com + sofang.com communities inside the old-town network's box, unique coords."""
    table = pd.read_csv(xian_dir["xiaoqu"], dtype=str)
    table = table[(table["city"] == "西安") & table["source"].isin(["ke.com", "sofang.com"])]
    lon = pd.to_numeric(table["lng_wgs84"])
    lat = pd.to_numeric(table["lat_wgs84"])
    inside = lon.between(108.902, 108.984) & lat.between(34.239, 34.294)
    table = table[inside & (table["same_coord_count"] == "1.0")]
    return table.reset_index(drop=True)


@pytest.fixture(scope="module")
def xian_network(xian_dir: dict[str, Path]) -> Any:
    from lifecircle.ingest.network import read_network

    return read_network(xian_dir["gpkg"])


@pytest.mark.shared_data
def test_xian_xiaoqu_bd09(xian_xiaoqu: pd.DataFrame, xian_network: Any) -> None:
    res = read_residences(
        xian_xiaoqu, crs="bd09", lon="lng_bd09", lat="lat_bd09", network=xian_network
    )
    assert len(res) == len(xian_xiaoqu) > 600
    assert res["residence_id"].is_unique
    known = res["households"].notna()
    assert known.sum() > 150
    assert res.loc[known, "households"].median() > 100
    # converted positions agree with the file's own WGS-84 columns (≈ 1–5 m formula difference)
    geod = pyproj.Geod(ellps="WGS84")
    d = geod.inv(
        res.geometry.x,
        res.geometry.y,
        pd.to_numeric(xian_xiaoqu["lng_wgs84"]),
        pd.to_numeric(xian_xiaoqu["lat_wgs84"]),
    )[2]
    assert np.median(d) < 5
    assert not res.attrs["offset_check"].suspicious
    tree = shapely.STRtree(xian_network.edge_geometry)
    pts = res.to_crs(xian_network.crs).geometry.values
    _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    assert np.median(dist) < 40.0  # measured 26 m (unconverted BD-09 is worse)
    # without lon=/lat= the pair named after the declared crs (lng_bd09/lat_bd09) is chosen
    again = read_residences(xian_xiaoqu, crs="bd09")
    assert np.array_equal(again.geometry.x, res.geometry.x)


@pytest.mark.shared_data
def test_xian_xiaoqu_csv_with_where(xian_dir: dict[str, Path]) -> None:
    res = read_residences(
        xian_dir["xiaoqu"],
        crs="bd09",
        where="city == '西安' and source in ['ke.com', 'sofang.com'] "
        "and inside_city_boundary == 'True'",
    )
    assert len(res) > 4000
    assert "dropped_missing_rows" not in res.attrs
    assert res.geometry.x.between(107, 110).all()

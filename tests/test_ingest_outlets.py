"""Tests of lifecircle.ingest.outlets and the POI part of ingest.osm_features."""

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
from lifecircle.errors import CoordinateOffsetWarning, CRSError, InputError
from lifecircle.ingest.osm_features import read_osm_outlets
from lifecircle.ingest.outlets import OUTLET_COLUMNS, read_outlets
from lifecircle.testing import network_from_polylines

BELL_TOWER = (108.94237, 34.26105)


def _csv(tmp_path: Path, text: str, name: str = "outlets.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _baidu_rows(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A Baidu-style export: WGS-84 and BD-09 column pairs, Baidu '大类;小类' tags."""
    wlon = np.array([108.9400, 108.9410, 108.9420])
    wlat = np.array([34.2600, 34.2610, 34.2620])
    blon, blat = geo.wgs84_to_bd09(wlon, wlat)
    lines = ["uid,name,tag,lng_wgs84,lat_wgs84,lng_bd09,lat_bd09"]
    tags = ["医疗;药店", "购物;便利店", "公司企业;公司"]
    names = ["老百姓大药房", "全家便利店", "某某公司"]
    for i in range(3):
        lines.append(f"u{i},{names[i]},{tags[i]},{wlon[i]},{wlat[i]},{blon[i]:.9f},{blat[i]:.9f}")
    return _csv(tmp_path, "\n".join(lines) + "\n"), wlon, wlat


# --- reading ---------------------------------------------------------------------------------


def test_baidu_export_bd09(tmp_path: Path) -> None:
    path, wlon, wlat = _baidu_rows(tmp_path)
    out = read_outlets(path, crs="bd09")
    assert list(out.columns) == list(OUTLET_COLUMNS)
    assert out.crs.to_epsg() == 4326
    assert out["outlet_id"].tolist() == ["u0", "u1", "u2"]
    assert out["category"].tolist()[:2] == ["pharmacy", "convenience_store"]
    assert out["category_zh"].tolist()[:2] == ["药店", "便利店"]
    assert out["class"].tolist()[:2] == ["basic", "basic"]
    assert out["category"].iloc[2] == "unclassified"  # a company is no 业态
    assert out["category_zh"].iloc[2] == "未分类" and pd.isna(out["class"].iloc[2])
    assert out["category_rule"].iloc[0] == "baidu_tag:医疗;药店"
    report = out.attrs["unclassified_report"]
    assert report["value"].tolist() == ["公司企业;公司"]
    assert out["source_type"].tolist() == ["医疗;药店", "购物;便利店", "公司企业;公司"]
    np.testing.assert_allclose(out.geometry.x, wlon, atol=1e-8)
    np.testing.assert_allclose(out.geometry.y, wlat, atol=1e-8)
    assert out.attrs["declared_crs"] == "bd09"
    assert out.attrs["source_file"] == str(path)
    # declared WGS-84: the lng_wgs84 pair is used, same positions
    again = read_outlets(path, crs="wgs84")
    np.testing.assert_allclose(again.geometry.x, wlon, atol=1e-12)
    with pytest.raises(InputError, match="several longitude/latitude") as exc:
        read_outlets(path, crs="gcj02")
    assert "--outlets-lon lng_wgs84" in str(exc.value) and 'lon = "lng_wgs84"' in str(exc.value)


def test_explicit_columns_win(tmp_path: Path) -> None:
    path, wlon, _ = _baidu_rows(tmp_path)
    out = read_outlets(path, crs="bd09", lon="lng_bd09", lat="lat_bd09")
    np.testing.assert_allclose(out.geometry.x, wlon, atol=1e-8)


def test_category_column_and_attributes(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,名称,category,lon,lat,brand,is_chain,opening_hours,services\n"
        "1,社区菜店,生鲜超市（菜店）,108.94,34.26,,否,06:00-20:00,\n"
        "2,美宜佳,便利店,108.95,34.27,美宜佳,,24/7,代收代发；打印复印， 代收代发\n"
        "3,药房,pharmacy,108.96,34.28,,是,,\n"
        "4,小店,,108.97,34.29,,,,\n",
    )
    out = read_outlets(path)
    assert out["name"].tolist() == ["社区菜店", "美宜佳", "药房", "小店"]
    assert out["category"].tolist()[:3] == ["fresh_grocery", "convenience_store", "pharmacy"]
    assert out["is_chain"].tolist()[:3] == [False, True, True]
    assert pd.isna(out["is_chain"].iloc[3])
    assert str(out["is_chain"].dtype) == "boolean"
    assert out["brand"].tolist()[1] == "美宜佳"
    assert out["opening_hours"].tolist()[:2] == ["06:00-20:00", "24/7"]
    assert out["services"].tolist()[1] == "代收代发;打印复印"
    assert out["services"].isna().tolist() == [True, False, True, True]


def test_generated_ids_and_geojson(tmp_path: Path) -> None:
    square = shapely.box(108.940, 34.260, 108.941, 34.261)
    ell = shapely.Polygon([(0, 0), (2, 0), (2, 0.2), (0.2, 0.2), (0.2, 2), (0, 2)])
    ell = shapely.affinity.translate(
        shapely.affinity.scale(ell, 0.001, 0.001, origin=(0, 0)), 108.95, 34.27
    )
    features = [
        {
            "type": "Feature",
            "properties": {"name": "A", "category": "药店"},
            "geometry": shapely.geometry.mapping(shapely.Point(108.93, 34.25)),
        },
        {
            "type": "Feature",
            "properties": {"name": "B", "category": "超市"},
            "geometry": shapely.geometry.mapping(square),
        },
        {
            "type": "Feature",
            "properties": {"name": "C", "category": "药店"},
            "geometry": shapely.geometry.mapping(ell),
        },
    ]
    path = tmp_path / "o.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out = read_outlets(path)
    assert out["outlet_id"].tolist() == ["1", "2", "3"]
    assert out.geom_type.eq("Point").all()
    assert square.contains(out.geometry.iloc[1])
    assert ell.contains(out.geometry.iloc[2])  # a point inside, not the centroid
    assert out["category"].tolist() == ["pharmacy", "supermarket", "pharmacy"]


def test_geopackage(tmp_path: Path) -> None:
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(
        {"poi_id": ["p1", "p2"], "name": ["x", "y"], "category": ["便利店", "药店"]},
        geometry=[shapely.Point(108.94, 34.26), shapely.Point(108.95, 34.27)],
        crs=4326,
    )
    path = tmp_path / "o.gpkg"
    gdf.to_file(path, layer="shops")
    out = read_outlets(path, layer="shops")
    assert out["outlet_id"].tolist() == ["p1", "p2"]
    with pytest.raises(InputError, match="cannot read"):
        read_outlets(path, layer="nope")


def test_dataframe_and_where() -> None:
    df = pd.DataFrame(
        {
            "city": ["西安", "福州"],
            "lon": [108.94, 119.3],
            "lat": [34.26, 26.08],
            "category": ["便利店", "药店"],
        }
    )
    out = read_outlets(df, where="city == '福州'")
    assert out["category"].tolist() == ["pharmacy"]
    assert out["outlet_id"].tolist() == ["2"]  # numbered by the row of the input
    assert out.attrs["source_file"] == "<DataFrame>"


# --- bad input: every case ------------------------------------------------------------------


def test_unknown_category_reported_with_row_and_other_problems(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,category,lon,lat\na,便利店,108.94,34.26\nb,火星店,108.95,34.27\na,药店,108.96,x\n",
    )
    with pytest.raises(InputError) as exc:
        read_outlets(path)
    got = {(p.row, p.field) for p in exc.value.problems}
    assert (2, "category") in got  # unknown 业态 (from the classifier)
    assert (3, "lat") in got  # non-numeric latitude
    assert any("id 'a' appears 2 times (rows 1, 3)" in p.message for p in exc.value.problems)


def test_bad_is_chain_value(tmp_path: Path) -> None:
    path = _csv(tmp_path, "lon,lat,category,is_chain\n108.94,34.26,便利店,maybe\n")
    with pytest.raises(InputError, match="not a yes/no value") as exc:
        read_outlets(path)
    assert exc.value.problems[0].row == 1 and exc.value.problems[0].field == "is_chain"


def test_gbk_encoding(tmp_path: Path) -> None:
    path = _csv(tmp_path, "名称,经度,纬度,category\n药店甲,108.94,34.26,药店\n", encoding="gbk")
    with pytest.raises(InputError, match="not UTF-8") as exc:
        read_outlets(path)
    assert "--outlets-encoding gbk" in str(exc.value) and str(path) in str(exc.value)
    out = read_outlets(path, encoding="gbk")
    assert out["name"].tolist() == ["药店甲"]
    assert out["category"].tolist() == ["pharmacy"]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\ufefflon,lat,category\n108.94,34.26,药店\n")
    assert read_outlets(path)["category"].tolist() == ["pharmacy"]


def test_missing_and_misnamed_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path, "name,lgn,ltd\nA,108.94,34.26\n")
    with pytest.raises(InputError, match="no longitude/latitude columns"):
        read_outlets(path)
    with pytest.raises(InputError) as exc:
        read_outlets(path, lon="longitude", lat="ltd", id_column="uid")
    assert {p.field for p in exc.value.problems} == {"longitude", "uid"}


def test_non_numeric_swapped_and_out_of_range(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "id,lon,lat\na,108.94,34.26\nb,108.95,34.27\nc,东经108,34.28\nd,34.29,108.97\n"
        "e,108.98,134.3\nf,108.99,34.30\n",
    )
    with pytest.raises(InputError) as exc:
        read_outlets(path)
    rows = {p.row: p.message for p in exc.value.problems}
    assert set(rows) == {3, 4, 5}
    assert "not a number" in rows[3]
    assert "look swapped" in rows[4]
    assert "out of range" in rows[5]


def test_whole_columns_swapped(tmp_path: Path) -> None:
    path = _csv(tmp_path, "id,lon,lat\na,34.26,108.94\nb,34.27,108.95\n")
    with pytest.raises(InputError, match="look swapped") as exc:
        read_outlets(path)
    assert len(exc.value.problems) == 1
    assert "lon='lat', lat='lon'" in str(exc.value)


def test_duplicate_ids_list_first_rows(tmp_path: Path) -> None:
    rows = "".join(f"{i % 2},108.9{i},34.2{i}\n" for i in range(6))
    path = _csv(tmp_path, "uid,lon,lat\n" + rows)
    with pytest.raises(InputError) as exc:
        read_outlets(path)
    text = str(exc.value)
    assert "id '0' appears 3 times (rows 1, 3, 5)" in text
    assert "id '1' appears 3 times (rows 2, 4, 6)" in text


def test_empty_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="the file is empty"):
        read_outlets(_csv(tmp_path, "\n\n", "empty.csv"))
    with pytest.raises(InputError, match="no outlets"):
        read_outlets(_csv(tmp_path, "id,lon,lat\n", "header.csv"))
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputError, match="no outlets"):
        read_outlets(empty)


def test_bad_crs_name(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match="unknown coordinate system"):
        read_outlets(_csv(tmp_path, "lon,lat\n108.94,34.26\n"), crs="mercator")


# --- against a network -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sparse_network() -> Any:
    """Three north-south streets 3 km apart (near Xi'an, UTM 49N)."""
    return network_from_polylines(
        [[(x, 0), (x, 3000)] for x in (0, 3000, 6000)]
        + [[(0, 0), (3000, 0)], [(3000, 0), (6000, 0)]]
    )


def _on_streets(net: Any, n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 points lying on the network's streets."""
    to_wgs = pyproj.Transformer.from_crs(net.crs, 4326, always_xy=True)
    x0, y0, _, _ = net.bounds()
    xs = x0 + np.array([0.0, 3000.0, 6000.0])[np.arange(n) % 3]
    ys = y0 + 100.0 + 90.0 * np.arange(n)
    lon, lat = to_wgs.transform(xs, ys)
    return np.asarray(lon), np.asarray(lat)


def test_offset_error_for_bd09_declared_wgs84(sparse_network: Any) -> None:
    lon, lat = _on_streets(sparse_network)
    blon, blat = geo.wgs84_to_bd09(lon, lat)
    df = pd.DataFrame({"lon": blon, "lat": blat, "category": "药店"})
    with pytest.raises(CRSError, match="declared wgs84") as info:
        read_outlets(df, crs="wgs84", network=sparse_network)
    fix = info.value.problems[0].fix or ""
    assert "--outlets-crs bd09" in fix and 'outlets.crs = "bd09"' in fix
    assert "--accept-offset" in fix and info.value.problems[0].field == "crs"
    with pytest.warns(CoordinateOffsetWarning, match="bd09"):
        out = read_outlets(df, crs="wgs84", network=sparse_network, accept_offset=True)
    assert out.attrs["offset_check"].suspicious
    out = read_outlets(df, crs="bd09", network=sparse_network)  # no warning
    assert not out.attrs["offset_check"].suspicious
    np.testing.assert_allclose(out.geometry.x, lon, atol=1e-8)


def test_outside_network_error_or_drop(sparse_network: Any) -> None:
    lon, lat = _on_streets(sparse_network, 6)
    df = pd.DataFrame(
        {
            "id": [f"o{i}" for i in range(8)],
            "lon": [*lon, 108.0, 110.0],
            "lat": [*lat, 34.0, 34.5],
            "category": "药店",
        }
    )
    with pytest.raises(InputError, match="outside the network") as exc:
        read_outlets(df, network=sparse_network)
    assert "o6, o7" in str(exc.value) and "check the CRS" in str(exc.value)
    out = read_outlets(df, network=sparse_network, on_outside="drop")
    assert len(out) == 6
    assert out.attrs["dropped_outside_ids"] == ["o6", "o7"]


def test_network_as_edges_geodataframe(sparse_network: Any) -> None:
    lon, lat = _on_streets(sparse_network, 6)
    df = pd.DataFrame({"lon": [*lon, 110.0], "lat": [*lat, 34.5]})
    edges = sparse_network.edges_gdf().to_crs(4326)
    out = read_outlets(df, network=edges, on_outside="drop")
    assert len(out) == 6


# --- OpenStreetMap ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_pbf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Nodes: a convenience shop, a pharmacy, a bench (left out), an untagged node; a closed
    way tagged shop=supermarket; an open way tagged shop=kiosk (skipped)."""
    import osmium

    path = tmp_path_factory.mktemp("osm") / "tiny.osm.pbf"
    w = osmium.SimpleWriter(str(path))
    m = osmium.osm.mutable
    w.add_node(
        m.Node(
            id=1,
            location=(108.940, 34.260),
            tags={
                "shop": "convenience",
                "name": "全家",
                "brand": "FamilyMart",
                "opening_hours": "24/7",
            },
        )
    )
    w.add_node(m.Node(id=2, location=(108.941, 34.261), tags={"amenity": "pharmacy"}))
    w.add_node(m.Node(id=3, location=(108.942, 34.262), tags={"amenity": "bench"}))
    w.add_node(m.Node(id=4, location=(108.943, 34.263), tags={}))
    corners = [(108.950, 34.270), (108.951, 34.270), (108.951, 34.271), (108.950, 34.271)]
    for k, (x, y) in enumerate(corners):
        w.add_node(m.Node(id=10 + k, location=(x, y), tags={}))
    w.add_way(m.Way(id=100, nodes=[10, 11, 12, 13, 10], tags={"shop": "supermarket"}))
    w.add_way(m.Way(id=101, nodes=[10, 11, 12], tags={"shop": "kiosk"}))
    w.close()
    return path


def test_osm_outlets_tiny(tiny_pbf: Path) -> None:
    pois = read_osm_outlets(tiny_pbf)
    assert pois[["osm_type", "osm_id"]].values.tolist() == [["node", 1], ["node", 2], ["way", 100]]
    assert pois.loc[0, "brand"] == "FamilyMart" and pois.loc[0, "name"] == "全家"
    assert shapely.box(108.950, 34.270, 108.951, 34.271).contains(
        shapely.Point(pois.loc[2, "lon"], pois.loc[2, "lat"])
    )
    out = read_outlets(tiny_pbf)
    assert out["outlet_id"].tolist() == ["node/1", "node/2", "way/100"]
    assert out["category"].tolist() == ["convenience_store", "pharmacy", "supermarket"]
    assert out["source_type"].tolist() == [
        "shop=convenience",
        "amenity=pharmacy",
        "shop=supermarket",
    ]
    assert out["is_chain"].tolist()[0] is True
    assert out["opening_hours"].tolist()[0] == "24/7"
    with pytest.raises(CRSError):
        read_outlets(tiny_pbf, crs="bd09")


def test_helsinki_outlets() -> None:
    out = read_outlets(get_path("helsinki"))
    # 1,593 candidates (benches, parking, taxi stands ... left out), 659 with a 业态
    assert len(out) == 1593
    assert out["outlet_id"].is_unique
    counts = out["category"].value_counts()
    assert counts["unclassified"] < 0.65 * len(out)  # restaurants, bars, offices ... (934)
    assert counts["convenience_store"] == 9  # shop=convenience
    assert counts["pharmacy"] == 6
    assert counts["beauty_hair"] >= 44  # shop=hairdresser + beauty


# --- real data: Xi'an Baidu POIs -------------------------------------------------------------


@pytest.fixture(scope="module")
def xian_network(xian_dir: dict[str, Path]) -> Any:
    from lifecircle.ingest.network import read_network

    return read_network(xian_dir["gpkg"])


@pytest.fixture(scope="module")
def xian_outlets(xian_dir: dict[str, Path], xian_network: Any) -> Any:
    return read_outlets(
        xian_dir["poi"], crs="bd09", lon="lng_bd09", lat="lat_bd09", network=xian_network
    )


@pytest.mark.shared_data
def test_xian_baidu_pois_bd09(xian_outlets: Any, xian_network: Any) -> None:
    out = xian_outlets
    assert len(out) == 17_148
    assert out["outlet_id"].is_unique
    assert not out.attrs["offset_check"].suspicious
    counts = out["category"].value_counts()
    # PROVENANCE.md counts by Baidu tag: 药店 211, 便利店 126, 美发 590, 超市 40, 洗衣 58
    assert 200 <= counts["pharmacy"] <= 260
    assert 120 <= counts["convenience_store"] <= 200
    assert counts["beauty_hair"] >= 590
    assert 25 <= counts["supermarket"] <= 60  # Baidu 超市 small shops go to 便利店 by name
    assert 50 <= counts["laundry"] <= 80
    assert counts["unclassified"] < 0.7 * len(out)  # hotels, companies, parking, housing ...
    # distance to the nearest edge after BD-09 → WGS-84
    pts = out.to_crs(xian_network.crs).geometry.values
    tree = shapely.STRtree(xian_network.edge_geometry)
    _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    assert np.median(dist) < 40.0


@pytest.mark.shared_data
def test_xian_bd09_columns_declared_wgs84_error(
    xian_dir: dict[str, Path], xian_network: Any
) -> None:
    with pytest.raises(CRSError, match="better as bd09"):
        read_outlets(
            xian_dir["poi"], crs="wgs84", lon="lng_bd09", lat="lat_bd09", network=xian_network
        )
    with pytest.warns(CoordinateOffsetWarning, match="bd09"):
        read_outlets(
            xian_dir["poi"], crs="wgs84", lon="lng_bd09", lat="lat_bd09", network=xian_network,
            accept_offset=True,
        )  # fmt: skip


@pytest.mark.shared_data
def test_xian_wgs84_pair_chosen_by_crs(xian_dir: dict[str, Path], xian_outlets: Any) -> None:
    out = read_outlets(xian_dir["poi"], crs="wgs84")  # picks lng_wgs84/lat_wgs84
    geod = pyproj.Geod(ellps="WGS84")
    d = geod.inv(out.geometry.x, out.geometry.y, xian_outlets.geometry.x, xian_outlets.geometry.y)
    # the file's own conversion (one-step inverse formulas) agrees with ours to a few metres
    assert np.median(d[2]) < 5.0


@pytest.mark.parametrize("dtype", [object, "string", "str"])
def test_text_cells_are_trimmed_and_missing_is_none_whatever_the_dtype(dtype):
    from lifecircle.ingest._tables import _id_strings, text_column

    values = pd.Series([" a1 ", None, "", "\tb2", "c 3"], dtype=dtype)
    assert list(text_column(pd.DataFrame({"c": values}), "c")) == ["a1", None, None, "b2", "c 3"]
    assert list(_id_strings(values)) == ["a1", "", "", "b2", "c 3"]

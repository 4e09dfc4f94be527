"""Tests of lifecircle.geo: WGS-84 / GCJ-02 / BD-09 conversion, UTM zones and the offset check."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecircle import geo
from lifecircle.errors import CoordinateOffsetWarning, CRSError, InputError, NetworkError
from lifecircle.network import WalkNetwork

_GEOD = pyproj.Geod(ellps="WGS84")


def _metres(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Geodesic distance in metres (vectorised)."""
    return np.asarray(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --- published reference pairs ----------------------------------------------------------------

# googollee/eviltransform, python/test.py (commit 3416646a), TESTS: (wgsLat, wgsLng, gcjLat, gcjLng)
# for Shanghai, Shenzhen and Beijing.
EVILTRANSFORM_WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]

# wandergis/coordtransform, test/app.js: every conversion applied to (116.404, 39.915), Beijing
# (天安门, Baidu's own demo point); results as (lon, lat).  Its gcj02towgs84 is the one-step
# approximation, so that pair is only good to about a metre.
COORDTRANSFORM_INPUT = (116.404, 39.915)
COORDTRANSFORM = {
    "bd09_to_gcj02": (116.39762729119315, 39.90865673957631),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_wgs84": (116.39775550083061, 39.91359571849836),
}


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM_WGS_GCJ)
def test_wgs84_to_gcj02_matches_eviltransform(
    wlat: float, wlon: float, glat: float, glon: float
) -> None:
    lon, lat = geo.wgs84_to_gcj02(wlon, wlat)
    assert _metres(lon, lat, glon, glat) < 0.01


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM_WGS_GCJ)
def test_gcj02_to_wgs84_is_exact_on_eviltransform_pairs(
    wlat: float, wlon: float, glat: float, glon: float
) -> None:
    lon, lat = geo.gcj02_to_wgs84(glon, glat)
    assert _metres(lon, lat, wlon, wlat) < 0.01  # the one-step approximation is off by ~1 m


@pytest.mark.parametrize("name", sorted(COORDTRANSFORM))
def test_conversions_match_coordtransform(name: str) -> None:
    lon, lat = getattr(geo, name)(*COORDTRANSFORM_INPUT)
    ref_lon, ref_lat = COORDTRANSFORM[name]
    assert _metres(lon, lat, ref_lon, ref_lat) < 1.0


def test_gcj02_to_wgs84_beats_one_step_approximation() -> None:
    wlon, wlat = 116.404, 39.915
    glon, glat = geo.wgs84_to_gcj02(wlon, wlat)
    lon, lat = geo.gcj02_to_wgs84(glon, glat)
    assert abs(lon - wlon) < 1e-9 and abs(lat - wlat) < 1e-9
    # the one-step approximation (COORDTRANSFORM's gcj02_to_wgs84) is off by more than that
    ref_lon, ref_lat = COORDTRANSFORM["gcj02_to_wgs84"]
    exact_lon, exact_lat = geo.gcj02_to_wgs84(*COORDTRANSFORM_INPUT)
    assert 1e-7 < max(abs(exact_lon - ref_lon), abs(exact_lat - ref_lat)) < 1e-5


# --- round trips and shapes ---------------------------------------------------------------------

mainland = st.tuples(
    st.floats(min_value=73.5, max_value=134.8, allow_nan=False),
    st.floats(min_value=18.0, max_value=53.5, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(mainland)
def test_round_trip_gcj02(point: tuple[float, float]) -> None:
    lon, lat = point
    glon, glat = geo.wgs84_to_gcj02(lon, lat)
    assert _metres(lon, lat, glon, glat) > 1.0  # there is an offset in China
    back = geo.gcj02_to_wgs84(glon, glat)
    assert abs(back[0] - lon) < 1e-7 and abs(back[1] - lat) < 1e-7
    assert _metres(lon, lat, *back) < 1.0


@settings(max_examples=200, deadline=None)
@given(mainland)
def test_round_trip_bd09(point: tuple[float, float]) -> None:
    lon, lat = point
    blon, blat = geo.wgs84_to_bd09(lon, lat)
    assert _metres(lon, lat, blon, blat) > 100.0
    back = geo.bd09_to_wgs84(blon, blat)
    assert _metres(lon, lat, *back) < 1.0
    assert np.allclose(geo.to_wgs84(*geo.from_wgs84(lon, lat, "baidu"), "BD-09"), (lon, lat))


def test_round_trip_vectorised_grid() -> None:
    lon, lat = np.meshgrid(np.linspace(73.6, 134.7, 60), np.linspace(18.2, 53.4, 40))
    for name in ("gcj02", "bd09"):
        back = geo.to_wgs84(*geo.from_wgs84(lon, lat, name), name)
        assert back[0].shape == lon.shape
        assert np.abs(back[0] - lon).max() < 1e-7 and np.abs(back[1] - lat).max() < 1e-7


def test_offset_sizes_in_china() -> None:
    lon, lat = np.meshgrid(np.linspace(75, 134, 30), np.linspace(20, 53, 30))
    gcj = _metres(lon.ravel(), lat.ravel(), *(a.ravel() for a in geo.wgs84_to_gcj02(lon, lat)))
    bd = _metres(lon.ravel(), lat.ravel(), *(a.ravel() for a in geo.wgs84_to_bd09(lon, lat)))
    assert np.median(gcj) > 300 and gcj.max() < 800
    assert bd.min() > 600 and bd.max() < 1600


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(24.94, 60.17), (139.69, 35.69), (-74.0, 40.7), (151.2, -33.9), (108.9, 60.0), (70.0, 35.0)],
)
def test_no_offset_outside_china(lon: float, lat: float) -> None:
    assert geo.out_of_china(lon, lat)
    for name in ("wgs84_to_gcj02", "gcj02_to_wgs84", "wgs84_to_bd09", "bd09_to_wgs84"):
        out = getattr(geo, name)(lon, lat)
        assert (float(out[0]), float(out[1])) == (lon, lat), name


def test_out_of_china_box_edges() -> None:
    lon = np.array([72.004, 137.8347, 72.0, 137.84, 108.9, 108.9, np.nan])
    lat = np.array([0.8293, 55.8271, 30.0, 30.0, 0.8, 55.83, 30.0])
    assert geo.out_of_china(lon, lat).tolist() == [False, False, True, True, True, True, True]


def test_shapes_scalars_lists_series_and_nan() -> None:
    lon, lat = geo.wgs84_to_gcj02(108.94, 34.26)
    assert isinstance(lon, np.ndarray) and lon.shape == () and lon.dtype == np.float64
    lon, lat = geo.gcj02_to_wgs84([108.94, np.nan], pd.Series([34.26, 34.26]))
    assert lon.shape == (2,) and np.isfinite(lon[0]) and np.isnan(lon[1])
    lon, lat = geo.bd09_to_wgs84(np.full((2, 3), 108.94), 34.26)  # broadcast
    assert lon.shape == lat.shape == (2, 3)
    src = np.array([108.94])
    geo.to_wgs84(src, src, "wgs84")[0][0] = 0.0
    assert src[0] == 108.94  # never a view of the input


# --- names and UTM ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("4326", "wgs84"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gcj", "gcj02"),
        ("Mars", "gcj02"),
        ("火星", "gcj02"),
        ("高德", "gcj02"),
        ("amap", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        (" Baidu ", "bd09"),
        ("百度", "bd09"),
        ("bd_09", "bd09"),
    ],
)
def test_parse_crs_name_aliases(name: str, expected: str) -> None:
    assert geo.parse_crs_name(name) == expected


@pytest.mark.parametrize("name", ["", "utm", "epsg:3857", "google", "bd-11", "wgs72"])
def test_parse_crs_name_rejects_unknown(name: str) -> None:
    with pytest.raises(CRSError) as info:
        geo.parse_crs_name(name)
    text = str(info.value)
    assert repr(name) in text and "wgs84" in text and "gcj02" in text and "bd09" in text
    assert isinstance(info.value, InputError) and info.value.problems[0].field == "crs"
    with pytest.raises(CRSError):
        geo.to_wgs84(1.0, 2.0, name)
    with pytest.raises(CRSError):
        geo.check_offset([108.9], [34.2], name, np.array([shapely.LineString([(0, 0), (1, 1)])]))


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        ([108.94, 108.95, 108.93], [34.26, 34.27, 34.25], 32649),  # Xi'an
        (121.47, 31.23, 32651),  # Shanghai
        (151.2, -33.9, 32756),  # Sydney
        (-0.1, 51.5, 32630),  # London
        (180.0, 10.0, 32660),
        (-180.0, 10.0, 32601),
    ],
)
def test_local_utm_crs(lon: Any, lat: Any, epsg: int) -> None:
    assert geo.local_utm_crs(lon, lat).to_epsg() == epsg


def test_local_utm_crs_uses_the_median_and_ignores_nan() -> None:
    lon = [108.9, 108.9, 108.9, 60.0, np.nan]
    assert geo.local_utm_crs(lon, [34.2, 34.2, 34.2, 34.2, np.nan]).to_epsg() == 32649


@pytest.mark.parametrize(
    ("lon", "lat", "match"),
    [
        ([np.nan], [np.nan], "no finite coordinate"),
        ([], [], "no finite coordinate"),
        ([500000.0], [3790000.0], "degrees"),
    ],
)
def test_local_utm_crs_rejects_bad_input(lon: Any, lat: Any, match: str) -> None:
    with pytest.raises(CRSError, match=match):
        geo.local_utm_crs(lon, lat)


# --- offset check on a synthetic street grid ----------------------------------------------------


@pytest.fixture(scope="module")
def grid() -> dict[str, Any]:
    """An irregular street grid near Shanghai (UTM 51N) and 600 points lying on its streets."""
    rng = np.random.default_rng(7)
    utm = pyproj.CRS.from_epsg(32651)
    x0, y0 = 350_000.0, 3_455_000.0
    xs = x0 + np.cumsum(rng.uniform(60, 220, 30))
    ys = y0 + np.cumsum(rng.uniform(60, 220, 30))
    lines = [shapely.LineString([(x, ys[0]), (x, ys[-1])]) for x in xs]
    lines += [shapely.LineString([(xs[0], y), (xs[-1], y)]) for y in ys]
    edges_m = np.array(lines, dtype=object)
    pick = rng.integers(0, len(lines), 600)
    pts = shapely.line_interpolate_point(edges_m[pick], rng.uniform(0, 1, 600), normalized=True)
    to_deg = pyproj.Transformer.from_crs(utm, 4326, always_xy=True)
    lon, lat = to_deg.transform(shapely.get_x(pts), shapely.get_y(pts))
    edges_deg = shapely.transform(
        edges_m, lambda xy: np.column_stack(to_deg.transform(xy[:, 0], xy[:, 1]))
    )
    n = len(lines)
    network = WalkNetwork(
        crs=utm,
        node_x=np.zeros(1),
        node_y=np.zeros(1),
        node_id=np.zeros(1, dtype=np.int64),
        edge_u=np.zeros(n, dtype=np.int64),
        edge_v=np.zeros(n, dtype=np.int64),
        edge_length=shapely.length(edges_m),
        edge_geometry=edges_m,
        edge_attrs=pd.DataFrame(index=range(n)),
    )
    return {"lon": lon, "lat": lat, "edges": edges_deg, "network": network}


@pytest.mark.parametrize("system", ["wgs84", "gcj02", "bd09"])
def test_check_offset_synthetic_correct_declaration(grid: dict[str, Any], system: str) -> None:
    lon, lat = geo.from_wgs84(grid["lon"], grid["lat"], system)
    for edges in (grid["edges"], grid["network"]):
        check = geo.check_offset(lon, lat, system, edges)
        assert not check.suspicious and check.best == system
        assert check.median_m[system] < 0.01 and check.within_25m[system] == 1.0
        assert check.shift_m[system] == 0.0 and check.n_points == 600
        assert "fits the network" in check.message


@pytest.mark.parametrize(
    ("truth", "declared"), [("bd09", "wgs84"), ("gcj02", "wgs84"), ("wgs84", "bd09")]
)
def test_check_offset_synthetic_wrong_declaration(
    grid: dict[str, Any], truth: str, declared: str
) -> None:
    lon, lat = geo.from_wgs84(grid["lon"], grid["lat"], truth)
    with pytest.warns(CoordinateOffsetWarning) as record:
        check = geo.check_offset(lon, lat, declared, grid["network"], what="residences")
    assert check.suspicious and check.best == truth and check.declared == declared
    assert 250 < check.shift_m[truth] < 1500
    text = str(record[0].message)
    assert f"--residences-crs {truth}" in text and declared in text
    assert f"{check.median_m[declared]:.1f} m" in text and f"{check.median_m[truth]:.1f} m" in text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert geo.check_offset(lon, lat, declared, grid["edges"], warn=False).suspicious


def test_check_offset_ignores_far_and_invalid_points(grid: dict[str, Any]) -> None:
    lon = np.concatenate([grid["lon"], [np.nan, 116.4, 500000.0]])
    lat = np.concatenate([grid["lat"], [31.2, 39.9, 3455000.0]])
    check = geo.check_offset(lon, lat, "wgs84", grid["edges"])
    assert check.n_points == 600 and not check.suspicious
    none = geo.check_offset([116.4, np.nan], [39.9, 1.0], "wgs84", grid["edges"])
    assert none.n_points == 0 and not none.suspicious and np.isnan(none.median_m["wgs84"])
    assert "not checked" in none.message


def test_check_offset_samples_at_most_2000(grid: dict[str, Any]) -> None:
    lon, lat = np.tile(grid["lon"], 5), np.tile(grid["lat"], 5)
    first = geo.check_offset(lon, lat, "wgs84", grid["edges"], seed=1)
    assert first.n_points == 2000
    assert first == geo.check_offset(lon, lat, "wgs84", grid["edges"], seed=1)


@pytest.mark.parametrize(
    "edges",
    [np.array([], dtype=object), np.array([None, shapely.LineString()], dtype=object)],
)
def test_check_offset_rejects_empty_network(edges: np.ndarray) -> None:
    with pytest.raises(NetworkError, match="no edge geometry"):
        geo.check_offset([108.9], [34.2], "wgs84", edges)


def test_check_offset_empty_walk_network(grid: dict[str, Any]) -> None:
    net = grid["network"]
    empty = WalkNetwork(
        crs=net.crs,
        node_x=net.node_x,
        node_y=net.node_y,
        node_id=net.node_id,
        edge_u=np.zeros(0, dtype=np.int64),
        edge_v=np.zeros(0, dtype=np.int64),
        edge_length=np.zeros(0),
        edge_geometry=np.array([], dtype=object),
        edge_attrs=pd.DataFrame(),
    )
    with pytest.raises(NetworkError, match="load a network"):
        geo.check_offset(grid["lon"], grid["lat"], "wgs84", empty)


def test_check_offset_accepts_projected_geoseries(grid: dict[str, Any]) -> None:
    import geopandas as gpd

    series = gpd.GeoSeries(grid["edges"], crs=4326).to_crs(32651)
    blon, blat = geo.wgs84_to_bd09(grid["lon"], grid["lat"])
    with pytest.warns(CoordinateOffsetWarning, match="Baidu"):
        check = geo.check_offset(blon, blat, "gcj", gpd.GeoDataFrame(geometry=series))
    assert check.best == "bd09" and check.declared == "gcj02"
    assert 700 < check.shift_m["bd09"] < 1000  # the BD-09 step alone


def test_check_offset_message_when_wgs84_fits_better(grid: dict[str, Any]) -> None:
    with pytest.warns(CoordinateOffsetWarning, match=r"--outlets-crs wgs84 .*GPS/OSM"):
        geo.check_offset(grid["lon"], grid["lat"], "amap", grid["edges"])


# --- offset check on the real Xi'an data ---------------------------------------------------------


@pytest.fixture(scope="module")
def xian(xian_dir: dict[str, Path]) -> dict[str, Any]:
    """Xi'an edges (WGS-84), Baidu POIs and ke.com/sofang.com 小区 inside the network box."""
    import geopandas as gpd

    edges = gpd.read_file(xian_dir["gpkg"], layer="edges", columns=["u"])
    poi = pd.read_csv(xian_dir["poi"], usecols=["lng_bd09", "lat_bd09", "lng_wgs84", "lat_wgs84"])
    xq = pd.read_csv(
        xian_dir["xiaoqu"],
        usecols=["city", "source", "lng_bd09", "lat_bd09", "lng_wgs84", "lat_wgs84"],
    )
    x0, y0, x1, y1 = edges.total_bounds
    xq = xq[
        (xq["city"] == "西安")
        & xq["source"].isin(["ke.com", "sofang.com"])
        & xq["lng_wgs84"].between(x0, x1)
        & xq["lat_wgs84"].between(y0, y1)
    ]
    return {"edges": edges.geometry.to_numpy(), "poi": poi, "xiaoqu": xq}


@pytest.mark.shared_data
def test_xian_bd09_conversion_matches_the_published_wgs84_columns(xian: dict[str, Any]) -> None:
    poi = xian["poi"]
    lon, lat = geo.bd09_to_wgs84(poi["lng_bd09"], poi["lat_bd09"])
    gap = _metres(lon, lat, poi["lng_wgs84"].to_numpy(), poi["lat_wgs84"].to_numpy())
    assert gap.max() < 3.0  # the author used the one-step inverse (1–2 m off)


@pytest.mark.shared_data
def test_xian_poi_bd09_declared_bd09_fits(xian: dict[str, Any]) -> None:
    poi = xian["poi"]
    check = geo.check_offset(poi["lng_bd09"], poi["lat_bd09"], "bd09", xian["edges"])
    assert not check.suspicious and check.best == "bd09"
    assert check.median_m["bd09"] < 40.0 and check.n_points == 2000
    assert 1000 < check.shift_m["wgs84"] < 1300 and 700 < check.shift_m["gcj02"] < 1000


@pytest.mark.shared_data
def test_xian_poi_bd09_declared_wgs84_warns(xian: dict[str, Any]) -> None:
    poi = xian["poi"]
    with pytest.warns(CoordinateOffsetWarning, match="--outlets-crs bd09"):
        check = geo.check_offset(poi["lng_bd09"], poi["lat_bd09"], "WGS-84", xian["edges"])
    assert check.suspicious and check.best == "bd09" and check.declared == "wgs84"
    assert check.median_m["bd09"] < 0.8 * check.median_m["wgs84"]
    assert check.within_25m["bd09"] > check.within_25m["wgs84"] + 0.1


@pytest.mark.shared_data
def test_xian_poi_wgs84_declared_wgs84_fits(xian: dict[str, Any]) -> None:
    poi = xian["poi"]
    check = geo.check_offset(poi["lng_wgs84"], poi["lat_wgs84"], "wgs84", xian["edges"])
    assert not check.suspicious and check.best == "wgs84" and check.median_m["wgs84"] < 40.0


@pytest.mark.shared_data
def test_xian_xiaoqu(xian: dict[str, Any]) -> None:
    xq = xian["xiaoqu"]
    assert len(xq) > 500
    ok = geo.check_offset(xq["lng_bd09"], xq["lat_bd09"], "bd09", xian["edges"], what="residences")
    assert not ok.suspicious and ok.best == "bd09" and ok.median_m["bd09"] < 40.0
    with pytest.warns(CoordinateOffsetWarning, match="--residences-crs bd09"):
        bad = geo.check_offset(
            xq["lng_bd09"], xq["lat_bd09"], "wgs84", xian["edges"], what="residences"
        )
    assert bad.suspicious and bad.best == "bd09"
    wgs = geo.check_offset(xq["lng_wgs84"], xq["lat_wgs84"], "wgs84", xian["edges"])
    assert not wgs.suspicious

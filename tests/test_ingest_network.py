"""Street-network readers: OSM .pbf, OSMnx GraphML and road-line layers → WalkNetwork."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import osmium
import pandas as pd
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, MultiLineString, Point

from lifecircle.datasets import get_path
from lifecircle.errors import CRSError, InputError, NetworkError
from lifecircle.ingest.network import WalkRules, read_network
from lifecircle.network import WalkNetwork

UTM = "EPSG:32649"
X0, Y0 = 500_000.0, 3_790_000.0  # a point in UTM 49N (Xi'an)


def _lines(
    tmp_path: Path, geoms: list[Any], file: str = "roads.gpkg", crs: Any = UTM, **cols: Any
) -> Path:
    """Write lines given in metres relative to (X0, Y0) (or as-is when crs is geographic)."""
    shifted = [
        g
        if g is None or crs is None or not crs.startswith("EPSG:326")
        else shapely.transform(g, lambda c: c + np.array([X0, Y0]))
        for g in geoms
    ]
    path = tmp_path / file
    frame = gpd.GeoDataFrame(pd.DataFrame(cols, index=range(len(geoms))), geometry=shifted, crs=crs)
    if crs is None:
        with pytest.warns(UserWarning, match="'crs' was not provided"):
            frame.to_file(path)
    else:
        frame.to_file(path)
    return path


def _check_invariants(net: WalkNetwork) -> None:
    """Geometry runs u → v, lengths are the projected lengths, one component kept."""
    assert net.crs.is_projected
    start = shapely.get_coordinates(shapely.get_point(net.edge_geometry, 0))
    end = shapely.get_coordinates(shapely.get_point(net.edge_geometry, -1))
    nodes = np.column_stack([net.node_x, net.node_y])
    assert np.abs(start - nodes[net.edge_u]).max() < 0.01
    assert np.abs(end - nodes[net.edge_v]).max() < 0.01
    assert np.allclose(net.edge_length, shapely.length(net.edge_geometry))
    assert (net.edge_length > 0).all()
    assert len(net.edge_attrs) == net.n_edges
    assert {"highway", "name", "osmid"} <= set(net.edge_attrs.columns)
    used = np.zeros(net.n_nodes, dtype=bool)
    used[net.edge_u] = used[net.edge_v] = True
    assert used.all()
    assert net.report.kept_nodes == net.n_nodes and net.report.kept_edges == net.n_edges


# ------------------------------------------------------------------------- topology of lines


def test_lines_crossing_without_shared_vertex_stay_apart(tmp_path: Path) -> None:
    path = _lines(tmp_path, [LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 60)])])
    net = read_network(path, keep="all")
    assert (net.n_nodes, net.n_edges, net.report.n_components) == (4, 2, 2)
    largest = read_network(path)
    assert largest.n_edges == 1 and largest.edge_length[0] == pytest.approx(110.0)
    assert largest.report.dropped_components == 1 and largest.report.dropped_km == pytest.approx(
        0.1
    )


def test_lines_crossing_at_shared_vertex_are_joined(tmp_path: Path) -> None:
    path = _lines(
        tmp_path,
        [LineString([(0, 0), (50, 0), (100, 0)]), LineString([(50, -50), (50, 0), (50, 60)])],
    )
    net = read_network(path)
    assert (net.n_nodes, net.n_edges, net.report.n_components) == (5, 4, 1)
    assert sorted(net.edge_length) == pytest.approx([50, 50, 50, 60])
    _check_invariants(net)


def test_t_junction_splits_the_through_line(tmp_path: Path) -> None:
    path = _lines(
        tmp_path,
        [LineString([(0, 0), (100, 0), (200, 0)]), LineString([(100, 0), (100, 100)])],
        highway=["residential", "footway"],
        name=["西大街", None],
    )
    net = read_network(path)
    assert (net.n_nodes, net.n_edges) == (4, 3)
    assert np.allclose(net.edge_length, 100.0)
    assert list(net.edge_attrs["highway"]) == ["residential", "residential", "footway"]
    assert net.edge_attrs["name"].iloc[0] == "西大街"
    degree = np.bincount(np.concatenate([net.edge_u, net.edge_v]))
    assert sorted(degree) == [1, 1, 1, 3]
    assert net.crs.to_epsg() == 32649  # already metric: kept
    assert list(net.node_id) == [0, 1, 2, 3]
    _check_invariants(net)


def test_line_visiting_a_vertex_twice_makes_a_loop(tmp_path: Path) -> None:
    coords = [(0, 0), (100, 0), (100, 100), (150, 100), (100, 0), (200, 0)]
    net = read_network(_lines(tmp_path, [LineString(coords)]))
    assert (net.n_nodes, net.n_edges) == (3, 3)
    assert (net.edge_u == net.edge_v).sum() == 1
    assert net.total_km == pytest.approx(LineString(coords).length / 1000)


def test_repeated_vertices_zero_length_and_multilines(tmp_path: Path) -> None:
    path = _lines(
        tmp_path,
        [
            LineString([(0, 0), (0, 0), (100, 0), (100, 0)]),
            LineString([(300, 0), (300, 0)]),
            MultiLineString([[(100, 0), (200, 0)], [(200, 0), (200, 50)]]),
        ],
    )
    net = read_network(path, keep="all")
    assert (net.n_nodes, net.n_edges) == (4, 3)
    assert sorted(net.edge_length) == pytest.approx([50, 100, 100])
    _check_invariants(net)


def test_geographic_lines_are_projected_to_utm(tmp_path: Path) -> None:
    path = _lines(
        tmp_path,
        [LineString([(108.94, 34.26), (108.95, 34.26)])],
        file="ways.geojson",
        crs="EPSG:4326",
    )
    net = read_network(path)
    assert net.crs.to_epsg() == 32649
    assert net.edge_length[0] == pytest.approx(920.0, rel=0.01)  # 0.01° of longitude at 34.26° N


def test_web_mercator_is_reprojected(tmp_path: Path) -> None:
    to_mercator = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
    line = shapely.transform(
        LineString([(108.94, 34.26), (108.95, 34.26)]),
        lambda c: np.column_stack(to_mercator.transform(c[:, 0], c[:, 1])),
    )
    net = read_network(_lines(tmp_path, [line], crs="EPSG:3857"))
    assert net.crs.to_epsg() == 32649
    assert net.edge_length[0] == pytest.approx(920.0, rel=0.01)  # not the inflated Mercator length


def test_zipped_shapefile(tmp_path: Path) -> None:
    _lines(tmp_path, [LineString([(0, 0), (100, 0)])], file="roads.shp", fclass=["footway"])
    archive = tmp_path / "roads.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("roads.*"):
            if part != archive:
                zf.write(part, part.name)
    net = read_network(archive)
    assert net.n_edges == 1 and net.edge_attrs["highway"].iloc[0] == "footway"


# ------------------------------------------------------------------------- walking rules


def _star(tmp_path: Path, **cols: Any) -> Path:
    """Six 100 m arms from a centre node, one per attribute row."""
    ends = [(100, 0), (0, 100), (-100, 0), (0, -100), (70.71068, 70.71068), (-70.71068, -70.71068)]
    n = len(next(iter(cols.values())))
    return _lines(tmp_path, [LineString([(0, 0), e]) for e in ends[:n]], **cols)


def test_rules_motorway_access_foot_steps(tmp_path: Path) -> None:
    path = _star(
        tmp_path,
        highway=["motorway", "service", "service", "steps", "footway", "cycleway"],
        access=[None, "private", "private", None, None, None],
        foot=[None, None, "yes", None, None, "no"],
    )
    net = read_network(path)
    assert sorted(net.edge_attrs["highway"]) == ["footway", "service", "steps"]
    assert net.edge_attrs.loc[net.edge_attrs["highway"] == "service", "foot"].item() == "yes"
    assert net.report.excluded_edges == {"highway=motorway": 1, "access=private": 1, "foot=no": 1}
    assert net.report.excluded_km == pytest.approx(
        {"highway=motorway": 0.1, "access=private": 0.1, "foot=no": 0.1}
    )
    everything = read_network(path, rules=WalkRules.keep_all())
    assert everything.n_edges == 6 and everything.report.excluded_edges == {}


def test_rules_handle_case_lists_and_semicolons(tmp_path: Path) -> None:
    path = _star(
        tmp_path, highway=["Motorway", "['trunk', 'footway']", "trunk;trunk_link", "Steps"]
    )
    net = read_network(path)
    assert sorted(net.edge_attrs["highway"]) == ["Steps", "['trunk', 'footway']"]
    assert net.report.excluded_edges == {"highway=motorway": 1, "highway=trunk": 1}


def test_walk_hint_column(tmp_path: Path) -> None:
    path = _star(tmp_path, highway=["primary"] * 3, walk_hint=[True, False, True])
    net = read_network(path)
    assert net.n_edges == 2 and net.report.excluded_edges == {"walk_hint": 1}
    assert read_network(path, rules=WalkRules(walk_hint_column=None)).n_edges == 3


def test_walk_hint_bad_values_name_row_and_field(tmp_path: Path) -> None:
    path = _star(tmp_path, highway=["primary"] * 3, walk_hint=["true", "maybe", "0"])
    with pytest.raises(NetworkError) as err:
        read_network(path)
    problem = err.value.problems[0]
    assert (problem.row, problem.field) == (2, "walk_hint") and "maybe" in str(err.value)


def test_no_class_column_takes_every_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _star(tmp_path, name=["a", "b"])
    with caplog.at_level(logging.INFO, logger="lifecircle.ingest.network"):
        net = read_network(path)
    assert net.n_edges == 2 and net.edge_attrs["highway"].isna().all()
    assert "no 'highway' or 'fclass' column" in caplog.text
    assert "excluded by walking rules: none" in caplog.text


def test_nothing_walkable_names_the_rules(tmp_path: Path) -> None:
    path = _star(tmp_path, highway=["motorway", "motorway", "trunk"])
    with pytest.raises(
        NetworkError, match=r"all 3 were excluded.*highway=motorway: 2, highway=trunk: 1"
    ):
        read_network(path)


def test_walk_rules_configuration(tmp_path: Path) -> None:
    rules = WalkRules.from_dict({"excluded_highways": ["Motorway"], "walk_hint_column": False})
    assert rules.excluded_highways == frozenset({"motorway"}) and rules.walk_hint_column is None
    assert rules.excluded_access == WalkRules().excluded_access
    with pytest.raises(InputError) as err:
        WalkRules.from_dict({"exclude": ["x"], "foot_allowed": 3})
    assert len(err.value.problems) == 2 and "excluded_highways" in str(err.value)
    toml = tmp_path / "rules.toml"
    toml.write_text('[network.walk]\nexcluded_access = ["no"]\nwalk_hint_column = "ok"\n', "utf-8")
    rules = WalkRules.from_toml(toml, table="network.walk")
    assert rules.excluded_access == {"no"} and rules.walk_hint_column == "ok"
    with pytest.raises(InputError, match="not found"):
        WalkRules.from_toml(toml, table="walk")
    with pytest.raises(InputError, match="not a table"):
        WalkRules.from_toml(toml, table="network.walk.walk_hint_column")
    toml.write_text("excluded_access = [", "utf-8")
    with pytest.raises(InputError, match="cannot read walking rules"):
        WalkRules.from_toml(toml)
    with pytest.raises(AttributeError):
        rules.walk_hint_column = None  # type: ignore[misc]


# ------------------------------------------------------------------------- bad inputs


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_network(tmp_path / "nope.gpkg")
    (tmp_path / "roads.csv").write_text("a,b\n", "utf-8")
    with pytest.raises(InputError, match=r"unknown street-network format '\.csv'"):
        read_network(tmp_path / "roads.csv")


def test_bad_parameters(tmp_path: Path) -> None:
    path = _lines(tmp_path, [LineString([(0, 0), (1, 0)])])
    with pytest.raises(InputError) as err:
        read_network(path, keep="most", min_component_nodes=0)  # type: ignore[arg-type]
    assert len(err.value.problems) == 2


@pytest.mark.parametrize(
    "name", ["roads.gpkg", "roads.geojson", "roads.shp", "roads.osm.pbf", "g.graphml"]
)
def test_corrupt_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x00\x01 this is not a street network \xff" * 20)
    with pytest.raises(InputError, match=str(path).replace("\\", "\\\\")):
        read_network(path)


def test_layer_choice_and_unknown_layer(tmp_path: Path) -> None:
    path = tmp_path / "net.gpkg"
    gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=UTM).to_file(path, layer="nodes")
    gpd.GeoDataFrame(geometry=[LineString([(X0, Y0), (X0 + 10, Y0)])], crs=UTM).to_file(
        path, layer="roads"
    )
    assert read_network(path).n_edges == 1  # first line layer
    with pytest.raises(InputError, match=r"layer 'edges' not found"):
        read_network(path, layer="edges")
    with pytest.raises(
        NetworkError, match=r"layer nodes.*expected LineString geometries, found \{'Point': 1\}"
    ):
        read_network(path, layer="nodes")


def test_empty_layer(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"highway": []}, geometry=[], crs=UTM).to_file(path)
    with pytest.raises(NetworkError, match="no features"):
        read_network(path)


def test_points_mixed_with_lines_are_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _lines(
        tmp_path, [LineString([(0, 0), (10, 0)]), Point(5, 5), None], file="mixed.geojson"
    )
    with caplog.at_level(logging.WARNING):
        net = read_network(path)
    assert net.n_edges == 1 and "ignored 2 rows without a line geometry" in caplog.text


def test_no_crs_is_refused_unless_given(tmp_path: Path) -> None:
    path = _lines(tmp_path, [LineString([(X0, Y0), (X0 + 100, Y0)])], file="roads.shp", crs=None)
    with pytest.raises(CRSError, match=r"roads\.shp.*declares no coordinate reference system"):
        read_network(path)
    assert read_network(path, crs=UTM).edge_length[0] == pytest.approx(100.0)


def test_crs_contradicted_by_coordinates(tmp_path: Path) -> None:
    metres_as_degrees = _lines(
        tmp_path, [LineString([(X0, Y0), (X0 + 100, Y0)])], file="a.gpkg", crs="EPSG:4326"
    )
    with pytest.raises(CRSError, match="outside longitude/latitude range"):
        read_network(metres_as_degrees)
    assert read_network(metres_as_degrees, crs=UTM).edge_length[0] == pytest.approx(100.0)
    degrees_as_metres = _lines(
        tmp_path, [LineString([(108.94, 34.26), (108.95, 34.26)])], file="b.gpkg", crs="EPSG:3857"
    )
    with pytest.raises(CRSError, match="looks like longitude/latitude"):
        read_network(degrees_as_metres)


# ------------------------------------------------------------------------- GraphML

_GRAPHML_HEAD = """<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
<key id="d0" for="graph" attr.name="crs" attr.type="string"/>
<key id="d1" for="node" attr.name="x" attr.type="string"/>
<key id="d2" for="node" attr.name="y" attr.type="string"/>
<key id="d3" for="edge" attr.name="osmid" attr.type="string"/>
<key id="d4" for="edge" attr.name="highway" attr.type="string"/>
<key id="d5" for="edge" attr.name="geometry" attr.type="string"/>
<key id="d6" for="edge" attr.name="length" attr.type="string"/>
<graph edgedefault="{kind}">{crs}
"""


def _graphml(
    tmp_path: Path,
    nodes: dict[str, tuple[float, float]],
    edges: list[tuple[Any, ...]],
    *,
    kind: str = "directed",
    crs: str | None = "epsg:4326",
) -> Path:
    text = _GRAPHML_HEAD.format(kind=kind, crs=f'<data key="d0">{crs}</data>' if crs else "")
    for nid, (x, y) in nodes.items():
        text += f'<node id="{nid}"><data key="d1">{x}</data><data key="d2">{y}</data></node>\n'
    for u, v, key, osmid, highway, wkt in edges:
        geometry = f'<data key="d5">{wkt}</data>' if wkt else ""
        text += (
            f'<edge source="{u}" target="{v}" id="{key}"><data key="d3">{osmid}</data>'
            f'<data key="d4">{highway}</data>{geometry}<data key="d6">999</data></edge>\n'
        )
    path = tmp_path / "g.graphml"
    path.write_text(text + "</graph></graphml>\n", "utf-8")
    return path


_NODES = {"1": (108.940, 34.260), "2": (108.941, 34.260), "3": (108.941, 34.261)}


def test_graphml_merges_reversed_copies_and_keeps_parallels(tmp_path: Path) -> None:
    bend = "LINESTRING (108.94 34.26, 108.9405 34.2605, 108.941 34.26)"
    bend_back = "LINESTRING (108.941 34.26, 108.9405 34.2605, 108.94 34.26)"
    edges = [
        (1, 2, 0, 10, "residential", None),  # straight, no geometry
        (2, 1, 0, 10, "residential", None),
        (1, 2, 1, "[11, 21]", "footway", bend),  # a true parallel edge, two OSM ways
        (2, 1, 1, "[21, 11]", "footway", bend_back),
        (2, 3, 0, 12, "steps", None),  # one direction only
        (3, 1, 0, 13, "motorway", None),
        (1, 3, 0, 13, "motorway", None),
    ]
    net = read_network(_graphml(tmp_path, _NODES, edges))
    assert net.n_edges == 3 and sorted(net.edge_attrs["osmid"].astype(str)) == [
        "10",
        "12",
        "[11, 21]",
    ]
    assert net.report.excluded_edges == {"highway=motorway": 1}
    assert list(net.node_id) == [1, 2, 3] and net.crs.to_epsg() == 32649
    straight, bent = (
        net.edge_length[net.edge_attrs["osmid"] == "10"],
        net.edge_length[net.edge_attrs["osmid"] == "[11, 21]"],
    )
    assert (
        straight[0] == pytest.approx(92.0, rel=0.01) and bent[0] > straight[0]
    )  # not the file's 999
    _check_invariants(net)


def test_graphml_undirected_and_wrongly_oriented_geometry(tmp_path: Path) -> None:
    back = "LINESTRING (108.941 34.26, 108.94 34.26)"  # drawn v → u
    net = read_network(_graphml(tmp_path, _NODES, [(1, 2, 0, 10, "path", back)], kind="undirected"))
    _check_invariants(net)


def test_graphml_bad_inputs(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match="declares no coordinate reference system"):
        read_network(_graphml(tmp_path, _NODES, [(1, 2, 0, 10, "path", None)], crs=None))
    nodes = {**_NODES, "4": ("x", 34.0)}
    edges = [(1, 9, 0, 10, "path", None), (1, 2, 0, 11, "path", "POINT (1 2)")]
    with pytest.raises(NetworkError) as err:
        read_network(_graphml(tmp_path, nodes, edges))
    text = str(err.value)
    assert (
        "node '4': expected a number" in text
        and "unknown node" in text
        and "WKT LineString" in text
    )
    empty = tmp_path / "e.graphml"
    empty.write_text(
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph/></graphml>', "utf-8"
    )
    with pytest.raises(NetworkError, match="0 nodes and 0 edges"):
        read_network(empty)


# ------------------------------------------------------------------------- OpenStreetMap .pbf


def _write_osm(path: Path) -> None:
    """A plus-shaped junction (node 1) with arms of ~100 m and ways testing every rule."""
    dlon, dlat = 0.001 / np.cos(np.radians(60.17)) * 0.9, 0.0009
    coords = {
        1: (24.94, 60.17),
        2: (24.94 + dlon, 60.17),
        3: (24.94, 60.17 + dlat),
        4: (24.94 - dlon, 60.17),
        5: (24.94, 60.17 - dlat),
        6: (24.94 + 2 * dlon, 60.17),
        7: (24.94 + 2 * dlon, 60.17 + dlat),
        8: (24.94 - 2 * dlon, 60.17),
        9: (24.94 - 2 * dlon, 60.17 - dlat),
    }
    ways = [
        (100, [2, 1, 4], {"highway": "residential", "name": "Testikatu"}),  # split at node 1
        (101, [3, 1, 5], {"highway": "footway"}),
        (102, [2, 6], {"highway": "steps"}),
        (103, [6, 7], {"highway": "service", "access": "private", "foot": "yes"}),
        (104, [4, 8], {"highway": "service", "access": "private"}),
        (105, [4, 9], {"highway": "motorway"}),
        (106, [5, 9], {"highway": "cycleway", "foot": "no"}),
        (107, [7, 55, 6], {"highway": "path"}),  # node 55 missing from the file: a gap
        (108, [8, 9], {"building": "yes"}),  # not a highway
    ]
    with osmium.SimpleWriter(str(path)) as writer:
        for nid, loc in coords.items():
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=loc))
        for wid, refs, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))


def test_osm_pbf_tag_rules_and_node_ids(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm.pbf"
    _write_osm(path)
    net = read_network(path)
    assert sorted(net.edge_attrs["osmid"]) == [100, 100, 101, 101, 102, 103]
    assert sorted(net.node_id) == [1, 2, 3, 4, 5, 6, 7]
    assert net.report.excluded_edges == {
        "access=private": 1,
        "foot=no": 1,
        "highway=motorway": 1,
    }
    assert net.crs.to_epsg() == 32635
    assert np.allclose(net.edge_length[net.edge_attrs["osmid"].to_numpy() == 101], 100.0, rtol=0.01)
    centre = int(np.flatnonzero(net.node_id == 1)[0])
    assert np.bincount(np.concatenate([net.edge_u, net.edge_v]))[centre] == 4
    assert net.edge_attrs.loc[net.edge_attrs["osmid"] == 100, "name"].eq("Testikatu").all()
    _check_invariants(net)
    # the path 107 has only one vertex on each side of the missing node: nothing left of it
    assert 107 not in set(net.edge_attrs["osmid"])


def test_osm_without_highways(tmp_path: Path) -> None:
    path = tmp_path / "none.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        writer.add_node(osmium.osm.mutable.Node(id=1, location=(24.9, 60.1)))
    with pytest.raises(NetworkError, match="no ways tagged highway"):
        read_network(path)


def test_osm_ways_without_located_nodes(tmp_path: Path) -> None:
    path = tmp_path / "gaps.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        writer.add_node(osmium.osm.mutable.Node(id=1, location=(24.9, 60.1)))
        writer.add_way(osmium.osm.mutable.Way(id=5, nodes=[1, 2], tags={"highway": "footway"}))
    with pytest.raises(NetworkError, match="no edge of positive length"):
        read_network(path)


def test_bundled_helsinki_pbf() -> None:
    net = read_network(get_path("helsinki"))
    assert net.crs.to_epsg() == 32635
    assert 3000 < net.n_nodes < 4500 and 4000 < net.n_edges < 6000
    assert 90 < net.total_km < 110
    assert net.node_id.dtype == np.int64 and (net.node_id > 0).all()
    assert set(net.edge_attrs["highway"]) >= {"footway", "steps", "pedestrian", "residential"}
    assert not set(net.edge_attrs["highway"]) & WalkRules().excluded_highways
    assert net.report.excluded_edges["foot=no"] > 0
    lon0, lat0, lon1, lat1 = net.bounds_wgs84()
    assert 24.9 < lon0 < lon1 < 25.0 and 60.1 < lat0 < lat1 < 60.2
    _check_invariants(net)


# ------------------------------------------------------------------------- real Xi'an data


@pytest.fixture(scope="module")
def xian(xian_dir: dict[str, Path]) -> dict[str, WalkNetwork]:
    everything = WalkRules.keep_all()
    return {
        "gpkg": read_network(xian_dir["gpkg"], layer="edges"),
        "gpkg_all": read_network(xian_dir["gpkg"], rules=everything),
        "graphml": read_network(xian_dir["graphml"]),
        "graphml_all": read_network(xian_dir["graphml"], rules=everything),
        "ways_all": read_network(xian_dir["ways"], rules=everything),
    }


@pytest.mark.shared_data
def test_xian_counts_match_provenance(xian: dict[str, WalkNetwork]) -> None:
    full = xian["gpkg_all"]
    assert full.n_nodes == 3444  # largest component with all edges
    assert full.report.n_components == 57
    assert full.report.kept_km + full.report.dropped_km == pytest.approx(540.7, abs=0.1)
    assert full.report.kept_km / 540.7 == pytest.approx(0.987, abs=0.001)
    walk = xian["gpkg"]
    assert walk.n_nodes == 3421  # walk_hint edges removed
    assert sum(walk.report.excluded_edges.values()) == 58
    assert walk.report.excluded_edges["walk_hint"] == 37  # the tunnels; trunks go by class
    assert sum(walk.report.excluded_km.values()) == pytest.approx(7.2, abs=0.1)
    assert walk.report.kept_km + walk.report.dropped_km == pytest.approx(540.7 - 7.2, abs=0.2)
    for net in xian.values():
        _check_invariants(net)
        assert net.crs.to_epsg() == 32649


@pytest.mark.shared_data
def test_xian_graphml_agrees_with_gpkg(xian: dict[str, WalkNetwork]) -> None:
    for suffix in ("", "_all"):
        a, b = xian["gpkg" + suffix], xian["graphml" + suffix]
        assert abs(a.n_nodes - b.n_nodes) <= 2 and abs(a.n_edges - b.n_edges) <= 2
        assert b.total_km == pytest.approx(a.total_km, rel=0.005)
        assert a.report.excluded_edges == b.report.excluded_edges
    assert xian["graphml"].edge_attrs["name"].str.contains("西大街").any()


@pytest.mark.shared_data
def test_xian_ways_joined_at_shared_vertices(xian: dict[str, WalkNetwork]) -> None:
    ways, gpkg = xian["ways_all"], xian["gpkg_all"]
    assert abs(ways.n_nodes - gpkg.n_nodes) <= 5
    assert ways.total_km == pytest.approx(gpkg.total_km, rel=0.005)


@pytest.mark.shared_data
def test_xian_raw_shapefile_gbk(xian_dir: dict[str, Path]) -> None:
    net = read_network(xian_dir["raw_shp"], encoding="gbk")
    assert net.crs.to_epsg() == 32649
    assert net.report.excluded_edges["highway=motorway"] == 1852
    names = set(net.edge_attrs["name"].dropna())
    assert {"长安北路", "西大街"} <= names
    assert net.edge_attrs["osmid"].dtype == "Int64"
    assert net.n_nodes > 20_000 and net.report.dropped_components > 0

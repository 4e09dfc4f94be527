"""Circles from a boundary layer, from a mapping table and from the automatic proposal."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.access import compute_access
from lifecircle.assess import assign_circles, residence_reach, write_circle_mapping
from lifecircle.errors import CRSError, InputError
from lifecircle.testing import network_from_polylines

SHIFT = (500_000.0, 3_790_000.0)


def pt(x: float, y: float = 0.0) -> shapely.Point:
    return shapely.Point(x + SHIFT[0], y + SHIFT[1])


def square(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(x0 + SHIFT[0], y0 + SHIFT[1], x1 + SHIFT[0], y1 + SHIFT[1])


@pytest.fixture(scope="module")
def street():
    """A 3 km street (speed 3.6 km/h: 15 min = 900 m) and five residences along it."""
    net = network_from_polylines([[(0, 0), (3000, 0)]])
    res = gpd.GeoDataFrame(
        {
            "residence_id": ["r1", "r2", "r3", "r4", "r5"],
            "name": ["甲小区", "乙小区", "丙小区", "丁小区", "戊小区"],
            "households": [100.0, 400.0, 50.0, 300.0, 60.0],
            "population": [262.0, 1048.0, 131.0, 786.0, 157.0],
        },
        geometry=[pt(0), pt(500), pt(800), pt(2000), pt(2500)],
        crs=net.crs,
    )
    return net, res


# ---------------------------------------------------------------------------- boundaries


def test_boundaries_join_residences_and_describe_circles(street, caplog):
    net, res = street
    polys = gpd.GeoDataFrame(
        {"circle_id": ["west", "east"], "name": ["西圈", "东圈"], "district": ["新城区", "碑林区"]},
        geometry=[square(-100, -100, 900, 100), square(1900, -100, 2200, 100)],
        crs=net.crs,
    )
    with caplog.at_level(logging.WARNING, logger="lifecircle.assess.circles"):
        members, circles = assign_circles(res, boundaries=polys)
    assert members["circle_id"].tolist()[:4] == ["west", "west", "west", "east"]
    assert pd.isna(members["circle_id"].iloc[4])  # r5 lies outside every polygon
    assert "1 of 5 residences belong to no circle (r5)" in caplog.text
    c = circles.set_index("circle_id")
    assert c.loc["west", "n_residences"] == 3 and c.loc["west", "households"] == 550.0
    assert c.loc["east", "population"] == 786.0 and c.loc["east", "district"] == "碑林区"
    assert c.loc["west", "name"] == "西圈" and (circles["source"] == "boundary").all()
    assert circles.crs.to_epsg() == 4326
    back = gpd.GeoSeries([c.loc["west", "geometry"]], crs=4326).to_crs(net.crs).iloc[0]
    assert back.equals_exact(polys.geometry.iloc[0], tolerance=1e-3)


def test_residence_in_two_polygons_goes_to_the_first(street, caplog):
    net, res = street
    polys = gpd.GeoDataFrame(
        {"circle_id": ["a", "b"]},
        geometry=[square(-100, -100, 600, 100), square(400, -100, 3100, 100)],
        crs=net.crs,
    )
    with caplog.at_level(logging.WARNING, logger="lifecircle.assess.circles"):
        members, circles = assign_circles(res, boundaries=polys)
    assert members["circle_id"].tolist() == ["a", "a", "b", "b", "b"]
    assert "more than one circle polygon" in caplog.text
    assert circles["name"].tolist() == ["a", "b"]  # no name column: the id


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda p: p.drop(columns="circle_id"), "column 'circle_id' is missing"),
        (lambda p: p.assign(circle_id=["x", "x"]), "row 2, field 'circle_id'.*used twice"),
        (lambda p: p.assign(circle_id=["x", None]), "row 2, field 'circle_id'.*empty circle id"),
        (
            lambda p: p.set_geometry([pt(0), square(0, 0, 1, 1)], crs=p.crs),
            "row 1, field 'geometry'.*not a polygon",
        ),
    ],
)
def test_bad_boundaries(street, change, match):
    net, res = street
    polys = gpd.GeoDataFrame(
        {"circle_id": ["a", "b"]},
        geometry=[square(0, -10, 10, 10), square(20, -10, 30, 10)],
        crs=net.crs,
    )
    with pytest.raises(InputError, match=match):
        assign_circles(res, boundaries=change(polys))


def test_boundaries_without_crs(street):
    _, res = street
    polys = gpd.GeoDataFrame({"circle_id": ["a"]}, geometry=[square(0, 0, 1, 1)])
    with pytest.raises(CRSError, match="no CRS"):
        assign_circles(res, boundaries=polys)


def test_boundary_id_and_name_columns_can_be_named(street):
    net, res = street
    polys = gpd.GeoDataFrame(
        {"圈号": ["q"], "圈名": ["全圈"]}, geometry=[square(-10, -10, 3010, 10)], crs=net.crs
    )
    members, circles = assign_circles(res, boundaries=polys, id_column="圈号", name_column="圈名")
    assert set(members["circle_id"]) == {"q"} and circles["name"].tolist() == ["全圈"]


# ---------------------------------------------------------------------------- mapping


def test_mapping_table(street, caplog):
    net, res = street
    table = pd.DataFrame(
        {
            "residence_id": ["r1", "r2", "r3", "r4"],
            "circle_id": ["A", "A", "B", "B"],
            "circle_name": ["甲圈", "甲圈", "乙圈", "乙圈"],
        }
    )
    with caplog.at_level(logging.WARNING, logger="lifecircle.assess.circles"):
        members, circles = assign_circles(res, mapping=table, network=net)
    assert members["circle_id"].tolist()[:4] == ["A", "A", "B", "B"]
    assert pd.isna(members["circle_id"].iloc[4]) and "(r5)" in caplog.text
    c = circles.set_index("circle_id")
    assert c.loc["B", "households"] == 350.0 and c.loc["B", "name"] == "乙圈"
    assert (circles["source"] == "mapping").all()
    # outline: hull of the members buffered by 100 m, so it contains every member
    hull = gpd.GeoSeries([c.loc["A", "geometry"]], crs=4326).to_crs(net.crs).iloc[0]
    assert all(hull.contains(p) for p in res.geometry.iloc[:2])
    assert hull.distance(pt(-99)) == 0 and hull.distance(pt(-120)) > 0


def test_mapping_from_csv_and_excel(street, tmp_path: Path):
    net, res = street
    table = pd.DataFrame({"residence_id": ["r1", "r5"], "circle_id": ["Z", "Z"]})
    csv = tmp_path / "map.csv"
    table.to_csv(csv, index=False, encoding="gbk")
    members, _ = assign_circles(res, mapping=csv, network=net)
    assert members["circle_id"].tolist()[0] == "Z"
    xlsx = tmp_path / "map.xlsx"
    table.to_excel(xlsx, index=False)
    members, _ = assign_circles(res, mapping=xlsx, network=net)
    assert members["circle_id"].iloc[4] == "Z"


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([("r1", "A"), ("r9", "A")], r"row 2, field 'residence_id'.*'r9' is not in the residences"),
        ([("r1", "A"), ("r2", "")], r"row 2, field 'circle_id'.*empty circle id"),
        ([("r1", "A"), ("r1", "B")], r"row 1, field 'circle_id'.*more than one circle"),
        ([("", "A")], r"row 1, field 'residence_id'.*empty residence id"),
    ],
)
def test_bad_mapping_rows(street, rows, match):
    net, res = street
    table = pd.DataFrame(rows, columns=["residence_id", "circle_id"])
    with pytest.raises(InputError, match=match):
        assign_circles(res, mapping=table, network=net)


def test_bad_mapping_lists_every_problem(street):
    net, res = street
    table = pd.DataFrame({"residence_id": ["x1", "x2", "r1"], "circle_id": ["A", "A", None]})
    with pytest.raises(InputError) as info:
        assign_circles(res, mapping=table, network=net)
    assert [(p.row, p.field) for p in info.value.problems] == [
        (1, "residence_id"),
        (2, "residence_id"),
        (3, "circle_id"),
    ]


def test_mapping_without_circle_column(street):
    net, res = street
    with pytest.raises(InputError, match=r"column 'circle_id' is missing.*id_column"):
        assign_circles(res, mapping=pd.DataFrame({"residence_id": ["r1"]}), network=net)


def test_mapping_file_not_found(street, tmp_path: Path):
    net, res = street
    with pytest.raises(InputError, match="file not found"):
        assign_circles(res, mapping=tmp_path / "nope.csv", network=net)


# ---------------------------------------------------------------------------- automatic


def test_auto_groups_by_walk_from_a_shared_centre(street):
    net, res = street
    members, circles = assign_circles(res, network=net, walk_speed=3.6)  # auto by default
    # r1 reaches r2 (500 m) and r3 (800 m), and so does r2 (500 m, 300 m): 550 households
    # each, a tie that goes to the smaller id, r1.  Then r4 reaches r5 (500 m).
    assert members["circle_id"].tolist() == ["C01", "C01", "C01", "C02", "C02"]
    c = circles.set_index("circle_id")
    assert c.loc["C01", "centre_residence_id"] == "r1" and c.loc["C01", "name"] == "甲小区生活圈"
    assert c.loc["C02", "households"] == 360.0 and (circles["source"] == "auto").all()


def test_auto_members_are_within_the_minutes_of_the_centre_along_the_network():
    # two parallel streets 100 m apart, joined only 1.5 km away: close in a straight line,
    # 3 km apart on foot
    net = network_from_polylines(
        [[(0, 0), (1500, 0)], [(1500, 0), (1500, 100)], [(1500, 100), (0, 100)]]
    )
    xs = [0, 150, 300, 450]
    res = gpd.GeoDataFrame(
        {"residence_id": [f"s{i}" for i in range(4)] + [f"n{i}" for i in range(4)]},
        geometry=[pt(x, 0) for x in xs] + [pt(x, 100) for x in xs],
        crs=net.crs,
    )
    members, circles = assign_circles(res, network=net, minutes=10, walk_speed=4.2)
    south = set(members.loc[members["residence_id"].str.startswith("s"), "circle_id"])
    north = set(members.loc[members["residence_id"].str.startswith("n"), "circle_id"])
    assert len(south) == 1 and len(north) == 1 and south != north
    # check every member against an independent access computation from its centre
    for row in circles.itertuples():
        ids = members.loc[members["circle_id"] == row.circle_id, "residence_id"].tolist()
        centre = res.loc[res["residence_id"] == row.centre_residence_id]
        targets = res.loc[res["residence_id"].isin(ids)].rename(
            columns={"residence_id": "outlet_id"}
        )
        targets["category"] = "member"
        walk = compute_access(
            net, targets, centre, categories=["member"], category_names={"member": "m"},
            walk_speed=4.2, bands_min=(10,), k=len(ids),
        ).to_pandas()  # fmt: skip
        assert walk["n_10min"].iloc[0] == len(ids)


def test_auto_is_deterministic_whatever_the_row_order(street):
    net, res = street
    members, _ = assign_circles(res, network=net, walk_speed=3.6)
    shuffled, _ = assign_circles(res.iloc[[3, 0, 4, 2, 1]], network=net, walk_speed=3.6)
    assert dict(zip(members["residence_id"], members["circle_id"], strict=True)) == dict(
        zip(shuffled["residence_id"], shuffled["circle_id"], strict=True)
    )


def test_auto_ties_go_to_the_smaller_residence_id():
    net = network_from_polylines([[(0, 0), (400, 0)]])
    res = gpd.GeoDataFrame(
        {"residence_id": ["b", "a"], "households": [10, 10]},
        geometry=[pt(0), pt(300)],
        crs=net.crs,
    )
    _, circles = assign_circles(res, network=net)
    assert circles["centre_residence_id"].tolist() == ["a"]


def test_auto_leaves_out_residences_off_the_network(street, caplog):
    net, res = street
    far = pd.concat(
        [res, gpd.GeoDataFrame({"residence_id": ["far"]}, geometry=[pt(100, 5000)], crs=net.crs)],
        ignore_index=True,
    )
    with caplog.at_level(logging.WARNING):
        members, circles = assign_circles(far, network=net, walk_speed=3.6)
    assert pd.isna(members["circle_id"].iloc[-1])
    assert "not on the walking network" in caplog.text
    assert circles["n_residences"].sum() == 5


def test_auto_needs_the_network(street):
    _, res = street
    with pytest.raises(InputError, match="need the walking network"):
        assign_circles(res, auto=True)


def test_only_one_source_of_circles(street):
    net, res = street
    with pytest.raises(InputError, match="more than one source"):
        assign_circles(res, auto=True, mapping=pd.DataFrame(), network=net)


def test_residence_reach_pairs(street):
    net, res = street
    reach = residence_reach(net, res, minutes=15, walk_speed=3.6)
    pairs = {
        (a, b): m
        for a, b, m in reach[["residence_id", "member_id", "walk_m"]].itertuples(index=False)
    }
    assert pairs[("r2", "r2")] == 0.0
    assert pairs[("r1", "r2")] == pytest.approx(500.0)
    assert ("r1", "r3") in pairs and ("r1", "r4") not in pairs  # 800 m in, 2000 m out
    assert np.allclose(reach["walk_min"], reach["walk_m"] / 60.0)
    members, _ = assign_circles(res, access=reach)
    assert members["circle_id"].tolist() == ["C01", "C01", "C01", "C02", "C02"]


def test_written_mapping_reads_back(street, tmp_path: Path):
    net, res = street
    members, circles = assign_circles(res, network=net, walk_speed=3.6)
    path = write_circle_mapping(members, tmp_path / "circles.csv", circles)
    text = path.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "residence_id,residence_name,circle_id,circle_name"
    again, circles2 = assign_circles(res, mapping=path, network=net)
    assert again["circle_id"].tolist() == members["circle_id"].tolist()
    assert circles2["name"].tolist() == circles["name"].tolist()


def test_residences_need_crs_and_ids(street):
    net, res = street
    with pytest.raises(CRSError):
        assign_circles(gpd.GeoDataFrame(res.drop(columns="geometry"), geometry=list(res.geometry)))
    with pytest.raises(InputError, match="residence_id"):
        assign_circles(res.drop(columns="residence_id"), network=net)

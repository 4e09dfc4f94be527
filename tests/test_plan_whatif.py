"""What-if scenarios: each change equals assessing the changed inputs from scratch."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.access import compute_access
from lifecircle.access.incremental import without_edges
from lifecircle.assess import assess_city, blind_spots, compute_kpis, grade_circles
from lifecircle.assess.attributes import attribute_access, attribute_rows
from lifecircle.errors import InputError
from lifecircle.plan.whatif import Scenario, WhatIf, compare_scenarios, run_scenario
from lifecircle.taxonomy import load_catalogue
from lifecircle.testing import SYNTHETIC_CRS, network_from_polylines


def _grid(n: int = 14, step: float = 200.0) -> list:
    lines = []
    for i in range(n + 1):
        for j in range(n):
            lines.append([(j * step, i * step), ((j + 1) * step, i * step)])
            lines.append([(i * step, j * step), (i * step, (j + 1) * step)])
    return lines


def at(x: float, y: float) -> shapely.Point:
    return shapely.Point(500_000 + x, 3_790_000 + y)


@pytest.fixture(scope="module")
def town():
    net = network_from_polylines(_grid())
    cat = load_catalogue()
    rng = np.random.default_rng(3)
    n_res = 40
    res_xy = rng.uniform(0, 2800, (n_res, 2))
    hh = rng.integers(100, 900, n_res).astype(float)
    hh[::7] = np.nan  # some unknown household counts
    residences = gpd.GeoDataFrame(
        {"residence_id": [f"r{i}" for i in range(n_res)], "households": hh,
         "population": hh * 2.62},
        geometry=[at(x, y) for x, y in res_xy], crs=SYNTHETIC_CRS,
    )  # fmt: skip
    codes = cat.codes("basic")
    n_out = 80
    out_xy = rng.uniform(0, 2800, (n_out, 2))
    outlets = gpd.GeoDataFrame(
        {"outlet_id": [f"o{i}" for i in range(n_out)],
         "name": [f"店{i}" for i in range(n_out)],
         "category": rng.choice(codes, n_out)},
        geometry=[at(x, y) for x, y in out_xy], crs=SYNTHETIC_CRS,
    )  # fmt: skip
    assessment = assess_city(net, outlets, residences, city="示例")
    return net, outlets, residences, assessment


def full_recomputation(what: WhatIf, network, outlets):
    """Access, grades, evidence, blind spots and KPIs from scratch, same circles."""
    a = what.assessment
    cat = what.catalogue
    book = what.rulebook
    acc = compute_access(
        network, outlets, a.residences, categories=cat.codes(),
        category_names={c.code: c.name_zh for c in cat.categories},
        bands_min=a.snapshot["parameters"]["bands_min"],
    )  # fmt: skip
    rows = attribute_rows(  # as assess_city: 一早 alternatives (小吃店 with breakfast …)
        network, outlets, a.residences, book,
        walk_speed=a.snapshot["parameters"]["walk_speed_kmh"],
        bands_min=a.snapshot["parameters"]["bands_min"],
    )  # fmt: skip
    graded = attribute_access(acc.table, rows)
    grades, evidence = grade_circles(graded, a.residences, book, cat, circles=a.circles)
    spots = blind_spots(acc.table, a.residences, cat)
    kpis = compute_kpis(
        access=acc.table.drop_columns(["knn_outlet_ids", "knn_m"]).to_pandas(),
        residences=a.residences, outlets=outlets, grades=grades, evidence=evidence,
        catalogue=cat, circles=a.circles,
    )  # fmt: skip
    return grades, evidence, spots, kpis


def assert_same(what: WhatIf, network, outlets):
    grades, evidence, spots, kpis = full_recomputation(what, network, outlets)
    pd.testing.assert_frame_equal(what.grades.reset_index(drop=True), grades, check_dtype=False)
    pd.testing.assert_frame_equal(what.evidence.reset_index(drop=True), evidence, check_dtype=False)
    pd.testing.assert_frame_equal(what.blind_spots.reset_index(drop=True), spots, check_dtype=False)
    mine = what.kpis.set_index(["scope", "kpi"])["value"]
    theirs = kpis.set_index(["scope", "kpi"])["value"]
    assert mine.index.tolist() == theirs.index.tolist()
    np.testing.assert_allclose(mine.to_numpy(), theirs.to_numpy(), rtol=1e-12, equal_nan=True)
    assert what.kpis["meets"].astype(object).tolist() == kpis["meets"].astype(object).tolist()


def test_changes_equal_assessing_from_scratch(town):
    net, outlets, _, assessment = town
    what = WhatIf(assessment)
    wgs = gpd.GeoSeries([at(1400, 1390), at(600, 2210)], crs=SYNTHETIC_CRS).to_crs(4326)

    step = what.add_outlet("N1", "早餐店", wgs.iloc[0], name="新早餐店")
    assert step.change.changed_ids.size > 0 and step.circles
    assert_same(what, net, what.outlets)

    # next to an outlet of the same 业态: counts move, coverage shares do not
    o3 = outlets.iloc[3]
    beside = gpd.GeoSeries([o3.geometry], crs=SYNTHETIC_CRS).to_crs(4326).iloc[0]
    step = what.add_outlet("N2", o3["category"], beside)
    assert step.circles and len(step.regraded) < len(step.circles)
    assert_same(what, net, what.outlets)

    # remove, move and close a street: compared once, at the end
    what.remove_outlet(outlets["outlet_id"].iloc[5])
    what.move_outlet("o7", wgs.iloc[1])
    edge = int(what.state.res_snap.edge[0])
    what.close_edge(edge)
    assert_same(what, without_edges(net, [edge]), what.outlets)
    assert len(what.outlets) == len(outlets) + 1  # two added, one removed
    assert [h["op"] for h in what.history] == [
        "add_outlet", "add_outlet", "remove_outlet", "move_outlet", "close_edge",
    ]  # fmt: skip

    table = what.compare()
    assert table.columns[:4].tolist() == ["circle_id", "name", "grade_before", "grade_after"]
    assert (table["coverage_changes"] != "").any()
    assert "households_covered:breakfast" in what.kpi_changes()["kpi"].tolist()


def test_scenarios_are_saved_named_and_compared(town, tmp_path: Path):
    _, _, _, assessment = town
    base = WhatIf(assessment)
    p1 = gpd.GeoSeries([at(1000, 1000)], crs=SYNTHETIC_CRS).to_crs(4326).iloc[0]
    one = Scenario(
        "一家药店",
        [{"op": "add_outlet", "outlet_id": "P1", "category": "pharmacy", "lon": p1.x,
          "lat": p1.y}],
        "a pharmacy in the middle",
    )  # fmt: skip
    two = Scenario(
        "药店+关店",
        [*one.changes, {"op": "remove_outlet", "outlet_id": "o1"}, {"op": "close_edge", "edge": 3}],
    )
    path = one.save(tmp_path / "one.json")
    assert Scenario.load(path) == one
    results = [run_scenario(base, one), run_scenario(base, two)]
    assert base.history == []  # the base is left as it is
    circles, kpis = compare_scenarios(results)
    assert circles.columns.tolist() == [
        "circle_id",
        "name",
        "grade",
        "grade:一家药店",
        "grade:药店+关店",
    ]
    assert "households_covered:pharmacy" in kpis["kpi"].tolist()
    row = kpis.set_index("kpi").loc["households_covered:pharmacy"]
    assert row["一家药店"] >= row["before"]


def test_bad_scenarios(tmp_path: Path):
    with pytest.raises(InputError, match="unknown op 'open'"):
        Scenario("x", [{"op": "open"}])
    with pytest.raises(InputError, match="add_outlet needs 'lat'"):
        Scenario("x", [{"op": "add_outlet", "outlet_id": "a", "category": "pharmacy", "lon": 1}])
    with pytest.raises(InputError, match="needs a name"):
        Scenario("", [])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        Scenario.load(bad)
    with pytest.raises(InputError, match="file not found"):
        Scenario.load(tmp_path / "missing.json")


def test_unknown_category_gets_suggestions(town):
    what = WhatIf(town[3])
    with pytest.raises(InputError, match="is not a 业态"):
        what.add_outlet("x", "加油站", shapely.Point(108.94, 34.26))


@pytest.fixture(scope="module")
def xian(xian_town: tuple):
    net, outlets, residences = xian_town
    return net, assess_city(net, outlets, residences, city="西安老城")


def test_xian_add_one_outlet_equals_full_recomputation(xian):
    net, assessment = xian
    what = WhatIf(assessment)
    t0 = time.perf_counter()
    step = what.add_outlet("what-if-1", "wet_market", shapely.Point(108.945, 34.262))
    took = time.perf_counter() - t0
    assert step.circles and took < 2.0  # bench/plan_whatif.py checks 200 ms on a quiet machine
    assert_same(what, net, what.outlets)

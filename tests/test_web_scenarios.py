"""Planning scenarios (规划方案) of the web API, on the bundled sample city, against SQLite and
PostgreSQL: the result equals a full recomputation, bad input is a 4xx, only planners write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from _web_fixtures import BACKENDS, Api, backend_api_fixture, database_url
from _web_fixtures import postgres_server as postgres_server
from _web_fixtures import sample_city_base as sample_city_base
from _web_fixtures import sample_data_dir as sample_data_dir
from lifecircle.access import compute_access
from lifecircle.assess import compute_kpis, grade_circles
from lifecircle.store.db import create_db_engine, migrate
from lifecircle.web.city import City

# a point in the sample city next to a street, and one in its area far from every street
LON, LAT = 24.945, 60.17
OFF_STREET = (24.9195, 60.1489)


api = backend_api_fixture("scenarios")


@pytest.fixture
def planner(api: Api) -> Iterator[tuple[Api, dict[str, str]]]:
    """The shared app, logged in as the demo planner (with the CSRF header)."""
    api.logout()
    headers = api.login("planner")
    yield api, headers
    api.logout()


def _add(name: str, category: str = "wet_market", lon: float = LON, lat: float = LAT) -> dict:
    return {"name": name, "changes": [{"op": "add_outlet", "category": category, "lon": lon,
                                       "lat": lat, "name": "新菜市场"}]}  # fmt: skip


def _full_recomputation(city: City, added: gpd.GeoDataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grades and city KPIs of the city's outlets plus ``added``, computed from scratch."""
    a = city.assessment_now()
    outlets = gpd.GeoDataFrame(pd.concat([a.outlets, added], ignore_index=True), crs=4326)
    cat = city.catalogue
    acc = compute_access(
        a.network, outlets, a.residences, categories=cat.codes(),
        category_names={c.code: c.name_zh for c in cat.categories},
        bands_min=a.snapshot["parameters"]["bands_min"], k=city.k, max_snap_m=city.max_snap_m,
    )  # fmt: skip
    from lifecircle.assess.attributes import attribute_access, attribute_rows

    params = a.snapshot["parameters"]
    rows = attribute_rows(
        a.network, outlets, a.residences, city.rulebook,
        walk_speed=params["walk_speed_kmh"], bands_min=params["bands_min"],
    )  # fmt: skip
    grades, evidence = grade_circles(
        attribute_access(acc.table, rows), a.residences, city.rulebook, cat, circles=a.circles,
        data_flags=a.data_flags,
    )  # fmt: skip
    kpis = compute_kpis(
        access=acc.table.drop_columns(["knn_outlet_ids", "knn_m"]).to_pandas(),
        residences=a.residences, outlets=outlets, grades=grades, evidence=evidence,
        catalogue=cat, circles=a.circles,
    )  # fmt: skip
    return grades, kpis[kpis["scope"] == "city"].set_index("kpi")


def test_one_added_outlet_equals_a_full_recomputation(planner: tuple[Api, dict]) -> None:
    api, headers = planner
    r = api.client.post("/api/scenarios", json=_add("一个菜市场"), headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["changes"] == [
        {"op": "add_outlet", "category": "wet_market", "lon": LON, "lat": LAT,
         "name": "新菜市场", "outlet_id": "scenario/1"}
    ]  # fmt: skip
    assert out["steps"][0]["op"] == "add_outlet" and out["steps"][0]["residences_changed"] > 0
    assert out["stale"] is False and out["author"] == "规划师 Planner"

    city = api.city
    added = gpd.GeoDataFrame(
        {"outlet_id": ["scenario/1"], "name": ["新菜市场"], "category": ["wet_market"]},
        geometry=[shapely.Point(LON, LAT)], crs=4326,
    )  # fmt: skip
    grades, kpis = _full_recomputation(city, added)
    before = city.graded().grades.set_index("circle_id")
    after = grades.set_index("circle_id")
    circles = {c["circle_id"]: c for c in out["circles"]}
    assert sorted(circles) == sorted(after.index.astype(str))
    for cid, row in circles.items():
        assert row["grade_before"] == before.loc[cid, "grade"]
        assert row["grade_after"] == after.loc[cid, "grade"]
        assert row["n_basic_after"] == after.loc[cid, "n_basic"]
        assert row["n_quality_after"] == after.loc[cid, "n_quality"]
    assert any("菜市场" in c["coverage_changes"] for c in circles.values())
    moved = {k["kpi"]: k for k in out["kpis"]}
    assert "households_covered:wet_market" in moved
    for name, k in moved.items():
        assert k["after"] == pytest.approx(kpis.loc[name, "value"], rel=1e-12), name
    head = out["headline"]
    assert head["kpi"] == out["kpi"] == "households_covered:wet_market"
    assert head["unit"] == "share"
    assert head["after"] == pytest.approx(kpis.loc[head["kpi"], "value"], rel=1e-12)
    assert head["after"] > head["before"]

    # read back: the list row carries the headline, the detail the whole result
    listed = api.client.get("/api/scenarios").json()
    row = next(s for s in listed if s["id"] == out["id"])
    assert (row["name"], row["before"], row["after"], row["unit"]) == (
        "一个菜市场", head["before"], head["after"], "share",
    )  # fmt: skip
    assert row["circles_basic_after"] >= row["circles_basic_before"]
    detail = api.client.get(f"/api/scenarios/{out['id']}").json()
    assert detail == out


def test_the_served_city_is_left_as_it_is(planner: tuple[Api, dict]) -> None:
    api, headers = planner
    city = api.city
    n_outlets, revision = len(city.outlets), city.revision
    body = {"name": "关一条街再开一家药店", "changes": [
        {"op": "close_edge", "edge": 10},
        {"op": "add_outlet", "category": "药店", "lon": LON, "lat": LAT, "outlet_id": "P-1"},
        {"op": "move_outlet", "outlet_id": "P-1", "lon": LON + 0.001, "lat": LAT},
    ]}  # fmt: skip
    r = api.client.post("/api/scenarios", json=body, headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["kpi"] == "households_basic_or_better"  # a street closed: not one 业态
    assert [s["op"] for s in out["steps"]] == ["close_edge", "add_outlet", "move_outlet"]
    assert out["changes"][1]["category"] == "pharmacy"
    assert len(city.outlets) == n_outlets and city.revision == revision
    assert api.client.get("/api/outlets/P-1").status_code == 404


def test_a_street_closed_by_a_point_is_the_nearest_street(planner: tuple[Api, dict]) -> None:
    api, headers = planner
    network = api.city.network
    # the nearest street segment to the point, by plain shapely distances to every edge
    edges = network.edges_gdf()
    point = gpd.GeoSeries([shapely.Point(LON, LAT)], crs=4326).to_crs(network.crs).iat[0]
    gaps = edges.distance(point).to_numpy()
    nearest = int(np.argmin(gaps))
    assert np.sort(gaps)[1] - gaps[nearest] > 0.01  # no tie: one answer

    by_point = {"name": "封闭街道(点)", "changes": [{"op": "close_edge", "lon": LON, "lat": LAT}]}
    r = api.client.post("/api/scenarios", json=by_point, headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    change = out["changes"][0]
    assert change["edge"] == nearest and set(change) <= {"op", "edge", "street", "line"}
    street = edges["name"].iat[nearest] if "name" in edges.columns else None
    assert change.get("street") == (street if isinstance(street, str) and street else None)
    # its shape in WGS-84, for the map
    shape = np.asarray(edges.to_crs(4326).geometry.iat[nearest].coords)
    np.testing.assert_allclose(np.asarray(change["line"]), shape, atol=1e-6)

    by_index = {"name": "封闭街道(编号)", "changes": [{"op": "close_edge", "edge": nearest}]}
    r = api.client.post("/api/scenarios", json=by_index, headers=headers)
    assert r.status_code == 201, r.text
    same = r.json()
    for key in ("headline", "circles", "kpis", "steps"):
        assert same[key] == out[key], key


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"op": "close_edge", "lon": OFF_STREET[0], "lat": OFF_STREET[1]}, "lon/lat"),
        ({"op": "remove_outlet", "outlet_id": "node/does-not-exist"}, "outlet_id"),
        ({"op": "move_outlet", "outlet_id": "nothing", "lon": LON, "lat": LAT}, "outlet_id"),
        ({"op": "add_outlet", "category": "加油站", "lon": LON, "lat": LAT}, "category"),
        (
            {
                "op": "add_outlet",
                "category": "pharmacy",
                "lon": OFF_STREET[0],
                "lat": OFF_STREET[1],
            },
            "lon/lat",
        ),
        ({"op": "add_outlet", "category": "pharmacy", "lon": 0.0, "lat": 0.0}, "lon/lat"),
        ({"op": "close_edge", "edge": 10_000_000}, "edge"),
    ],
)
def test_bad_changes_are_422_naming_the_change(
    planner: tuple[Api, dict], change: dict, field: str
) -> None:
    api, headers = planner
    good = {"op": "add_outlet", "category": "pharmacy", "lon": LON, "lat": LAT}
    body = {"name": f"坏方案 {field}", "changes": [good, change]}
    r = api.client.post("/api/scenarios", json=body, headers=headers)
    assert r.status_code == 422, r.text
    problems = r.json()["detail"]
    assert [p["loc"] for p in problems] == [[2, field]]
    assert problems[0]["type"] == "input_error" and problems[0]["fix"]
    assert not any(s["name"] == body["name"] for s in api.client.get("/api/scenarios").json())


def test_other_bad_input(planner: tuple[Api, dict]) -> None:
    api, headers = planner
    c = api.client
    # an outlet of the city that no 业态 counts (unclassified) cannot be closed
    city = api.city
    unclassified = city.outlets.loc[city.outlets["category"] == "unclassified", "outlet_id"]
    body = {
        "name": "关未分类",
        "changes": [{"op": "remove_outlet", "outlet_id": unclassified.iat[0]}],
    }
    r = c.post("/api/scenarios", json=body, headers=headers)
    assert r.status_code == 422 and "known 业态" in r.json()["message"]
    # schema errors: empty list, unknown op, extra field, blank name
    for bad in (
        {"name": "空", "changes": []},
        {"name": "x", "changes": [{"op": "open_outlet", "outlet_id": "a"}]},
        {"name": "x", "changes": [{"op": "close_edge", "edge": 1, "extra": 1}]},
        # a street by index or by point, not both, and a point needs lon and lat
        {"name": "x", "changes": [{"op": "close_edge", "edge": 1, "lon": LON, "lat": LAT}]},
        {"name": "x", "changes": [{"op": "close_edge", "lon": LON}]},
        {"name": "x", "changes": [{"op": "close_edge"}]},
        {"name": "  ", "changes": [{"op": "close_edge", "edge": 1}]},
        {
            "name": "x",
            "changes": [{"op": "add_outlet", "category": "pharmacy", "lon": 200, "lat": 0}],
        },
    ):
        r = c.post("/api/scenarios", json=bad, headers=headers)
        assert r.status_code == 422, (bad, r.text)
        assert isinstance(r.json()["detail"], list) and r.json()["detail"][0]["loc"]
    # the same name twice in a city: 409
    assert c.post("/api/scenarios", json=_add("同名"), headers=headers).status_code == 201
    r = c.post("/api/scenarios", json=_add("同名", "pharmacy"), headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    assert c.get("/api/scenarios/999999").status_code == 404
    assert c.get("/api/scenarios/0").status_code == 422


def test_only_planners_read_and_write(api: Api) -> None:
    c = api.client
    api.logout()
    # residents use the platform anonymously
    assert c.post("/api/scenarios", json=_add("匿名")).status_code == 401
    assert c.get("/api/scenarios").status_code == 401
    assert c.delete("/api/scenarios/1").status_code == 401
    headers = api.login("merchant")
    r = c.post("/api/scenarios", json=_add("商户"), headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "wrong_role"
    assert c.get("/api/scenarios").status_code == 403
    api.logout()
    headers = api.login("planner")
    r = c.post("/api/scenarios", json=_add("无令牌"))
    assert r.status_code == 403 and r.json()["code"] == "csrf_missing"
    r = c.post("/api/scenarios", json=_add("删除测试"), headers=headers)
    assert r.status_code == 201
    sid = r.json()["id"]
    assert c.delete(f"/api/scenarios/{sid}").status_code == 403  # no CSRF token
    api.logout()

    # another planner may read it but not delete it; its author and administrators may
    headers = api.login("admin")
    r = c.post("/api/admin/users", headers=headers, json={
        "username": "planner2", "password": "second-planner-pw7", "role": "planner"})  # fmt: skip
    assert r.status_code == 201, r.text
    api.logout()
    headers = api.login("planner2", "second-planner-pw7")
    assert c.get(f"/api/scenarios/{sid}").status_code == 200
    r = c.delete(f"/api/scenarios/{sid}", headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "not_owner"
    api.logout()
    headers = api.login("planner")
    assert c.delete(f"/api/scenarios/{sid}", headers=headers).status_code == 204
    assert c.get(f"/api/scenarios/{sid}").status_code == 404
    assert c.delete(f"/api/scenarios/{sid}", headers=headers).status_code == 404
    api.logout()


def test_scenarios_are_kept_per_city_and_marked_stale_after_outlet_changes(
    planner: tuple[Api, dict],
) -> None:
    api, headers = planner
    c = api.client
    r = c.post("/api/scenarios", json=_add("过时测试", "bakery"), headers=headers)
    assert r.status_code == 201 and r.json()["stale"] is False
    sid = r.json()["id"]
    assert c.get("/api/scenarios", params={"city": "atlantis"}).status_code == 404
    city = api.city
    city.applied_change_id += 1  # as after an approved merchant outlet
    try:
        row = next(s for s in c.get("/api/scenarios").json() if s["id"] == sid)
        assert row["stale"] is True
    finally:
        city.applied_change_id -= 1


def test_a_stale_scenario_is_recomputed_on_the_current_outlets(planner: tuple[Api, dict]) -> None:
    api, headers = planner
    c = api.client
    r = c.post("/api/scenarios", json=_add("重算测试", "pharmacy"), headers=headers)
    assert r.status_code == 201, r.text
    old = r.json()
    # a merchant's pharmacy next to the point is approved: the scenario's figures are old
    api.approved_outlet("重算测试药店", LON + 0.0005, LAT)
    headers = api.login("planner")
    assert next(s for s in c.get("/api/scenarios").json() if s["id"] == old["id"])["stale"]

    r = c.post(f"/api/scenarios/{old['id']}/recompute", headers=headers)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["stale"] is False and new["base_change_id"] > old["base_change_id"]
    assert (new["id"], new["name"], new["changes"]) == (old["id"], old["name"], old["changes"])
    # the same as the scenario created afresh on today's outlets
    r = c.post("/api/scenarios", json=_add("重算测试（新建）", "pharmacy"), headers=headers)
    fresh = r.json()
    for key in ("headline", "circles", "kpis", "steps"):
        assert new[key] == fresh[key], key
    assert new["headline"]["before"] > old["headline"]["before"]  # the approved pharmacy counts
    assert c.get(f"/api/scenarios/{old['id']}").json() == new

    # only planners, with the CSRF header, on a scenario of the city
    assert c.post(f"/api/scenarios/{old['id']}/recompute").status_code == 403
    assert c.post("/api/scenarios/999999/recompute", headers=headers).status_code == 404
    api.logout()
    assert c.post(f"/api/scenarios/{old['id']}/recompute").status_code == 401


def test_recomputing_a_scenario_whose_outlet_was_withdrawn_is_422(
    planner: tuple[Api, dict],
) -> None:
    api, headers = planner
    c = api.client
    oid = api.approved_outlet("将撤回的药店", LON, LAT + 0.0005)["outlet_id"]
    headers = api.login("planner")
    body = {"name": "关闭将撤回的药店", "changes": [{"op": "remove_outlet", "outlet_id": oid}]}
    r = c.post("/api/scenarios", json=body, headers=headers)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    # the merchant withdraws the outlet and a planner approves it
    api.logout()
    merchant = api.login("merchant")
    withdraw = c.put(f"/api/merchant/outlets/{oid}", json={"active": False}, headers=merchant)
    api.logout()
    headers = api.login("planner")
    assert c.post(f"/api/moderation/{withdraw.json()['id']}/approve", headers=headers).is_success

    r = c.post(f"/api/scenarios/{sid}/recompute", headers=headers)
    assert r.status_code == 422, r.text
    assert [p["loc"] for p in r.json()["detail"]] == [[1, "outlet_id"]]
    kept = c.get(f"/api/scenarios/{sid}").json()  # the saved figures are left as they were
    assert kept["stale"] is True and kept["changes"] == body["changes"]


def test_openapi_documents_the_scenarios(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/api/scenarios"]) == {"get", "post"}
    assert set(paths["/api/scenarios/{scenario_id}"]) == {"get", "delete"}
    assert set(paths["/api/scenarios/{scenario_id}/recompute"]) == {"post"}
    post = paths["/api/scenarios"]["post"]
    assert {"201", "401", "403", "409", "422"} <= set(post["responses"])
    schemas = spec["components"]["schemas"]
    change = schemas["ScenarioIn"]["properties"]["changes"]["items"]
    assert change["discriminator"]["propertyName"] == "op"
    assert {"before", "after", "unit", "stale"} <= set(schemas["ScenarioSummaryOut"]["properties"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_migration_0002_upgrades_and_downgrades(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = database_url(backend, tmp_path, request)
        admin = None
    else:  # a database of its own: the app of this module uses the session's one
        server = make_url(request.getfixturevalue("postgres_server"))
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        name = f"{server.database}_mig"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = server.set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    try:
        migrate(engine, "0001")
        assert "scenarios" not in inspect(engine).get_table_names()
        migrate(engine)
        tables = inspect(engine)
        assert "scenarios" in tables.get_table_names()
        unique = tables.get_unique_constraints("scenarios")
        assert [u["column_names"] for u in unique] == [["city", "name"]]
        _downgrade(engine, "0001")
        assert "scenarios" not in inspect(engine).get_table_names()
        assert "users" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def _downgrade(engine: object, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from lifecircle.store.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:  # type: ignore[attr-defined]
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_headline_falls_back_when_the_changes_mix_categories(planner: tuple[Api, dict]) -> None:
    api, headers = planner
    body = {"name": "两种业态", "changes": [
        {"op": "add_outlet", "category": "breakfast", "lon": LON, "lat": LAT},
        {"op": "add_outlet", "category": "pharmacy", "lon": LON, "lat": LAT + 0.001},
    ]}  # fmt: skip
    out = api.client.post("/api/scenarios", json=body, headers=headers).json()
    assert out["kpi"] == "households_basic_or_better" and out["unit"] == "share"
    assert [c["outlet_id"] for c in out["changes"]] == ["scenario/1", "scenario/2"]
    assert np.isfinite(out["before"]) and np.isfinite(out["after"])


def test_closing_an_outlet_as_the_planner_form_sends_it(planner: tuple[Api, dict]) -> None:
    """The form's "关闭网点" payload: the city's only food market closes, its coverage drops to 0."""
    api, headers = planner
    outlets = api.city.outlets
    only = outlets.loc[outlets["category"] == "wet_market", "outlet_id"].astype(str)
    assert len(only) == 1
    body = {"name": "关闭菜市场", "changes": [{"op": "remove_outlet", "outlet_id": only.iloc[0]}]}
    r = api.client.post("/api/scenarios", json=body, headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["changes"] == body["changes"]
    assert [s["op"] for s in out["steps"]] == ["remove_outlet"]
    assert out["kpi"] == "households_covered:wet_market"
    assert out["before"] > 0 and out["after"] == 0
    assert out["circles_upgraded"] == 0
    assert len(api.city.outlets) == len(outlets)  # the served city keeps it
    listed = next(s for s in api.client.get("/api/scenarios").json() if s["id"] == out["id"])
    assert listed["after"] == 0 and listed["n_changes"] == 1

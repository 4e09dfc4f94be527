"""Tiles: a city cut into overlapping tiles gives exactly the untiled access table."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from lifecircle.access import compute_access
from lifecircle.batch import compute_access_tiled, min_halo_m, plan_tiles
from lifecircle.batch.city import CityInputs, _assess, access_parameters, load_city_rulebook
from lifecircle.batch.config import CityConfig, LayerSpec
from lifecircle.batch.tiles import split_inputs
from lifecircle.errors import InputError
from lifecircle.testing import SYNTHETIC_CRS, network_from_polylines

X0, Y0 = 500_000.0, 3_790_000.0


def _assert_same(tiled: object, whole: object) -> None:
    """Every part of two AccessResults is identical (same floats, order and dictionaries)."""
    assert tiled.table.schema == whole.table.schema  # type: ignore[attr-defined]
    assert tiled.table.equals(whole.table)  # type: ignore[attr-defined]
    assert tiled.residences.equals(whole.residences)  # type: ignore[attr-defined]
    assert list(tiled.residences.index) == list(whole.residences.index)  # type: ignore[attr-defined]
    assert tiled.outlets.equals(whole.outlets)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(tiled.excluded, whole.excluded)  # type: ignore[attr-defined]
    assert tiled.params == whole.params  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def grid() -> tuple[object, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A 4 × 4 km street grid (bent edges of 3 segments) with seeded homes and shops."""
    rng = np.random.default_rng(7)
    step, n = 250.0, 17
    lines = []
    for i in range(n):
        for j in range(n - 1):
            a, b = j * step, (j + 1) * step
            bend = rng.uniform(-20, 20)
            lines.append([(a, i * step), (a + step / 3, i * step + bend), (b, i * step)])
            lines.append([(i * step, a), (i * step + bend, a + step / 2), (i * step, b)])
    net = network_from_polylines(lines)
    cats = ["convenience_store", "breakfast", "pharmacy", "repair"]
    m = 600
    shops = gpd.GeoDataFrame(
        {
            "outlet_id": [f"o{i}" for i in range(m)],
            # repair shops only in the west: east tiles have none, the city has some
            "category": rng.choice(cats[:3], m),
        },
        geometry=shapely.points(rng.uniform(0, 4000, m) + X0, rng.uniform(0, 4000, m) + Y0),
        crs=SYNTHETIC_CRS,
    )
    west = shops.geometry.x.to_numpy() < X0 + 800
    shops.loc[west, "category"] = "repair"
    homes = gpd.GeoDataFrame(
        {"residence_id": [f"r{i}" for i in range(300)], "households": 100.0},
        geometry=shapely.points(rng.uniform(0, 4000, 300) + X0, rng.uniform(0, 4000, 300) + Y0),
        crs=SYNTHETIC_CRS,
    )
    # one home and one shop far from every street (left out), homes sharing a spot (ties)
    homes.loc[0, "geometry"] = shapely.Point(X0 + 9000, Y0 + 9000)
    shops.loc[1, "geometry"] = shapely.Point(X0 - 3000, Y0)
    homes.loc[5, "geometry"] = homes.loc[6, "geometry"]
    return net, shops.to_crs(4326), homes.to_crs(4326)


KW = {
    "categories": ["convenience_store", "breakfast", "pharmacy", "repair", "bank"],
    "category_names": {"convenience_store": "便利店"},
    "k": 2,
}


@pytest.mark.parametrize("n_tiles", [2, 3, 7])
def test_tiled_equals_untiled_on_a_synthetic_grid(grid: tuple, n_tiles: int) -> None:
    net, shops, homes = grid
    whole = compute_access(net, shops, homes, **KW)
    tiled = compute_access_tiled(net, shops, homes, n_tiles=n_tiles, **KW)
    _assert_same(tiled, whole)
    # a 业态 absent from a tile but present in the city counts 0, one absent everywhere is null
    t = tiled.to_pandas()
    assert t.loc[t["category"] == "repair", "n_15min"].notna().all()
    assert t.loc[t["category"] == "bank", "n_15min"].isna().all()
    assert "r0" not in set(t["residence_id"])


def test_tiles_partition_the_residences(grid: tuple) -> None:
    net, shops, homes = grid
    halo = min_halo_m(4.2, [5, 10, 15], 250.0)
    tiles = plan_tiles(net, shops, homes, 4, halo_m=halo)
    cores = np.concatenate([t.core for t in tiles])
    assert sorted(cores.tolist()) == list(range(len(homes)))
    sizes = [t.core.size for t in tiles]
    assert max(sizes) - min(sizes) <= 1
    xy = homes.to_crs(net.crs).geometry
    for t in tiles:
        pts = xy.iloc[t.core]
        ok = pts.x < X0 + 5000  # the far-away home widens its tile's box
        assert (pts.x[ok] - halo >= t.bounds[0] - 1e-6).all()
        assert (pts.y[ok] + halo <= t.bounds[3] + 1e-6).all()
        assert np.all(np.diff(t.edges) > 0)
        assert t.edges.size < net.n_edges  # a tile is smaller than the city


def test_more_tiles_than_residences(grid: tuple) -> None:
    net, shops, homes = grid
    few = homes.iloc[10:13]
    tiled = compute_access_tiled(net, shops, few, n_tiles=10, **KW)
    _assert_same(tiled, compute_access(net, shops, few, **KW))
    assert len(plan_tiles(net, shops, few, 10, halo_m=2000.0)) == 3


def test_bad_tiling_arguments(grid: tuple) -> None:
    net, shops, homes = grid
    with pytest.raises(InputError, match="less than the largest band"):
        split_inputs(net, shops, homes, 2, halo_m=500.0, **KW)
    with pytest.raises(InputError, match="entrances"):
        compute_access_tiled(net, shops, homes, n_tiles=2, entrances=homes)
    with pytest.raises(InputError, match="at least 1"):
        plan_tiles(net, shops, homes, 0, halo_m=2000.0)
    dup = homes.assign(residence_id="same")
    with pytest.raises(InputError, match="not unique"):
        compute_access_tiled(net, shops, dup, n_tiles=2, **KW)


def test_min_halo_covers_the_largest_band_and_the_snap() -> None:
    assert min_halo_m(4.2, [5, 10, 15], 250.0) >= 70.0 * 15 + 250.0
    assert min_halo_m("elderly", [5, 20], 100.0) >= 50.0 * 20 + 100.0


# --- Xi'an old town (real data) ------------------------------------------------------------


@pytest.fixture(scope="module")
def xian(xian_dir: dict[str, Path], xian_town: tuple) -> CityInputs:
    from lifecircle.taxonomy import load_catalogue

    net, outlets, residences = xian_town
    city = CityConfig(
        name="西安老城",
        id="xian",
        network=LayerSpec(xian_dir["gpkg"]),
        outlets=LayerSpec(xian_dir["poi"]),
        residences=LayerSpec(xian_dir["xiaoqu"]),
    )
    catalogue = load_catalogue()
    kwargs = access_parameters(catalogue, load_city_rulebook(city, catalogue), 4.2)
    return CityInputs(city, net, outlets, residences, kwargs)


@pytest.mark.shared_data
@pytest.mark.parametrize("n_tiles", [2, 5])
def test_xian_tiled_access_equals_untiled_exactly(xian: CityInputs, n_tiles: int) -> None:
    whole = compute_access(xian.network, xian.outlets, xian.residences, **xian.access_kwargs)
    tiled = compute_access_tiled(
        xian.network, xian.outlets, xian.residences, n_tiles=n_tiles, **xian.access_kwargs
    )
    _assert_same(tiled, whole)
    assert tiled.table.num_rows > 10_000
    tiles = plan_tiles(
        xian.network, xian.outlets, xian.residences, n_tiles, halo_m=min_halo_m(4.2, [15])
    )
    assert all(t.edges.size < xian.network.n_edges for t in tiles)


@pytest.mark.shared_data
def test_xian_tiled_assessment_equals_untiled(
    xian: CityInputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lifecircle.access

    tiled = compute_access_tiled(
        xian.network, xian.outlets, xian.residences, n_tiles=3, **xian.access_kwargs
    )
    engine_calls: list[object] = []
    real = lifecircle.access.compute_access

    def spy(*args: object, **kwargs: object) -> object:
        engine_calls.append(kwargs.get("categories"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lifecircle.access, "compute_access", spy)
    a = _assess(xian, tiled)
    # the city's access came from the tiles: the engine only ran for the circles' reach
    assert xian.access_kwargs["categories"] not in engine_calls
    # the engine ran only for the circles' reach and the 一早 alternatives (outlet attributes)
    assert engine_calls[0] == ["_residence"]
    assert all(all("+" in c for c in call) for call in engine_calls[1:])
    b = _assess(xian, None)
    for name in ("grades", "evidence", "kpis", "blind_spots", "access"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.residences.equals(b.residences)

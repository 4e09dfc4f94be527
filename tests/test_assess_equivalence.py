"""The fast assessment code gives the outputs of plain reference code (issue 18).

The automatic circles' greedy cover, the circles' outlines and the grade table were rewritten to
run in near-linear time; here each is compared with a straightforward version of what it computes,
on the bundled sample city, on Xi'an old town and on random cases with many ties.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import sparse

from lifecircle.assess import assess_city, residence_reach
from lifecircle.assess.circles import _auto, _greedy_cover
from lifecircle.assess.grading import grade_circles


def _greedy_reference(
    matrix: sparse.csr_matrix, weight: np.ndarray, rank: np.ndarray, snapped: np.ndarray
) -> list[int]:
    """Set cover by re-sorting every residence by (households, residences, rank) at each pick."""
    by_member = matrix.T.tocsr()
    uncovered = snapped.copy()
    gain_w = matrix @ (weight * uncovered)
    gain_n = matrix @ uncovered.astype(np.float64)
    chosen: list[int] = []
    while uncovered.any():
        pick = int(np.lexsort((rank, -gain_n, -np.round(gain_w, 6)))[0])
        chosen.append(pick)
        covers = matrix.indices[matrix.indptr[pick] : matrix.indptr[pick + 1]]
        newly = covers[uncovered[covers]]
        uncovered[newly] = False
        rows = by_member[newly]
        np.subtract.at(gain_w, rows.indices, np.repeat(weight[newly], np.diff(rows.indptr)))
        np.subtract.at(gain_n, rows.indices, 1.0)
    return chosen


def _greedy_fast(
    matrix: sparse.csr_matrix, weight: np.ndarray, rank: np.ndarray, snapped: np.ndarray
) -> list[int]:
    by_member = matrix.T.tocsr()
    gain_w = matrix @ (weight * snapped)
    gain_n = matrix @ snapped.astype(np.float64)
    as_int = [a.astype(np.int64) for a in (matrix.indptr, matrix.indices)]
    as_int += [a.astype(np.int64) for a in (by_member.indptr, by_member.indices)]
    return _greedy_cover(*as_int, weight, gain_w, gain_n, rank, snapped.copy()).tolist()


@pytest.mark.parametrize("seed", range(8))
def test_greedy_cover_picks_as_the_plain_greedy_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 400))
    pairs = int(rng.integers(n, 6 * n))
    centre = np.concatenate([rng.integers(0, n, pairs), np.arange(n)])
    member = np.concatenate([rng.integers(0, n, pairs), np.arange(n)])
    snapped = rng.random(n) < 0.9
    keep = snapped[centre] & snapped[member]
    matrix = sparse.csr_matrix(
        (np.ones(int(keep.sum())), (centre[keep], member[keep])), shape=(n, n)
    )
    matrix.data[:] = 1.0
    # few distinct weights (ties on households and on residences), some fractional and zero
    weight = rng.choice(np.array([0.0, 1.0, 2.0, 0.1, 0.2, 0.3]), n)
    rank = rng.permutation(n).astype(np.int64)
    assert _greedy_fast(matrix, weight, rank, snapped) == _greedy_reference(
        matrix, weight, rank, snapped
    )


@pytest.fixture(scope="module", params=["sample", "xian"])
def city(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Inputs and assessment of the sample city and of Xi'an old town."""
    if request.param == "sample":
        from lifecircle.datasets import get_path
        from lifecircle.ingest import read_network, read_outlets, read_residences

        pbf = get_path("helsinki")
        net = read_network(pbf)
        outlets = read_outlets(pbf, crs="wgs84", network=net)
        residences = read_residences(pbf, crs="wgs84", network=net)
    else:
        net, outlets, residences = request.getfixturevalue("xian_town")
        outlets, residences = outlets.copy(), residences.copy()
    assessment = assess_city(net, outlets, residences, city=request.param)
    return {"net": net, "residences": residences, "assessment": assessment}


def test_auto_circles_have_the_centres_of_the_plain_greedy(city):
    res = city["residences"].copy()
    res["residence_id"] = res["residence_id"].astype(str)
    reach = residence_reach(city["net"], res)
    _, info = _auto(res, reach)
    ids = res["residence_id"].to_numpy()
    pos = pd.Index(ids)
    n = len(ids)
    snapped = np.zeros(n, dtype=bool)
    snapped[pos.get_indexer(reach["residence_id"].unique())] = True
    matrix = sparse.csr_matrix(
        (
            np.ones(len(reach) + int(snapped.sum())),
            (
                np.concatenate([pos.get_indexer(reach["residence_id"]), np.flatnonzero(snapped)]),
                np.concatenate([pos.get_indexer(reach["member_id"]), np.flatnonzero(snapped)]),
            ),
        ),
        shape=(n, n),
    )
    matrix.data[:] = 1.0
    hh = pd.to_numeric(res.get("households", pd.Series(np.nan, index=res.index)), errors="coerce")
    hh = hh.to_numpy(dtype=np.float64)
    known = hh[np.isfinite(hh)]
    weight = np.where(np.isfinite(hh), np.maximum(hh, 0.0), np.median(known) if known.size else 1)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(n)
    chosen = _greedy_reference(matrix, weight, rank, snapped)
    assert len(chosen) > 1
    assert info["centre_residence_id"].tolist() == ids[chosen].tolist()


def test_circle_outlines_are_the_buffered_hulls_of_their_members(city):
    a = city["assessment"]
    res = city["residences"]
    circle_of = a.residences.set_index("residence_id")["circle_id"]
    circle = res["residence_id"].astype(str).map(circle_of).to_numpy()
    pts = res.geometry.to_crs(city["net"].crs).to_numpy()
    expected = []
    for cid in a.circles["circle_id"]:
        mine = pts[circle == cid]
        hull = shapely.convex_hull(shapely.union_all(mine))
        expected.append(shapely.buffer(hull, 100.0))
    expected_wgs = gpd.GeoSeries(expected, crs=city["net"].crs).to_crs(4326).to_numpy()
    assert shapely.equals_exact(a.circles.geometry.to_numpy(), expected_wgs, tolerance=0).all()


def test_each_circle_graded_alone_is_graded_as_in_the_whole_city(city):
    from lifecircle.assess.attributes import attribute_access, attribute_rows
    from lifecircle.assess.rulebook import load_rulebook

    a = city["assessment"]
    assert len(a.grades) > 1
    params = a.snapshot["parameters"]
    # graded as the pipeline grades: with the rulebook's outlet-attribute alternatives (一早)
    rows = attribute_rows(
        a.network, a.outlets, a.residences, load_rulebook(),
        walk_speed=params["walk_speed_kmh"], bands_min=params["bands_min"],
    )  # fmt: skip
    graded = attribute_access(a.access, rows)
    for cid in a.grades["circle_id"]:
        alone, evidence = grade_circles(
            graded,
            a.residences.loc[(a.residences["circle_id"] == cid).to_numpy()],
            circles=a.circles.loc[(a.circles["circle_id"] == cid).to_numpy()],
            data_flags=a.data_flags,
        )
        pd.testing.assert_frame_equal(
            alone, a.grades.loc[a.grades["circle_id"] == cid].reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(
            evidence, a.evidence.loc[a.evidence["circle_id"] == cid].reset_index(drop=True)
        )


def test_long_nearest_lists_begin_with_the_short_ones(xian_town):
    """Lists longer than 16 are filled by bisection; their heads are the lists of the plain
    insertion (ties: the smaller outlet index first), and their lengths are the counts."""
    from lifecircle.access import compute_access

    net, outlets, residences = xian_town
    short, long = (
        compute_access(net, outlets, residences, bands_min=(15,), k=k).table.to_pandas()
        for k in (16, 60)
    )
    assert (short["n_15min"] > 60).any()  # lists that fill up and drop their far end
    for ids_s, ids_l, m_s, m_l, count in zip(
        short["knn_outlet_ids"],
        long["knn_outlet_ids"],
        short["knn_m"],
        long["knn_m"],
        long["n_15min"].fillna(0),
        strict=True,
    ):
        assert len(ids_l) == min(int(count), 60)
        assert list(ids_l[: len(ids_s)]) == list(ids_s)
        assert np.array_equal(m_l[: len(m_s)], m_s)
        assert (np.diff(m_l) >= 0).all()


def test_reach_searched_in_two_rounds_is_the_reach_of_one(city, monkeypatch):
    """Residences reaching more than the first round's list are searched again in chunks."""
    import lifecircle.assess.circles as circles

    res = city["residences"]
    whole = residence_reach(city["net"], res)
    monkeypatch.setattr(circles, "_FIRST_REACH", 4)
    monkeypatch.setattr(circles, "_REACH_CHUNK", 7)
    pd.testing.assert_frame_equal(residence_reach(city["net"], res), whole)

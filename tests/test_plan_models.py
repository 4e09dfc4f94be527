"""MCLP, LSCP and p-median: exact optima against brute-force enumeration, proven bounds, bad input."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from scipy.optimize import linprog

from lifecircle.errors import InputError
from lifecircle.plan import LSCP, MCLP, Coverage, PMedian

SEEDS = range(12)


def instance(seed: int, n_d: int = 18, n_c: int = 8) -> dict:
    """A random demand × candidate walking-distance matrix with some existing outlets."""
    rng = np.random.default_rng(seed)
    dem = rng.uniform(0, 1000, (n_d, 2))
    cand = rng.uniform(0, 1000, (n_c, 2))
    dist = np.hypot(*(dem[:, None, :] - cand[None, :, :]).transpose(2, 0, 1)) * 1.3
    dist[rng.random(dist.shape) < 0.1] = np.inf  # some pairs cut off (a river)
    weights = rng.integers(1, 500, n_d).astype(float)
    existing = np.where(rng.random(n_d) < 0.25, rng.uniform(100, 900, n_d), np.inf)
    return {"dist": dist, "w": weights, "existing": existing, "p": int(rng.integers(1, 4))}


def brute_mclp(dist, w, existing, radius, p, cap=None):
    cover = dist <= radius
    open_ = ~(existing <= radius)
    best = 0.0
    for combo in itertools.combinations(range(dist.shape[1]), p):
        if cap is None:
            hit = cover[:, list(combo)].any(axis=1) & open_
            best = max(best, float(w[hit].sum()))
        else:
            best = max(best, _served(cover, w * open_, combo, cap))
    return best


def _served(cover, w, combo, cap):
    """Max households served by the sites of combo within capacities (transport LP)."""
    pairs = [(i, j) for j in combo for i in range(cover.shape[0]) if cover[i, j] and w[i] > 0]
    if not pairs:
        return 0.0
    n = len(pairs)
    c = -np.array([w[i] for i, _ in pairs])
    rows, rhs = [], []
    for i in {i for i, _ in pairs}:
        rows.append([1.0 if pi == i else 0.0 for pi, _ in pairs])
        rhs.append(1.0)
    for j in combo:
        if np.isfinite(cap[j]):
            rows.append([w[pi] if pj == j else 0.0 for pi, pj in pairs])
            rhs.append(cap[j])
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=[(0, 1)] * n)
    return -float(res.fun)


def brute_lscp(dist, w, existing, radius, target):
    cover = dist <= radius
    total = w.sum()
    base = existing <= radius
    for k in range(dist.shape[1] + 1):
        for combo in itertools.combinations(range(dist.shape[1]), k):
            hit = base | cover[:, list(combo)].any(axis=1)
            if w[hit].sum() >= target * total - 1e-9:
                return k
    return None


def brute_pmedian(dist, w, existing, cap, p):
    c0 = np.minimum(existing, cap)
    best = np.inf
    for combo in itertools.combinations(range(dist.shape[1]), p):
        d = np.minimum(c0, dist[:, list(combo)].min(axis=1))
        best = min(best, float((w * d).sum()))
    return best


@pytest.mark.parametrize("seed", SEEDS)
def test_mclp_mip_equals_brute_force_and_heuristic_bound_holds(seed):
    inst = instance(seed)
    radius = 450.0
    opt = brute_mclp(inst["dist"], inst["w"], inst["existing"], radius, inst["p"])
    model = MCLP.from_cost_matrix(
        inst["dist"], inst["w"], radius, inst["p"], existing_m=inst["existing"]
    )
    mip = model.solve(method="mip")
    assert mip.objective == pytest.approx(opt)
    assert mip.status == "optimal" and mip.bound >= opt - 1e-6
    assert mip.households_covered_after - mip.households_covered_before == pytest.approx(opt)
    assert mip.households_gained.sum() == pytest.approx(opt)
    heur = model.solve(method="heuristic")
    assert heur.objective <= opt + 1e-6 <= heur.bound + 2e-6
    assert model.solve(method="auto").objective == pytest.approx(opt)


def _lp_relaxation(dist, w, existing, radius, p):
    """The MCLP's LP relaxation by scipy (columns x per candidate, then y per demand)."""
    cover = (dist <= radius) & ~(existing <= radius)[:, None]
    n_d, n_c = cover.shape
    a_ub = np.zeros((n_d + 1, n_c + n_d))
    a_ub[:n_d, :n_c] = -cover.astype(float)
    a_ub[np.arange(n_d), n_c + np.arange(n_d)] = 1.0
    a_ub[n_d, :n_c] = 1.0
    c = np.r_[np.zeros(n_c), -w * cover.any(axis=1)]
    res = linprog(c, A_ub=a_ub, b_ub=np.r_[np.zeros(n_d), p], bounds=[(0, 1)] * (n_c + n_d))
    return -float(res.fun)


@pytest.mark.parametrize("seed", range(6))
def test_mclp_lp_bound_is_the_lp_relaxation_and_bounds_the_optimum(seed):
    inst = instance(seed, n_d=60, n_c=14)
    radius, p = 300.0, 3
    opt = brute_mclp(inst["dist"], inst["w"], inst["existing"], radius, p)
    lp = _lp_relaxation(inst["dist"], inst["w"], inst["existing"], radius, p)
    model = MCLP.from_cost_matrix(inst["dist"], inst["w"], radius, p, existing_m=inst["existing"])
    bound = model._lp_bound(time.perf_counter() + 30)
    assert bound >= opt - 1e-6
    assert bound == pytest.approx(lp, rel=1e-6)
    # auto with a gap the LP bound can prove: the heuristic's solution, the LP's bound
    gap = (lp - opt) / opt + 0.01
    sol = model.solve(method="auto", mip_gap=gap)
    assert sol.status == "optimal" and sol.gap <= gap
    assert sol.objective <= opt + 1e-6 <= sol.bound + 1e-6


@pytest.mark.parametrize("seed", SEEDS)
def test_lscp_mip_equals_brute_force(seed):
    inst = instance(seed)
    radius = 600.0
    dist, w, existing = inst["dist"], inst["w"], inst["existing"]
    cover = dist <= radius
    reach = (existing <= radius) | cover.any(axis=1)
    best_share = w[reach].sum() / w.sum()
    target = round(min(0.9, best_share) * 0.999, 4)
    opt = brute_lscp(dist, w, existing, radius, target)
    model = LSCP.from_cost_matrix(dist, w, radius, target=target, existing_m=existing)
    mip = model.solve(method="mip")
    assert mip.objective == opt
    assert mip.households_covered_after >= target * w.sum() - 1e-6
    heur = model.solve(method="heuristic")
    assert heur.bound <= opt <= heur.objective
    assert heur.households_covered_after >= target * w.sum() - 1e-6


def test_lscp_full_cover_equals_brute_force():
    for seed in SEEDS:
        inst = instance(seed)
        dist = np.where(np.isfinite(inst["dist"]), inst["dist"], 5000.0)
        radius = float(dist.min(axis=1).max()) + 1.0  # every residence reachable
        opt = brute_lscp(dist, inst["w"], inst["existing"], radius, 1.0)
        sol = LSCP.from_cost_matrix(dist, inst["w"], radius, existing_m=inst["existing"]).solve(
            method="mip"
        )
        assert sol.objective == opt
        assert sol.households_covered_after == pytest.approx(inst["w"].sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_pmedian_mip_equals_brute_force_and_lagrangian_bound_holds(seed):
    inst = instance(seed)
    cap = 1200.0
    opt = brute_pmedian(inst["dist"], inst["w"], inst["existing"], cap, inst["p"])
    model = PMedian.from_cost_matrix(
        inst["dist"], inst["w"], inst["p"], max_distance_m=cap, radius_m=500.0,
        existing_m=inst["existing"],
    )  # fmt: skip
    mip = model.solve(method="mip")
    assert mip.objective == pytest.approx(opt)
    heur = model.solve(method="heuristic")
    assert heur.bound - 1e-6 <= opt <= heur.objective + 1e-6
    # every demand point walks to its nearest open site or existing outlet
    a = mip.assignment
    assert a is not None and a["demand_id"].nunique() == inst["dist"].shape[0]
    assert (a["households"] * a["walk_m"].fillna(cap)).sum() == pytest.approx(opt)


@pytest.mark.parametrize("seed", range(4))
def test_capacitated_mclp_equals_brute_force(seed):
    inst = instance(seed, n_d=10, n_c=6)
    rng = np.random.default_rng(100 + seed)
    cap = rng.uniform(100, 800, 6)
    cap[0] = np.inf
    radius = 500.0
    opt = brute_mclp(inst["dist"], inst["w"], inst["existing"], radius, inst["p"], cap)
    sol = MCLP.from_cost_matrix(
        inst["dist"], inst["w"], radius, inst["p"], existing_m=inst["existing"], capacities=cap
    ).solve()
    assert sol.method == "mip"
    assert sol.objective == pytest.approx(opt, rel=1e-6)
    served = sol.assignment.groupby("site_id")["households"].sum()
    for sid, hh in served.items():
        assert hh <= cap[int(sid[1:]) - 1] + 1e-6


def test_capacitated_pmedian_sends_the_overflow_to_the_fallback():
    dist = np.array([[100.0], [120.0], [140.0]])
    sol = PMedian.from_cost_matrix(
        dist, [10, 10, 10], 1, max_distance_m=1000.0, capacities=[15]
    ).solve()
    # 15 households at the site (the nearest first), 15 walk the capped 1000 m
    assert sol.objective == pytest.approx(10 * 100 + 5 * 120 + 5 * 1000 + 10 * 1000)
    assert sol.assignment["households"].sum() == pytest.approx(30)


def test_existing_outlets_are_fixed():
    # residence 0 is already covered: the best new site is the one serving residence 1
    dist = np.array([[100.0, np.inf], [np.inf, 100.0]])
    sol = MCLP.from_cost_matrix(dist, [500, 100], 200, 1, existing_m=[50, np.inf]).solve()
    assert sol.site_ids.tolist() == ["S2"]
    assert sol.households_covered_before == 500 and sol.households_covered_after == 600


# ------------------------------------------------------------------------------- bad input
def test_p_larger_than_candidates():
    with pytest.raises(InputError, match=r"p = 5 new sites asked for, but there are only 2"):
        MCLP.from_cost_matrix(np.ones((3, 2)), [1, 1, 1], 10, 5)
    with pytest.raises(InputError, match="only 2 candidate"):
        PMedian.from_cost_matrix(np.ones((3, 2)), [1, 1, 1], 3)


@pytest.mark.parametrize("p", [0, -1, 1.5, True])
def test_p_must_be_a_positive_whole_number(p):
    with pytest.raises(InputError, match="p must be a whole number"):
        MCLP.from_cost_matrix(np.ones((3, 2)), [1, 1, 1], 10, p)


def test_no_candidate_covers_anyone():
    far = np.full((3, 2), 5000.0)
    with pytest.raises(InputError, match="no candidate site is within 800 m walking"):
        MCLP.from_cost_matrix(far, [1, 1, 1], 800, 1)
    with pytest.raises(InputError, match="no candidate site is within"):
        LSCP.from_cost_matrix(far, [1, 1, 1], 800)
    with pytest.raises(InputError, match="no candidate site is within"):
        PMedian.from_cost_matrix(np.full((3, 2), np.inf), [1, 1, 1], 1, max_distance_m=100.0)


def test_infeasible_lscp_target():
    dist = np.array([[100.0, np.inf], [np.inf, 100.0], [np.inf, np.inf]])
    with pytest.raises(InputError, match=r"cannot be reached.*at most 66\.7%") as err:
        LSCP.from_cost_matrix(dist, [100, 100, 100], 200, target=0.9)
    assert "lower the target to at most 0.666" in str(err.value)


def test_capacities_that_cannot_serve_the_demand():
    dist = np.array([[100.0, 150.0], [120.0, 130.0]])
    with pytest.raises(InputError, match="capacities add up to 150 households, less than the 200"):
        LSCP.from_cost_matrix(dist, [100, 100], 200, capacities=[50, 100])
    # enough in total, but the site with room is out of reach of residence 2
    dist = np.array([[100.0, 150.0], [120.0, np.inf]])
    with pytest.raises(InputError, match="capacities of the candidates within the band"):
        LSCP.from_cost_matrix(dist, [100, 100], 200, capacities=[50, 500]).solve()


def test_bad_capacities_and_solve_arguments():
    dist = np.array([[100.0, 150.0]])
    with pytest.raises(InputError, match="1 capacities given for 2 candidate sites"):
        MCLP.from_cost_matrix(dist, [1], 200, 1, capacities=[1])
    with pytest.raises(InputError, match="capacity -5 is negative"):
        MCLP.from_cost_matrix(dist, [1], 200, 1, capacities=[-5, 1])
    model = MCLP.from_cost_matrix(dist, [1], 200, 1)
    with pytest.raises(InputError, match="method 'fast' is not known"):
        model.solve(method="fast")
    with pytest.raises(InputError, match="time_limit must be a positive"):
        model.solve(time_limit=0)
    capped = MCLP.from_cost_matrix(dist, [1], 200, 1, capacities=[1, 1])
    with pytest.raises(InputError, match="heuristic does not handle capacities"):
        capped.solve(method="heuristic")
    with pytest.raises(InputError, match="target must be a share"):
        LSCP.from_cost_matrix(dist, [1], 200, target=1.5)
    with pytest.raises(InputError, match="weight -1 is not a non-negative"):
        MCLP.from_cost_matrix(dist, [-1], 200, 1)


def test_solution_summary_is_plain_json():
    import json

    sol = MCLP.from_cost_matrix(np.array([[100.0, 300.0]]), [10], 200, 1).solve()
    text = json.dumps(sol.summary())
    assert '"households_covered_after": 10.0' in text
    frame = sol.sites_frame()
    assert frame.columns.tolist() == ["site_id", "households_gained"]


def test_coverage_from_matrix_sparse_and_subset():
    import scipy.sparse as sp

    mat = sp.csr_matrix(np.array([[100.0, 0.0], [0.0, 300.0], [50.0, 60.0]]))
    cov = Coverage.from_matrix(mat, [1, 2, 3], 200)
    assert cov.nnz == 4 and cov.matrix().toarray().tolist() == [
        [True, False],
        [False, False],
        [True, True],
    ]
    sub = cov.subset(demand=np.array([True, False, True]), candidates=np.array([1]))
    assert sub.n_demand == 2 and sub.n_candidates == 1
    assert sub.distance_m.tolist() == [60.0] and sub.demand.tolist() == [1]

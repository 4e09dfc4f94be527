"""Location-allocation on walking coverage: MCLP, LSCP and p-median.

Every model is built from a :class:`~lifecircle.plan.coverage.Coverage` (walking distances from
the access engine) and solved by :meth:`solve`:

``method="mip"``
    The exact model, built in matrix form and solved by HiGHS (``highspy``) within
    ``time_limit`` seconds, to the relative gap ``mip_gap``; the solution reports HiGHS's
    objective bound and gap.  A heuristic solution is passed as the starting point.
``method="heuristic"``
    Greedy + interchange local search (best swap of one open site for one closed site, the
    Resende-Werneck gain/loss/extra decomposition), with a *proven* bound:

    * MCLP: the smaller of the online submodular bound (``f(S) + the p largest marginal
      gains at S``, over the greedy's prefixes; Nemhauser-Wolsey, Leskovec et al. 2007) and
      the Lagrangian bound of the coverage constraints (subgradient, ≤ the trivial bound);
    * p-median: the Lagrangian bound of the assignment constraints (Cornuéjols et al. 1977);
    * LSCP: the larger of the counting bound (fewest sites whose coverages could add up to the
      target) and the rounded-up LP relaxation (HiGHS), when the model is not too large.
``method="auto"`` (default)
    The heuristic first; when its bound proves the solution within ``mip_gap`` it is
    returned.  Otherwise, if the model has at most :data:`MIP_MAX_NONZEROS` coverage pairs:
    for the MCLP, the LP relaxation (HiGHS interior point; its bound made exact by the
    Lagrangian at the LP's duals) and iterated local search get half the remaining time,
    and the solution is returned when that proves it within ``mip_gap``; then the MIP runs
    (warm-started, candidates the Lagrangian bound rules out left out).  Larger models get
    the heuristic's solution and bound.  With capacities only the MIP applies.

Existing outlets are fixed: demand within the radius of one is left out of the MCLP objective,
counts as covered for the LSCP target, and offers its walk as the fallback of the p-median.

Capacities (households a site can serve, splittable demand) turn the models into their
capacitated forms (MIP only): MCLP maximises the households *served* within the radius,
LSCP must serve the target, and the p-median sends what a site cannot take to the fallback.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from lifecircle.errors import InputError, LifecircleError, Problem
from lifecircle.plan._kernels import (
    mclp_apply_swap,
    mclp_greedy,
    mclp_lagrangian,
    mclp_swap_step,
    pm_evaluate,
    pm_greedy,
    pm_lagrangian,
    pm_swap_step,
    row_signatures,
)
from lifecircle.plan.coverage import Coverage

__all__ = ["LSCP", "MCLP", "METHODS", "MIP_MAX_NONZEROS", "PMedian", "Solution"]

log = logging.getLogger(__name__)

#: Solution methods.
METHODS = ("auto", "mip", "heuristic")
#: ``method="auto"`` solves the MIP only up to this many coverage pairs (after reduction).
MIP_MAX_NONZEROS = 3_000_000
_LP_BOUND = "LP relaxation (HiGHS interior point; Lagrangian bound at its duals)"
#: Interchange search is skipped when candidates × p exceeds this (memory of the extra table).
_SWAP_MAX_CELLS = 50_000_000


@dataclass
class Solution:
    """A solved location model.

    Attributes
    ----------
    model
        ``mclp``, ``lscp`` or ``pmedian``.
    method
        How it was solved: ``mip``, ``heuristic`` or ``heuristic+mip``.
    status
        ``optimal`` (proven within the gap asked for), ``time_limit`` (stopped by the time
        limit; objective and bound are still valid) or ``feasible`` (heuristic, gap above the
        one asked for).
    sites
        Chosen candidate indices (into the coverage's candidates), by households gained.
    site_ids
        Their ids.
    objective
        MCLP: households newly covered; LSCP: number of sites; p-median: household-weighted
        walk (household-metres, every demand point counted, the fallback walk included).
    bound
        A proven bound on the optimum (upper for MCLP, lower for LSCP and p-median).
    gap
        ``|bound - objective| / |objective|`` (0 when they are equal).
    bound_method
        Where the bound comes from (``HiGHS MIP dual bound``, ``Lagrangian``, ...).
    households_gained
        Per site, households newly within the radius, attributing each household to the
        first site covering it when the sites are taken in this order (the gains add up to
        ``households_covered_after - households_covered_before``).  With capacities: the
        households the site serves.
    households_covered_before, households_covered_after, households_total
        Households within the radius of an existing outlet, of an existing outlet or a chosen
        site, and on the network.
    time_s
        Solve time.
    assignment
        p-median and capacitated models: ``demand_id, site_id, share, households, walk_m``
        (``site_id`` is an existing outlet's id, or empty for the fallback).
    notes
        What the solver did, for logs and reports.
    """

    model: str
    method: str
    status: str
    sites: np.ndarray
    site_ids: np.ndarray
    objective: float
    bound: float
    gap: float
    bound_method: str
    households_gained: np.ndarray
    households_covered_before: float
    households_covered_after: float
    households_total: float
    time_s: float
    assignment: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The numbers of the solution as plain Python values (for ``summary.json``)."""

        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        return {
            "model": self.model,
            "method": self.method,
            "status": self.status,
            "n_sites": int(self.sites.size),
            "households_covered_before": num(self.households_covered_before),
            "households_covered_after": num(self.households_covered_after),
            "households_total": num(self.households_total),
            "objective": num(self.objective),
            "bound": num(self.bound),
            "gap": num(self.gap),
            "bound_method": self.bound_method,
            "time_s": round(self.time_s, 4),
            "notes": list(self.notes),
        }

    def sites_frame(self, coverage: Coverage | None = None) -> pd.DataFrame:
        """One row per chosen site: ``site_id, households_gained`` and, given the coverage
        with candidate attributes, ``lon, lat`` and the candidate's columns."""
        frame = pd.DataFrame(
            {"site_id": self.site_ids, "households_gained": self.households_gained}
        )
        if coverage is not None and coverage.candidates is not None:
            cand = coverage.candidates.iloc[self.sites].reset_index(drop=True)
            geom = cand.geometry
            frame["lon"] = geom.x.to_numpy()
            frame["lat"] = geom.y.to_numpy()
            extra = [c for c in ("name", "floor_area", "rent", "capacity") if c in cand.columns]
            for c in extra:
                frame[c] = cand[c].to_numpy()
        return frame


# ------------------------------------------------------------------------------ validation
def _check_p(p: Any, n_candidates: int) -> int:
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
        raise InputError(
            Problem(
                f"p must be a whole number ≥ 1, got {p!r}",
                field="p",
                fix="give how many new sites to open, e.g. p=5",
            ),
            "model",
        )
    if p > n_candidates:
        raise InputError(
            Problem(
                f"p = {p} new sites asked for, but there are only {n_candidates} candidate sites",
                field="p",
                fix="lower p, or give more candidates (a candidate layer, or generated ones "
                "at a smaller spacing)",
            ),
            "model",
        )
    return int(p)


def _check_capacities(capacities: Any, n: int) -> np.ndarray | None:
    if capacities is None:
        return None
    cap = np.asarray(capacities, dtype=np.float64).reshape(-1)
    if cap.shape[0] != n:
        raise InputError(
            Problem(
                f"{cap.shape[0]} capacities given for {n} candidate sites",
                field="capacity",
                fix="give one capacity (households) per candidate, NaN or inf for no limit",
            ),
            "capacities",
        )
    cap = np.where(np.isnan(cap), np.inf, cap)
    bad = np.flatnonzero(cap < 0)
    if bad.size:
        raise InputError(
            [
                Problem(
                    f"capacity {cap[i]:g} is negative",
                    row=int(i) + 1,
                    field="capacity",
                    fix="give households a site can serve (≥ 0), or leave it empty for no limit",
                )
                for i in bad[:20]
            ],
            "capacities",
        )
    if np.isinf(cap).all():
        return None
    return cap


def _no_coverage(coverage: Coverage, radius_m: float) -> InputError:
    return InputError(
        Problem(
            f"no candidate site is within {radius_m:g} m walking of any residence "
            f"({coverage.n_candidates} candidates, {coverage.n_demand} residences on the network)",
            field="candidates",
            fix="give candidates near the residences, a longer band, or check that both layers "
            "cover the same area",
        ),
        "model",
    )


# ------------------------------------------------------------------------------------ HiGHS
@dataclass
class _Mip:
    status: str
    x: np.ndarray | None
    objective: float
    bound: float
    row_dual: np.ndarray | None = None


def _run_highs(
    cost: np.ndarray,
    a: sp.csc_matrix,
    row_lo: np.ndarray,
    row_hi: np.ndarray,
    col_lo: np.ndarray,
    col_hi: np.ndarray,
    integer: np.ndarray,
    *,
    maximize: bool,
    time_limit: float,
    mip_gap: float,
    start: np.ndarray | None = None,
    relax: bool = False,
    presolve: bool = True,
) -> _Mip:
    """Solve ``opt cost·x`` s.t. ``row_lo ≤ A x ≤ row_hi``, ``col_lo ≤ x ≤ col_hi``.

    ``relax=True`` solves the LP relaxation by interior point without crossover (the bound
    is what it is for) and returns the row duals as well.
    """
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if relax:
        integer = np.zeros(len(cost), dtype=bool)
        h.setOptionValue("solver", "ipm")
        h.setOptionValue("run_crossover", "off")
    h.setOptionValue("time_limit", float(max(time_limit, 0.05)))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    h.setOptionValue("random_seed", 0)
    if not presolve:
        h.setOptionValue("presolve", "off")
    a = sp.csc_matrix(a)
    a.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = int(a.shape[1])
    lp.num_row_ = int(a.shape[0])
    lp.col_cost_ = np.asarray(cost, dtype=np.float64)
    lp.col_lower_ = np.asarray(col_lo, dtype=np.float64)
    lp.col_upper_ = np.asarray(col_hi, dtype=np.float64)
    lp.row_lower_ = np.asarray(row_lo, dtype=np.float64)
    lp.row_upper_ = np.asarray(row_hi, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = int(a.shape[1])
    lp.a_matrix_.num_row_ = int(a.shape[0])
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    mip = bool(np.any(integer))
    if mip:
        kint, kcont = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
        lp.integrality_ = [kint if v else kcont for v in integer]
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:  # pragma: no cover - a bug here, not bad input
        raise LifecircleError("HiGHS rejected the model (internal error in lifecircle.plan)")
    if start is not None and mip:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=np.float64)
        sol.value_valid = True
        h.setSolution(sol)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    ms = highspy.HighsModelStatus
    if model_status == ms.kInfeasible:
        return _Mip("infeasible", None, math.nan, math.nan)
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_x else None
    obj = float(info.objective_function_value) if has_x else math.nan
    bound = float(info.mip_dual_bound) if mip else obj
    if model_status == ms.kOptimal:
        label = "optimal"
    elif model_status in (ms.kTimeLimit, ms.kInterrupt, ms.kIterationLimit):
        label = "time_limit"
    else:
        label = h.modelStatusToString(model_status)
    dual = None
    if relax:
        dual = np.asarray(h.getSolution().row_dual, dtype=np.float64)
        if dual.size != lp.num_row_ or not np.isfinite(dual).all():
            dual = None
    return _Mip(label, x, obj, bound, dual)


def _share_of(deadline: float, share: float) -> float:
    """A deadline ``share`` of the way from now to ``deadline``."""
    now = time.perf_counter()
    return now + share * max(0.0, deadline - now)


def _gap(objective: float, bound: float) -> float:
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    diff = abs(bound - objective)
    if diff <= 1e-9 * max(1.0, abs(bound), abs(objective)):
        return 0.0
    return diff / max(abs(objective), 1e-12)


# ---------------------------------------------------------------------------- shared parts
def _csr(ptr: np.ndarray, rows: np.ndarray, n_rows: int, *data: np.ndarray) -> tuple[Any, ...]:
    """Transpose a CSC (``ptr``, ``rows``, data...) to CSR: ``(rptr, cols, data...)``."""
    n_cols = ptr.shape[0] - 1
    col = np.repeat(np.arange(n_cols, dtype=np.int64), np.diff(ptr))
    order = np.argsort(rows, kind="stable")
    rptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=rptr[1:])
    return (rptr, col[order], *(d[order] for d in data))


def _filter_rows(
    ptr: np.ndarray, rows: np.ndarray, keep_row: np.ndarray, *data: np.ndarray
) -> tuple[Any, ...]:
    """Drop the pairs of rows not in ``keep_row``: ``(ptr, rows, data...)``."""
    keep = keep_row[rows]
    if keep.all():
        return (ptr, rows, *data)
    n_cols = ptr.shape[0] - 1
    col = np.repeat(np.arange(n_cols), np.diff(ptr))[keep]
    new_ptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(col, minlength=n_cols), out=new_ptr[1:])
    return (new_ptr, rows[keep], *(d[keep] for d in data))


@dataclass
class _Groups:
    """Demand rows merged where they are covered by the same candidates (for the MIP)."""

    of_demand: np.ndarray  # group of each demand row, -1 when not in the model
    weight: np.ndarray  # per group
    ptr: np.ndarray  # CSC over active candidates
    rows: np.ndarray
    active: np.ndarray  # candidate index of each model column


def _group(ptr: np.ndarray, rows: np.ndarray, w: np.ndarray, n_rows: int) -> _Groups:
    n_cols = ptr.shape[0] - 1
    rng = np.random.default_rng(20240601)
    r1 = rng.integers(0, np.iinfo(np.int64).max, n_cols, dtype=np.int64).astype(np.uint64)
    r2 = rng.integers(0, np.iinfo(np.int64).max, n_cols, dtype=np.int64).astype(np.uint64)
    h1, h2, deg = row_signatures(ptr, rows, n_rows, r1, r2)
    inmodel = (deg > 0) & (w > 0)
    idx = np.flatnonzero(inmodel)
    key = np.stack([h1[idx], h2[idx], deg[idx].astype(np.uint64)], axis=1)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    # number groups by their first member, so that the model does not depend on hash order
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    gid = rank[inverse]
    of_demand = np.full(n_rows, -1, dtype=np.int64)
    of_demand[idx] = gid
    n_groups = int(first.size)
    weight = np.bincount(gid, weights=w[idx], minlength=n_groups)
    col = np.repeat(np.arange(n_cols, dtype=np.int64), np.diff(ptr))
    g = of_demand[rows]
    ok = g >= 0
    pair = np.unique(col[ok] * max(n_groups, 1) + g[ok])
    pcol = pair // max(n_groups, 1)
    prow = pair % max(n_groups, 1)
    counts = np.bincount(pcol, minlength=n_cols)
    active = np.flatnonzero(counts > 0)
    cmap = np.full(n_cols, -1, dtype=np.int64)
    cmap[active] = np.arange(active.size)
    gptr = np.zeros(active.size + 1, dtype=np.int64)
    np.cumsum(counts[active], out=gptr[1:])
    return _Groups(of_demand, weight, gptr, prow.astype(np.int64), active)


def _drop_dominated(grp: _Groups) -> tuple[_Groups, np.ndarray]:
    """Leave out candidates whose groups are a subset of another's (ties: the lower index
    stays); valid for uncapacitated covering models.  Returns the reduced groups and, per
    original active column, the kept column that covers at least as much (itself if kept)."""
    n_x = grp.active.size
    n_g = grp.weight.size
    b = sp.csc_matrix((np.ones(grp.rows.size), grp.rows, grp.ptr), shape=(n_g, n_x))
    size = np.diff(grp.ptr)
    overlap = (b.T @ b).tocoo()
    j, k = overlap.row, overlap.col
    inside = (overlap.data >= size[j] - 0.5) & (j != k)
    wider = (size[k] > size[j]) | ((size[k] == size[j]) & (k < j))
    sel = inside & wider
    dominated = np.zeros(n_x, dtype=bool)
    dominated[j[sel]] = True
    if not dominated.any():
        return grp, np.arange(n_x)
    # a kept column covering each dropped one: among its dominators, one that is kept
    # (dominance is transitive, so a kept one exists), the widest first
    j2, k2 = j[sel], k[sel]
    keepers = ~dominated[k2]
    j2, k2 = j2[keepers], k2[keepers]
    order = np.lexsort((-size[k2], j2))
    first = np.r_[True, j2[order][1:] != j2[order][:-1]]
    target = np.arange(n_x)
    target[j2[order][first]] = k2[order][first]
    kept = np.flatnonzero(~dominated)
    new_index = np.full(n_x, -1, dtype=np.int64)
    new_index[kept] = np.arange(kept.size)
    counts = size[kept]
    ptr = np.zeros(kept.size + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    rows = np.concatenate([grp.rows[grp.ptr[c] : grp.ptr[c + 1]] for c in kept])
    reduced = _Groups(grp.of_demand, grp.weight, ptr, rows.astype(np.int64), grp.active[kept])
    return reduced, new_index[target]


def _keep_columns(
    grp: _Groups, keep: np.ndarray, to_kept: np.ndarray
) -> tuple[_Groups, np.ndarray]:
    """The groups restricted to the columns in ``keep``; ``to_kept`` re-mapped (-1 = gone)."""
    cols = np.flatnonzero(keep)
    size = np.diff(grp.ptr)[cols]
    ptr = np.zeros(cols.size + 1, dtype=np.int64)
    np.cumsum(size, out=ptr[1:])
    rows = (
        np.concatenate([grp.rows[grp.ptr[c] : grp.ptr[c + 1]] for c in cols])
        if cols.size
        else np.zeros(0, dtype=np.int64)
    )
    new_index = np.full(keep.size, -1, dtype=np.int64)
    new_index[cols] = np.arange(cols.size)
    mapped = np.where(to_kept >= 0, new_index[np.maximum(to_kept, 0)], -1)
    return _Groups(grp.of_demand, grp.weight, ptr, rows.astype(np.int64), grp.active[cols]), mapped


class _Model:
    """What the three models share: the coverage, capacities, solve() plumbing."""

    model: ClassVar[str] = ""
    maximize: ClassVar[bool] = False

    def __init__(self, coverage: Coverage, capacities: Any = None) -> None:
        if not isinstance(coverage, Coverage):
            raise InputError(
                f"expected a Coverage (lifecircle.plan.build_coverage), got "
                f"{type(coverage).__name__}",
                "model",
            )
        self.coverage = coverage
        self.capacities = _check_capacities(capacities, coverage.n_candidates)
        self.notes: list[str] = []

    def solve(
        self,
        *,
        time_limit: float = 60.0,
        method: str = "auto",
        mip_gap: float = 1e-4,
    ) -> Solution:
        """Solve the model.

        Parameters
        ----------
        time_limit
            Seconds for the whole solve (heuristic and MIP).
        method
            ``auto``, ``mip`` or ``heuristic`` (see the module docstring).
        mip_gap
            Relative gap at which a solution counts as optimal.

        Returns
        -------
        Solution

        Raises
        ------
        InputError
            Unknown method, a time limit or gap that is not a positive number, an infeasible
            target, capacities that cannot serve the demand.
        """
        if method not in METHODS:
            raise InputError(
                Problem(
                    f"method {method!r} is not known",
                    field="method",
                    fix=f"use one of {', '.join(METHODS)}",
                ),
                "solve",
            )
        if not (isinstance(time_limit, int | float) and time_limit > 0):
            raise InputError(
                f"time_limit must be a positive number of seconds, got {time_limit!r}", "solve"
            )
        if not (isinstance(mip_gap, int | float) and 0 <= mip_gap < 1):
            raise InputError(f"mip_gap must be in [0, 1), got {mip_gap!r}", "solve")
        if self.capacities is not None and method == "heuristic":
            raise InputError(
                Problem(
                    "the heuristic does not handle capacities",
                    field="method",
                    fix="use method='mip' or 'auto' with capacities",
                ),
                "solve",
            )
        self.notes = []
        t0 = time.perf_counter()
        sol = self._solve(method, t0 + float(time_limit), float(mip_gap))
        sol.time_s = time.perf_counter() - t0
        sol.notes = self.notes + sol.notes
        log.info(
            "%s: %d sites, objective %.6g, bound %.6g, gap %.3g%% (%s, %.2f s)",
            self.model,
            sol.sites.size,
            sol.objective,
            sol.bound,
            100 * sol.gap if math.isfinite(sol.gap) else math.inf,
            sol.method,
            sol.time_s,
        )
        return sol

    def _solve(self, method: str, deadline: float, mip_gap: float) -> Solution:
        raise NotImplementedError

    # shared evaluation ------------------------------------------------------------------
    def _attribute(self, sites: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Order sites by marginal households within the radius; ``(sites, gains, covered)``."""
        cov = self.coverage
        cptr, crow = cov.covering()
        covered = cov.covered_by_existing.copy()
        w = cov.weights
        left = [int(s) for s in sites]
        order: list[int] = []
        gains: list[float] = []
        while left:
            vals = []
            for s in left:
                mine = crow[cptr[s] : cptr[s + 1]]
                vals.append(float(w[mine][~covered[mine]].sum()))
            k = int(np.argmax(vals))
            s = left.pop(k)
            order.append(s)
            gains.append(vals[k])
            covered[crow[cptr[s] : cptr[s + 1]]] = True
        return np.array(order, dtype=np.int64), np.array(gains), covered

    def _solution(
        self,
        sites: np.ndarray,
        *,
        method: str,
        status: str,
        objective: float,
        bound: float,
        bound_method: str,
        assignment: pd.DataFrame | None = None,
        served: np.ndarray | None = None,
        notes: list[str] | None = None,
    ) -> Solution:
        cov = self.coverage
        order, gains, covered = self._attribute(np.asarray(sites, dtype=np.int64))
        before = cov.households_covered_before()
        after = float(cov.weights[covered].sum())
        if served is not None:
            # capacitated: the households each site serves, in descending order
            srv = served[order]
            rank = np.argsort(-srv, kind="stable")
            order, gains = order[rank], srv[rank]
            after = before + float(srv.sum())
        return Solution(
            model=self.model,
            method=method,
            status=status,
            sites=order,
            site_ids=cov.candidate_ids[order],
            objective=float(objective),
            bound=float(bound),
            gap=_gap(float(objective), float(bound)),
            bound_method=bound_method,
            households_gained=gains,
            households_covered_before=before,
            households_covered_after=after,
            households_total=float(cov.weights.sum()),
            time_s=0.0,
            assignment=assignment,
            notes=list(notes or []),
        )


def _capacity_rows(
    pair_col: np.ndarray,
    pair_w: np.ndarray,
    cap: np.ndarray,
    n_x: int,
    z_offset: int,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows ``Σ_pairs w z - C_j x_j ≤ 0`` for every site with a finite capacity."""
    limited = np.flatnonzero(np.isfinite(cap))
    rmap = np.full(cap.size, -1, dtype=np.int64)
    rmap[limited] = np.arange(limited.size)
    sel = rmap[pair_col] >= 0
    n_pairs = pair_col.size
    rows = np.concatenate([rmap[pair_col[sel]], np.arange(limited.size)])
    cols = np.concatenate([z_offset + np.flatnonzero(sel), limited])
    vals = np.concatenate([pair_w[sel], -cap[limited]])
    mat = sp.csr_matrix(
        (vals, (rows, cols)), shape=(limited.size, n_x + n_pairs + (z_offset - n_x))
    )
    return mat, np.zeros(limited.size)


# --------------------------------------------------------------------------------------- MCLP
class MCLP(_Model):
    """Maximal covering location: ``p`` new sites covering the most households not yet covered.

    Parameters
    ----------
    coverage
        Walking coverage (:func:`~lifecircle.plan.build_coverage`).
    p
        Number of new sites (at most; a site that would cover nobody new is not opened).
    capacities
        Optional households per candidate (NaN/inf = no limit): households are then *served*
        by a site within the radius up to its capacity.

    Examples
    --------
    >>> import numpy as np
    >>> cov = Coverage.from_matrix(np.array([[0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool),
    ...                            [100, 200, 50], radius_m=1.0)
    >>> sol = MCLP.from_coverage(cov, p=1).solve(method="mip")
    >>> sol.site_ids.tolist(), sol.objective
    (['S2'], 300.0)
    """

    model = "mclp"
    maximize = True

    def __init__(self, coverage: Coverage, p: int, *, capacities: Any = None) -> None:
        super().__init__(coverage, capacities)
        self.p = _check_p(p, coverage.n_candidates)
        cptr, crow = coverage.covering()
        if crow.size == 0:
            raise _no_coverage(coverage, coverage.radius_m)
        open_demand = ~coverage.covered_by_existing & (coverage.weights > 0)
        self._ptr, self._rows = _filter_rows(cptr, crow, open_demand)[:2]

    @classmethod
    def from_coverage(cls, coverage: Coverage, p: int, *, capacities: Any = None) -> MCLP:
        """The model on walking coverage data."""
        return cls(coverage, p, capacities=capacities)

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        weights: Any,
        radius_m: float,
        p: int,
        *,
        existing_m: Any = None,
        capacities: Any = None,
    ) -> MCLP:
        """The model on a demand × candidate walking-distance matrix (``inf`` = out of reach)."""
        return cls(
            Coverage.from_matrix(cost, weights, radius_m, existing_m=existing_m),
            p,
            capacities=capacities,
        )

    # heuristic ---------------------------------------------------------------------------
    def _heuristic(
        self,
        deadline: float,
        mip_gap: float,
        *,
        with_bound: bool = True,
        bound_deadline: float | None = None,
        perturb: bool = False,
    ) -> tuple[np.ndarray, float, float, str]:
        cov = self.coverage
        w = cov.weights
        n_d = cov.n_demand
        ptr, rows = self._ptr, self._rows
        rptr, rcol = _csr(ptr, rows, n_d)
        total = float(w[np.unique(rows)].sum()) if rows.size else 0.0
        tol = 1e-9 * max(1.0, total)
        count = np.zeros(n_d, dtype=np.int32)
        chosen, value, sub_bound = mclp_greedy(ptr, rows, rptr, rcol, w, self.p, count, tol, np.inf)
        sites = chosen.copy()
        searchable = sites.size == self.p and ptr.size - 1 > self.p
        if searchable and (ptr.size - 1) * self.p > _SWAP_MAX_CELLS:
            self.notes.append("interchange skipped (too many candidates × p)")
            searchable = False
        if searchable:
            swaps = self._interchange(sites, count, rptr, rcol, tol, deadline)
            self.notes.append(f"greedy + {swaps} interchanges")
        value = float(w[count > 0].sum())
        bound, how = min(sub_bound, total), "submodular (greedy online bound)"
        if with_bound and _gap(value, bound) > mip_gap:
            if rows.size <= MIP_MAX_NONZEROS:
                # on the merged demand, without dominated candidates: a tighter relaxation
                grp = self._reduced()[0]
                lptr, lrows, lw = grp.ptr, grp.rows, grp.weight
            else:
                lptr, lrows, lw = ptr, rows, w
            lam = lw.copy()
            best_lam = lw.copy()
            direction = np.zeros(lw.size)
            state = np.array([np.inf, 1.0, 0.0])
            stop = deadline if bound_deadline is None else min(deadline, bound_deadline)
            while time.perf_counter() < stop and state[1] >= 1e-4:
                mclp_lagrangian(lptr, lrows, lw, self.p, value, 25, lam, state, best_lam, direction)
                if _gap(value, min(bound, state[0])) <= mip_gap:
                    break
            if state[0] < bound:
                bound, how = float(state[0]), "Lagrangian (coverage constraints relaxed)"
            if lptr is not ptr:
                self.__dict__["_multipliers"] = best_lam
        if perturb and searchable and _gap(value, bound) > mip_gap:
            sites, value = self._perturb(sites, value, bound, rptr, rcol, tol, mip_gap, deadline)
        bound = max(bound, value)
        return sites, value, bound, how

    def _interchange(
        self,
        sites: np.ndarray,
        count: np.ndarray,
        rptr: np.ndarray,
        rcol: np.ndarray,
        tol: float,
        deadline: float,
    ) -> int:
        """Best-improvement interchange until no swap gains (``sites``, ``count`` in place)."""
        ptr, rows, w = self._ptr, self._rows, self.coverage.weights
        swaps = 0
        while time.perf_counter() < deadline:
            delta, site_in, slot = mclp_swap_step(ptr, rows, rptr, rcol, w, sites, count)
            if delta <= tol or site_in < 0:
                break
            mclp_apply_swap(ptr, rows, count, site_in, int(sites[slot]))
            sites[slot] = site_in
            swaps += 1
        return swaps

    def _perturb(
        self,
        sites: np.ndarray,
        value: float,
        bound: float,
        rptr: np.ndarray,
        rcol: np.ndarray,
        tol: float,
        mip_gap: float,
        deadline: float,
    ) -> tuple[np.ndarray, float]:
        """Iterated local search: replace a few open sites by random others, search again,
        keep the better solution; until the deadline, the gap, or 30 rounds without gain."""
        ptr, rows, w = self._ptr, self._rows, self.coverage.weights
        n_c = ptr.size - 1
        rng = np.random.default_rng(20240601)
        k = max(2, self.p // 5)
        best_sites, best = sites.copy(), value
        rounds = idle = 0
        while time.perf_counter() < deadline and idle < 30 and _gap(best, bound) > mip_gap:
            trial = best_sites.copy()
            slots = rng.choice(trial.size, size=min(k, trial.size), replace=False)
            closed = np.setdiff1d(np.arange(n_c), trial)
            trial[slots] = rng.choice(closed, size=slots.size, replace=False)
            count = np.zeros(w.size, dtype=np.int32)
            for s in trial:
                count[rows[ptr[s] : ptr[s + 1]]] += 1
            self._interchange(trial, count, rptr, rcol, tol, deadline)
            got = float(w[count > 0].sum())
            rounds += 1
            if got > best + tol:
                best_sites, best, idle = trial, got, 0
            else:
                idle += 1
        if rounds:
            self.notes.append(f"{rounds} perturbation rounds")
        return best_sites, best

    def _reduced(self) -> tuple[_Groups, np.ndarray, np.ndarray]:
        """Merged demand groups without dominated candidates (cached): ``(groups, to_kept,
        active)`` — ``to_kept`` maps each column of ``active`` to a kept column."""
        cached = self.__dict__.get("_reduced_cache")
        if cached is None:
            cov = self.coverage
            grp = _group(self._ptr, self._rows, cov.weights, cov.n_demand)
            full_active = grp.active
            reduced, to_kept = _drop_dominated(grp)
            if reduced.active.size < full_active.size:
                self.notes.append(
                    f"{full_active.size - reduced.active.size} dominated candidates left out"
                )
            cached = (reduced, to_kept, full_active)
            self.__dict__["_reduced_cache"] = cached
        return cached

    def _fixing(self, value: float, mip_gap: float) -> tuple[np.ndarray, float]:
        """Lagrangian fixing: candidates that cannot be in any solution better than
        ``value × (1 + mip_gap)``.  Returns the mask of columns kept (of the reduced groups)
        and the bound over the solutions using a dropped column."""
        grp = self._reduced()[0]
        lam = self.__dict__.get("_multipliers")
        n_x = grp.active.size
        if lam is None or n_x <= self.p:
            return np.ones(n_x, dtype=bool), -math.inf
        col = np.repeat(np.arange(n_x), np.diff(grp.ptr))
        score = np.bincount(col, weights=lam[grp.rows], minlength=n_x)
        base = float((grp.weight - lam).sum())
        order = np.argsort(-score, kind="stable")
        top = score[order[: self.p]]
        in_top = np.zeros(n_x, dtype=bool)
        in_top[order[: self.p]] = True
        # the relaxation's bound over the solutions that contain column j
        with_j = np.where(in_top, base + top.sum(), base + top.sum() - top[-1] + score)
        # a margin for rounding in the sums
        cut = value * (1.0 + mip_gap) - 1e-9 * max(1.0, abs(value))
        dropped = with_j < cut
        return ~dropped, float(with_j[dropped].max()) if dropped.any() else -math.inf

    # MIP ---------------------------------------------------------------------------------
    def _mip(
        self,
        deadline: float,
        mip_gap: float,
        start: np.ndarray | None,
        keep: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float, float, str, np.ndarray | None, pd.DataFrame | None]:
        cov = self.coverage
        if self.capacities is None:
            grp, to_kept, full_active = self._reduced()
            if keep is not None and not keep.all():
                grp, to_kept = _keep_columns(grp, keep, to_kept)
        else:
            grp = _group(self._ptr, self._rows, cov.weights, cov.n_demand)
            full_active = grp.active
            to_kept = np.arange(full_active.size)
        n_x = grp.active.size
        n_g = grp.weight.size
        p = min(self.p, n_x)
        if self.capacities is None:
            b, a, cost, row_lo, row_hi = _mclp_matrix(grp, p)
            x0 = None
            if start is not None:
                # the start's sites, each replaced by a kept site covering at least as much
                amap = np.full(cov.n_candidates, -1, dtype=np.int64)
                amap[full_active] = to_kept
                xs = np.zeros(n_x)
                chosen = amap[start]
                xs[chosen[chosen >= 0]] = 1.0
                ys = np.minimum(1.0, b @ xs)
                x0 = np.concatenate([xs, ys])
            res = _run_highs(
                cost, a, row_lo, row_hi, np.zeros(n_x + n_g), np.ones(n_x + n_g),
                np.r_[np.ones(n_x, dtype=bool), np.zeros(n_g, dtype=bool)],
                maximize=True, time_limit=deadline - time.perf_counter(), mip_gap=mip_gap,
                # the model is reduced already (merged demand, dominance, fixing): HiGHS's
                # presolve finds little more, and the restarts it triggers cost more than
                # they save (5,000 × 500 benchmark: 2.7 s → 1.2 s)
                start=x0, presolve=False,
            )  # fmt: skip
            if res.x is None:
                raise LifecircleError(f"HiGHS found no solution ({res.status})")
            sites = grp.active[res.x[:n_x] > 0.5]
            return sites, res.objective, res.bound, res.status, None, None
        # capacitated: z per (group, site) pair
        pair_col = np.repeat(np.arange(n_x), np.diff(grp.ptr))
        pair_row = grp.rows
        n_z = pair_col.size
        cap = self.capacities[grp.active]
        zcols = n_x + np.arange(n_z)
        assign = sp.csr_matrix((np.ones(n_z), (pair_row, zcols)), shape=(n_g, n_x + n_z))
        link = sp.csr_matrix(
            (np.r_[np.ones(n_z), -np.ones(n_z)], (np.r_[np.arange(n_z), np.arange(n_z)],
                                                  np.r_[zcols, pair_col])),
            shape=(n_z, n_x + n_z),
        )  # fmt: skip
        capm, cap_hi = _capacity_rows(pair_col, grp.weight[pair_row], cap, n_x, n_x)
        card = sp.csr_matrix((np.ones(n_x), (np.zeros(n_x), np.arange(n_x))), shape=(1, n_x + n_z))
        a = sp.vstack([assign, link, capm, card], format="csc")
        row_lo = np.full(a.shape[0], -np.inf)
        row_hi = np.concatenate([np.ones(n_g), np.zeros(n_z), cap_hi, [p]])
        cost = np.concatenate([np.zeros(n_x), grp.weight[pair_row]])
        res = _run_highs(
            cost, a, row_lo, row_hi, np.zeros(n_x + n_z), np.ones(n_x + n_z),
            np.r_[np.ones(n_x, dtype=bool), np.zeros(n_z, dtype=bool)],
            maximize=True, time_limit=deadline - time.perf_counter(), mip_gap=mip_gap,
        )  # fmt: skip
        if res.x is None:
            raise LifecircleError(f"HiGHS found no solution ({res.status})")
        z = res.x[n_x:]
        open_x = res.x[:n_x] > 0.5
        sites = grp.active[open_x]
        served_all = np.bincount(pair_col, weights=z * grp.weight[pair_row], minlength=n_x)
        assignment = _group_assignment(cov, grp, pair_row, pair_col, z, threshold=1e-9)
        served = np.zeros(cov.n_candidates)
        served[grp.active] = served_all
        return sites, res.objective, res.bound, res.status, served, assignment

    def _lp_bound(self, deadline: float) -> float:
        """The LP relaxation's bound (HiGHS interior point, merged demand, dominated candidates
        left out), made exact by evaluating the Lagrangian bound (valid for any multipliers in
        ``[0, w]``) at the LP's row duals, which also become the multipliers of the fixing.
        ``inf`` when the LP gave no duals in time."""
        grp = self._reduced()[0]
        p = min(self.p, grp.active.size)
        _, a, cost, row_lo, row_hi = _mclp_matrix(grp, p)
        n = cost.size
        res = _run_highs(
            cost, a, row_lo, row_hi, np.zeros(n), np.ones(n), np.zeros(n, dtype=bool),
            maximize=True, time_limit=deadline - time.perf_counter(), mip_gap=0.0, relax=True,
            presolve=False,  # its duals then belong to this model's rows, unreduced
        )  # fmt: skip
        if res.row_dual is None:
            return math.inf
        best, best_lam = math.inf, None
        # the sign convention of the duals depends on the run: both signs give valid bounds
        for lam in (res.row_dual[: grp.weight.size], -res.row_dual[: grp.weight.size]):
            lam = np.clip(lam, 0.0, grp.weight)
            value = _mclp_lagrangian_value(grp, lam, p)
            if value < best:
                best, best_lam = value, lam
        self.__dict__["_multipliers"] = best_lam
        return best

    def _gained(self, sites: np.ndarray) -> float:
        """Households newly covered with ``sites`` open."""
        w = self.coverage.weights
        hit = np.zeros(w.size, dtype=bool)
        for s in np.asarray(sites, dtype=np.int64):
            hit[self._rows[self._ptr[s] : self._ptr[s + 1]]] = True
        return float(w[hit].sum())

    def _solve(self, method: str, deadline: float, mip_gap: float) -> Solution:
        if self._rows.size == 0:
            self.notes.append("every household within reach of a candidate is already covered")
            return self._solution(
                np.zeros(0, dtype=np.int64), method="heuristic", status="optimal",
                objective=0.0, bound=0.0, bound_method="nothing left to cover",
            )  # fmt: skip
        heur = None
        if self.capacities is None:
            small = self._rows.size <= MIP_MAX_NONZEROS
            heur = self._heuristic(
                _share_of(deadline, 0.2) if method == "mip" else deadline,
                mip_gap,
                with_bound=method != "mip",
                # before a MIP, the relaxation gets a share of the time, not all of it
                bound_deadline=_share_of(deadline, 0.15) if method == "auto" and small else None,
                perturb=method == "heuristic" or (method == "auto" and not small),
            )
            sites, value, bound, how = heur
            if method == "heuristic" or (
                method == "auto" and (_gap(value, bound) <= mip_gap or not small)
            ):
                status = "optimal" if _gap(value, bound) <= mip_gap else "feasible"
                return self._solution(
                    sites, method="heuristic", status=status, objective=value, bound=bound,
                    bound_method=how,
                )  # fmt: skip
        if heur is not None and method == "auto":
            # the LP relaxation's bound is often tight enough to prove the heuristic's solution
            lp = self._lp_bound(_share_of(deadline, 0.5))
            if lp < heur[2]:
                heur = (heur[0], heur[1], max(lp, heur[1]), _LP_BOUND)
                self.notes.append("LP relaxation bound (interior point)")
            if _gap(heur[1], heur[2]) > mip_gap and heur[0].size == self.p:
                # a better solution is the likelier way to close the gap than the MIP's search
                rptr, rcol = _csr(self._ptr, self._rows, self.coverage.n_demand)
                tol = 1e-9 * max(1.0, heur[2])
                found, value = self._perturb(
                    heur[0].copy(), heur[1], heur[2], rptr, rcol, tol, mip_gap,
                    _share_of(deadline, 0.5),
                )  # fmt: skip
                heur = (found, value, max(heur[2], value), heur[3])
            if _gap(heur[1], heur[2]) <= mip_gap:
                return self._solution(
                    heur[0], method="heuristic", status="optimal", objective=heur[1],
                    bound=heur[2], bound_method=heur[3],
                )  # fmt: skip
        start = heur[0] if heur is not None else None
        keep, dropped_bound = None, -math.inf
        if heur is not None and method == "auto":
            keep, dropped_bound = self._fixing(heur[1], mip_gap)
            if not keep.all():
                self.notes.append(
                    f"Lagrangian fixing left out {int((~keep).sum())} of {keep.size} candidates"
                )
        sites, obj, bnd, status, served, assignment = self._mip(deadline, mip_gap, start, keep)
        label = "mip" if method == "mip" or heur is None else "heuristic+mip"
        if self.capacities is None:
            obj = self._gained(sites)
        if heur is not None and heur[1] > obj + 1e-9 * max(1.0, abs(obj)):
            sites, obj = heur[0], heur[1]  # the MIP stopped before reaching the start's value
        # solutions using a left-out candidate are bounded by dropped_bound
        bnd = max(bnd, dropped_bound)
        how = "HiGHS MIP dual bound"
        if heur is not None and method != "mip" and heur[2] < bnd:
            bnd, how = heur[2], heur[3]
        status = "optimal" if status == "optimal" or _gap(obj, bnd) <= mip_gap else status
        return self._solution(
            sites, method=label, status=status, objective=obj, bound=max(bnd, obj),
            bound_method=how, assignment=assignment, served=served,
        )  # fmt: skip


def _mclp_matrix(
    grp: _Groups, p: int
) -> tuple[sp.csc_matrix, sp.csc_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """MCLP on merged demand: ``max w·y`` s.t. ``y_g ≤ Σ_j b_gj x_j``, ``Σ x ≤ p``; columns
    ``[x (active sites), y (groups)]``.  Returns ``(b, A, cost, row_lo, row_hi)``."""
    n_x = grp.active.size
    n_g = grp.weight.size
    b = sp.csc_matrix((np.ones(grp.rows.size), grp.rows, grp.ptr), shape=(n_g, n_x))
    a = sp.vstack(
        [
            sp.hstack([-b, sp.identity(n_g, format="csc")]),
            sp.hstack([sp.csr_matrix(np.ones((1, n_x))), sp.csr_matrix((1, n_g))]),
        ],
        format="csc",
    )
    cost = np.concatenate([np.zeros(n_x), grp.weight])
    row_lo = np.full(n_g + 1, -np.inf)
    row_hi = np.concatenate([np.zeros(n_g), [p]])
    return b, a, cost, row_lo, row_hi


def _mclp_lagrangian_value(grp: _Groups, lam: np.ndarray, p: int) -> float:
    """``L(λ) = Σ_g (w_g − λ_g) + the p largest Σ_{g covered by j} λ_g``: an upper bound of the
    MCLP for every ``0 ≤ λ ≤ w`` (see :func:`~lifecircle.plan._kernels.mclp_lagrangian`)."""
    col = np.repeat(np.arange(grp.active.size), np.diff(grp.ptr))
    score = np.bincount(col, weights=lam[grp.rows], minlength=grp.active.size)
    top = np.sort(score)[::-1][:p]
    return float((grp.weight - lam).sum() + top[top > 0].sum())


def _group_assignment(
    cov: Coverage,
    grp: _Groups,
    pair_row: np.ndarray,
    pair_col: np.ndarray,
    z: np.ndarray,
    *,
    threshold: float,
) -> pd.DataFrame:
    """Per demand point and site, the share assigned (groups spread to their members)."""
    used = z > threshold
    members = np.flatnonzero(grp.of_demand >= 0)
    by_group = pd.DataFrame({"group": grp.of_demand[members], "demand": members})
    pairs = pd.DataFrame(
        {"group": pair_row[used], "site": grp.active[pair_col[used]], "share": z[used]}
    )
    merged = by_group.merge(pairs, on="group")
    d = merged["demand"].to_numpy()
    s = merged["site"].to_numpy()
    walk = _pair_distance(cov, d, s)
    return pd.DataFrame(
        {
            "demand_id": cov.demand_ids[d],
            "site_id": cov.candidate_ids[s],
            "share": merged["share"].to_numpy(),
            "households": cov.weights[d] * merged["share"].to_numpy(),
            "walk_m": walk,
        }
    )


def _pair_distance(cov: Coverage, demand: np.ndarray, site: np.ndarray) -> np.ndarray:
    """Walk between demand points and sites (NaN where the pair is not listed)."""
    out = np.full(demand.size, np.nan)
    for k, (i, j) in enumerate(zip(demand, site, strict=True)):
        lo, hi = cov.ptr[j], cov.ptr[j + 1]
        pos = lo + int(np.searchsorted(cov.demand[lo:hi], i))
        if pos < hi and cov.demand[pos] == i:
            out[k] = cov.distance_m[pos]
    return out


# --------------------------------------------------------------------------------------- LSCP
class LSCP(_Model):
    """Location set covering: the fewest new sites to cover a target share of the households.

    Parameters
    ----------
    coverage
        Walking coverage.
    target
        Share of all households (on the network) to be within the radius of an outlet, the
        existing ones included; 1.0 = everyone.
    capacities
        Optional households per candidate (NaN/inf = no limit): the target must then be
        *served* within the radius, within capacities.

    Raises
    ------
    InputError
        The target cannot be reached with all candidates open (the message gives the share
        that can), or the capacities together cannot serve the households needed.

    Examples
    --------
    >>> import numpy as np
    >>> cov = Coverage.from_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=bool),
    ...                            [100, 100, 100], radius_m=1.0)
    >>> sol = LSCP.from_coverage(cov).solve(method="mip")
    >>> sorted(sol.site_ids.tolist()), sol.objective
    (['S1', 'S2'], 2.0)
    """

    model = "lscp"

    def __init__(self, coverage: Coverage, *, target: float = 1.0, capacities: Any = None) -> None:
        super().__init__(coverage, capacities)
        if not (isinstance(target, int | float) and 0 < float(target) <= 1):
            raise InputError(
                Problem(
                    f"target must be a share in (0, 1], got {target!r}",
                    field="target",
                    fix="give e.g. 0.8 for 80 % of the households, 1.0 for all",
                ),
                "model",
            )
        self.target = float(target)
        cptr, crow = coverage.covering()
        if crow.size == 0:
            raise _no_coverage(coverage, coverage.radius_m)
        w = coverage.weights
        total = float(w.sum())
        before = coverage.households_covered_before()
        open_demand = ~coverage.covered_by_existing & (w > 0)
        self._ptr, self._rows = _filter_rows(cptr, crow, open_demand)[:2]
        reachable = float(w[np.unique(self._rows)].sum()) if self._rows.size else 0.0
        eps = 1e-9 * max(1.0, total)
        self.needed = max(0.0, self.target * total - before)
        self._full = self.needed > 0 and self.needed >= reachable - eps
        if self.needed > reachable + eps:
            best = (before + reachable) / total if total > 0 else 0.0
            raise InputError(
                Problem(
                    f"target {self.target:.1%} of {total:g} households cannot be reached: existing "
                    f"outlets cover {before / total if total else 0:.1%} and all "
                    f"{coverage.n_candidates} candidates together at most {best:.1%}",
                    field="target",
                    fix=f"lower the target to at most {math.floor(best * 1000) / 1000:.3f}, or add "
                    "candidate sites near the residences left out",
                ),
                "model",
            )
        if self.capacities is not None and self.needed > 0:
            capacity = float(self.capacities.sum())
            if capacity < self.needed - eps:
                raise InputError(
                    Problem(
                        f"the candidates' capacities add up to {capacity:g} households, less "
                        f"than the {self.needed:g} households needed for the target "
                        f"{self.target:.1%}",
                        field="capacity",
                        fix="raise capacities, add candidates, or lower the target",
                    ),
                    "model",
                )

    @classmethod
    def from_coverage(
        cls, coverage: Coverage, *, target: float = 1.0, capacities: Any = None
    ) -> LSCP:
        """The model on walking coverage data."""
        return cls(coverage, target=target, capacities=capacities)

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        weights: Any,
        radius_m: float,
        *,
        target: float = 1.0,
        existing_m: Any = None,
        capacities: Any = None,
    ) -> LSCP:
        """The model on a demand × candidate walking-distance matrix."""
        return cls(
            Coverage.from_matrix(cost, weights, radius_m, existing_m=existing_m),
            target=target,
            capacities=capacities,
        )

    def _heuristic(self, deadline: float) -> tuple[np.ndarray, float, float, str]:
        cov = self.coverage
        w = cov.weights
        ptr, rows = self._ptr, self._rows
        n_c = ptr.size - 1
        rptr, rcol = _csr(ptr, rows, cov.n_demand)
        total = float(w.sum())
        eps = 1e-9 * max(1.0, total)
        count = np.zeros(cov.n_demand, dtype=np.int32)
        chosen, value, _ = mclp_greedy(ptr, rows, rptr, rcol, w, n_c, count, eps, self.needed - eps)
        # drop sites the others make redundant, last added first
        sites = list(chosen)
        for s in reversed(list(chosen)):
            mine = rows[ptr[s] : ptr[s + 1]]
            lost = float(w[mine[count[mine] == 1]].sum())
            if value - lost >= self.needed - eps:
                count[mine] -= 1
                value -= lost
                sites.remove(s)
        col_w = np.bincount(np.repeat(np.arange(n_c), np.diff(ptr)), weights=w[rows], minlength=n_c)
        need_sorted = np.cumsum(np.sort(col_w)[::-1])
        counting = int(np.searchsorted(need_sorted, self.needed - eps) + 1)
        bound, how = float(counting), "counting (largest coverages)"
        if len(sites) > bound and rows.size <= MIP_MAX_NONZEROS:
            lp = self._lp_bound(deadline)
            if lp is not None and lp > bound:
                bound, how = lp, "LP relaxation (HiGHS), rounded up"
        return np.array(sites, dtype=np.int64), float(len(sites)), bound, how

    def _lp_bound(self, deadline: float) -> float | None:
        built = self._build(integer=False)
        res = _run_highs(*built, maximize=False, time_limit=deadline - time.perf_counter(),
                         mip_gap=0.0)  # fmt: skip
        if res.status != "optimal" or not math.isfinite(res.objective):
            return None
        return float(math.ceil(res.objective - 1e-6))

    def _groups(self) -> _Groups:
        grp = self.__dict__.get("_grp")
        if grp is None:
            grp = _group(self._ptr, self._rows, self.coverage.weights, self.coverage.n_demand)
            self.__dict__["_grp"] = grp
        return grp

    def _build(self, *, integer: bool) -> tuple[Any, ...]:
        grp = self._groups()
        n_x = grp.active.size
        n_g = grp.weight.size
        b = sp.csc_matrix((np.ones(grp.rows.size), grp.rows, grp.ptr), shape=(n_g, n_x))
        ints = np.ones(n_x, dtype=bool) if integer else np.zeros(n_x, dtype=bool)
        if self.capacities is None and self._full:
            return (
                np.ones(n_x), b.tocsc(), np.ones(n_g), np.full(n_g, np.inf),
                np.zeros(n_x), np.ones(n_x), ints,
            )  # fmt: skip
        if self.capacities is None:
            a = sp.vstack(
                [
                    sp.hstack([-b, sp.identity(n_g, format="csc")]),
                    sp.hstack([sp.csr_matrix((1, n_x)), sp.csr_matrix(grp.weight.reshape(1, -1))]),
                ],
                format="csc",
            )
            cost = np.concatenate([np.ones(n_x), np.zeros(n_g)])
            row_lo = np.concatenate([np.full(n_g, -np.inf), [self.needed * (1 - 1e-12)]])
            row_hi = np.concatenate([np.zeros(n_g), [np.inf]])
            return (
                cost, a, row_lo, row_hi, np.zeros(n_x + n_g), np.ones(n_x + n_g),
                np.r_[ints, np.zeros(n_g, dtype=bool)],
            )  # fmt: skip
        pair_col = np.repeat(np.arange(n_x), np.diff(grp.ptr))
        pair_row = grp.rows
        n_z = pair_col.size
        zcols = n_x + np.arange(n_z)
        assign = sp.csr_matrix((np.ones(n_z), (pair_row, zcols)), shape=(n_g, n_x + n_z))
        link = sp.csr_matrix(
            (np.r_[np.ones(n_z), -np.ones(n_z)], (np.r_[np.arange(n_z), np.arange(n_z)],
                                                  np.r_[zcols, pair_col])),
            shape=(n_z, n_x + n_z),
        )  # fmt: skip
        capm, cap_hi = _capacity_rows(
            pair_col, grp.weight[pair_row], self.capacities[grp.active], n_x, n_x
        )
        served = sp.csr_matrix((grp.weight[pair_row], (np.zeros(n_z), zcols)), shape=(1, n_x + n_z))
        a = sp.vstack([assign, link, capm, served], format="csc")
        row_lo = np.concatenate(
            [np.full(n_g + n_z + capm.shape[0], -np.inf), [self.needed * (1 - 1e-12)]]
        )
        row_hi = np.concatenate([np.ones(n_g), np.zeros(n_z), cap_hi, [np.inf]])
        cost = np.concatenate([np.ones(n_x), np.zeros(n_z)])
        return (
            cost, a, row_lo, row_hi, np.zeros(n_x + n_z), np.ones(n_x + n_z),
            np.r_[ints, np.zeros(n_z, dtype=bool)],
        )  # fmt: skip

    def _solve(self, method: str, deadline: float, mip_gap: float) -> Solution:
        if self.needed <= 0:
            self.notes.append("the existing outlets already reach the target")
            return self._solution(
                np.zeros(0, dtype=np.int64), method="heuristic", status="optimal",
                objective=0.0, bound=0.0, bound_method="target already met",
            )  # fmt: skip
        heur = None
        if self.capacities is None:
            heur = self._heuristic(_share_of(deadline, 0.2) if method == "mip" else deadline)
            sites, value, bound, how = heur
            small = self._rows.size <= MIP_MAX_NONZEROS
            # an integer objective: a gap below one site is no gap
            proven = value <= bound
            if method == "heuristic" or (method == "auto" and (proven or not small)):
                return self._solution(
                    sites, method="heuristic", status="optimal" if proven else "feasible",
                    objective=value, bound=bound, bound_method=how,
                )  # fmt: skip
        grp = self._groups()
        built = self._build(integer=True)
        n_x = grp.active.size
        start = None
        if heur is not None:
            amap = np.full(self.coverage.n_candidates, -1, dtype=np.int64)
            amap[grp.active] = np.arange(n_x)
            xs = np.zeros(n_x)
            xs[amap[heur[0]][amap[heur[0]] >= 0]] = 1.0
            if self._full:
                start = xs
            else:
                b = sp.csc_matrix(
                    (np.ones(grp.rows.size), grp.rows, grp.ptr), shape=(grp.weight.size, n_x)
                )
                start = np.concatenate([xs, np.minimum(1.0, b @ xs)])
        res = _run_highs(
            *built, maximize=False, time_limit=deadline - time.perf_counter(), mip_gap=mip_gap,
            start=start,
        )  # fmt: skip
        if res.status == "infeasible":
            raise InputError(
                Problem(
                    f"the target {self.target:.1%} cannot be served: the capacities of the "
                    "candidates within the band of the residences are too small",
                    field="capacity",
                    fix="raise capacities, add candidates near the residences left out, or "
                    "lower the target",
                ),
                "model",
            )
        if res.x is None:
            if heur is None:
                raise LifecircleError(
                    f"HiGHS found no solution within the time limit ({res.status}); "
                    "give a longer time_limit"
                )
            sites, obj, bnd = heur[0], heur[1], heur[2]
        else:
            sites = grp.active[res.x[:n_x] > 0.5]
            obj = float(sites.size)
            bnd = float(math.ceil(res.bound - 1e-6)) if math.isfinite(res.bound) else 0.0
            if heur is not None and heur[1] < obj:
                sites, obj = heur[0], heur[1]
            if heur is not None:
                bnd = max(bnd, heur[2])
        served = None
        assignment = None
        if self.capacities is not None and res.x is not None:
            pair_col = np.repeat(np.arange(n_x), np.diff(grp.ptr))
            z = res.x[n_x:]
            served_act = np.bincount(pair_col, weights=z * grp.weight[grp.rows], minlength=n_x)
            served = np.zeros(self.coverage.n_candidates)
            served[grp.active] = served_act
            assignment = _group_assignment(self.coverage, grp, grp.rows, pair_col, z,
                                           threshold=1e-9)  # fmt: skip
        label = "mip" if heur is None or method == "mip" else "heuristic+mip"
        status = "optimal" if obj <= bnd else res.status
        return self._solution(
            sites, method=label, status=status, objective=obj, bound=min(bnd, obj),
            bound_method="HiGHS MIP dual bound", served=served, assignment=assignment,
        )  # fmt: skip


# ----------------------------------------------------------------------------------- p-median
class PMedian(_Model):
    """p-median: ``p`` new sites minimising the household-weighted walk to the nearest outlet.

    Every demand point walks to the nearest open site or existing outlet; walks are listed up to
    ``max_distance_m`` (default: the coverage's search distance), and a demand point with nothing
    nearer counts at ``max_distance_m`` (the capped p-median; exact when ``max_distance_m``
    exceeds every relevant walk).

    Parameters
    ----------
    coverage
        Walking coverage (built with ``search_m`` ≥ the walks that matter).
    p
        Number of new sites (at most).
    max_distance_m
        Cap on the walk counted per household.
    capacities
        Optional households per candidate; the rest walks to the fallback.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([[100.0, 900.0], [800.0, 100.0], [500.0, 450.0]])
    >>> sol = PMedian.from_cost_matrix(d, [10, 10, 10], p=1).solve(method="mip")
    >>> sol.site_ids.tolist(), sol.objective
    (['S1'], 14000.0)
    """

    model = "pmedian"

    def __init__(
        self,
        coverage: Coverage,
        p: int,
        *,
        max_distance_m: float | None = None,
        capacities: Any = None,
    ) -> None:
        super().__init__(coverage, capacities)
        self.p = _check_p(p, coverage.n_candidates)
        cap = coverage.search_m if max_distance_m is None else float(max_distance_m)
        if not (math.isfinite(cap) and cap > 0):
            raise InputError(
                f"max_distance_m must be a positive number, got {max_distance_m!r}", "model"
            )
        self.max_distance_m = cap
        self._c0 = np.minimum(coverage.existing_m, cap)
        w = coverage.weights
        useful = (coverage.distance_m < self._c0[coverage.demand]) & (w[coverage.demand] > 0)
        col = np.repeat(np.arange(coverage.n_candidates), np.diff(coverage.ptr))[useful]
        self._ptr = np.zeros(coverage.n_candidates + 1, dtype=np.int64)
        np.cumsum(np.bincount(col, minlength=coverage.n_candidates), out=self._ptr[1:])
        self._rows = coverage.demand[useful]
        self._dist = coverage.distance_m[useful]
        if coverage.nnz == 0 or not (coverage.distance_m <= cap).any():
            raise _no_coverage(coverage, cap)

    @classmethod
    def from_coverage(
        cls,
        coverage: Coverage,
        p: int,
        *,
        max_distance_m: float | None = None,
        capacities: Any = None,
    ) -> PMedian:
        """The model on walking coverage data."""
        return cls(coverage, p, max_distance_m=max_distance_m, capacities=capacities)

    @classmethod
    def from_cost_matrix(
        cls,
        cost: Any,
        weights: Any,
        p: int,
        *,
        radius_m: float | None = None,
        max_distance_m: float | None = None,
        existing_m: Any = None,
        capacities: Any = None,
    ) -> PMedian:
        """The model on a demand × candidate walking-distance matrix (``inf`` = unreachable).

        ``radius_m`` (for the coverage numbers) defaults to ``max_distance_m``, which defaults to
        just above the largest finite distance.
        """
        arr = cost if sp.issparse(cost) else np.asarray(cost, dtype=np.float64)
        finite = arr.data if sp.issparse(arr) else arr[np.isfinite(arr)]
        top = float(np.max(finite)) if np.size(finite) else 1.0
        cap = max_distance_m if max_distance_m is not None else top * (1 + 1e-9) + 1.0
        cov = Coverage.from_matrix(
            arr, weights, radius_m if radius_m is not None else cap, existing_m=existing_m,
            search_m=cap,
        )  # fmt: skip
        return cls(cov, p, max_distance_m=cap, capacities=capacities)

    def objective_of(self, sites: np.ndarray) -> float:
        """Household-weighted walk (household-metres) with ``sites`` open."""
        cov = self.coverage
        is_open = np.zeros(cov.n_candidates, dtype=bool)
        is_open[np.asarray(sites, dtype=np.int64)] = True
        rptr, rcol, rdist = _csr(self._ptr, self._rows, cov.n_demand, self._dist)
        d1, _, _ = pm_evaluate(rptr, rcol, rdist, self._c0, is_open)
        return float((cov.weights * d1).sum())

    def _heuristic(
        self, deadline: float, mip_gap: float, *, with_bound: bool = True
    ) -> tuple[np.ndarray, float, float, str]:
        cov = self.coverage
        w = cov.weights
        ptr, rows, dist = self._ptr, self._rows, self._dist
        rptr, rcol, rdist = _csr(ptr, rows, cov.n_demand, dist)
        scale = float((w * self._c0).sum())
        tol = 1e-9 * max(1.0, scale)
        sites = pm_greedy(ptr, rows, dist, rptr, rcol, rdist, w, self._c0, self.p, tol).copy()
        if sites.size and (ptr.size - 1) * sites.size <= _SWAP_MAX_CELLS:
            swaps = 0
            while time.perf_counter() < deadline:
                saving, site_in, slot = pm_swap_step(
                    ptr, rows, dist, rptr, rcol, rdist, w, self._c0, sites
                )
                if saving <= tol or site_in < 0:
                    break
                sites[slot] = site_in
                swaps += 1
            self.notes.append(f"greedy + {swaps} interchanges")
        value = self.objective_of(sites)
        bound, how = 0.0, "trivial"
        if sites.size < self.p:
            # greedy stopped: no further site lowers any walk, so nothing else can help
            bound, how = value, "no candidate improves further"
        u = w * self._c0
        state = np.array([-np.inf, 2.0, 0.0])
        while with_bound and bound < value and time.perf_counter() < deadline and state[1] >= 1e-4:
            pm_lagrangian(ptr, rows, dist, w, self._c0, self.p, value, 25, u, state)
            if state[0] > bound:
                bound, how = float(state[0]), "Lagrangian (assignment constraints relaxed)"
            if _gap(value, bound) <= mip_gap:
                break
        return sites, value, min(bound, value), how

    def _mip(
        self, deadline: float, mip_gap: float, start: np.ndarray | None
    ) -> tuple[np.ndarray, float, float, str, np.ndarray | None, np.ndarray | None]:
        cov = self.coverage
        w = cov.weights
        n_c = cov.n_candidates
        pair_col = np.repeat(np.arange(n_c), np.diff(self._ptr))
        active = np.flatnonzero(np.diff(self._ptr) > 0)
        amap = np.full(n_c, -1, dtype=np.int64)
        amap[active] = np.arange(active.size)
        dem = np.unique(self._rows)
        dmap = np.full(cov.n_demand, -1, dtype=np.int64)
        dmap[dem] = np.arange(dem.size)
        n_x, n_z, n_f = active.size, pair_col.size, dem.size
        pc = amap[pair_col]
        pr = dmap[self._rows]
        zc = n_x + np.arange(n_z)
        fc = n_x + n_z + np.arange(n_f)
        n_cols = n_x + n_z + n_f
        assign = sp.csr_matrix(
            (np.ones(n_z + n_f), (np.r_[pr, np.arange(n_f)], np.r_[zc, fc])), shape=(n_f, n_cols)
        )
        link = sp.csr_matrix(
            (np.r_[np.ones(n_z), -np.ones(n_z)], (np.r_[np.arange(n_z), np.arange(n_z)],
                                                  np.r_[zc, pc])),
            shape=(n_z, n_cols),
        )  # fmt: skip
        card = sp.csr_matrix((np.ones(n_x), (np.zeros(n_x), np.arange(n_x))), shape=(1, n_cols))
        blocks = [assign, link]
        row_lo: list[Any] = [np.ones(n_f), np.full(n_z, -np.inf)]
        row_hi: list[Any] = [np.ones(n_f), np.zeros(n_z)]
        if self.capacities is not None:
            capm, cap_hi = _capacity_rows(pc, w[self._rows], self.capacities[active], n_x, n_x)
            capm = sp.hstack([capm, sp.csr_matrix((capm.shape[0], n_f))], format="csr")
            blocks.append(capm)
            row_lo.append(np.full(capm.shape[0], -np.inf))
            row_hi.append(cap_hi)
        blocks.append(card)
        row_lo.append([-np.inf])
        row_hi.append([min(self.p, n_x)])
        a = sp.vstack(blocks, format="csc")
        cost = np.concatenate([np.zeros(n_x), w[self._rows] * self._dist, w[dem] * self._c0[dem]])
        x0 = None
        if start is not None and self.capacities is None:
            is_open = np.zeros(n_c, dtype=bool)
            is_open[start] = True
            rptr, rcol, rdist = _csr(self._ptr, self._rows, cov.n_demand, self._dist)
            _, s1, _ = pm_evaluate(rptr, rcol, rdist, self._c0, is_open)
            xs = np.zeros(n_x)
            xs[amap[start][amap[start] >= 0]] = 1.0
            zs = (s1[self._rows] == pair_col).astype(np.float64)
            fs = (s1[dem] < 0).astype(np.float64)
            x0 = np.concatenate([xs, zs, fs])
        res = _run_highs(
            cost, a, np.concatenate(row_lo), np.concatenate(row_hi), np.zeros(n_cols),
            np.ones(n_cols), np.r_[np.ones(n_x, dtype=bool), np.zeros(n_z + n_f, dtype=bool)],
            maximize=False, time_limit=deadline - time.perf_counter(), mip_gap=mip_gap, start=x0,
        )  # fmt: skip
        if res.x is None:
            raise LifecircleError(
                f"HiGHS found no solution within the time limit ({res.status}); "
                "give a longer time_limit"
            )
        sites = active[res.x[:n_x] > 0.5]
        z = res.x[n_x : n_x + n_z]
        const = float((w * self._c0).sum() - (w[dem] * self._c0[dem]).sum())
        served = None
        if self.capacities is not None:
            served = np.zeros(n_c)
            served[active] = np.bincount(pc, weights=z * w[self._rows], minlength=n_x)
        return sites, res.objective + const, res.bound + const, res.status, z, served

    def _assignment(self, sites: np.ndarray, z: np.ndarray | None) -> pd.DataFrame:
        """Nearest open site or existing outlet per demand point (shares when capacitated)."""
        cov = self.coverage
        if z is not None:
            used = z > 1e-9
            d = self._rows[used]
            s = np.repeat(np.arange(cov.n_candidates), np.diff(self._ptr))[used]
            share = z[used]
            part = pd.DataFrame(
                {
                    "demand_id": cov.demand_ids[d],
                    "site_id": cov.candidate_ids[s],
                    "share": share,
                    "households": cov.weights[d] * share,
                    "walk_m": self._dist[used],
                }
            )
            rest = 1.0 - np.bincount(d, weights=share, minlength=cov.n_demand)
            left = np.flatnonzero(rest > 1e-9)
            fb = self._fallback_rows(left, rest[left])
            return pd.concat([part, fb], ignore_index=True)
        is_open = np.zeros(cov.n_candidates, dtype=bool)
        is_open[sites] = True
        rptr, rcol, rdist = _csr(self._ptr, self._rows, cov.n_demand, self._dist)
        d1, s1, _ = pm_evaluate(rptr, rcol, rdist, self._c0, is_open)
        to_site = s1 >= 0
        part = pd.DataFrame(
            {
                "demand_id": cov.demand_ids[to_site],
                "site_id": cov.candidate_ids[s1[to_site]],
                "share": 1.0,
                "households": cov.weights[to_site],
                "walk_m": d1[to_site],
            }
        )
        left = np.flatnonzero(~to_site)
        return pd.concat([part, self._fallback_rows(left, np.ones(left.size))], ignore_index=True)

    def _fallback_rows(self, idx: np.ndarray, share: np.ndarray) -> pd.DataFrame:
        cov = self.coverage
        has = cov.existing_m[idx] <= self.max_distance_m
        ids = (
            cov.existing_id[idx]
            if cov.existing_id is not None
            else np.full(idx.size, None, dtype=object)
        )
        return pd.DataFrame(
            {
                "demand_id": cov.demand_ids[idx],
                "site_id": np.where(has, ids, ""),
                "share": share,
                "households": cov.weights[idx] * share,
                "walk_m": np.where(has, cov.existing_m[idx], np.nan),
            }
        )

    def _solve(self, method: str, deadline: float, mip_gap: float) -> Solution:
        if self._rows.size == 0:
            self.notes.append("no candidate is nearer than the existing outlets to anyone")
            value = self.objective_of(np.zeros(0, dtype=np.int64))
            return self._solution(
                np.zeros(0, dtype=np.int64), method="heuristic", status="optimal",
                objective=value, bound=value, bound_method="nothing to improve",
                assignment=self._assignment(np.zeros(0, dtype=np.int64), None),
            )  # fmt: skip
        heur = None
        if self.capacities is None:
            heur = self._heuristic(
                _share_of(deadline, 0.2) if method == "mip" else deadline,
                mip_gap,
                with_bound=method != "mip",
            )
            sites, value, bound, how = heur
            small = self._rows.size <= MIP_MAX_NONZEROS
            if method == "heuristic" or (
                method == "auto" and (_gap(value, bound) <= mip_gap or not small)
            ):
                status = "optimal" if _gap(value, bound) <= mip_gap else "feasible"
                return self._solution(
                    sites, method="heuristic", status=status, objective=value, bound=bound,
                    bound_method=how, assignment=self._assignment(sites, None),
                )  # fmt: skip
        start = heur[0] if heur is not None else None
        sites, obj, bnd, status, z, served = self._mip(deadline, mip_gap, start)
        if self.capacities is None:
            obj = self.objective_of(sites)
            z = None
        if heur is not None and heur[1] < obj - 1e-9 * max(1.0, abs(obj)):
            sites, obj = heur[0], heur[1]
        if heur is not None and method != "mip":
            bnd = max(bnd, heur[2])
        bnd = min(bnd, obj)
        label = "mip" if heur is None or method == "mip" else "heuristic+mip"
        status = "optimal" if status == "optimal" or _gap(obj, bnd) <= mip_gap else status
        return self._solution(
            sites, method=label, status=status, objective=obj, bound=bnd,
            bound_method="HiGHS MIP dual bound", assignment=self._assignment(sites, z),
            served=served,
        )  # fmt: skip

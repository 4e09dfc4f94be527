"""Numba kernels of the planning layer: coverage searches and the greedy / interchange heuristics.

Sparse matrices are plain CSR/CSC arrays: ``ptr`` (int64, one more than rows or columns),
``idx`` (int64) and, where distances matter, ``dist`` (float64, metres).  A *group* is a demand
row of the model (a residence, or several merged ones with identical coverage).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "greedy_keep",
    "mclp_apply_swap",
    "mclp_greedy",
    "mclp_lagrangian",
    "mclp_swap_step",
    "pm_evaluate",
    "pm_greedy",
    "pm_lagrangian",
    "pm_swap_step",
    "row_signatures",
]


# ------------------------------------------------------------------------------- coverage
@njit(cache=True)
def _top_sum(values: np.ndarray, skip: np.ndarray, p: int) -> float:
    """Sum of the ``p`` largest positive ``values`` where ``skip`` is False."""
    top = np.zeros(p)
    for j in range(values.shape[0]):
        v = values[j]
        if skip[j] or v <= top[p - 1]:
            continue
        i = p - 1
        while i > 0 and top[i - 1] < v:
            top[i] = top[i - 1]
            i -= 1
        top[i] = v
    return float(top.sum())


@njit(cache=True)
def _top_indices(values: np.ndarray, p: int, largest: bool) -> np.ndarray:
    """Indices of the ``p`` largest (or smallest) values, ties to the lower index."""
    n = values.shape[0]
    k = min(p, n)
    idx = np.full(k, -1, dtype=np.int64)
    val = np.empty(k)
    filled = 0
    for j in range(n):
        v = values[j] if largest else -values[j]
        if filled == k and v <= val[k - 1]:
            continue
        i = filled if filled < k else k - 1
        if filled < k:
            filled += 1
        while i > 0 and val[i - 1] < v:
            val[i] = val[i - 1]
            idx[i] = idx[i - 1]
            i -= 1
        val[i] = v
        idx[i] = j
    return idx[:filled]


# ---------------------------------------------------------------------------------------- MCLP
@njit(cache=True)
def mclp_greedy(
    cptr: np.ndarray,
    crow: np.ndarray,
    rptr: np.ndarray,
    rcol: np.ndarray,
    w: np.ndarray,
    p: int,
    count: np.ndarray,
    tol: float,
    target: float,
) -> tuple[np.ndarray, float, float]:
    """Greedy maximum coverage with the online submodular bound.

    Stops after ``p`` sites, when no site adds more than ``tol``, or once ``target`` weight is
    covered.  ``count`` (groups already covered, usually zeros) is updated in place.  Returns the sites
    chosen in order, the weight they cover, and the bound ``min_k f(S_k) + (sum of the p largest
    marginal gains at S_k)`` (Nemhauser-Wolsey / Leskovec et al. 2007), valid for any
    monotone submodular objective.
    """
    n_c = cptr.shape[0] - 1
    gain = np.zeros(n_c)
    for j in range(n_c):
        g = 0.0
        for q in range(cptr[j], cptr[j + 1]):
            if count[crow[q]] == 0:
                g += w[crow[q]]
        gain[j] = g
    is_open = np.zeros(n_c, dtype=np.bool_)
    chosen = np.full(p, -1, dtype=np.int64)
    value = 0.0
    bound = np.inf
    k = 0
    while k < p and value < target:
        bound = min(bound, value + _top_sum(gain, is_open, p))
        best = -1
        bg = tol
        for j in range(n_c):
            if not is_open[j] and gain[j] > bg:
                bg = gain[j]
                best = j
        if best < 0:
            break
        is_open[best] = True
        chosen[k] = best
        k += 1
        added = 0.0
        for q in range(cptr[best], cptr[best + 1]):
            i = crow[q]
            if count[i] == 0:
                added += w[i]
                for r in range(rptr[i], rptr[i + 1]):
                    gain[rcol[r]] -= w[i]
            count[i] += 1
        value += added
        gain[best] = 0.0
    bound = min(bound, value + _top_sum(gain, is_open, p))
    return chosen[:k].copy(), value, bound


@njit(cache=True)
def mclp_swap_step(
    cptr: np.ndarray,
    crow: np.ndarray,
    rptr: np.ndarray,
    rcol: np.ndarray,
    w: np.ndarray,
    open_sites: np.ndarray,
    count: np.ndarray,
) -> tuple[float, int, int]:
    """The best single interchange (close one open site, open one closed site).

    Returns ``(delta, site_in, slot_out)`` with ``delta`` the change in covered weight (the
    Resende-Werneck gain/loss/extra decomposition, exact).
    """
    n_c = cptr.shape[0] - 1
    n_g = rptr.shape[0] - 1
    p = open_sites.shape[0]
    slot_of = np.full(n_c, -1, dtype=np.int64)
    for s in range(p):
        slot_of[open_sites[s]] = s
    gain = np.zeros(n_c)
    for j in range(n_c):
        if slot_of[j] >= 0:
            continue
        g = 0.0
        for q in range(cptr[j], cptr[j + 1]):
            if count[crow[q]] == 0:
                g += w[crow[q]]
        gain[j] = g
    loss = np.zeros(p)
    extra = np.zeros((n_c, p))
    for i in range(n_g):
        if count[i] != 1:
            continue
        slot = -1
        for r in range(rptr[i], rptr[i + 1]):
            s = slot_of[rcol[r]]
            if s >= 0:
                slot = s
                break
        if slot < 0:
            continue
        loss[slot] += w[i]
        for r in range(rptr[i], rptr[i + 1]):
            j = rcol[r]
            if slot_of[j] < 0:
                extra[j, slot] += w[i]
    best = 0.0
    b_in = -1
    b_out = -1
    for j in range(n_c):
        if slot_of[j] >= 0:
            continue
        for s in range(p):
            d = gain[j] - loss[s] + extra[j, s]
            if d > best:
                best = d
                b_in = j
                b_out = s
    return best, b_in, b_out


@njit(cache=True)
def mclp_apply_swap(
    cptr: np.ndarray, crow: np.ndarray, count: np.ndarray, site_in: int, site_out: int
) -> None:
    """Update the cover counts for closing ``site_out`` and opening ``site_in``."""
    for q in range(cptr[site_out], cptr[site_out + 1]):
        count[crow[q]] -= 1
    for q in range(cptr[site_in], cptr[site_in + 1]):
        count[crow[q]] += 1


@njit(cache=True)
def mclp_lagrangian(
    cptr: np.ndarray,
    crow: np.ndarray,
    w: np.ndarray,
    p: int,
    lower: float,
    iterations: int,
    lam: np.ndarray,
    state: np.ndarray,
    best_lam: np.ndarray,
    direction: np.ndarray,
) -> None:
    """Lagrangian upper bound of maximum coverage (coverage constraints relaxed).

    ``L(λ) = Σ_i (w_i - λ_i) + Σ_{p largest} Σ_{i ∈ N_j} λ_i`` for ``0 ≤ λ ≤ w`` is an upper
    bound for every such λ; minimised by projected subgradient steps (Polyak step towards the
    heuristic's value ``lower``), from ``λ = w`` (the trivial bound).  Resumable: ``lam`` and
    ``state = [best bound, step factor, iterations without improvement]`` are updated in place
    (start with ``lam = w`` and ``state = [inf, 2, 0]``); ``best_lam`` receives the multipliers
    of the best bound; ``direction`` (zeros at the start) keeps the deflected step direction
    (half the previous direction is added to each subgradient, which damps zig-zagging).
    """
    n_c = cptr.shape[0] - 1
    n_g = w.shape[0]
    score = np.zeros(n_c)
    grad = np.zeros(n_g)
    best = state[0]
    mu = state[1]
    stall = int(state[2])
    for _ in range(iterations):
        for j in range(n_c):
            s = 0.0
            for q in range(cptr[j], cptr[j + 1]):
                s += lam[crow[q]]
            score[j] = s
        top = _top_indices(score, p, True)
        value = 0.0
        for i in range(n_g):
            value += w[i] - lam[i]
            grad[i] = -1.0 if w[i] - lam[i] > 0.0 else 0.0
        for t in range(top.shape[0]):
            j = top[t]
            value += score[j]
            for q in range(cptr[j], cptr[j + 1]):
                grad[crow[q]] += 1.0
        if best == np.inf or value < best - 1e-9 * max(1.0, abs(best)):
            best = value
            stall = 0
            best_lam[:] = lam
        else:
            stall += 1
            if stall >= 20:
                mu *= 0.5
                stall = 0
        if best <= lower * (1.0 + 1e-12) or mu < 1e-4:
            break
        norm = 0.0
        for i in range(n_g):
            g = grad[i] + 0.5 * direction[i]
            # a projected step cannot move λ_i below 0 or above w_i: leave those out of the norm
            if (g > 0.0 and lam[i] <= 0.0) or (g < 0.0 and lam[i] >= w[i]):
                g = 0.0
            direction[i] = g
            norm += g * g
        if norm == 0.0:
            break
        step = mu * (value - lower) / norm
        for i in range(n_g):
            v = lam[i] - step * direction[i]
            lam[i] = min(w[i], max(0.0, v))
    state[0] = best
    state[1] = mu
    state[2] = stall


# ------------------------------------------------------------------------------------ p-median
@njit(cache=True)
def pm_evaluate(
    rptr: np.ndarray,
    rcol: np.ndarray,
    rdist: np.ndarray,
    c0: np.ndarray,
    is_open: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: nearest distance ``d1`` and its site ``s1`` (-1 = fallback ``c0``), and the
    second nearest ``d2`` among the open sites and the fallback."""
    n_g = rptr.shape[0] - 1
    d1 = c0.copy()
    s1 = np.full(n_g, -1, dtype=np.int64)
    d2 = np.full(n_g, np.inf)
    for i in range(n_g):
        for r in range(rptr[i], rptr[i + 1]):
            j = rcol[r]
            if not is_open[j]:
                continue
            d = rdist[r]
            if d < d1[i] or (d == d1[i] and s1[i] == -1):
                d2[i] = d1[i]
                d1[i] = d
                s1[i] = j
            elif d < d2[i]:
                d2[i] = d
        if s1[i] >= 0 and c0[i] < d2[i]:
            d2[i] = c0[i]
    return d1, s1, d2


@njit(cache=True)
def pm_greedy(
    cptr: np.ndarray,
    crow: np.ndarray,
    cdist: np.ndarray,
    rptr: np.ndarray,
    rcol: np.ndarray,
    rdist: np.ndarray,
    w: np.ndarray,
    c0: np.ndarray,
    p: int,
    tol: float,
) -> np.ndarray:
    """Greedy p-median: open, one at a time, the site that lowers the weighted distance most."""
    n_c = cptr.shape[0] - 1
    d1 = c0.copy()
    gain = np.zeros(n_c)
    for j in range(n_c):
        g = 0.0
        for q in range(cptr[j], cptr[j + 1]):
            i = crow[q]
            if cdist[q] < d1[i]:
                g += w[i] * (d1[i] - cdist[q])
        gain[j] = g
    is_open = np.zeros(n_c, dtype=np.bool_)
    chosen = np.full(p, -1, dtype=np.int64)
    k = 0
    while k < p:
        best = -1
        bg = tol
        for j in range(n_c):
            if not is_open[j] and gain[j] > bg:
                bg = gain[j]
                best = j
        if best < 0:
            break
        is_open[best] = True
        chosen[k] = best
        k += 1
        for q in range(cptr[best], cptr[best + 1]):
            i = crow[q]
            new = cdist[q]
            old = d1[i]
            if new >= old:
                continue
            for r in range(rptr[i], rptr[i + 1]):
                d = rdist[r]
                if d < old:
                    gain[rcol[r]] -= w[i] * ((old - d) - max(0.0, new - d))
            d1[i] = new
        gain[best] = 0.0
    return chosen[:k].copy()


@njit(cache=True)
def pm_swap_step(
    cptr: np.ndarray,
    crow: np.ndarray,
    cdist: np.ndarray,
    rptr: np.ndarray,
    rcol: np.ndarray,
    rdist: np.ndarray,
    w: np.ndarray,
    c0: np.ndarray,
    open_sites: np.ndarray,
) -> tuple[float, int, int]:
    """The best single interchange for the p-median (Whitaker; Resende & Werneck 2007).

    Returns ``(saving, site_in, slot_out)``: the decrease of the weighted distance.
    """
    n_c = cptr.shape[0] - 1
    n_g = rptr.shape[0] - 1
    p = open_sites.shape[0]
    is_open = np.zeros(n_c, dtype=np.bool_)
    slot_of = np.full(n_c, -1, dtype=np.int64)
    for s in range(p):
        is_open[open_sites[s]] = True
        slot_of[open_sites[s]] = s
    d1, s1, d2 = pm_evaluate(rptr, rcol, rdist, c0, is_open)
    gain = np.zeros(n_c)
    for j in range(n_c):
        if is_open[j]:
            continue
        g = 0.0
        for q in range(cptr[j], cptr[j + 1]):
            i = crow[q]
            if cdist[q] < d1[i]:
                g += w[i] * (d1[i] - cdist[q])
        gain[j] = g
    loss = np.zeros(p)
    extra = np.zeros((n_c, p))
    for i in range(n_g):
        if s1[i] < 0:
            continue
        slot = slot_of[s1[i]]
        loss[slot] += w[i] * (d2[i] - d1[i])
        for r in range(rptr[i], rptr[i + 1]):
            j = rcol[r]
            if is_open[j]:
                continue
            d = rdist[r]
            if d < d2[i]:
                extra[j, slot] += w[i] * (d2[i] - max(d, d1[i]))
    best = 0.0
    b_in = -1
    b_out = -1
    for j in range(n_c):
        if is_open[j]:
            continue
        for s in range(p):
            d = gain[j] - loss[s] + extra[j, s]
            if d > best:
                best = d
                b_in = j
                b_out = s
    return best, b_in, b_out


@njit(cache=True)
def pm_lagrangian(
    cptr: np.ndarray,
    crow: np.ndarray,
    cdist: np.ndarray,
    w: np.ndarray,
    c0: np.ndarray,
    p: int,
    upper: float,
    iterations: int,
    u: np.ndarray,
    state: np.ndarray,
) -> None:
    """Lagrangian lower bound of the p-median with a fallback distance ``c0`` per group.

    Relaxing the assignment equalities with multipliers ``u``:
    ``L(u) = Σ_i u_i + Σ_i min(0, w_i c0_i - u_i) + (sum of the p most negative ρ_j)``,
    ``ρ_j = Σ_{i ∈ N_j} min(0, w_i d_ij - u_i)``, a lower bound for every ``u``; maximised by
    subgradient steps (Polyak step towards the heuristic's value ``upper``) from
    ``u_i = w_i c0_i`` (the trivial bound).  Resumable like :func:`mclp_lagrangian`
    (``state = [best bound, step factor, stall]``, start with ``[-inf, 2, 0]``).
    """
    n_c = cptr.shape[0] - 1
    n_g = w.shape[0]
    rho = np.zeros(n_c)
    grad = np.zeros(n_g)
    best = state[0]
    mu = state[1]
    stall = int(state[2])
    for _ in range(iterations):
        for j in range(n_c):
            s = 0.0
            for q in range(cptr[j], cptr[j + 1]):
                v = w[crow[q]] * cdist[q] - u[crow[q]]
                if v < 0.0:
                    s += v
            rho[j] = s
        top = _top_indices(rho, p, False)
        value = 0.0
        for i in range(n_g):
            value += u[i]
            fb = w[i] * c0[i] - u[i]
            if fb < 0.0:
                value += fb
                grad[i] = 0.0
            else:
                grad[i] = 1.0
        for t in range(top.shape[0]):
            j = top[t]
            if rho[j] >= 0.0:
                continue
            value += rho[j]
            for q in range(cptr[j], cptr[j + 1]):
                if w[crow[q]] * cdist[q] - u[crow[q]] < 0.0:
                    grad[crow[q]] -= 1.0
        if best == -np.inf or value > best + 1e-9 * max(1.0, abs(best)):
            best = value
            stall = 0
        else:
            stall += 1
            if stall >= 10:
                mu *= 0.5
                stall = 0
        if best >= upper * (1.0 - 1e-12) or mu < 1e-4:
            break
        norm = 0.0
        for i in range(n_g):
            norm += grad[i] * grad[i]
        if norm == 0.0:
            break
        step = mu * (upper - value) / norm
        for i in range(n_g):
            u[i] += step * grad[i]
    state[0] = best
    state[1] = mu
    state[2] = stall


# ------------------------------------------------------------------------------------ grouping
@njit(cache=True)
def row_signatures(
    cptr: np.ndarray,
    crow: np.ndarray,
    n_rows: int,
    r1: np.ndarray,
    r2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two 64-bit hashes and the degree of each row's set of columns (order-free sums)."""
    h1 = np.zeros(n_rows, dtype=np.uint64)
    h2 = np.zeros(n_rows, dtype=np.uint64)
    deg = np.zeros(n_rows, dtype=np.int64)
    for j in range(cptr.shape[0] - 1):
        a = r1[j]
        b = r2[j]
        for q in range(cptr[j], cptr[j + 1]):
            i = crow[q]
            h1[i] += a
            h2[i] += b
            deg[i] += 1
    return h1, h2, deg


@njit(cache=True)
def greedy_keep(ptr: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Keep point ``i`` unless one of its earlier neighbours ``earlier[ptr[i]:ptr[i+1]]`` is kept."""
    n = ptr.shape[0] - 1
    keep = np.ones(n, dtype=np.bool_)
    for i in range(n):
        for q in range(ptr[i], ptr[i + 1]):
            if keep[earlier[q]]:
                keep[i] = False
                break
    return keep

"""The 1+N project list (需求清单 → 项目清单): what each circle lacks, where to add it, city roll-up.

For every circle where a 业态 is not present (its household coverage share is below the
rulebook's ``coverage_share``), :func:`project_list` proposes the fewest candidate sites that
bring the circle to the target on foot (LSCP on the walking coverage, weighted as grading weighs
the circle), or, when that takes more than ``max_sites`` or is out of reach, the ``max_sites``
sites covering the most (MCLP).  Projects are ranked within each circle by policy priority
(the next grade's unmet must-haves, other basic types, quality types), then by households gained
with residents' needs as a weight (:mod:`lifecircle.plan.priority`);
the city plan ("1") rolls the circles' plans ("N") up per 业态, counting a site shared by
several circles once.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle.errors import InputError
from lifecircle.plan.candidates import generate_candidates
from lifecircle.plan.coverage import Coverage, build_coverage
from lifecircle.plan.models import LSCP, MCLP, Solution
from lifecircle.plan.priority import NEEDS_WEIGHT, prioritise, split_unobservable

if TYPE_CHECKING:
    from lifecircle.assess.model import Assessment
    from lifecircle.assess.rulebook import Rulebook
    from lifecircle.taxonomy import Catalogue

__all__ = ["CITY_COLUMNS", "PROJECT_COLUMNS", "PROJECT_SITE_COLUMNS", "ProjectPlan", "project_list"]

log = logging.getLogger(__name__)

#: Columns of :attr:`ProjectPlan.projects` (the ``project_list`` table of the reports).
PROJECT_COLUMNS = (
    "project_id",
    "circle_id",
    "circle_name",
    "rank",
    "category",
    "category_zh",
    "class",
    "households",
    "households_lacking",
    "share_before",
    "share_after",
    "target_share",
    "reaches_target",
    "n_sites",
    "households_gained",
    "households_gained_city",
    "site_ids",
    "site_names",
    "floor_area_m2",
    "rent",
    "model",
    "note",
    "priority_tier",
    "needs_count",
    "reason",
    "reason_en",
)
#: Columns of :attr:`ProjectPlan.sites`.
PROJECT_SITE_COLUMNS = (
    "project_id",
    "circle_id",
    "category",
    "site_id",
    "lon",
    "lat",
    "households_gained",
    "name",
    "floor_area",
    "rent",
    "capacity",
    "geometry",
)
#: Columns of :attr:`ProjectPlan.city`.
CITY_COLUMNS = (
    "category",
    "category_zh",
    "class",
    "circles_missing",
    "n_projects",
    "n_sites",
    "households_lacking",
    "households_gained",
    "share_before",
    "share_after",
)


@dataclass
class ProjectPlan:
    """Projects per circle (N) and the city roll-up (1).

    Attributes
    ----------
    projects
        One row per circle × missing 业态 (:data:`PROJECT_COLUMNS`): ``rank`` 1 = most
        households gained in the circle; shares are the circle's household coverage shares
        (weighted as in grading) before and after; ``households_gained`` counts households of
        the circle newly within the band, ``households_gained_city`` all households; candidate
        data (floor area, rent) summed over the sites.
    sites
        One row per proposed site of a project (:data:`PROJECT_SITE_COLUMNS`), WGS-84 points.
    city
        One row per 业态 with projects (:data:`CITY_COLUMNS`): circles missing it, projects,
        distinct sites, households lacking it in the city and gained by all its sites together,
        city household coverage before and after.
    """

    projects: pd.DataFrame
    sites: gpd.GeoDataFrame
    city: pd.DataFrame
    #: 业态 that POI data cannot show (``observable = false``) and the city gave no data for:
    #: not checked, never proposed (see :mod:`lifecircle.plan.priority`).
    unchecked: tuple[str, ...] = ()

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``projects.csv``, ``project_sites.csv`` (+ ``.geojson``) and ``city_plan.csv``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = []
        for name, frame in (("projects.csv", self.projects), ("city_plan.csv", self.city)):
            frame.to_csv(out / name, index=False, encoding="utf-8-sig")
            files.append(out / name)
        pd.DataFrame(self.sites.drop(columns="geometry")).to_csv(
            out / "project_sites.csv", index=False, encoding="utf-8-sig"
        )
        files.append(out / "project_sites.csv")
        if len(self.sites):
            self.sites.to_file(out / "project_sites.geojson", driver="GeoJSON")
            files.append(out / "project_sites.geojson")
        return files


def project_list(
    assessment: Assessment,
    candidates: gpd.GeoDataFrame | None = None,
    *,
    categories: list[str] | None = None,
    max_sites: int = 3,
    spacing_m: float = 100.0,
    target_share: float | None = None,
    time_limit: float = 10.0,
    method: str = "auto",
    fill_weight: str | float = "median",
    catalogue: Catalogue | None = None,
    rulebook: Rulebook | None = None,
    needs: pd.DataFrame | str | Path | None = None,
    needs_weight: float = NEEDS_WEIGHT,
) -> ProjectPlan:
    """Turn the assessment's gaps into projects with proposed sites (see the module docstring).

    Parameters
    ----------
    assessment
        The graded city.
    candidates
        Candidate sites (:func:`~lifecircle.plan.candidates.read_candidates`); default:
        generated every ``spacing_m`` along the streets.
    categories
        业态 to plan (codes or names; default: every 业态 missing somewhere).
    max_sites
        Most sites proposed per project.
    target_share
        Household coverage a circle should reach (default: the rulebook's ``coverage_share``).
    time_limit, method
        Per project, passed to the models' ``solve``.
    fill_weight
        Households of residences with unknown counts, for ``households_gained``.
    catalogue, rulebook
        Default: the bundled ones.
    needs, needs_weight
        Residents' needs per circle × 业态 (:func:`~lifecircle.plan.priority.read_needs`: the
        platform's 需求清单 or a CSV) and the rank weight of one need (default 0.1, P); the
        projects are ordered by ``priority_tier`` first
        (:func:`~lifecircle.plan.priority.prioritise`).

    Returns
    -------
    ProjectPlan
    """
    from lifecircle.access import walk_speed_m_per_min
    from lifecircle.assess.rulebook import load_rulebook
    from lifecircle.plan.sites import resolve_category
    from lifecircle.taxonomy import load_catalogue

    cat = catalogue if catalogue is not None else load_catalogue()
    book = rulebook if rulebook is not None else load_rulebook(catalogue=cat)
    target = float(book.coverage_share if target_share is None else target_share)
    if not (isinstance(max_sites, int) and max_sites >= 1):
        raise InputError(f"max_sites must be a whole number ≥ 1, got {max_sites!r}", "projects")
    ev = assessment.evidence
    gaps = ev.loc[
        ~ev["present"].fillna(False).astype(bool) & ev["households_covered_share"].notna()
    ]
    if categories is not None:
        wanted = {resolve_category(c, cat) for c in categories}
        gaps = gaps.loc[gaps["category"].isin(wanted)]
    gaps, unchecked = split_unobservable(gaps, assessment, cat)
    params = assessment.snapshot.get("parameters", {}) if assessment.snapshot else {}
    speed = float(params.get("walk_speed_m_per_min") or walk_speed_m_per_min(4.2))
    if not len(gaps):
        return replace_plan(_empty(), unchecked)
    if candidates is None:
        candidates = generate_candidates(assessment.network, spacing_m)

    res = assessment.residences
    on_net = res.loc[(res["status"] == "ok").to_numpy()] if "status" in res.columns else res
    access = assessment.access
    names = cat.to_frame().set_index("code")
    grades = assessment.grades.set_index(assessment.grades["circle_id"].astype(str))
    circle_names = grades["name"] if "name" in grades.columns else pd.Series(dtype=object)

    coverages: dict[float, Coverage] = {}
    rows: list[dict[str, Any]] = []
    site_rows: list[dict[str, Any]] = []
    city_sites: dict[str, set[int]] = {}
    for code, group in gaps.groupby("category", sort=False):
        band = float(cat.band_minutes(str(code)))
        radius = band * speed
        if band not in coverages:
            coverages[band] = build_coverage(
                assessment.network, candidates, on_net, radius_m=radius, fill_weight=fill_weight,
                max_snap_m=float(params.get("max_snap_m") or 250.0),
            )  # fmt: skip
        base = coverages[band]
        near = access.loc[access["category"].astype(str) == code].set_index(
            access.loc[access["category"].astype(str) == code, "residence_id"].astype(str)
        )["nearest_m"]
        existing = pd.Series(base.demand_ids).map(near).to_numpy(dtype=np.float64)
        cov = replace(base, existing_m=np.where(np.isnan(existing), np.inf, existing))
        circle_of = (
            pd.Series(base.demand_ids)
            .map(on_net.set_index(on_net["residence_id"].astype(str))["circle_id"])
            .astype("string")
            .to_numpy(dtype=object)
        )
        city_sites.setdefault(str(code), set())
        for _, gap in group.iterrows():
            cid = str(gap["circle_id"])
            mask = circle_of == cid
            if not mask.any():
                continue
            row, chosen = _project(
                cov, mask, cid, str(code), gap, grades, target, max_sites, time_limit, method
            )
            row.update(
                {
                    "circle_name": circle_names.get(cid, cid),
                    "category_zh": _meta(names, str(code), "name_zh"),
                    "class": _meta(names, str(code), "class"),
                }
            )
            city_sites[str(code)].update(int(s) for s in chosen.sites)
            rows.append(row)
            site_rows += _site_rows(cov, chosen, row["project_id"], cid, str(code))
    projects = pd.DataFrame(rows)
    if not len(projects):
        return replace_plan(_empty(), unchecked)
    projects = prioritise(projects, assessment, book, cat, needs=needs, needs_weight=needs_weight)
    projects = projects[list(PROJECT_COLUMNS)].reset_index(drop=True)
    sites = gpd.GeoDataFrame(
        pd.DataFrame(site_rows, columns=list(PROJECT_SITE_COLUMNS)), geometry="geometry", crs=4326
    )
    city = _city(projects, coverages, access, cat, speed, city_sites, names)
    log.info(
        "%d projects in %d circles, %d sites proposed",
        len(projects),
        projects["circle_id"].nunique(),
        len(sites),
    )
    return ProjectPlan(projects, sites, city, tuple(unchecked))


def replace_plan(plan: ProjectPlan, unchecked: list[str]) -> ProjectPlan:
    """``plan`` naming the 业态 that could not be checked."""
    plan.unchecked = tuple(unchecked)
    return plan


def _meta(names: pd.DataFrame, code: str, column: str) -> str:
    """A catalogue column of a 业态 (the code itself when unknown)."""
    if code not in names.index:
        return code if column == "name_zh" else ""
    return str(names[column].to_dict()[code])


def _empty() -> ProjectPlan:
    return ProjectPlan(
        pd.DataFrame(columns=list(PROJECT_COLUMNS)),
        gpd.GeoDataFrame(
            pd.DataFrame(columns=list(PROJECT_SITE_COLUMNS)), geometry="geometry", crs=4326
        ),
        pd.DataFrame(columns=list(CITY_COLUMNS)),
    )


def _project(
    cov: Coverage,
    mask: np.ndarray,
    cid: str,
    code: str,
    gap: pd.Series,
    grades: pd.DataFrame,
    target: float,
    max_sites: int,
    time_limit: float,
    method: str,
) -> tuple[dict[str, Any], Solution]:
    """Sites for one circle × 业态: LSCP to the target, else MCLP with ``max_sites``."""
    sub = cov.subset(demand=mask)
    by_hh = str(grades["weighting"].get(cid, "households")) == "households"
    weights = sub.weights if by_hh else np.ones(sub.n_demand)
    model_cov = replace(sub, weights=weights)
    note = ""
    solution: Solution | None = None
    model = "lscp"
    try:
        solution = LSCP(model_cov, target=target).solve(time_limit=time_limit, method=method)
        if solution.sites.size > max_sites:
            note = f"{solution.sites.size} sites needed for {target:.0%}; best {max_sites} shown"
            solution = None
    except InputError as exc:
        note = "target out of reach on foot from the candidates"
        if "no candidate site is within" in str(exc):
            note = "no candidate within the band of the circle's residences"
    if solution is None:
        model = "mclp"
        try:
            solution = MCLP(model_cov, min(max_sites, cov.n_candidates)).solve(
                time_limit=time_limit, method=method
            )
        except InputError:
            solution = _nothing(model_cov)
    sites = solution.sites
    covered_new = _covered_by(sub, sites)
    before = sub.covered_by_existing
    total_w = float(weights.sum())
    share_after = float(weights[before | covered_new].sum()) / total_w if total_w > 0 else math.nan
    hh = sub.weights
    gained = float(hh[covered_new & ~before].sum())
    city_new = _covered_by(cov, sites) & ~cov.covered_by_existing
    cand = cov.candidates
    area = rent = math.nan
    site_names = ""
    if cand is not None and sites.size:
        picked = cand.iloc[sites]
        if "floor_area" in picked.columns:
            area = float(pd.to_numeric(picked["floor_area"], errors="coerce").sum(min_count=1))
        if "rent" in picked.columns:
            rent = float(pd.to_numeric(picked["rent"], errors="coerce").sum(min_count=1))
        if "name" in picked.columns:
            site_names = ";".join(str(n) for n in picked["name"] if isinstance(n, str) and n)
    row = {
        "project_id": f"{cid}-{code}",
        "circle_id": cid,
        "category": code,
        "households": float(hh.sum()),
        "households_lacking": float(hh[~before].sum()),
        "share_before": float(gap["households_covered_share"]),
        "share_after": share_after,
        "target_share": target,
        "reaches_target": bool(share_after >= target - 1e-12),
        "n_sites": int(sites.size),
        "households_gained": gained,
        "households_gained_city": float(cov.weights[city_new].sum()),
        "site_ids": ";".join(cov.candidate_ids[sites]),
        "site_names": site_names,
        "floor_area_m2": area,
        "rent": rent,
        "model": model,
        "note": note,
    }
    return row, solution


def _nothing(cov: Coverage) -> Solution:
    return Solution(
        model="mclp", method="none", status="optimal", sites=np.zeros(0, dtype=np.int64),
        site_ids=np.zeros(0, dtype=object), objective=0.0, bound=0.0, gap=0.0,
        bound_method="no candidate in reach", households_gained=np.zeros(0),
        households_covered_before=cov.households_covered_before(),
        households_covered_after=cov.households_covered_before(),
        households_total=float(cov.weights.sum()), time_s=0.0,
    )  # fmt: skip


def _covered_by(cov: Coverage, sites: np.ndarray) -> np.ndarray:
    ptr, dem = cov.covering()
    hit = np.zeros(cov.n_demand, dtype=bool)
    for s in np.asarray(sites, dtype=np.int64):
        hit[dem[ptr[s] : ptr[s + 1]]] = True
    return hit


def _site_rows(
    cov: Coverage, solution: Solution, project_id: str, cid: str, code: str
) -> list[dict[str, Any]]:
    cand = cov.candidates
    out = []
    gained = dict(zip(solution.sites.tolist(), solution.households_gained.tolist(), strict=True))
    for s in solution.sites:
        row: dict[str, Any] = {
            "project_id": project_id,
            "circle_id": cid,
            "category": code,
            "site_id": str(cov.candidate_ids[s]),
            "households_gained": float(gained.get(int(s), math.nan)),
        }
        if cand is not None:
            c = cand.iloc[int(s)]
            row["lon"] = float(c.geometry.x)
            row["lat"] = float(c.geometry.y)
            row["geometry"] = c.geometry
            for col in ("name", "floor_area", "rent", "capacity"):
                row[col] = c[col] if col in cand.columns else math.nan
        out.append(row)
    return out


def _city(
    projects: pd.DataFrame,
    coverages: dict[float, Coverage],
    access: pd.DataFrame,
    cat: Catalogue,
    speed: float,
    city_sites: dict[str, set[int]],
    names: pd.DataFrame,
) -> pd.DataFrame:
    rows = []
    for code, group in projects.groupby("category", sort=False):
        band = float(cat.band_minutes(str(code)))
        cov = coverages[band]
        sel = access["category"].astype(str) == code
        near = access.loc[sel].set_index(access.loc[sel, "residence_id"].astype(str))["nearest_m"]
        existing = pd.Series(cov.demand_ids).map(near).to_numpy(dtype=np.float64)
        before = np.nan_to_num(existing, nan=np.inf) <= band * speed
        after = before | _covered_by(cov, np.array(sorted(city_sites[str(code)]), dtype=np.int64))
        w = cov.weights
        total = float(w.sum())
        rows.append(
            {
                "category": code,
                "category_zh": _meta(names, str(code), "name_zh"),
                "class": _meta(names, str(code), "class"),
                "circles_missing": int(group["circle_id"].nunique()),
                "n_projects": len(group),
                "n_sites": len(city_sites[str(code)]),
                "households_lacking": float(w[~before].sum()),
                "households_gained": float(w[after & ~before].sum()),
                "share_before": float(w[before].sum()) / total if total else math.nan,
                "share_after": float(w[after].sum()) / total if total else math.nan,
            }
        )
    out = pd.DataFrame(rows, columns=list(CITY_COLUMNS))
    return out.sort_values("households_gained", ascending=False, kind="stable").reset_index(
        drop=True
    )

"""Where to open new outlets of one 业态: candidates → walking coverage → MCLP/LSCP/p-median.

:func:`plan_sites` is the one-call entry point behind ``lifecircle plan``: it resolves the 业态
and its band from the catalogue, takes the candidates (a layer, or generated along the
streets), builds the walking coverage with the access engine's distances, fixes the existing
outlets of the 业态, solves the model and returns a :class:`SitePlan` that writes
``sites.csv`` and ``summary.json``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from lifecircle.access.engine import require_category_column
from lifecircle.errors import InputError, Problem
from lifecircle.network import WalkNetwork
from lifecircle.plan.candidates import candidate_capacities, generate_candidates
from lifecircle.plan.coverage import Coverage, build_coverage
from lifecircle.plan.models import LSCP, MCLP, PMedian, Solution

if TYPE_CHECKING:
    from lifecircle.taxonomy import Catalogue

__all__ = ["MODELS", "SITE_COLUMNS", "SitePlan", "plan_sites", "resolve_category"]

log = logging.getLogger(__name__)

#: Model names accepted by :func:`plan_sites`.
MODELS = ("mclp", "lscp", "pmedian")
#: Columns of ``sites.csv``.
SITE_COLUMNS = ("site_id", "lon", "lat", "households_gained")
#: The p-median lists walks up to this multiple of the band (walks beyond count at it).
PMEDIAN_SEARCH_FACTOR = 2.0


@dataclass
class SitePlan:
    """Proposed sites for one 业态 and the numbers behind them.

    Attributes
    ----------
    category, category_zh
        The 业态 code and Chinese name.
    model
        ``mclp``, ``lscp`` or ``pmedian``.
    band_min, walk_speed_m_per_min, radius_m
        The band (minutes), the walking speed and the coverage radius (metres).
    coverage
        The walking coverage the model was solved on.
    solution
        The solved model.
    sites
        One row per proposed site: ``site_id, lon, lat, households_gained`` and the candidate's
        ``name, floor_area, rent, capacity``; WGS-84 points.
    """

    category: str
    category_zh: str
    model: str
    band_min: float
    walk_speed_m_per_min: float
    radius_m: float
    coverage: Coverage
    solution: Solution
    sites: gpd.GeoDataFrame

    def summary(self) -> dict[str, Any]:
        """``households_covered_before/after, objective, bound, gap, method`` and context."""
        sol = self.solution.summary()
        return {
            "category": self.category,
            "category_zh": self.category_zh,
            "band_min": self.band_min,
            "walk_speed_m_per_min": self.walk_speed_m_per_min,
            "radius_m": self.radius_m,
            "n_candidates": self.coverage.n_candidates,
            "n_residences": self.coverage.n_demand,
            **sol,
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``sites.csv`` (:data:`SITE_COLUMNS`), ``sites.geojson`` (with the candidates'
        data) and ``summary.json``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.sites[list(SITE_COLUMNS)].to_csv(out / "sites.csv", index=False)
        written = [out / "sites.csv"]
        if len(self.sites):
            self.sites.to_file(out / "sites.geojson", driver="GeoJSON")
            written.append(out / "sites.geojson")
        (out / "summary.json").write_text(
            json.dumps(self.summary(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        written.append(out / "summary.json")
        return written


def resolve_category(category: str, catalogue: Catalogue | None = None) -> str:
    """The 业态 code of a code, Chinese or English name; a clear error with suggestions."""
    from lifecircle.taxonomy import load_catalogue

    cat = catalogue if catalogue is not None else load_catalogue()
    code = cat.resolve(category) if isinstance(category, str) else None
    if code is None:
        raise InputError(
            Problem(
                f"{category!r} is not a 业态 of catalogue {cat.version}",
                field="category",
                fix="use a catalogue code or name, e.g. "
                + ", ".join(cat.suggest(str(category)) or cat.codes()[:3]),
            ),
            "category",
        )
    return code


def plan_sites(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    *,
    category: str,
    p: int | None = None,
    model: str = "mclp",
    candidates: gpd.GeoDataFrame | None = None,
    band_min: float | None = None,
    walk_speed: float | str = 4.2,
    spacing_m: float = 100.0,
    target: float = 1.0,
    use_capacities: bool = False,
    time_limit: float = 60.0,
    method: str = "auto",
    mip_gap: float = 1e-4,
    fill_weight: str | float = "median",
    max_snap_m: float = 250.0,
    catalogue: Catalogue | None = None,
) -> SitePlan:
    """Propose new sites for one 业态 on walking coverage.

    Parameters
    ----------
    network, outlets, residences
        As read by :mod:`lifecircle.ingest`; the outlets of ``category`` are the existing ones.
    category
        The 业态 (code, Chinese or English name).
    p
        New sites (MCLP, p-median); not used by the LSCP.
    model
        ``mclp`` (most households covered by p sites), ``lscp`` (fewest sites to reach
        ``target``) or ``pmedian`` (least household-weighted walk with p sites).
    candidates
        Candidate sites (:func:`~lifecircle.plan.candidates.read_candidates`); default:
        generated every ``spacing_m`` along the walkable edges.
    band_min
        Walking minutes that count as covered (default: the 业态's band from the catalogue).
    walk_speed
        km/h or a preset (``default``, ``elderly``).
    target
        LSCP: share of all households to cover.
    use_capacities
        Use the candidates' ``capacity`` column (households a site can serve).
    time_limit, method, mip_gap
        Passed to :meth:`~lifecircle.plan.models.MCLP.solve`.
    fill_weight
        Weight of residences with unknown households (default: the median).
    max_snap_m
        Snap distance of the access engine.
    catalogue
        Default: the bundled catalogue.

    Returns
    -------
    SitePlan

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from lifecircle.testing import network_from_polylines
    >>> net = network_from_polylines([[(0, 0), (3000, 0)]])
    >>> at = lambda x: shapely.Point(500_000 + x, 3_790_000)
    >>> homes = gpd.GeoDataFrame({"residence_id": ["a", "b", "c"],
    ...                           "households": [300, 500, 200]},
    ...                          geometry=[at(100), at(1500), at(2900)], crs=net.crs)
    >>> shops = gpd.GeoDataFrame({"outlet_id": ["s1"], "category": ["pharmacy"]},
    ...                          geometry=[at(200)], crs=net.crs)
    >>> plan = plan_sites(net, shops, homes, category="药店", p=1, spacing_m=100)
    >>> plan.summary()["households_covered_before"], plan.summary()["households_covered_after"]
    (300.0, 800.0)
    """
    from lifecircle.access import walk_speed_m_per_min
    from lifecircle.taxonomy import load_catalogue

    cat = catalogue if catalogue is not None else load_catalogue()
    code = resolve_category(category, cat)
    if model not in MODELS:
        raise InputError(
            Problem(
                f"model {model!r} is not known",
                field="model",
                fix=f"use one of {', '.join(MODELS)}",
            ),
            "plan",
        )
    if model != "lscp" and p is None:
        raise InputError(
            Problem(
                f"the {model} model needs p, the number of new sites",
                field="p",
                fix="give p (command line: --p 5)",
            ),
            "plan",
        )
    band = float(cat.band_minutes(code)) if band_min is None else float(band_min)
    if not (math.isfinite(band) and band > 0):
        raise InputError(f"band must be a positive number of minutes, got {band_min!r}", "band")
    speed = walk_speed_m_per_min(walk_speed)
    radius = band * speed
    if candidates is None:
        candidates = generate_candidates(network, spacing_m)
    require_category_column(outlets)
    existing = outlets.loc[(outlets["category"] == code).to_numpy()]
    search = radius * PMEDIAN_SEARCH_FACTOR if model == "pmedian" else radius
    coverage = build_coverage(
        network,
        candidates,
        residences,
        radius_m=radius,
        search_m=search,
        existing=existing,
        fill_weight=fill_weight,
        max_snap_m=max_snap_m,
    )
    caps = (
        candidate_capacities(coverage.candidates)
        if use_capacities and coverage.candidates is not None
        else None
    )
    if use_capacities and caps is None:
        raise InputError(
            Problem(
                "capacities were asked for but the candidates have no capacity values",
                field="capacity",
                fix="give a capacity column (households) in the candidate layer",
            ),
            "candidates",
        )
    built: MCLP | LSCP | PMedian
    if model == "mclp":
        built = MCLP(coverage, int(p or 0), capacities=caps)
    elif model == "lscp":
        built = LSCP(coverage, target=target, capacities=caps)
    else:
        built = PMedian(coverage, int(p or 0), max_distance_m=search, capacities=caps)
    solution = built.solve(time_limit=time_limit, method=method, mip_gap=mip_gap)
    sites = _sites_frame(coverage, solution)
    name = cat.get(code)
    return SitePlan(
        category=code,
        category_zh=name.name_zh if name is not None else code,
        model=model,
        band_min=band,
        walk_speed_m_per_min=speed,
        radius_m=radius,
        coverage=coverage,
        solution=solution,
        sites=sites,
    )


def _sites_frame(coverage: Coverage, solution: Solution) -> gpd.GeoDataFrame:
    frame = solution.sites_frame(coverage)
    for col in ("lon", "lat", "name", "floor_area", "rent", "capacity"):
        if col not in frame.columns:
            frame[col] = np.nan
    geometry = gpd.points_from_xy(frame["lon"], frame["lat"])
    out = gpd.GeoDataFrame(
        frame[["site_id", "lon", "lat", "households_gained", "name", "floor_area", "rent",
               "capacity"]],
        geometry=geometry,
        crs=4326,
    )  # fmt: skip
    out["households_gained"] = out["households_gained"].astype(np.float64)
    return out

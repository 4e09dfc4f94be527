"""What-if scenarios: open, close or move outlets, close a street; see access, grades and KPIs move.

:class:`WhatIf` starts from an :class:`~lifecircle.assess.model.Assessment` and keeps it up to
date change by change, recomputing only what a change reaches:

1. access — :class:`~lifecircle.access.incremental.AccessState` reruns the engine for the
   residences within the largest band of the change;
2. grades and the 有没有 evidence — :func:`~lifecircle.assess.grade_circles` for the circles
   whose residences' values changed (grades are per circle);
3. blind spots — :func:`~lifecircle.assess.blind_spots` for those residences;
4. KPIs — the city rows that depend on what changed (coverage of the changed 业态, circles per
   grade, outlets per 业态, chain share) are recomputed with the definitions of
   :func:`~lifecircle.assess.compute_kpis`; with districts, ``compute_kpis`` runs again in full.

Every step equals assessing the changed inputs from scratch with the same circles (tested).
:class:`Scenario` is a named list of changes saved as JSON; :func:`run_scenario` applies one to
a fresh copy and :func:`compare_scenarios` puts several side by side.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from lifecircle.access.incremental import AccessChange, AccessState
from lifecircle.errors import InputError, Problem, Problems

if TYPE_CHECKING:
    from lifecircle.assess.model import Assessment
    from lifecircle.assess.rulebook import Rulebook
    from lifecircle.taxonomy import Catalogue

__all__ = [
    "CHANGE_OPS",
    "Scenario",
    "ScenarioResult",
    "StepResult",
    "WhatIf",
    "compare_scenarios",
    "run_scenario",
]

log = logging.getLogger(__name__)

#: Change operations and their required fields.
CHANGE_OPS: dict[str, tuple[str, ...]] = {
    "add_outlet": ("outlet_id", "category", "lon", "lat"),
    "remove_outlet": ("outlet_id",),
    "move_outlet": ("outlet_id", "lon", "lat"),
    "close_edge": ("edge",),
}


@dataclass
class StepResult:
    """What one change did.

    Attributes
    ----------
    change
        The access change (residences recomputed and changed, 业态 touched).
    circles
        Circles whose residences' access changed (their evidence was updated).
    regraded
        Those among them graded again (a household coverage share moved); the others kept
        their grade and only their evidence rows changed.
    grades_changed
        Circles whose grade changed: ``circle_id, grade_before, grade_after``.
    time_s
        Seconds for the whole update (access, grades, blind spots, KPIs).
    timings
        Seconds per part.
    """

    change: AccessChange
    circles: list[str]
    regraded: list[str]
    grades_changed: pd.DataFrame
    time_s: float
    timings: dict[str, float] = field(default_factory=dict)


class WhatIf:
    """An assessment that follows what-if changes (see the module docstring).

    Parameters
    ----------
    assessment
        The starting point (:func:`~lifecircle.assess.assess_city`).
    rulebook, catalogue
        Those the assessment was made with (default: the bundled ones).
    chain_brands
        Brand list for the chain share of added outlets (default: the bundled one, as
        ``compute_kpis``).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from lifecircle.assess import assess_city
    >>> from lifecircle.testing import network_from_polylines
    >>> net = network_from_polylines([[(0, 0), (2000, 0)]])
    >>> at = lambda x: shapely.Point(500_000 + x, 3_790_000)
    >>> homes = gpd.GeoDataFrame({"residence_id": ["a", "b"], "households": [300, 500]},
    ...                          geometry=[at(100), at(600)], crs=net.crs)
    >>> shops = gpd.GeoDataFrame({"outlet_id": ["s1"], "category": ["convenience_store"]},
    ...                          geometry=[at(350)], crs=net.crs)
    >>> what = WhatIf(assess_city(net, shops, homes))
    >>> step = what.add_outlet("n1", "pharmacy", at(400), crs=net.crs)
    >>> what.kpi("households_covered:pharmacy")
    1.0
    """

    def __init__(
        self,
        assessment: Assessment,
        *,
        rulebook: Rulebook | None = None,
        catalogue: Catalogue | None = None,
        chain_brands: Any = None,
    ) -> None:
        from lifecircle.assess.kpis import chain_outlets
        from lifecircle.assess.rulebook import load_rulebook
        from lifecircle.taxonomy import load_catalogue

        self.assessment = assessment
        self.catalogue = catalogue if catalogue is not None else load_catalogue()
        self.rulebook = (
            rulebook if rulebook is not None else load_rulebook(catalogue=self.catalogue)
        )
        self.chain_brands = chain_brands
        params = assessment.snapshot.get("parameters", {}) if assessment.snapshot else {}
        bands = params.get("bands_min") or sorted(
            {5.0, 10.0, 15.0, *self.catalogue.bands.values(), *self.rulebook.bands_min()}
        )
        self.state = AccessState.build(
            assessment.network,
            assessment.outlets,
            assessment.residences,
            categories=self.catalogue.codes(),
            category_names={c.code: c.name_zh for c in self.catalogue.categories},
            walk_speed=params.get("walk_speed_kmh", 4.2),
            bands_min=bands,
            k=int(params.get("k") or 3),
            max_snap_m=float(params.get("max_snap_m") or 250.0),
        )
        from lifecircle.assess.attributes import attribute_rows

        # must-have alternatives naming an outlet attribute (一早: a 小吃店 with breakfast): their
        # access rows as at the start; what-if steps do not change them
        self._attr_rows = attribute_rows(
            assessment.network,
            assessment.outlets,
            assessment.residences,
            self.rulebook,
            walk_speed=params.get("walk_speed_kmh", 4.2),
            bands_min=bands,
        )
        self.residences = assessment.residences
        circle = self.residences.get("circle_id")
        self._circle_of = (
            np.array([None if pd.isna(c) else str(c) for c in circle], dtype=object)
            if circle is not None
            else np.full(len(self.residences), None, dtype=object)
        )
        self.grades = assessment.grades.copy()
        self.evidence = assessment.evidence.copy()
        self.blind_spots = assessment.blind_spots.copy()
        self.kpis = assessment.kpis.copy()
        # outlets: the assessment's, plus those added, less those removed (materialised lazily)
        base = assessment.outlets
        self._o_ids = base["outlet_id"].astype(str).to_numpy(dtype=object)
        self._o_cat = base["category"].astype("string").fillna("").to_numpy(dtype=object)
        self._o_chain = chain_outlets(base, chain_brands)
        self._o_alive = np.ones(len(base), dtype=bool)
        self._added: list[dict[str, Any]] = []
        self._moved: dict[str, shapely.Point] = {}
        self._circle_pos = {str(c): i for i, c in enumerate(self.grades["circle_id"])}
        self._cat_pos = {c: i for i, c in enumerate(self.state.categories)}
        self._res_pos = {rid: i for i, rid in enumerate(self.state.res_ids)}
        meta = self.catalogue.to_frame().set_index("code")
        self._names_zh = meta["name_zh"].to_dict()
        self._classes = meta["class"].to_dict()
        self._spot_key = self._keys(self.blind_spots)
        city = (self.kpis["scope"] == "city").to_numpy()
        self._kpi_row = {
            str(k): int(i) for i, k in zip(np.flatnonzero(city), self.kpis["kpi"].to_numpy()[city],
                                           strict=True)
        }  # fmt: skip
        self._to_wgs84 = pyproj.Transformer.from_crs(assessment.network.crs, 4326, always_xy=True)
        self.before = {
            "grades": self.grades.copy(),
            "evidence": self.evidence.copy(),
            "kpis": self.kpis.copy(),
        }
        circles = assessment.circles
        # as assess_city: district KPIs when the circles name districts
        self._districts = "district" in circles.columns and bool(circles["district"].notna().any())
        self.history: list[dict[str, Any]] = []

    @property
    def outlets(self) -> gpd.GeoDataFrame:
        """The outlets now: the assessment's, less those removed, moved, plus those added."""
        base = self.assessment.outlets
        n = len(base)
        frame = base.loc[self._o_alive[:n]].copy()
        if self._moved:
            ids = frame["outlet_id"].astype(str)
            for oid, point in self._moved.items():
                frame.loc[(ids == oid).to_numpy(), "geometry"] = point
        extra = [r for r, alive in zip(self._added, self._o_alive[n:], strict=True) if alive]
        if extra:
            added = gpd.GeoDataFrame(
                pd.DataFrame(extra).drop(columns="geometry"),
                geometry=[r["geometry"] for r in extra],
                crs=4326,
            )
            added["is_chain"] = pd.array(added["is_chain"].tolist(), dtype="boolean")
            frame = pd.concat([frame, added], ignore_index=True)
        return frame.reset_index(drop=True)

    # ------------------------------------------------------------------------------ copies
    def fork(self) -> WhatIf:
        """An independent copy in the current state (for trying alternatives)."""
        other = WhatIf.__new__(WhatIf)
        other.__dict__.update(self.__dict__)
        other.state = self.state.copy()
        for name in ("grades", "evidence", "blind_spots", "kpis"):
            setattr(other, name, getattr(self, name).copy())
        for name in ("_o_ids", "_o_cat", "_o_chain", "_o_alive", "_spot_key"):
            setattr(other, name, getattr(self, name).copy())
        other._added = list(self._added)
        other._moved = dict(self._moved)
        other.before = {k: v.copy() for k, v in self.before.items()}
        other.history = list(self.history)
        return other

    # ------------------------------------------------------------------------------ changes
    def add_outlet(
        self,
        outlet_id: str,
        category: str,
        geometry: Any,
        *,
        crs: Any = 4326,
        name: str | None = None,
        is_chain: bool | None = None,
    ) -> StepResult:
        """Open an outlet (``category``: code or name of a 业态) at a point (``crs``: WGS-84 by
        default)."""
        code = self._code(category)
        t0 = time.perf_counter()
        change = self.state.add_outlet(outlet_id, code, geometry, crs=crs)
        point = self._wgs84(change.detail["x"], change.detail["y"])
        row = {
            "outlet_id": str(outlet_id),
            "name": name if name is not None else str(outlet_id),
            "category": code,
            "is_chain": is_chain,
            "geometry": point,
        }
        if is_chain is None:
            from lifecircle.assess.kpis import chain_outlets

            chain = bool(chain_outlets(pd.DataFrame({"name": [row["name"]]}), self.chain_brands)[0])
        else:
            chain = bool(is_chain)
        self._added.append(row)
        self._o_ids = np.append(self._o_ids, row["outlet_id"])
        self._o_cat = np.append(self._o_cat, code)
        self._o_chain = np.append(self._o_chain, chain)
        self._o_alive = np.append(self._o_alive, True)
        self.history.append(
            {"op": "add_outlet", "outlet_id": str(outlet_id), "category": code,
             "lon": point.x, "lat": point.y, "name": name, "is_chain": is_chain}
        )  # fmt: skip
        return self._update(change, t0, outlet_cats=[code])

    def remove_outlet(self, outlet_id: str) -> StepResult:
        """Close an outlet."""
        t0 = time.perf_counter()
        change = self.state.remove_outlet(outlet_id)
        self._o_alive &= self._o_ids != str(outlet_id)
        self.history.append({"op": "remove_outlet", "outlet_id": str(outlet_id)})
        return self._update(change, t0, outlet_cats=list(change.categories))

    def move_outlet(self, outlet_id: str, geometry: Any, *, crs: Any = 4326) -> StepResult:
        """Move an outlet to a point."""
        t0 = time.perf_counter()
        change = self.state.move_outlet(outlet_id, geometry, crs=crs)
        point = self._wgs84(change.detail["x"], change.detail["y"])
        n = len(self.assessment.outlets)
        for r in self._added:
            if r["outlet_id"] == str(outlet_id):
                r["geometry"] = point
        if str(outlet_id) in set(self._o_ids[:n]):
            self._moved[str(outlet_id)] = point
        self.history.append(
            {"op": "move_outlet", "outlet_id": str(outlet_id), "lon": point.x, "lat": point.y}
        )
        return self._update(change, t0, outlet_cats=[])

    def close_edge(self, edge: int) -> StepResult:
        """Close a street segment (its index in the assessment's network)."""
        t0 = time.perf_counter()
        change = self.state.close_edge(edge)
        self.history.append({"op": "close_edge", "edge": int(edge)})
        return self._update(change, t0, outlet_cats=[])

    def apply(self, change: dict[str, Any]) -> StepResult:
        """Apply one change given as a dict (the JSON form of :class:`Scenario`)."""
        _check_changes([change])
        op = change["op"]
        if op == "add_outlet":
            return self.add_outlet(
                change["outlet_id"], change["category"],
                shapely.Point(float(change["lon"]), float(change["lat"])),
                name=change.get("name"), is_chain=change.get("is_chain"),
            )  # fmt: skip
        if op == "remove_outlet":
            return self.remove_outlet(change["outlet_id"])
        if op == "move_outlet":
            return self.move_outlet(
                change["outlet_id"], shapely.Point(float(change["lon"]), float(change["lat"]))
            )
        return self.close_edge(int(change["edge"]))

    # ------------------------------------------------------------------------------ reading
    def kpi(self, name: str, scope: str = "city") -> float:
        """The current value of a KPI."""
        hit = self.kpis[(self.kpis["scope"] == scope) & (self.kpis["kpi"] == name)]
        if not len(hit):
            raise InputError(f"no KPI {name!r} in scope {scope!r}", "KPI")
        return float(hit["value"].to_numpy(dtype=np.float64)[0])

    def compare(self) -> pd.DataFrame:
        """Before/after per circle.

        Returns
        -------
        DataFrame
            ``circle_id, name, grade_before, grade_after, grade_changed, n_basic_before,
            n_basic_after, n_quality_before, n_quality_after, coverage_changes`` (the 业态 whose
            household coverage share moved, e.g. ``早餐店 45%→85%``),
            ``missing_for_next_grade_after``.
        """
        b = self.before["grades"].set_index("circle_id")
        a = self.grades.set_index("circle_id")
        out = pd.DataFrame({"circle_id": a.index.astype(str), "name": a["name"].to_numpy()})
        out["grade_before"] = b["grade"].reindex(a.index).to_numpy()
        out["grade_after"] = a["grade"].to_numpy()
        out["grade_changed"] = out["grade_before"] != out["grade_after"]
        for col in ("n_basic", "n_quality"):
            out[f"{col}_before"] = b[col].reindex(a.index).to_numpy()
            out[f"{col}_after"] = a[col].to_numpy()
        eb = self.before["evidence"].set_index(["circle_id", "category"])[
            "households_covered_share"
        ]
        ea = self.evidence.set_index(["circle_id", "category"])
        moved = ea.assign(before=eb.reindex(ea.index).to_numpy())
        share_a = moved["households_covered_share"].to_numpy(dtype=np.float64)
        share_b = moved["before"].to_numpy(dtype=np.float64)
        diff = ~((share_a == share_b) | (np.isnan(share_a) & np.isnan(share_b)))
        texts: dict[str, list[str]] = {}
        for (cid, _), row, sb, sa in zip(
            moved.index[diff],
            moved.loc[diff].itertuples(),
            share_b[diff],
            share_a[diff],
            strict=True,
        ):
            texts.setdefault(str(cid), []).append(f"{row.category_zh} {_pct(sb)}→{_pct(sa)}")
        out["coverage_changes"] = [", ".join(texts.get(c, [])) for c in out["circle_id"]]
        out["missing_for_next_grade_after"] = a["missing_for_next_grade"].to_numpy()
        return out

    def kpi_changes(self, scope: str = "city") -> pd.DataFrame:
        """KPIs whose value changed: ``scope, kpi, kpi_zh, before, after, target, meets``."""
        b = self.before["kpis"]
        a = self.kpis
        key = ["scope", "kpi"]
        m = a.merge(b[[*key, "value"]].rename(columns={"value": "before"}), on=key, how="left")
        m = m.rename(columns={"value": "after"})
        same = (m["after"] == m["before"]) | (m["after"].isna() & m["before"].isna())
        out = m.loc[~same & (m["scope"] == scope)]
        return out[["scope", "kpi", "kpi_zh", "before", "after", "target", "meets"]].reset_index(
            drop=True
        )

    # ------------------------------------------------------------------------------ internals
    def _wgs84(self, x: float, y: float) -> shapely.Point:
        lon, lat = self._to_wgs84.transform(x, y)
        return shapely.Point(float(lon), float(lat))

    def _code(self, category: str) -> str:
        from lifecircle.plan.sites import resolve_category

        return resolve_category(category, self.catalogue)

    def _update(self, change: AccessChange, t0: float, *, outlet_cats: list[str]) -> StepResult:
        timings = {"access": time.perf_counter() - t0}
        t = time.perf_counter()
        changed = self.state.residence_index(list(change.changed_ids))
        circles = sorted({c for c in self._circle_of[changed] if c is not None})
        old = self.grades.set_index("circle_id")["grade"]
        regrade = circles
        if circles and change.op != "close_edge":
            # circles where no share that grading reads moved: only the evidence rows change
            regrade = self._patch_evidence(circles, list(change.categories))
        if regrade:
            self._regrade(regrade)
        timings["grades"] = time.perf_counter() - t
        t = time.perf_counter()
        if changed.size:
            self._respot(changed, list(change.categories))
        timings["blind_spots"] = time.perf_counter() - t
        t = time.perf_counter()
        self._update_kpis(list(change.categories), bool(circles), outlet_cats)
        timings["kpis"] = time.perf_counter() - t
        new = self.grades.set_index("circle_id")["grade"]
        moved = [c for c in circles if old.get(c) != new.get(c)]
        grades_changed = pd.DataFrame(
            {
                "circle_id": moved,
                "grade_before": [old.get(c) for c in moved],
                "grade_after": [new.get(c) for c in moved],
            }
        )
        total = time.perf_counter() - t0
        log.info(
            "%s: %d residences changed, %d circles regraded, %d grades moved (%.0f ms)",
            change.op,
            change.changed_ids.size,
            len(circles),
            len(moved),
            1000 * total,
        )
        return StepResult(change, circles, regrade, grades_changed, total, timings)

    def _patch_evidence(self, circles: list[str], cats: list[str]) -> list[str]:
        """Recompute the evidence rows of ``circles`` × ``cats`` (the definitions of
        :func:`~lifecircle.assess.grade_circles`); return the circles that need regrading:
        those whose household coverage share of a changed 业态 moved, or all of them when a
        changed 业态 is a must-have with its own walking time."""
        within = {
            code
            for g in self.rulebook.grades
            if g.must_have_within_min is not None
            for group in g.must_have
            for code in group
        }
        if within & set(cats):
            return circles
        st = self.state
        ev = self.evidence
        ev_circle = ev["circle_id"].astype(str).to_numpy()
        ev_cat = ev["category"].astype(str).to_numpy()
        old_share = ev["households_covered_share"].to_numpy(dtype=np.float64)
        weighting = dict(
            zip(self.grades["circle_id"].astype(str), self.grades["weighting"], strict=True)
        )
        hh_all = (
            pd.to_numeric(self.residences["households"], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            if "households" in self.residences.columns
            else np.full(len(self._circle_of), np.nan)
        )
        ok = st.residence_ok
        alive = st.outlet_ok
        updates: dict[int, tuple[float, float, float]] = {}
        regrade = []
        for cid in circles:
            members = np.flatnonzero((self._circle_of == cid) & ok)
            if not members.size:
                regrade.append(cid)
                continue
            by_hh = weighting.get(cid) == "households"
            w = np.nan_to_num(hh_all[members], nan=0.0) if by_hh else np.ones(members.size)
            moved = False
            for code in cats:
                c = self._cat_pos[code]
                band = float(self.catalogue.band_minutes(code))
                b = int(np.flatnonzero(st.bands == band)[0])
                has = bool((alive & (st.out_cat == c)).any())
                count = st.counts[members, c, b].astype(np.float64)
                if not has:
                    count = np.full(members.size, np.nan)
                cov = np.nan_to_num(count, nan=0.0) > 0
                total = float(w.sum())
                share = float((w * cov).sum()) / total if total > 0 else math.nan
                row = np.flatnonzero((ev_circle == cid) & (ev_cat == code))
                if row.size != 1:
                    moved = True
                    break
                before = old_share[row[0]]
                same = (math.isnan(share) and math.isnan(before)) or (
                    abs(share - before) <= 1e-12 * max(1.0, abs(before))
                )
                if not same:
                    moved = True
                    break
                near = st.knn_d[members, c, 0] / st.speed
                med = float(np.median(near)) if near.size else math.nan
                finite = count[~np.isnan(count)]
                updates[int(row[0])] = (
                    float(cov.sum()) / members.size,
                    med if math.isfinite(med) else math.nan,
                    float(np.median(finite)) if finite.size else math.nan,
                )
            if moved:
                regrade.append(cid)
        if updates:
            rows = np.fromiter(updates, dtype=np.int64)
            vals = np.array(list(updates.values()), dtype=np.float64)
            for j, col in enumerate(
                ("residences_covered_share", "nearest_min_median", "count_within_band_median")
            ):
                arr = ev[col].to_numpy(dtype=np.float64, copy=True)
                arr[rows] = vals[:, j]
                ev[col] = arr
        return regrade

    def _regrade(self, circles: list[str]) -> None:
        from lifecircle.assess.grading import grade_circles

        members = np.flatnonzero(np.isin(self._circle_of.astype(str), circles))
        sub_res = self.residences.iloc[members]
        sub_acc = self.state.frame(members)
        if self._attr_rows is not None:
            mine = self._attr_rows["residence_id"].astype(str).isin(sub_acc["residence_id"])
            rows = self._attr_rows.loc[mine, [c for c in sub_acc.columns if c in self._attr_rows]]
            sub_acc = pd.concat([sub_acc, rows], ignore_index=True)
        frame = self.assessment.circles
        sub_circles = frame.loc[frame["circle_id"].astype(str).isin(circles)]
        grades, evidence = grade_circles(
            sub_acc,
            sub_res,
            self.rulebook,
            self.catalogue,
            evaluation=self.assessment.evaluation,
            satisfaction=self.assessment.satisfaction,
            circles=sub_circles,
            data_flags=getattr(self.assessment, "data_flags", None),
        )
        self.grades = self._splice(self.grades, grades, circles, by_category=False)
        self.evidence = self._splice(self.evidence, evidence, circles, by_category=True)

    def _splice(
        self, table: pd.DataFrame, new: pd.DataFrame, circles: list[str], *, by_category: bool
    ) -> pd.DataFrame:
        """Replace the rows of ``circles`` by ``new``, keeping the table's order."""
        keep = ~table["circle_id"].astype(str).isin(circles).to_numpy()
        both = pd.concat([table.loc[keep], new[table.columns]], ignore_index=True)
        key = both["circle_id"].astype(str).map(self._circle_pos).to_numpy(dtype=np.int64)
        if by_category:
            key = key * len(self._cat_pos) + both["category"].astype(str).map(
                self._cat_pos
            ).to_numpy(dtype=np.int64)
        return both.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)

    def _respot(self, changed: np.ndarray, cats: list[str]) -> None:
        """Blind-spot rows of the changed residences × 业态, as
        :func:`~lifecircle.assess.blind_spots` defines them (no outlet within the band)."""
        spots = self.blind_spots
        n_cat = len(self._cat_pos)
        key = self._spot_key
        cat_idx = [self._cat_pos[c] for c in cats]
        keep = ~(np.isin(key // n_cat, changed) & np.isin(key % n_cat, cat_idx))
        fresh = self._spot_rows(changed, cats)
        for col in fresh.columns:
            if fresh[col].dtype != spots[col].dtype:
                fresh[col] = fresh[col].astype(spots[col].dtype)
        both = pd.concat([spots.loc[keep], fresh], ignore_index=True)
        keys = np.concatenate([key[keep], self._keys(fresh)])
        order = np.argsort(keys, kind="stable")
        self.blind_spots = both.iloc[order].reset_index(drop=True)
        self._spot_key = keys[order]

    def _keys(self, spots: pd.DataFrame) -> np.ndarray:
        """Sort keys of blind-spot rows: residence position × 业态 position."""
        res = spots["residence_id"].astype(str).map(self._res_pos).to_numpy(dtype=np.int64)
        cat = spots["category"].astype(str).map(self._cat_pos).to_numpy(dtype=np.int64)
        return res * len(self._cat_pos) + cat

    def _spot_rows(self, changed: np.ndarray, cats: list[str]) -> pd.DataFrame:
        from lifecircle.assess.grading import BLIND_SPOT_COLUMNS

        st = self.state
        idx = changed[st.res_snap.ok[changed]]
        alive = st.outlet_ok
        res = self.residences.iloc[idx]
        hh = (
            pd.to_numeric(res["households"], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            if "households" in res.columns
            else np.full(idx.size, np.nan)
        )
        circle = self._circle_of[idx]
        parts = []
        for code in sorted(cats, key=self._cat_pos.__getitem__):
            c = self._cat_pos[code]
            band = float(self.catalogue.band_minutes(code))
            b = int(np.flatnonzero(st.bands == band)[0])
            has_outlets = bool((alive & (st.out_cat == c)).any())
            count = st.counts[idx, c, b] if has_outlets else np.zeros(idx.size, dtype=np.int32)
            lacking = ~(count > 0)
            near = st.knn_d[idx[lacking], c, 0]
            parts.append(
                pd.DataFrame(
                    {
                        "_pos": idx[lacking],
                        "residence_id": st.res_ids[idx[lacking]],
                        "circle_id": pd.array(circle[lacking], dtype="string"),
                        "category": code,
                        "category_zh": self._names_zh[code],
                        "class": self._classes[code],
                        "band_min": band,
                        "households": hh[lacking],
                        "nearest_min": np.where(np.isfinite(near), near / st.speed, np.nan),
                    }
                )
            )
        out = pd.concat(parts, ignore_index=True)
        out = out.iloc[np.argsort(out["_pos"].to_numpy(), kind="stable")]
        return out[list(BLIND_SPOT_COLUMNS)].reset_index(drop=True)

    def _update_kpis(self, cats: list[str], grades_moved: bool, outlet_cats: list[str]) -> None:
        if self._districts:
            self.kpis = self._full_kpis()
            return
        values: dict[str, float] = {}
        state = self.state
        ok = state.residence_ok
        hh_all = (
            pd.to_numeric(self.residences["households"], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            if "households" in self.residences.columns
            else np.full(len(ok), np.nan)
        )
        hh = hh_all[ok]
        known = ~np.isnan(hh)
        ev_cat = self.evidence["category"].astype(str).to_numpy()
        ev_present = self.evidence["present"].fillna(False).to_numpy(dtype=bool)
        for code in cats:
            c = self._cat_pos[code]
            near = state.knn_d[ok, c, 0]
            minutes = np.where(np.isfinite(near), near / state.speed, np.nan)
            covered = minutes <= self.catalogue.band_minutes(code)
            values[f"households_covered:{code}"] = _share(
                hh[known & covered].sum(), hh[known].sum()
            )
            values[f"communities_covered:{code}"] = _share(covered.sum(), covered.size)
            mine = ev_cat == code
            if mine.any():
                values[f"circles_with:{code}"] = float(ev_present[mine].mean())
        if grades_moved:
            from lifecircle.assess.model import GRADE_EN, GRADES, NOT_GRADED, UNVERIFIED

            grade = self.grades["grade"].astype(str).to_numpy()
            values["circles_total"] = float(grade.size)
            for g in (*GRADES, NOT_GRADED, UNVERIFIED):
                values[f"circles:{GRADE_EN[g]}"] = float((grade == g).sum())
            graded = self.grades["circle_id"].astype(str).to_numpy()[np.isin(grade, GRADES)]
            values["circles_basic_or_better"] = _share(graded.size, grade.size)
            in_graded = np.isin(self._circle_of.astype(str), graded) & (
                self._circle_of != None  # noqa: E711 - element-wise
            )
            values["communities_basic_or_better"] = _share(in_graded.sum(), in_graded.size)
            known_all = ~np.isnan(hh_all)
            values["households_basic_or_better"] = _share(
                hh_all[known_all & in_graded].sum(), hh_all[known_all].sum()
            )
        if outlet_cats:
            from lifecircle.taxonomy import UNCLASSIFIED

            typed = self._o_alive & (self._o_cat != UNCLASSIFIED) & (self._o_cat != "")
            n_out = int(typed.sum())
            values["outlets_total"] = float(n_out)
            values["chain_share"] = _share(int(self._o_chain[typed].sum()), n_out)
            pop = (
                pd.to_numeric(self.residences["population"], errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
                if "population" in self.residences.columns
                else np.full(len(ok), np.nan)
            )
            population = float(np.nansum(pop)) if np.isfinite(pop).any() else math.nan
            if math.isfinite(population) and population > 0:
                values["outlets_per_10k:all"] = n_out / population * 1e4
                for code in outlet_cats:
                    n_code = int((typed & (self._o_cat == code)).sum())
                    values[f"outlets_per_10k:{code}"] = float(n_code) / population * 1e4
        rows = [(self._kpi_row[k], v) for k, v in values.items() if k in self._kpi_row]
        if not rows:
            return
        k = self.kpis
        value = k["value"].to_numpy(dtype=np.float64, copy=True)
        target = k["target"].to_numpy(dtype=np.float64)
        meets = k["meets"].astype(object).to_numpy(copy=True)
        for i, v in rows:
            value[i] = v
            meets[i] = (
                None if (np.isnan(v) or np.isnan(target[i])) else bool(v >= target[i] - 1e-12)
            )
        k["value"] = value
        k["meets"] = pd.array(list(meets), dtype="boolean")

    def _full_kpis(self) -> pd.DataFrame:
        from lifecircle.assess.kpis import compute_kpis

        circles = self.assessment.circles
        return compute_kpis(
            access=self.state.frame(),
            residences=self.residences,
            outlets=self.outlets,
            grades=self.grades,
            evidence=self.evidence,
            catalogue=self.catalogue,
            circles=circles,
            satisfaction=self.assessment.satisfaction,
            district_column="district",
            chain_brands=self.chain_brands,
        )


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else math.nan


def _pct(x: float) -> str:
    return "—" if not math.isfinite(x) else f"{100 * x:.0f}%"


# ------------------------------------------------------------------------------- scenarios
def _check_changes(changes: list[Any], file: str | None = None) -> None:
    problems = Problems(file=file)
    for i, ch in enumerate(changes, start=1):
        if not isinstance(ch, dict):
            problems.add(f"a change must be an object, got {type(ch).__name__}", row=i)
            continue
        op = ch.get("op")
        if op not in CHANGE_OPS:
            problems.add(
                f"unknown op {op!r}",
                row=i,
                field="op",
                fix=f"use one of {', '.join(CHANGE_OPS)}",
            )
            continue
        for key in CHANGE_OPS[op]:
            if ch.get(key) is None:
                problems.add(
                    f"{op} needs '{key}'",
                    row=i,
                    field=key,
                    fix=f"give {', '.join(CHANGE_OPS[op])}",
                )
        for key in ("lon", "lat"):
            if key in CHANGE_OPS[op] and ch.get(key) is not None:
                try:
                    float(ch[key])
                except (TypeError, ValueError):
                    problems.add(f"{key} {ch[key]!r} is not a number", row=i, field=key,
                                 fix="give WGS-84 decimal degrees")  # fmt: skip
    problems.raise_if_any("scenario")


@dataclass
class Scenario:
    """A named list of changes (JSON: ``{"name", "description", "changes": [...]}``).

    Each change is ``{"op": "add_outlet", "outlet_id", "category", "lon", "lat"}`` (optional
    ``name``, ``is_chain``), ``{"op": "remove_outlet", "outlet_id"}``, ``{"op": "move_outlet",
    "outlet_id", "lon", "lat"}`` or ``{"op": "close_edge", "edge"}``; coordinates WGS-84.

    Examples
    --------
    >>> s = Scenario("两家早餐店", [{"op": "add_outlet", "outlet_id": "N1",
    ...                                "category": "breakfast", "lon": 108.94, "lat": 34.26}])
    >>> Scenario.from_json(s.to_json()).changes[0]["category"]
    'breakfast'
    """

    name: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(
                Problem("a scenario needs a name", field="name", fix="give it a short name"),
                "scenario",
            )
        _check_changes(list(self.changes))

    def to_json(self) -> str:
        """The scenario as JSON text."""
        return json.dumps(
            {"name": self.name, "description": self.description, "changes": self.changes},
            ensure_ascii=False,
            indent=2,
        )

    def save(self, path: str | Path) -> Path:
        """Write the scenario to a JSON file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json(), encoding="utf-8")
        return target

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """A scenario from JSON text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                Problem(f"not valid JSON: {exc}", fix="check the file's syntax"), "scenario"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("changes", []), list):
            raise InputError(
                Problem(
                    "expected an object with 'name' and a list 'changes'",
                    fix='write {"name": "...", "changes": [...]}',
                ),
                "scenario",
            )
        return cls(str(data.get("name", "")), list(data.get("changes", [])),
                   str(data.get("description", "")))  # fmt: skip

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        """Read a scenario JSON file."""
        p = Path(path)
        if not p.is_file():
            raise InputError(Problem("file not found", file=str(p)), "scenario")
        return cls.from_json(p.read_text(encoding="utf-8"))


@dataclass
class ScenarioResult:
    """A scenario applied: the changed state and its comparison with the start.

    Attributes
    ----------
    name
        The scenario's name.
    whatif
        The state after the changes.
    circles
        :meth:`WhatIf.compare`.
    kpis
        :meth:`WhatIf.kpi_changes`.
    steps
        One :class:`StepResult` per change.
    """

    name: str
    whatif: WhatIf
    circles: pd.DataFrame
    kpis: pd.DataFrame
    steps: list[StepResult]


def run_scenario(base: WhatIf, scenario: Scenario) -> ScenarioResult:
    """Apply a scenario to a copy of ``base`` (which is left as it is)."""
    what = base.fork()
    what.before = {
        "grades": what.grades.copy(),
        "evidence": what.evidence.copy(),
        "kpis": what.kpis.copy(),
    }
    steps = [what.apply(ch) for ch in scenario.changes]
    return ScenarioResult(scenario.name, what, what.compare(), what.kpi_changes(), steps)


def compare_scenarios(results: list[ScenarioResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scenarios side by side.

    Returns
    -------
    circles
        One row per circle: ``circle_id, name, grade`` (before) and ``grade:<scenario>`` for
        each scenario.
    kpis
        One row per city KPI that moved in any scenario: ``kpi, kpi_zh, before`` and one
        column per scenario.
    """
    if not results:
        raise InputError("no scenario results to compare", "scenarios")
    first = results[0].circles
    circles = first[["circle_id", "name", "grade_before"]].rename(columns={"grade_before": "grade"})
    for r in results:
        circles[f"grade:{r.name}"] = (
            r.circles.set_index("circle_id")["grade_after"].reindex(circles["circle_id"]).to_numpy()
        )
    base = results[0].whatif.before["kpis"]
    base = base[base["scope"] == "city"].set_index("kpi")
    names = sorted({k for r in results for k in r.kpis["kpi"]}, key=list(base.index).index)
    kpis = pd.DataFrame(
        {"kpi": names, "kpi_zh": base["kpi_zh"].reindex(names).to_numpy(),
         "before": base["value"].reindex(names).to_numpy()}
    )  # fmt: skip
    for r in results:
        now = r.whatif.kpis
        values = now[now["scope"] == "city"].set_index("kpi")["value"]
        kpis[r.name] = values.reindex(names).to_numpy()
    return circles, kpis

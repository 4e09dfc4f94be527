"""Running a city: inputs → audit → access → assessment → outputs, the one path of every command.

:func:`run_city` reads the city of a :class:`~lifecircle.project.spec.CitySpec`, audits its data,
computes walking access and grades every circle; :meth:`CityRun.write` writes the tables, the
audit, ``summary.json`` (the run's headline figures, the same in every output) and, when asked,
the reports with the 1+N project list.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lifecircle.errors import InputError, Problem
from lifecircle.project.audit import Audit, audit_city
from lifecircle.project.inputs import CityInputs, load_city_rulebook, read_inputs
from lifecircle.project.spec import AreaSpec, CitySpec

if TYPE_CHECKING:
    import geopandas as gpd

    from lifecircle.access import AccessResult
    from lifecircle.assess import Assessment

__all__ = [
    "CityRun",
    "headline_figures",
    "input_figures",
    "read_circles",
    "run_city",
    "writable_folder",
]

log = logging.getLogger(__name__)


def writable_folder(path: str | Path, what: str = "--out") -> Path:
    """Create ``path`` (a folder) or raise an :class:`InputError` saying why it cannot be."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".lifecircle-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            Problem(
                f"cannot write to the output folder {folder} ({exc.strerror or exc})",
                field=what,
                fix="give a folder you can write to (--out, or out in the city file)",
            ),
            "output folder",
        ) from None
    return folder


def read_circles(area: AreaSpec) -> gpd.GeoDataFrame:
    """Circle boundaries in WGS-84 with their attributes (``id_field`` → ``circle_id``)."""
    import geopandas as gpd
    import shapely

    from lifecircle.geo import parse_crs_name, to_wgs84

    path = area.files()[0]
    frame = gpd.read_file(path, layer=area.layer) if area.layer else gpd.read_file(path)
    crs = parse_crs_name(area.crs)
    if frame.crs is not None and frame.crs.is_projected:
        frame = frame.to_crs(4326)
    elif crs != "wgs84":

        def convert(xy: np.ndarray) -> np.ndarray:
            x, y = to_wgs84(xy[:, 0], xy[:, 1], crs)
            return np.column_stack([x, y])

        frame = frame.set_geometry(
            list(shapely.transform(frame.geometry.to_numpy(), convert)), crs=4326
        )
    if frame.crs is None:
        frame = frame.set_crs(4326)
    if area.id_field and area.id_field != "circle_id":
        frame = frame.rename(columns={area.id_field: "circle_id"})
    if area.name_field and area.name_field != "name":
        frame = frame.rename(columns={area.name_field: "circle_name"})
    return frame


def input_figures(
    inputs: CityInputs,
    residences: pd.DataFrame | None = None,
    excluded_outlets: Sequence[str] = (),
) -> dict[str, Any]:
    """The figures every output of a run repeats (``summary.json``).

    ``residences_read`` (rows the reader accepted), ``residences_in_area`` (inside the study
    area), ``residences_assessed`` (also on the walking network: every denominator),
    ``households_known`` / ``households_estimated`` (sums over the assessed residences) with
    ``households_method``, ``households_assessed`` (their total), ``population_assessed``,
    ``outlets_read``, ``outlets_in_area``, ``outlets_classified`` (with a 业态, in the area),
    ``outlets_assessed`` (classified and on the network), ``outlets_merged`` (duplicates), and
    which figures are household-weighted.

    Parameters
    ----------
    inputs
        The city's inputs (households as the household policy set them).
    residences
        The residences with their snapping ``status`` (an access result's); ``None``: before
        access, every residence in the area counts as assessed.
    excluded_outlets
        Outlets the access step left out (no walkable edge near).
    """
    from lifecircle.taxonomy import UNCLASSIFIED

    res = inputs.residences
    if residences is not None and "status" in residences.columns:
        ok = set(
            residences.loc[residences["status"].astype(str) == "ok", "residence_id"].astype(str)
        )
        res = res.loc[res["residence_id"].astype(str).isin(ok)]
    hh = pd.to_numeric(res["households"], errors="coerce").to_numpy(dtype=np.float64)
    known = res["households_source"].astype(str).to_numpy() == "known"
    pop = pd.to_numeric(res["population"], errors="coerce").to_numpy(dtype=np.float64)
    outlets = inputs.outlets
    classified = outlets["category"].astype(str) != UNCLASSIFIED
    snapped = ~outlets["outlet_id"].astype(str).isin([str(x) for x in excluded_outlets])
    f = inputs.households

    def whole(x: float) -> float | int:
        return round(x) if math.isfinite(x) else float("nan")

    return {
        "city": inputs.spec.name,
        "residences_read": inputs.counts["residences_read"],
        "residences_in_area": len(inputs.residences),
        "residences_assessed": len(res),
        "households_known": whole(float(np.nansum(hh[known]))),
        "households_estimated": whole(float(np.nansum(hh[~known]))),
        "households_assessed": whole(float(np.nansum(hh))),
        "residences_households_known": int(known.sum()),
        "residences_households_estimated": int((~known).sum()),
        "households_method": f.method,
        "households_fill_value": None if not math.isfinite(f.fill_value) else f.fill_value,
        "households_outliers": list(f.outlier_ids),
        "population_assessed": whole(float(np.nansum(pop))),
        "outlets_read": inputs.counts["outlets_read"],
        "outlets_in_area": len(inputs.outlets) + len(inputs.duplicates),
        "outlets_merged": len(inputs.duplicates),
        "outlets_classified": int(classified.sum()),
        "outlets_assessed": int((classified & snapped).sum()),
        "weighting": {
            "households": "grades, households_covered:*, households_basic_or_better, plan",
            "residences": "communities_covered:*, communities_basic_or_better (小区 counted)",
            "population": "outlets_per_10k:* (population_assessed)",
        },
    }


def headline_figures(
    inputs: CityInputs, assessment: Assessment, excluded_outlets: Sequence[str] = ()
) -> dict[str, Any]:
    """:func:`input_figures` of an assessment, with the circles per grade."""
    from lifecircle.assess import ALL_GRADES

    figures = input_figures(inputs, assessment.residences, excluded_outlets)
    counts = assessment.grades["grade"].value_counts()
    figures["circles"] = len(assessment.grades)
    figures["grades"] = {g: int(counts.get(g, 0)) for g in ALL_GRADES}
    return figures


@dataclass
class CityRun:
    """A city run: its inputs, audit and assessment, and the figures every output repeats."""

    spec: CitySpec
    inputs: CityInputs
    audit: Audit
    assessment: Assessment
    figures: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    plan: Any = None  # the 1+N project list, once written with the reports

    def write(
        self,
        out: str | Path,
        *,
        reports: bool | None = None,
        lang: str | None = None,
        formats: Sequence[str] | None = None,
        per_circle: bool | None = None,
        projects: bool | None = None,
        access_table: bool = True,
    ) -> list[Path]:
        """Write the outputs into ``out`` (created); arguments left ``None`` follow the spec.

        Writes ``summary.json``, ``audit.csv``, ``duplicates.csv``, ``brands.csv`` (chain
        brands found, to confirm or reject in the city file), ``grades.csv``,
        ``evidence.csv``, ``kpis.csv``, ``blind_spots.csv``, ``evaluation.csv`` (服务"好不好" per
        circle × indicator) and ``evaluation_scores.csv`` (``satisfaction.csv`` with answers),
        ``circles.geojson``,
        ``circle_mapping.csv``, ``access.parquet`` and, with reports, ``report.html|pdf|xlsx``,
        ``circles/*`` and the 1+N project list (``projects.csv``, ``project_sites.csv``,
        ``city_plan.csv``).
        """
        from lifecircle.assess import write_circle_mapping

        spec = self.spec
        folder = writable_folder(out)
        a = self.assessment
        files: list[Path] = []
        tables = {
            "audit.csv": self.audit.table,
            "duplicates.csv": self.audit.duplicates,
            "brands.csv": self.audit.brands,
            "grades.csv": a.grades,
            "evidence.csv": a.evidence,
            "kpis.csv": a.kpis,
            "blind_spots.csv": a.blind_spots,
            "satisfaction.csv": a.satisfaction,
            "evaluation.csv": a.service_evaluation,
            "evaluation_scores.csv": a.service_scores,
        }
        for name, frame in tables.items():
            if frame is not None:
                frame.to_csv(folder / name, index=False, encoding="utf-8-sig")  # opens in Excel
                files.append(folder / name)
        a.circles.to_file(folder / "circles.geojson", driver="GeoJSON")
        files.append(folder / "circles.geojson")
        files.append(write_circle_mapping(a.residences, folder / "circle_mapping.csv", a.circles))
        if access_table:
            a.access.to_parquet(folder / "access.parquet")
            files.append(folder / "access.parquet")
        plan = None
        if spec.report if reports is None else reports:
            from lifecircle.report import write_reports

            if spec.projects if projects is None else projects:
                plan = self.plan = project_plan(a, spec.needs)
                files += plan.write(folder)
            written = write_reports(
                a,
                folder,
                lang=lang or spec.lang,
                formats=tuple(formats or spec.report_formats),
                per_circle=spec.per_circle_reports if per_circle is None else per_circle,
                projects=plan,
            )
            files += [Path(p) for p in written.values()]
        summary = dict(self.figures)
        if plan is not None:
            summary["projects"] = len(plan.projects)
        summary["timings_s"] = self.timings
        (folder / "summary.json").write_text(
            json.dumps(summary, ensure_ascii=False, indent=2, default=str), "utf-8"
        )
        files.insert(0, folder / "summary.json")
        return files


def project_plan(assessment: Assessment, needs: Path | None = None) -> Any:
    """The 1+N project list at the assessment's coverage target, on generated candidates, with
    the residents' needs (a CSV/Excel of ``circle_id, category[, count]``) when given."""
    from lifecircle.plan.projects import project_list

    params = (assessment.snapshot or {}).get("parameters", {})
    return project_list(assessment, target_share=params.get("coverage_share"), needs=needs)


def run_city(
    spec: CitySpec,
    *,
    progress: bool = False,
    inputs: CityInputs | None = None,
    access: AccessResult | None = None,
) -> CityRun:
    """Read, audit, compute access for and assess a city.

    Parameters
    ----------
    spec
        The city (:func:`~lifecircle.project.load_city_file`).
    progress
        Progress bars for the long steps.
    inputs
        Inputs read beforehand (:func:`~lifecircle.project.read_inputs`).
    access
        An access result computed beforehand for these inputs (e.g. tile by tile on Dask).

    Returns
    -------
    CityRun

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from lifecircle.datasets import get_path
    >>> from lifecircle.project import load_city_file
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> pbf = get_path("helsinki").as_posix()
    >>> _ = (folder / "city.toml").write_text(
    ...     f'name = "Helsinki"\\nnetwork = "{pbf}"\\noutlets = "{pbf}"\\n'
    ...     f'residences = "{pbf}"\\n', encoding="utf-8")
    >>> run = run_city(load_city_file(folder))
    >>> run.figures["residences_assessed"] <= run.figures["residences_read"]
    True
    >>> sorted(set(run.audit.table["status"])) <= ["fail", "ok", "warn"]
    True
    """
    from lifecircle.access import compute_access
    from lifecircle.assess import assess_city

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if inputs is None:
        inputs = read_inputs(spec, progress=progress)
    timings["inputs"] = round(time.perf_counter() - t0, 3)
    t = time.perf_counter()
    audit = audit_city(inputs)
    timings["audit"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    if access is None:
        access = compute_access(
            inputs.network,
            inputs.outlets,
            inputs.residences,
            entrances=inputs.entrances,
            k=spec.k,
            max_snap_m=spec.max_snap_m,
            progress=progress,
            **inputs.access_kwargs,
        )
    timings["access"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    kwargs: dict[str, Any] = {}
    if spec.circles is not None:
        kwargs["circles"] = read_circles(spec.circles)
    if spec.mapping is not None:
        kwargs["mapping"] = spec.mapping
    if spec.responses is not None:
        kwargs["responses"] = spec.responses
        kwargs["survey"] = spec.survey
    if spec.scores is not None:
        kwargs["evaluator_scores"] = spec.scores
        kwargs["indicator_sheet"] = spec.indicators
    assessment = assess_city(
        inputs.network,
        inputs.outlets,
        inputs.residences,
        city=spec.name,
        rulebook=load_city_rulebook(spec),
        walk_speed=spec.walk_speed,
        circle_minutes=spec.circle_minutes,
        input_files=[str(p) for p in spec.input_files()],
        access=access,
        district_levels=inputs.levels,
        data_flags=audit.flags,
        chains=spec.chains,
        progress=progress,
        **kwargs,
    )
    timings["assess"] = round(time.perf_counter() - t, 3)
    excluded = access.excluded
    left_out: list[str] = (
        excluded.loc[excluded["layer"] == "outlets", "id"].astype(str).tolist()
        if len(excluded)
        else []
    )
    figures = headline_figures(inputs, assessment, left_out)
    assessment.audit = audit.table
    assessment.figures = figures
    assessment.districts = dict(inputs.districts)
    timings["total"] = round(time.perf_counter() - t0, 3)
    log.info("%s: run in %.1f s (%s)", spec.name, timings["total"], timings)
    return CityRun(spec, inputs, audit, assessment, figures, timings)

"""Assess a city in one call: access → circles → satisfaction/evaluation → grades → KPIs.

:func:`assess_city` runs the whole assessment and returns an
:class:`~lifecircle.assess.model.Assessment`, the contract that the reports, the web platform and
planning read.  Its ``snapshot`` records what the result was computed from (input file hashes,
rulebook and catalogue versions, software version, date, parameters).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from lifecircle.assess.circles import assign_circles
from lifecircle.assess.grading import blind_spots, grade_circles
from lifecircle.assess.model import GRADES, NOT_GRADED, Assessment
from lifecircle.assess.rulebook import PRESETS, Rulebook, load_rulebook
from lifecircle.errors import InputError
from lifecircle.network import WalkNetwork

if TYPE_CHECKING:
    from lifecircle.access import AccessResult
    from lifecircle.taxonomy import Catalogue

__all__ = ["assess_city", "file_sha256"]

log = logging.getLogger(__name__)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _catalogue(catalogue: Catalogue | str | os.PathLike[str] | None) -> Catalogue:
    from lifecircle.taxonomy import Catalogue, load_catalogue

    if isinstance(catalogue, Catalogue):
        return catalogue
    return load_catalogue(Path(catalogue)) if catalogue is not None else load_catalogue()


def _rulebook(rulebook: Rulebook | str | os.PathLike[str] | None, catalogue: Catalogue) -> Rulebook:
    if isinstance(rulebook, Rulebook):
        return rulebook
    if rulebook is None:
        return load_rulebook(catalogue=catalogue)
    if isinstance(rulebook, str) and rulebook in PRESETS and not Path(rulebook).is_file():
        return load_rulebook(preset=rulebook, catalogue=catalogue)
    return load_rulebook(Path(rulebook), catalogue=catalogue)


def assess_city(
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
    *,
    city: str = "",
    circles: gpd.GeoDataFrame | None = None,
    mapping: pd.DataFrame | str | os.PathLike[str] | None = None,
    rulebook: Rulebook | str | os.PathLike[str] | None = None,
    catalogue: Catalogue | str | os.PathLike[str] | None = None,
    walk_speed: float | str = 4.2,
    survey: Any = None,
    responses: pd.DataFrame | str | os.PathLike[str] | None = None,
    indicator_sheet: Any = None,
    evaluator_scores: pd.DataFrame | str | os.PathLike[str] | None = None,
    input_files: Sequence[str | os.PathLike[str]] = (),
    circle_minutes: float = 15.0,
    progress: bool = False,
    access: AccessResult | None = None,
) -> Assessment:
    """Assess every life circle of a city.

    Parameters
    ----------
    network
        Walking network (:func:`lifecircle.ingest.read_network`).
    outlets
        Classified outlets (:func:`lifecircle.ingest.read_outlets`).
    residences
        Residences (:func:`lifecircle.ingest.read_residences`).
    city
        Display name (e.g. ``西安老城``).
    circles
        Circle boundary polygons with ``circle_id`` (optionally a name and ``district``).
    mapping
        Residence → circle table (DataFrame, CSV or Excel path).  Neither ``circles`` nor
        ``mapping``: circles are proposed automatically (every member within
        ``circle_minutes`` of a shared centre along the network).
    rulebook
        A :class:`~lifecircle.assess.rulebook.Rulebook`, a rulebook file, or a preset name
        (``default``, ``shanxi_star``, ``beijing_8``); default: the default rulebook.
    catalogue
        A :class:`~lifecircle.taxonomy.Catalogue` or a catalogue file; default: bundled.
    walk_speed
        km/h or a preset name (``default`` 4.2, ``elderly`` 3.0).
    survey, responses
        Survey definition (object, file or ``None`` for the default) and the residents' answers
        (DataFrame or CSV/Excel with ``circle_id``); without responses there is no satisfaction.
    indicator_sheet, evaluator_scores
        Evaluation indicator sheet (object, file or ``None`` for the default) and evaluator
        scores (DataFrame or CSV/Excel); without scores there is no evaluation.
    input_files
        Paths of the input files, hashed into the snapshot.
    circle_minutes
        Walking minutes from centre to members for automatic circles.
    access
        An access result computed beforehand (e.g. tile by tile on Dask) for these inputs; it
        must cover the bands the catalogue and rulebook use, at the same walking speed.
    progress
        Show progress bars.

    Returns
    -------
    Assessment

    Examples
    --------
    A street with two 小区 and a convenience store and a breakfast shop between them:

    >>> import geopandas as gpd, shapely
    >>> from lifecircle.testing import network_from_polylines
    >>> net = network_from_polylines([[(0, 0), (2000, 0)]])
    >>> at = lambda x: shapely.Point(500_000 + x, 3_790_000)
    >>> homes = gpd.GeoDataFrame({"residence_id": ["a", "b"], "households": [300, 500]},
    ...                          geometry=[at(100), at(600)], crs=net.crs)
    >>> shops = gpd.GeoDataFrame({"outlet_id": ["s1", "s2"],
    ...                           "category": ["convenience_store", "breakfast"]},
    ...                          geometry=[at(350), at(400)], crs=net.crs)
    >>> result = assess_city(net, shops, homes, city="示例")
    >>> result.grades[["circle_id", "grade", "n_basic"]].values.tolist()
    [['C01', '未达标', 2]]
    >>> result.grades["missing_for_next_grade"].iat[0].split("; ")[:2]
    ['缺: 菜市场或生鲜超市（菜店）(覆盖 0% < 80%)', '维修点(覆盖 0% < 80%)']
    """
    from lifecircle import __version__
    from lifecircle.access import DEFAULT_BANDS_MIN, compute_access, walk_speed_m_per_min

    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 3)
        log.info("assess step %s: %.2f s", name, now - since)
        return now

    cat = _catalogue(catalogue)
    book = _rulebook(rulebook, cat)
    bands = sorted({*map(float, DEFAULT_BANDS_MIN), *cat.bands.values(), *book.bands_min()})
    speed = walk_speed_m_per_min(walk_speed)
    t = time.perf_counter()
    if access is None:
        access = compute_access(
            network,
            outlets,
            residences,
            categories=cat.codes(),
            category_names={c.code: c.name_zh for c in cat.categories},
            walk_speed=walk_speed,
            bands_min=bands,
            progress=progress,
        )
    else:  # computed elsewhere (e.g. tile by tile): it must cover the bands the rules use
        given = {float(b) for b in access.params.get("bands_min", ())}
        if not set(bands) <= given or access.params.get("walk_speed_m_per_min") != speed:
            raise InputError(
                f"the access result was computed for bands {sorted(given)} at "
                f"{access.params.get('walk_speed_m_per_min')} m/min; this assessment needs bands "
                f"{bands} at {speed} m/min",
                "access",
            )
    t = lap("access", t)

    if circles is not None:
        members, circle_frame = assign_circles(residences, boundaries=circles, network=network)
    elif mapping is not None:
        members, circle_frame = assign_circles(
            residences,
            mapping=mapping if isinstance(mapping, pd.DataFrame) else Path(mapping),
            network=network,
        )
    else:
        members, circle_frame = assign_circles(
            residences, auto=True, network=network, minutes=circle_minutes, walk_speed=walk_speed
        )
    t = lap("circles", t)
    circle_ids = circle_frame["circle_id"].astype(str).tolist()

    res_out = access.residences.copy()
    res_out["residence_id"] = res_out["residence_id"].astype(str)
    res_out["circle_id"] = (
        res_out["residence_id"]
        .map(members.set_index(members["residence_id"].astype(str))["circle_id"])
        .astype("string")
    )

    satisfaction = None
    if responses is not None:
        from lifecircle.assess import survey as survey_mod

        definition = (
            survey if isinstance(survey, survey_mod.Survey) else survey_mod.load_survey(survey)
        )
        answers = survey_mod.read_responses(responses, definition, known_circles=circle_ids)
        satisfaction = survey_mod.satisfaction_by_circle(answers, definition, circles=circle_ids)
    evaluation = None
    if evaluator_scores is not None:
        from lifecircle.assess import evaluation as evaluation_mod

        sheet = (
            indicator_sheet
            if isinstance(indicator_sheet, evaluation_mod.IndicatorSheet)
            else evaluation_mod.load_indicator_sheet(indicator_sheet)
        )
        scores = evaluation_mod.read_evaluator_scores(
            evaluator_scores, sheet, known_circles=circle_ids
        )
        evaluation = evaluation_mod.evaluation_scores(scores, sheet, circles=circle_ids)
    t = lap("survey_evaluation", t)

    grades, evidence = grade_circles(
        access.table,
        res_out,
        book,
        cat,
        evaluation=evaluation,
        satisfaction=satisfaction,
        circles=circle_frame,
    )
    t = lap("grading", t)
    spots = blind_spots(access.table, res_out, cat)
    t = lap("blind_spots", t)

    from lifecircle.assess.kpis import compute_kpis

    has_district = "district" in circle_frame.columns and circle_frame["district"].notna().any()
    access_frame = access.table.drop_columns(["knn_outlet_ids", "knn_m"]).to_pandas()
    kpis = compute_kpis(
        access=access_frame,
        residences=res_out,
        outlets=outlets,
        grades=grades,
        evidence=evidence,
        catalogue=cat,
        circles=circle_frame,
        satisfaction=satisfaction,
        district_column="district" if has_district else None,
    )
    t = lap("kpis", t)
    access_out = access.to_pandas()
    outlets_out = outlets.to_crs(4326) if outlets.crs is not None else outlets
    lap("tables", t)

    counts = grades["grade"].value_counts()
    snapshot: dict[str, Any] = {
        "city": city,
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "lifecircle_version": __version__,
        "inputs": {str(p): file_sha256(p) for p in input_files},
        "rulebook": {
            "version": book.version,
            "sha256": book.sha256,
            "files": list(book.files),
            "name": str(book.meta.get("name", "")),
            "provisional": book.provisional,
        },
        "catalogue": {"version": cat.version, "files": list(cat.files)},
        "parameters": {
            "walk_speed_kmh": round(speed * 60.0 / 1000.0, 6),
            "walk_speed_m_per_min": speed,
            "bands_min": bands,
            "k": access.params.get("k"),
            "max_snap_m": access.params.get("max_snap_m"),
            "coverage_share": book.coverage_share,
            "circles_from": str(circle_frame["source"].iat[0]) if len(circle_frame) else "",
            "circle_minutes": circle_minutes,
        },
        "counts": {
            "outlets": len(outlets),
            "residences": len(residences),
            "residences_excluded": len(access.excluded.query("layer == 'residences'"))
            if len(access.excluded)
            else 0,
            "circles": len(circle_frame),
            "grades": {g: int(counts.get(g, 0)) for g in (*GRADES, NOT_GRADED)},
        },
        "timings_s": {**timings, "total": round(time.perf_counter() - started, 3)},
    }
    log.info(
        "assessed %s: %d circles in %.1f s (%s)",
        city or "city",
        len(circle_frame),
        snapshot["timings_s"]["total"],
        ", ".join(f"{g} {n}" for g, n in snapshot["counts"]["grades"].items()),
    )
    return Assessment(
        city=city,
        network=network,
        outlets=outlets_out,
        residences=res_out,
        circles=circle_frame,
        access=access_out,
        grades=grades,
        evidence=evidence,
        kpis=kpis,
        blind_spots=spots,
        satisfaction=satisfaction,
        evaluation=evaluation,
        snapshot=snapshot,
    )

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
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle.assess.circles import assign_circles
from lifecircle.assess.grading import blind_spots, grade_circles
from lifecircle.assess.model import GRADES, NOT_GRADED, UNVERIFIED, Assessment
from lifecircle.assess.rulebook import PRESETS, Rulebook, load_rulebook
from lifecircle.errors import InputError
from lifecircle.network import WalkNetwork

if TYPE_CHECKING:
    from lifecircle.access import AccessResult
    from lifecircle.taxonomy import Catalogue

__all__ = [
    "DISTRICT_KPIS",
    "assess_city",
    "city_kpis",
    "district_summary",
    "file_sha256",
    "with_circle_districts",
]

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
    district_levels: Sequence[str] = (),
    data_flags: pd.DataFrame | None = None,
    chains: Mapping[str, Any] | None = None,
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
    district_levels
        District levels (``区``, ``街道``, ``社区``, largest first) whose ``district:<level>``
        columns the residences and outlets carry (:func:`lifecircle.project.read_inputs`): each
        circle gets its district at every level (the one most of its residences lie in),
        automatic circles are named after the smallest one and their most common street, and
        the KPIs get rows per district (``scope = district:<level>:<name>``).
    data_flags
        Where the data failed the audit (see :func:`~lifecircle.assess.grade_circles`).
    chains
        The city's chain settings (``[assessment.chains]`` of a city file): ``brands`` (the
        city's own chains, added to the shipped national list), ``min_outlets`` (repeated-name
        proxy, default 3, 0 = off), ``not_chains``, ``file`` — see
        :func:`lifecircle.assess.chains.chain_settings`.

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
    outlets = _with_chains(outlets, chains)
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
    circle_ids = circle_frame["circle_id"].astype(str).tolist()

    res_out = access.residences.copy()
    res_out["residence_id"] = res_out["residence_id"].astype(str)
    # counts and districts as given (an access result computed elsewhere may predate them)
    given = residences.set_index(residences["residence_id"].astype(str))
    for col in given.columns:
        if col in _FROM_RESIDENCES or col.startswith("district:"):
            res_out[col] = res_out["residence_id"].map(given[col]).to_numpy()
    first = ["residence_id", *(c for c in given.columns if c in res_out.columns)]
    res_out = res_out[list(dict.fromkeys([*first, *res_out.columns]))]
    res_out["circle_id"] = (
        res_out["residence_id"]
        .map(members.set_index(members["residence_id"].astype(str))["circle_id"])
        .astype("string")
    )
    circle_frame = describe_circle_districts(
        circle_frame, res_out, network, district_levels, rename=circles is None and mapping is None
    )
    t = lap("circles", t)

    satisfaction = None
    if responses is not None:
        from lifecircle.assess import survey as survey_mod

        definition = (
            survey if isinstance(survey, survey_mod.Survey) else survey_mod.load_survey(survey)
        )
        answers = survey_mod.read_responses(responses, definition, known_circles=circle_ids)
        satisfaction = survey_mod.satisfaction_by_circle(answers, definition, circles=circle_ids)
    evaluation = None
    scores = None
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

    from lifecircle.assess.attributes import attribute_access, attribute_rows

    graded_access = attribute_access(
        access.table,
        attribute_rows(network, outlets, residences, book, walk_speed=walk_speed, bands_min=bands),
    )
    grades, evidence = grade_circles(
        graded_access,
        res_out,
        book,
        cat,
        evaluation=evaluation,
        satisfaction=satisfaction,
        circles=circle_frame,
        data_flags=data_flags,
    )
    grades = with_circle_districts(grades, circle_frame)
    t = lap("grading", t)
    spots = blind_spots(access.table, res_out, cat)
    t = lap("blind_spots", t)

    access_frame = access.table.drop_columns(["knn_outlet_ids", "knn_m"]).to_pandas()
    kpis = city_kpis(
        access_frame,
        res_out,
        outlets,
        grades,
        evidence,
        cat,
        circle_frame,
        satisfaction,
        district_levels,
        chain_brands=chains,
    )
    t = lap("kpis", t)
    service_long, service_wide = _service_evaluation(
        indicator_sheet, scores, grades, evidence, kpis, graded_access, res_out, cat, book
    )
    t = lap("service_evaluation", t)
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
            "grades": {g: int(counts.get(g, 0)) for g in (*GRADES, NOT_GRADED, UNVERIFIED)},
        },
        "district_levels": list(district_levels),
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
        data_flags=data_flags,
        service_evaluation=service_long,
        service_scores=service_wide,
    )


#: Columns of the residences that the assessment takes from its ``residences`` argument.
_FROM_RESIDENCES = frozenset(
    {"households", "population", "households_estimated", "population_estimated",
     "households_source"}
)  # fmt: skip


#: KPIs of the by-district summary (:func:`district_summary`), in column order.
DISTRICT_KPIS = (
    "circles_total",
    "circles:quality",
    "circles:enhanced",
    "circles:basic",
    "circles:not graded",
    "circles:unverified",
    "households_basic_or_better",
    "outlets_per_10k:all",
)


def district_summary(kpis: pd.DataFrame) -> pd.DataFrame:
    """One row per district of every level (``level, district`` and :data:`DISTRICT_KPIS`), from
    the KPI rows with ``scope = district:<level>:<name>``; empty without districts."""
    rows = kpis.loc[kpis["scope"].astype(str).str.startswith("district:")]
    columns = ["level", "district", *DISTRICT_KPIS]
    if not len(rows):
        return pd.DataFrame(columns=columns)
    wide = rows.pivot_table(
        index="scope", columns="kpi", values="value", aggfunc="first", sort=False
    ).reindex(columns=list(DISTRICT_KPIS))
    parts = wide.index.to_series().str.split(":", n=2)
    wide.insert(0, "district", parts.str[2].to_numpy())
    wide.insert(0, "level", parts.str[1].to_numpy())
    return wide.reset_index(drop=True)[columns]


def with_circle_districts(grades: pd.DataFrame, circles: pd.DataFrame) -> pd.DataFrame:
    """The grades with each circle's ``district:<level>`` columns, after its name."""
    cols = [c for c in circles.columns if str(c).startswith("district:")]
    if not cols:
        return grades
    where = circles.set_index(circles["circle_id"].astype(str))[cols]
    out = grades.drop(columns=[c for c in cols if c in grades.columns])
    at = list(out.columns).index("name") + 1
    for i, col in enumerate(cols):
        out.insert(at + i, col, out["circle_id"].astype(str).map(where[col]).to_numpy())
    return out


def assessed_residences(residences: pd.DataFrame) -> pd.DataFrame:
    """The residences that count in the figures: those on the walking network."""
    if "status" not in residences.columns:
        return residences
    return residences.loc[residences["status"].astype(str) == "ok"]


def city_kpis(
    access_frame: pd.DataFrame,
    residences: pd.DataFrame,
    outlets: pd.DataFrame,
    grades: pd.DataFrame,
    evidence: pd.DataFrame,
    catalogue: Catalogue,
    circles: pd.DataFrame,
    satisfaction: pd.DataFrame | None = None,
    district_levels: Sequence[str] = (),
    chain_brands: Any = None,
) -> pd.DataFrame:
    """The KPI table of an assessment: the city, then every district of every level.

    Denominators are the *assessed* residences (on the walking network, inside the study area)
    and their population; the ``basis`` column says what each figure counts (``households``,
    ``residences`` (小区), ``circles``, ``outlets``, ``population``, ``responses``).  District
    rows have ``scope = district:<level>:<name>``; a ``district`` column on the circles (from
    circle boundaries or a mapping) adds rows with the plain district name, as before.
    """
    from lifecircle.assess.kpis import compute_kpis

    res = assessed_residences(residences)
    common: dict[str, Any] = {
        "access": access_frame,
        "residences": res,
        "outlets": outlets,
        "grades": grades,
        "evidence": evidence,
        "catalogue": catalogue,
        "circles": circles,
        "satisfaction": satisfaction,
        "chain_brands": chain_brands,
    }
    has_district = "district" in circles.columns and circles["district"].notna().any()
    parts = [compute_kpis(**common, district_column="district" if has_district else None)]
    for level in district_levels:
        column = f"district:{level}"
        if column not in res.columns:
            continue
        part = compute_kpis(**common, district_column=column)
        part = part.loc[part["scope"] != "city"].copy()
        part["scope"] = f"{column}:" + part["scope"].astype(str)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def describe_circle_districts(
    circles: gpd.GeoDataFrame,
    residences: pd.DataFrame,
    network: WalkNetwork,
    levels: Sequence[str],
    *,
    rename: bool,
) -> gpd.GeoDataFrame:
    """Each circle's district at every level, and names for automatic circles.

    A circle lies in the district most of its residences lie in (``district:<level>``).  With
    ``rename``, a circle is named after the smallest district it lies in and the street most of
    its residences are reached from (``碑林区·东大街生活圈``); with neither it keeps its name;
    names used twice are numbered (``… 1``, ``… 2``).  Never an internal id.
    """
    out = circles.copy()
    members = residences.loc[residences["circle_id"].notna()]
    cids = members["circle_id"].astype(str)

    def mode_by_circle(values: pd.Series) -> pd.Series:
        frame = pd.DataFrame({"c": cids.to_numpy(), "v": values.to_numpy()}).dropna()
        if not len(frame):
            return pd.Series(dtype="string")
        counts = frame.groupby(["c", "v"], sort=True).size().reset_index(name="n")
        counts = counts.sort_values(["c", "n", "v"], ascending=[True, False, True])
        return counts.drop_duplicates("c").set_index("c")["v"]

    ids = out["circle_id"].astype(str)
    for level in levels:
        column = f"district:{level}"
        if column in members.columns:
            out[column] = ids.map(mode_by_circle(members[column])).astype("string").to_numpy()
    if not rename:
        return out
    street = pd.Series(pd.NA, index=members.index, dtype="string")
    if "edge" in members.columns and "name" in network.edge_attrs.columns:
        edge = pd.to_numeric(members["edge"], errors="coerce")
        ok = edge.notna().to_numpy() & (edge.fillna(-1).to_numpy() >= 0)
        edge_names = network.edge_attrs["name"].astype("string").to_numpy(dtype=object)
        values = np.full(len(members), None, dtype=object)
        values[ok] = edge_names[edge.to_numpy()[ok].astype(np.int64)]
        street = pd.Series(values, index=members.index, dtype="string").str.split(";").str[0]
    main_street = ids.map(mode_by_circle(street.where(street.str.strip() != "")))
    place = (
        ids.map(mode_by_circle(members[f"district:{levels[-1]}"]))
        if levels and f"district:{levels[-1]}" in members.columns
        else pd.Series(pd.NA, index=ids.index, dtype="string")
    )
    names: list[str] = []
    for old, d, s in zip(out["name"].astype("string"), place, main_street, strict=True):
        parts = [str(x) for x in (d, s) if isinstance(x, str) and x.strip()]
        names.append("·".join(parts) + "生活圈" if parts else str(old))
    counts = pd.Series(names).value_counts()
    seen: dict[str, int] = {}
    final = []
    for name in names:
        if counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            final.append(f"{name} {seen[name]}")
        else:
            final.append(name)
    out["name"] = pd.array(final, dtype="string")
    return out


def _with_chains(outlets: gpd.GeoDataFrame, chains: Mapping[str, Any] | None) -> gpd.GeoDataFrame:
    """Outlets with ``brand``, ``is_chain`` and ``chain_method`` (:func:`detect_chains`)."""
    from lifecircle.assess.chains import chain_settings, detect_chains

    found = detect_chains(outlets, chain_settings(chains))
    out = outlets.copy()
    out["brand"] = found["brand"]
    out["is_chain"] = pd.array(found["is_chain"].to_numpy(dtype=bool), dtype="boolean")
    out["chain_method"] = found["chain_method"].astype(object)
    return out


def _service_evaluation(
    indicator_sheet: Any,
    scores: pd.DataFrame | None,
    grades: pd.DataFrame,
    evidence: pd.DataFrame,
    kpis: pd.DataFrame,
    graded_access: Any,
    residences: pd.DataFrame,
    catalogue: Catalogue,
    book: Rulebook,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """服务"好不好" per circle × indicator from the data (auto) and evaluators (score)."""
    from lifecircle.assess.auto_evaluation import auto_values, evaluation_table
    from lifecircle.assess.evaluation import IndicatorSheet, load_indicator_sheet

    sheet = (
        indicator_sheet
        if isinstance(indicator_sheet, IndicatorSheet)
        else load_indicator_sheet(indicator_sheet)
    )
    chain = kpis.loc[(kpis["scope"] == "city") & (kpis["kpi"] == "chain_share"), "value"]
    table = getattr(graded_access, "table", graded_access)
    access = table.to_pandas() if hasattr(table, "to_pandas") else table
    auto = auto_values(
        grades=grades,
        evidence=evidence,
        catalogue=catalogue,
        rulebook=book,
        access=access,
        residences=residences,
        chain_share=float(chain.to_numpy(dtype=float)[0]) if len(chain) else None,
    )
    return evaluation_table(sheet, auto=auto, scores=scores, circles=grades["circle_id"])

"""City KPIs of the 15-minute convenience life circle programme, against the policy targets.

:func:`compute_kpis` turns the access table, the residences, the outlets and (when available)
the grades, the 有没有 evidence, satisfaction rates and service floor areas into one long table
``scope, kpi, kpi_zh, value, target, unit, meets, source`` — for the whole city (``scope =
"city"``) and, with ``district_column``, for each district/street.

KPIs (``kpi`` names; ``<code>`` is a 业态 code of :mod:`lifecircle.taxonomy`):

================================  ==================================================  ==========
kpi                               meaning                                             target
================================  ==================================================  ==========
``circles_total``                 number of circles graded
``circles:<grade_en>``            circles per grade (basic/enhanced/quality/not graded)
``circles_basic_or_better``       share of circles at 基础型 or better
``communities_basic_or_better``   share of communities (小区) in circles at 基础型+
``households_basic_or_better``    share of households in circles at 基础型+
``households_covered:<code>``     share of households with the 业态 within its band
``communities_covered:<code>``    share of communities (小区) with it within its band
``circles_with:<code>``           share of circles where the 业态 is present (evidence)
``outlets_total``                 outlets with a 业态
``chain_share``                   连锁化率 = chain outlets / outlets with a 业态          ≥ 30 % (V2)
``outlets_per_10k:<code>``        outlets per 10,000 residents (``all`` = every 业态)
``service_floor_area_per_100hh``  community service floor area, m² per 100 households  ≥ 30 (V2)
``satisfaction_rate``             residents satisfied (top-2-box)                      ≥ 90 % (V2)
``satisfaction_n_valid``          valid satisfaction answers behind the rate
================================  ==================================================  ==========

Targets: 连锁化率 ≥ 30 % by 2030 (2025 notice; 武汉 2022), 每百户 30 m² 社区服务设施 (2025 notice),
居民满意度 ≥ 90 % (Guide 2021, 三年行动, 2025 notice) — standards.md §8, §12, §13 D9, all V2.  A
target changed by the caller is tagged ``city``.  "Communities" are the residences (小区) of the
residences table.

Examples
--------
>>> import pandas as pd
>>> access = pd.DataFrame({"residence_id": ["r1", "r2"], "category": "pharmacy",
...                        "nearest_min": [4.0, 12.0]})
>>> residences = pd.DataFrame({"residence_id": ["r1", "r2"], "households": [300.0, 100.0],
...                            "population": [750.0, 250.0]})
>>> outlets = pd.DataFrame({"category": ["pharmacy", "pharmacy"],
...                         "name": ["老百姓大药房(北大街店)", "街坊药店"]})
>>> kpis = compute_kpis(access=access, residences=residences, outlets=outlets)
>>> kpis.set_index("kpi").loc[["households_covered:pharmacy", "chain_share",
...                            "outlets_per_10k:pharmacy"], "value"].tolist()
[0.75, 0.5, 20.0]
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecircle.assess._io import CITY, DATA_DIR, Provenance, read_toml
from lifecircle.assess.chains import chain_method_label, chain_settings, detect_chains
from lifecircle.assess.model import GRADE_EN, GRADES, NOT_GRADED, UNVERIFIED
from lifecircle.errors import InputError, Problem, Problems
from lifecircle.taxonomy import UNCLASSIFIED, Catalogue, load_catalogue

__all__ = [
    "CHAIN_TARGET",
    "FLOOR_AREA_COLUMNS",
    "FLOOR_AREA_TARGET",
    "KPI_BASIS",
    "KPI_COLUMNS",
    "SATISFACTION_TARGET",
    "ChainBrands",
    "chain_outlets",
    "compute_kpis",
    "load_chain_brands",
]

logger = logging.getLogger(__name__)

#: Columns of the KPI table.
KPI_COLUMNS = ("scope", "kpi", "kpi_zh", "value", "target", "unit", "meets", "source", "basis")
#: What each KPI counts (``basis`` column of the KPI table), by the KPI's name before ``:``.
KPI_BASIS = {
    "circles_total": "circles",
    "circles": "circles",
    "circles_basic_or_better": "circles",
    "circles_with": "circles",
    "communities_basic_or_better": "residences",
    "communities_covered": "residences",
    "households_basic_or_better": "households",
    "households_covered": "households",
    "outlets_total": "outlets",
    "chain_share": "outlets",
    "outlets_per_10k": "population",
    "service_floor_area_per_100hh": "households",
    "satisfaction_rate": "responses",
    "satisfaction_n_valid": "responses",
}

#: 连锁化率 target (2025 notice, by 2030; 武汉 2022) — standards.md §8, §13 D9 (V2).
CHAIN_TARGET = 0.30
#: 居民满意度 target (Guide 2021; 三年行动; 2025 notice) — standards.md §4, §8 (V2).
SATISFACTION_TARGET = 0.90
#: 社区服务设施 m² per 100 households (2025 notice) — standards.md §7, §8, §12 (V2).
FLOOR_AREA_TARGET = 30.0
#: Columns read as community service floor area (m²) when ``floor_area`` is not given.
FLOOR_AREA_COLUMNS = ("service_floor_area_m2", "service_floor_area", "社区服务设施面积")

_SHARE = "share"
_CALLER = Provenance("given by the caller", "P")


# --------------------------------------------------------------------------------------------
# Chain brands
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBrands:
    """A list of chain brands used to recognise chain outlets by name.

    Attributes
    ----------
    names
        Brand names and aliases as written.
    excludes
        Phrases removed from outlet names before matching (全家福 is not 全家).
    version
        Version of the list.
    provenance
        Source and confidence (the bundled list is P).
    note
        Note for reports (the bundled list: "P, extend per city").
    canonical
        The brand each entry of ``names`` stands for (an alias names its brand); empty: each
        name is its own brand.
    city
        The city's own brands (:meth:`extended`), told apart from the shipped list in
        ``chain_method`` (see :mod:`lifecircle.assess.chains`).
    min_outlets
        Repeated-name proxy: an outlet whose normalised name is shared by at least this many
        outlets of the city is a chain outlet (``0`` switches the proxy off).
    not_chains
        Normalised names never taken as chains by the proxy (generic shop names such as 大众理发,
        or brands a planner rejected).
    """

    names: tuple[str, ...]
    excludes: tuple[str, ...] = ()
    version: str = "custom"
    provenance: Provenance = _CALLER
    note: str = ""
    canonical: tuple[str, ...] = ()
    city: tuple[str, ...] = ()
    min_outlets: int = 0
    not_chains: tuple[str, ...] = ()

    def extended(self, extra: Iterable[str]) -> ChainBrands:
        """This list with more brand names (the city's own list)."""
        more = tuple(str(x).strip() for x in extra if str(x).strip())
        return replace(
            self,
            names=self.names + more,
            canonical=self.brands() + more,
            version=f"{self.version}+{len(more)}",
            city=self.city + more,
        )

    def brands(self) -> tuple[str, ...]:
        """The brand of each entry of ``names``."""
        return self.canonical if len(self.canonical) == len(self.names) else self.names

    def match(self, text: pd.Series) -> np.ndarray:
        """True where ``text`` holds one of the brands as a whole token (see
        :func:`lifecircle.assess.chains.brand_tokens`)."""
        from lifecircle.assess.chains import brand_tokens

        return np.asarray(brand_tokens(text, self).notna().to_numpy(), dtype=bool)


#: What ``chain_brands`` accepts: a list object, chain settings, brand names, a file, None.
_ChainSpec = ChainBrands | Mapping[str, Any] | Sequence[str] | str | os.PathLike[str] | None


def load_chain_brands(
    path: str | os.PathLike[str] | None = None, *, extra: Iterable[str] = ()
) -> ChainBrands:
    """Load a chain-brand list.

    Parameters
    ----------
    path
        A TOML file (``version``, ``[meta]`` with ``source``/``confidence``, ``[[brand]]``
        tables with ``name``, optional ``aliases``, ``exclude``, ``sector``) or a text file with
        one brand per line (``#`` comments); ``None`` loads the bundled list of common national
        chains (美宜佳, 罗森, 7-ELEVEN, 全家, 好邻居, 便利蜂, 永辉, 华润万家, 大参林, 老百姓大药房, 益丰,
        海王星辰, 菜鸟驿站, 顺丰, 中国邮政, 京东, ...; P, extend per city).
    extra
        Further brand names (a city's regional chains).

    Returns
    -------
    ChainBrands

    Raises
    ------
    InputError
        The file is missing or a ``[[brand]]`` table has no name or bad lists.

    Examples
    --------
    >>> brands = load_chain_brands(extra=["本地鲜"])
    >>> brands.provenance.confidence, "美宜佳" in brands.names, "本地鲜" in brands.names
    ('P', True, True)
    """
    file = Path(path) if path is not None else DATA_DIR / "chain_brands.toml"
    label = str(file)
    if file.suffix.lower() != ".toml":
        if not file.is_file():
            raise InputError(
                Problem("brand list file not found", file=label, fix="give the path of the list"),
                "chain brands",
            )
        lines = file.read_text(encoding="utf-8-sig").splitlines()
        listed = tuple(x.split("#", 1)[0].strip() for x in lines)
        brands = ChainBrands(tuple(n for n in listed if n), (), file.stem, Provenance(label, "P"))
        return brands.extended(extra) if extra else brands
    doc = read_toml(file, "chain brands")
    problems = Problems(file=label)
    meta = doc.get("meta", {})
    prov = Provenance(
        str(meta.get("source", label)) if isinstance(meta, dict) else label,
        str(meta.get("confidence", "P")) if isinstance(meta, dict) else "P",
    )
    names: list[str] = []
    canonical: list[str] = []
    excludes: list[str] = []
    raw = doc.get("brand")
    if not isinstance(raw, list) or not raw:
        problems.add("no [[brand]] tables", field="brand", fix='write [[brand]] name = "美宜佳"')
        raw = []
    for i, item in enumerate(raw, start=1):
        where = f"brand[{i}]"
        if not isinstance(item, dict):
            problems.add("is not a table", field=where, fix="write [[brand]] tables")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.add(
                f"name must be a non-empty string, got {name!r}",
                field=f"{where}.name",
                fix='write name = "..."',
            )
            continue
        names.append(name.strip())
        canonical.append(name.strip())
        for key, sink in (("aliases", names), ("exclude", excludes)):
            values = item.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                problems.add(
                    f"{key} must be a list of texts, got {values!r}",
                    field=f"{where}.{key}",
                    fix=f'write {key} = ["..."]',
                )
                continue
            sink.extend(v.strip() for v in values if v.strip())
            if key == "aliases":
                canonical.extend(name.strip() for v in values if v.strip())
    from lifecircle.assess.chains import proxy_settings

    min_outlets, not_chains = proxy_settings(doc.get("proxy", {}), problems)
    problems.raise_if_any("chain brands")
    note = str(meta.get("note", "")) if isinstance(meta, dict) else ""
    brands = ChainBrands(
        tuple(names),
        tuple(excludes),
        str(doc.get("version", "?")),
        prov,
        note,
        canonical=tuple(canonical),
        min_outlets=min_outlets,
        not_chains=not_chains,
    )
    return brands.extended(extra) if extra else brands


def chain_outlets(
    outlets: pd.DataFrame,
    brands: ChainBrands | Sequence[str] | str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Which outlets are chain outlets.

    The ``is_chain`` column of :func:`lifecircle.assess.chains.detect_chains`: an outlet's own
    ``is_chain`` value decides where it is known (true or false); elsewhere the outlet is a chain
    outlet when its ``brand`` or normalised ``name`` holds a brand of ``brands`` as a whole token,
    or (the repeated-name proxy, when ``brands.min_outlets`` > 0) when its normalised name is
    shared by at least that many outlets.

    Parameters
    ----------
    outlets
        Outlets with ``name`` and optionally ``brand`` and ``is_chain``.
    brands
        A :class:`ChainBrands`, a list of brand names, the path of a brand list, or ``None``
        for the bundled list.

    Returns
    -------
    numpy.ndarray
        Boolean mask.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"name": ["美宜佳(钟楼店)", "全家福饺子馆", "全家FamilyMart"]})
    >>> chain_outlets(frame).tolist()
    [True, False, True]
    """
    from lifecircle.assess.chains import detect_chains

    found = detect_chains(outlets, _brands(brands))
    return np.asarray(found["is_chain"].to_numpy(dtype=bool), dtype=bool)


def _brands(brands: _ChainSpec) -> ChainBrands:
    if brands is None:
        return load_chain_brands()
    if isinstance(brands, ChainBrands):
        return brands
    if isinstance(brands, Mapping):
        return chain_settings(brands)
    if isinstance(brands, str | os.PathLike):
        return load_chain_brands(brands)
    return ChainBrands(tuple(str(b) for b in brands))


# --------------------------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------------------------


@dataclass
class _Inputs:
    """Validated inputs of :func:`compute_kpis`, with a district per row where asked."""

    access: pd.DataFrame  # residence_id, category, covered, households, district
    residences: pd.DataFrame  # residence_id, households, population, circle_id, district
    outlets: pd.DataFrame | None  # category, chain, district (None when unplaceable by district)
    outlets_city: pd.DataFrame  # category, chain
    circles: pd.DataFrame | None  # circle_id, grade, district
    evidence: pd.DataFrame | None  # circle_id, category, present, district
    floor: pd.DataFrame | None  # area, households, district
    satisfaction: pd.DataFrame | None  # circle_id, n_valid, n_satisfied, district
    catalogue: Catalogue
    categories: list[str]
    chain_min_outlets: int = 0


def compute_kpis(
    *,
    access: Any,
    residences: pd.DataFrame,
    outlets: pd.DataFrame,
    grades: pd.DataFrame | None = None,
    evidence: pd.DataFrame | None = None,
    catalogue: Catalogue | None = None,
    circles: pd.DataFrame | None = None,
    satisfaction: pd.DataFrame | None = None,
    floor_area: str | None = None,
    district_column: str | None = None,
    chain_brands: _ChainSpec = None,
    chain_target: float = CHAIN_TARGET,
    satisfaction_target: float = SATISFACTION_TARGET,
    floor_area_target: float = FLOOR_AREA_TARGET,
) -> pd.DataFrame:
    """City (and district) KPIs against the policy targets.

    Parameters
    ----------
    access
        The long access table (``residence_id, category, nearest_min``; an
        :class:`~lifecircle.access.AccessResult` is accepted).  A residence × 业态 is covered
        when ``nearest_min`` ≤ the 业态's band (家门口 10 / 家周边 15 min in the default catalogue).
    residences
        ``residence_id``, ``households``, ``population`` and, for grade KPIs, ``circle_id``.
        Households/population that are NaN are left out of the weighted shares and of the
        per-10,000 denominators.
    outlets
        ``category`` (业态 code), ``name``, optionally ``brand`` and ``is_chain``.
    grades
        One row per circle with ``circle_id, grade`` (:data:`~lifecircle.assess.model.GRADES`
        or 未达标); enables the grade KPIs.
    evidence
        The 有没有 table (``circle_id, category, present``); enables ``circles_with:<code>``.
    catalogue
        The 业态 catalogue giving the bands (default :func:`~lifecircle.taxonomy.load_catalogue`).
    circles
        One row per circle (``circle_id``, optionally a district column, a floor-area column
        and ``households``; a GeoDataFrame of polygons places outlets in districts).
    satisfaction
        :func:`~lifecircle.assess.survey.satisfaction_by_circle` output; enables the
        satisfaction KPI (district rates pool the circles' counts).
    floor_area
        Column of community service floor area in m², on ``circles`` (with their
        ``households``) or on ``residences``; ``None`` looks for :data:`FLOOR_AREA_COLUMNS`.
        Rows without an area are left out of both sums.  Without any, the KPI is omitted.
    district_column
        Column naming the district/street, on residences or circles (and on outlets, or
        outlets are placed with the circles' polygons); adds one scope per district.
    chain_brands
        Brand list for outlets without an ``is_chain`` value (default: the bundled list of
        national chains and the repeated-name proxy, P — extend per city with
        :func:`load_chain_brands` or a mapping of chain settings, see
        :func:`lifecircle.assess.chains.chain_settings`).  The ``chain_share`` label names the
        methods that found the chain outlets (:func:`lifecircle.assess.chains.detect_chains`).
    chain_target, satisfaction_target, floor_area_target
        Targets; the defaults are the policy values (V2), other values are tagged ``city``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KPI_COLUMNS`: ``scope`` (``"city"`` or a district), ``kpi``,
        ``kpi_zh``, ``value`` (float; shares 0–1), ``target`` (NaN when none), ``unit``
        (``share``, ``count``, ``per 10k residents``, ``m² per 100 households``), ``meets``
        (nullable bool, ``value >= target``), ``source`` (the target's confidence tag; ``""``
        without target), ``basis`` (what the figure counts: ``households``, ``residences``
        (小区), ``circles``, ``outlets``, ``population``, ``responses``; :data:`KPI_BASIS`).
        City rows first, then districts in sorted order.

    Raises
    ------
    InputError
        Missing columns (``residence_id``, ``category``, ``nearest_min``, ``circle_id`` for
        grades, ``district_column``), a named floor-area column that does not exist, a target
        that is not a positive number.
    """
    inputs = _prepare(
        access=access,
        residences=residences,
        outlets=outlets,
        grades=grades,
        evidence=evidence,
        catalogue=catalogue,
        circles=circles,
        satisfaction=satisfaction,
        floor_area=floor_area,
        district_column=district_column,
        chain_brands=chain_brands,
        targets=(chain_target, satisfaction_target, floor_area_target),
    )
    targets = {
        "chain": (chain_target, "V2" if chain_target == CHAIN_TARGET else "city"),
        "satisfaction": (
            satisfaction_target,
            "V2" if satisfaction_target == SATISFACTION_TARGET else "city",
        ),
        "floor": (floor_area_target, "V2" if floor_area_target == FLOOR_AREA_TARGET else "city"),
    }
    rows: list[dict[str, Any]] = []
    rows += _scope_rows(CITY, inputs, None, targets, city=True)
    if district_column is not None:
        names = sorted(
            {str(d) for d in inputs.residences["district"].dropna()}
            | (
                {str(d) for d in inputs.circles["district"].dropna()}
                if inputs.circles is not None
                else set()
            )
        )
        for name in names:
            rows += _scope_rows(name, inputs, name, targets, city=False)
    out = pd.DataFrame(rows, columns=list(KPI_COLUMNS[:-1]))
    out["basis"] = out["kpi"].str.split(":").str[0].map(KPI_BASIS).fillna("")
    out["value"] = out["value"].astype(np.float64)
    out["target"] = out["target"].astype(np.float64)
    meets = [
        None if (np.isnan(v) or np.isnan(tg)) else bool(v >= tg - 1e-12)
        for v, tg in zip(out["value"], out["target"], strict=True)
    ]
    out["meets"] = pd.array(meets, dtype="boolean")
    out.attrs.update(
        {
            "catalogue_version": inputs.catalogue.version,
            "chain_brands_version": _brands(chain_brands).version,
        }
    )
    return out


def _require(frame: pd.DataFrame, cols: Iterable[str], what: str, problems: Problems) -> bool:
    ok = True
    for col in cols:
        if col not in frame.columns:
            problems.add(
                f"the {what} table has no column {col!r} (columns: "
                + ", ".join(map(str, frame.columns[:20]))
                + ")",
                field=col,
                fix=f"pass the {what} as produced by lifecircle (read_{what} / compute_access / "
                "the assessment)",
            )
            ok = False
    return ok


def _prepare(
    *,
    access: Any,
    residences: pd.DataFrame,
    outlets: pd.DataFrame,
    grades: pd.DataFrame | None,
    evidence: pd.DataFrame | None,
    catalogue: Catalogue | None,
    circles: pd.DataFrame | None,
    satisfaction: pd.DataFrame | None,
    floor_area: str | None,
    district_column: str | None,
    chain_brands: _ChainSpec,
    targets: tuple[float, float, float],
) -> _Inputs:
    problems = Problems(file=None)
    for name, value in zip(
        ("chain_target", "satisfaction_target", "floor_area_target"), targets, strict=True
    ):
        if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
            problems.add(
                f"{name} must be a positive number, got {value!r}",
                field=name,
                fix="give the target as a share (0.3) or, for floor area, m² per 100 households",
            )
    if hasattr(access, "to_pandas"):
        access = access.to_pandas()
    cat = catalogue if catalogue is not None else load_catalogue()
    ok = _require(access, ("residence_id", "category", "nearest_min"), "access", problems)
    ok &= _require(residences, ("residence_id",), "residences", problems)
    ok &= _require(outlets, ("category",), "outlets", problems)
    if grades is not None:
        ok &= _require(grades, ("circle_id", "grade"), "grades", problems)
        ok &= _require(residences, ("circle_id",), "residences", problems)
    if evidence is not None:
        ok &= _require(evidence, ("circle_id", "category", "present"), "evidence", problems)
    if satisfaction is not None:
        ok &= _require(
            satisfaction, ("circle_id", "n_valid", "n_satisfied"), "satisfaction", problems
        )
    if circles is not None:
        ok &= _require(circles, ("circle_id",), "circles", problems)
    problems.raise_if_any("KPI inputs")

    # residences ------------------------------------------------------------------------------
    res = pd.DataFrame({"residence_id": residences["residence_id"].astype(str).to_numpy()})
    for col in ("households", "population"):
        res[col] = (
            pd.to_numeric(residences[col], errors="coerce").to_numpy(dtype=np.float64)
            if col in residences.columns
            else np.nan
        )
    res["circle_id"] = (
        residences["circle_id"].astype("string").to_numpy()
        if "circle_id" in residences.columns
        else pd.array([None] * len(res), dtype="string")
    )
    circle_district: pd.Series | None = None
    if district_column is not None:
        circle_district, res["district"] = _districts(
            district_column, residences, circles, grades, res, problems
        )
    else:
        res["district"] = None
    problems.raise_if_any("KPI inputs")

    # access ----------------------------------------------------------------------------------
    acc = pd.DataFrame(
        {
            "residence_id": access["residence_id"].astype(str).to_numpy(),
            "category": access["category"].astype(str).to_numpy(),
            "nearest_min": pd.to_numeric(access["nearest_min"], errors="coerce").to_numpy(
                dtype=np.float64
            ),
        }
    )
    bands = {code: cat.band_minutes(code) for code in cat.codes()}
    seen = set(acc["category"].unique())
    unknown = sorted(seen - set(bands))
    if unknown:
        logger.info("access categories not in catalogue %s left out: %s", cat.version, unknown)
    acc["band"] = acc["category"].map(bands).astype(np.float64)
    acc = acc[acc["band"].notna()].reset_index(drop=True)
    acc["covered"] = (acc["nearest_min"] <= acc["band"]).to_numpy()
    by_res = res.set_index("residence_id")
    acc["households"] = acc["residence_id"].map(by_res["households"]).astype(np.float64)
    acc["district"] = acc["residence_id"].map(by_res["district"])
    categories = [c for c in cat.codes() if c in seen]

    # outlets ---------------------------------------------------------------------------------
    category = outlets["category"].astype("string")
    with_type = (category.notna() & (category != UNCLASSIFIED) & (category != "")).to_numpy(
        dtype=bool
    )
    found = detect_chains(outlets, _brands(chain_brands))
    chain = found["is_chain"].to_numpy(dtype=bool)
    outlets_city = pd.DataFrame(
        {
            "category": category.to_numpy(dtype=object)[with_type],
            "chain": chain[with_type],
            "chain_method": found["chain_method"].to_numpy(dtype=object)[with_type],
        }
    )
    outlets_d: pd.DataFrame | None = None
    if district_column is not None:
        district = _outlet_districts(outlets, district_column, circles)
        if district is not None:
            outlets_d = outlets_city.assign(district=district[with_type])

    # grades ----------------------------------------------------------------------------------
    circ: pd.DataFrame | None = None
    if grades is not None:
        circ = pd.DataFrame(
            {
                "circle_id": grades["circle_id"].astype(str).to_numpy(),
                "grade": grades["grade"].astype(str).to_numpy(),
            }
        )
        circ["district"] = (
            circ["circle_id"].map(circle_district) if circle_district is not None else None
        )
        bad = sorted(set(circ["grade"]) - set(GRADES) - {NOT_GRADED, UNVERIFIED})
        if bad:
            raise InputError(
                Problem(
                    f"unknown grades {bad}",
                    field="grade",
                    fix=f"grades are {', '.join(GRADES)} or {NOT_GRADED}",
                ),
                "grades",
            )

    # evidence --------------------------------------------------------------------------------
    ev: pd.DataFrame | None = None
    if evidence is not None:
        ev = pd.DataFrame(
            {
                "circle_id": evidence["circle_id"].astype(str).to_numpy(),
                "category": evidence["category"].astype(str).to_numpy(),
                "present": evidence["present"].fillna(False).astype(bool).to_numpy(),
            }
        )
        ev["district"] = (
            ev["circle_id"].map(circle_district) if circle_district is not None else None
        )

    # floor area ------------------------------------------------------------------------------
    floor = _floor_area(floor_area, circles, residences, res, circle_district, problems)

    # satisfaction ----------------------------------------------------------------------------
    sat: pd.DataFrame | None = None
    if satisfaction is not None:
        sat = pd.DataFrame(
            {
                "circle_id": satisfaction["circle_id"].astype(str).to_numpy(),
                "n_valid": pd.to_numeric(satisfaction["n_valid"]).to_numpy(dtype=np.float64),
                "n_satisfied": pd.to_numeric(satisfaction["n_satisfied"]).to_numpy(
                    dtype=np.float64
                ),
            }
        )
        sat["district"] = (
            sat["circle_id"].map(circle_district) if circle_district is not None else None
        )
    problems.raise_if_any("KPI inputs")
    return _Inputs(
        access=acc,
        residences=res,
        outlets=outlets_d,
        outlets_city=outlets_city,
        circles=circ,
        evidence=ev,
        floor=floor,
        satisfaction=sat,
        catalogue=cat,
        categories=categories,
        chain_min_outlets=_brands(chain_brands).min_outlets,
    )


def _districts(
    column: str,
    residences: pd.DataFrame,
    circles: pd.DataFrame | None,
    grades: pd.DataFrame | None,
    res: pd.DataFrame,
    problems: Problems,
) -> tuple[pd.Series | None, np.ndarray]:
    """District of each circle (Series indexed by circle id) and of each residence."""
    circle_district: pd.Series | None = None
    for frame in (circles, grades):
        if frame is not None and column in frame.columns and "circle_id" in frame.columns:
            circle_district = pd.Series(
                frame[column].astype("string").to_numpy(),
                index=frame["circle_id"].astype(str).to_numpy(),
            )
            circle_district = circle_district[~circle_district.index.duplicated()]
            break
    if column in residences.columns:
        res_district = residences[column].astype("string").to_numpy(dtype=object)
        if circle_district is None and res["circle_id"].notna().any():
            frame = pd.DataFrame({"c": res["circle_id"], "d": res_district}).dropna()
            if len(frame):
                circle_district = frame.groupby("c")["d"].agg(lambda s: s.mode().iloc[0])
    elif circle_district is not None:
        res_district = res["circle_id"].map(circle_district).to_numpy(dtype=object)
    else:
        problems.add(
            f"district column {column!r} is on neither the residences nor the circles",
            field=column,
            fix="add the column to the residences or circles table, or pass district_column= "
            "the right name",
        )
        res_district = np.full(len(res), None, dtype=object)
    res_district = np.array([None if pd.isna(d) else str(d) for d in res_district], dtype=object)
    return circle_district, res_district


def _outlet_districts(
    outlets: pd.DataFrame, column: str, circles: pd.DataFrame | None
) -> np.ndarray | None:
    if column in outlets.columns:
        return np.array(
            [None if pd.isna(d) else str(d) for d in outlets[column].to_numpy(dtype=object)],
            dtype=object,
        )
    import geopandas as gpd

    if (
        isinstance(outlets, gpd.GeoDataFrame)
        and isinstance(circles, gpd.GeoDataFrame)
        and column in circles.columns
        and circles.crs is not None
        and outlets.crs is not None
        and bool(circles.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).any())
    ):
        areas = circles[[column, circles.geometry.name]].to_crs(outlets.crs)
        pts = gpd.GeoDataFrame(geometry=outlets.geometry.reset_index(drop=True), crs=outlets.crs)
        joined = gpd.sjoin(pts, areas, how="left", predicate="within")
        first = joined[~joined.index.duplicated()]
        return np.array(
            [None if pd.isna(d) else str(d) for d in first[column].reindex(pts.index)],
            dtype=object,
        )
    logger.info(
        "outlets have no %r column and cannot be placed in districts; outlet KPIs are given "
        "for the city only",
        column,
    )
    return None


def _floor_area(
    floor_area: str | None,
    circles: pd.DataFrame | None,
    residences: pd.DataFrame,
    res: pd.DataFrame,
    circle_district: pd.Series | None,
    problems: Problems,
) -> pd.DataFrame | None:
    """Rows with a floor area: ``area, households, district``; ``None`` without any."""
    names = (floor_area,) if floor_area is not None else FLOOR_AREA_COLUMNS
    for name in names:
        if circles is not None and name in circles.columns:
            if "households" not in circles.columns:
                problems.add(
                    f"the circles carry {name!r} but no households column",
                    field="households",
                    fix="add the circles' households, or put the floor area on the residences",
                )
                return None
            ids = circles["circle_id"].astype(str).to_numpy()
            frame = pd.DataFrame(
                {
                    "area": pd.to_numeric(circles[name], errors="coerce").to_numpy(
                        dtype=np.float64
                    ),
                    "households": pd.to_numeric(circles["households"], errors="coerce").to_numpy(
                        dtype=np.float64
                    ),
                    "district": pd.Series(ids).map(circle_district).to_numpy(dtype=object)
                    if circle_district is not None
                    else None,
                }
            )
            return _check_area(frame, name, "circles", problems)
        if name in residences.columns:
            frame = pd.DataFrame(
                {
                    "area": pd.to_numeric(residences[name], errors="coerce").to_numpy(
                        dtype=np.float64
                    ),
                    "households": res["households"].to_numpy(dtype=np.float64),
                    "district": res["district"].to_numpy(dtype=object),
                }
            )
            return _check_area(frame, name, "residences", problems)
    if floor_area is not None:
        problems.add(
            f"floor-area column {floor_area!r} is on neither the circles nor the residences",
            field=floor_area,
            fix="add the column (m² of community service facilities) or pass floor_area= the "
            "right name",
        )
    return None


def _check_area(
    frame: pd.DataFrame, name: str, where: str, problems: Problems
) -> pd.DataFrame | None:
    neg = (frame["area"] < 0).to_numpy()
    if neg.any():
        rows = np.flatnonzero(neg)[:10] + 1
        problems.add(
            f"negative floor areas in the {where} (rows {', '.join(map(str, rows))})",
            field=name,
            fix="give floor areas in m² (≥ 0)",
        )
    keep = frame["area"].notna() & frame["households"].notna()
    if not keep.any():
        logger.info("no %s row has both %r and households; floor-area KPI omitted", where, name)
        return None
    return frame[keep].reset_index(drop=True)


def _in_scope(frame: pd.DataFrame, district: str | None) -> pd.DataFrame:
    if district is None:
        return frame
    return frame[frame["district"] == district]


def _row(
    scope: str,
    kpi: str,
    kpi_zh: str,
    value: float,
    unit: str,
    target: float = float("nan"),
    source: str = "",
) -> dict[str, Any]:
    return {
        "scope": scope,
        "kpi": kpi,
        "kpi_zh": kpi_zh,
        "value": float(value),
        "target": float(target),
        "unit": unit,
        "meets": None,
        "source": source,
    }


def _share(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def _scope_rows(
    scope: str,
    inputs: _Inputs,
    district: str | None,
    targets: dict[str, tuple[float, str]],
    *,
    city: bool,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    res = _in_scope(inputs.residences, district)
    cat = inputs.catalogue

    # grades ----------------------------------------------------------------------------------
    if inputs.circles is not None:
        circ = _in_scope(inputs.circles, district)
        rows.append(_row(scope, "circles_total", "生活圈总数", len(circ), "count"))
        for grade in (*GRADES, NOT_GRADED, UNVERIFIED):
            rows.append(
                _row(
                    scope,
                    f"circles:{GRADE_EN[grade]}",
                    f"{grade}生活圈数",
                    int((circ["grade"] == grade).sum()),
                    "count",
                )
            )
        graded = set(circ.loc[circ["grade"].isin(GRADES), "circle_id"])
        rows.append(
            _row(
                scope,
                "circles_basic_or_better",
                "基础型及以上生活圈占比",
                _share(len(graded), len(circ)),
                _SHARE,
            )
        )
        in_graded = res["circle_id"].isin(list(graded)).to_numpy(dtype=bool)
        rows.append(
            _row(
                scope,
                "communities_basic_or_better",
                "位于基础型及以上生活圈的小区占比",
                _share(in_graded.sum(), len(res)),
                _SHARE,
            )
        )
        hh = res["households"].to_numpy(dtype=np.float64)
        known = ~np.isnan(hh)
        rows.append(
            _row(
                scope,
                "households_basic_or_better",
                "位于基础型及以上生活圈的户数占比",
                _share(hh[known & in_graded].sum(), hh[known].sum()),
                _SHARE,
            )
        )

    # coverage per 业态 -------------------------------------------------------------------------
    acc = _in_scope(inputs.access, district)
    known_hh = acc["households"].notna().to_numpy()
    weighted = acc.assign(
        hh=np.where(known_hh, acc["households"], 0.0),
        hh_cov=np.where(known_hh & acc["covered"].to_numpy(), acc["households"], 0.0),
    )
    groups = (
        weighted.groupby("category", sort=False)
        .agg(
            n=("covered", "size"),
            n_cov=("covered", "sum"),
            hh=("hh", "sum"),
            hh_cov=("hh_cov", "sum"),
        )
        .reindex(inputs.categories)
        .fillna(0.0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        hh_shares = np.where(groups["hh"] > 0, groups["hh_cov"] / groups["hh"], np.nan)
        n_shares = np.where(groups["n"] > 0, groups["n_cov"] / groups["n"], np.nan)
    for code, hh_share, n_share in zip(inputs.categories, hh_shares, n_shares, strict=True):
        c = cat.get(code)
        name = c.name_zh if c is not None else code
        band = cat.band_minutes(code)
        rows.append(
            _row(
                scope,
                f"households_covered:{code}",
                f"{name}步行{band:g}分钟覆盖户数占比",
                hh_share,
                _SHARE,
            )
        )
        rows.append(
            _row(
                scope,
                f"communities_covered:{code}",
                f"{name}步行{band:g}分钟覆盖小区占比",
                n_share,
                _SHARE,
            )
        )

    # evidence --------------------------------------------------------------------------------
    if inputs.evidence is not None:
        ev = _in_scope(inputs.evidence, district)
        present = ev.groupby("category", sort=False)["present"].mean()
        for code in [c for c in cat.codes() if c in present.index]:
            c = cat.get(code)
            rows.append(
                _row(
                    scope,
                    f"circles_with:{code}",
                    f"有{c.name_zh if c else code}的生活圈占比",
                    float(present[code]),
                    _SHARE,
                )
            )

    # outlets ---------------------------------------------------------------------------------
    outl = inputs.outlets_city if city else inputs.outlets
    if outl is not None:
        if not city:
            outl = _in_scope(outl, district)
        n_out = len(outl)
        rows.append(_row(scope, "outlets_total", "有业态的网点数", n_out, "count"))
        tgt, src = targets["chain"]
        how = chain_method_label(outl.loc[outl["chain"], "chain_method"], inputs.chain_min_outlets)
        rows.append(
            _row(
                scope,
                "chain_share",
                f"连锁化率（连锁网点/有业态网点；认定：{how}）",
                _share(int(outl["chain"].sum()), n_out),
                _SHARE,
                tgt,
                src,
            )
        )
        pop = res["population"].to_numpy(dtype=np.float64)
        population = float(np.nansum(pop)) if np.isfinite(pop).any() else float("nan")
        if np.isfinite(population) and population > 0:
            counts = outl["category"].value_counts()
            rows.append(
                _row(
                    scope,
                    "outlets_per_10k:all",
                    "每万人有业态网点数",
                    n_out / population * 1e4,
                    "per 10k residents",
                )
            )
            for code in cat.codes():
                if code not in counts.index and code not in inputs.categories:
                    continue
                c = cat.get(code)
                rows.append(
                    _row(
                        scope,
                        f"outlets_per_10k:{code}",
                        f"每万人{c.name_zh if c else code}数",
                        float(counts.get(code, 0)) / population * 1e4,
                        "per 10k residents",
                    )
                )

    # floor area ------------------------------------------------------------------------------
    if inputs.floor is not None:
        fl = _in_scope(inputs.floor, district)
        if len(fl):
            tgt, src = targets["floor"]
            rows.append(
                _row(
                    scope,
                    "service_floor_area_per_100hh",
                    "每百户社区服务设施面积",
                    _share(fl["area"].sum() * 100.0, fl["households"].sum()),
                    "m² per 100 households",
                    tgt,
                    src,
                )
            )

    # satisfaction ----------------------------------------------------------------------------
    if inputs.satisfaction is not None:
        sat = inputs.satisfaction
        if city:
            whole = sat[sat["circle_id"] == CITY]
            if not len(whole):
                whole = sat
            n_valid, n_sat = float(whole["n_valid"].sum()), float(whole["n_satisfied"].sum())
        else:
            part = _in_scope(sat[sat["circle_id"] != CITY], district)
            n_valid, n_sat = float(part["n_valid"].sum()), float(part["n_satisfied"].sum())
        if city or n_valid > 0:
            tgt, src = targets["satisfaction"]
            rows.append(
                _row(
                    scope,
                    "satisfaction_rate",
                    "居民满意度（满意+比较满意）",
                    _share(n_sat, n_valid),
                    _SHARE,
                    tgt,
                    src,
                )
            )
            rows.append(_row(scope, "satisfaction_n_valid", "满意度有效答卷数", n_valid, "count"))
    return rows

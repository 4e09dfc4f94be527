"""A small synthetic :class:`~lifecircle.assess.model.Assessment` for report tests.

A 2 km street grid near Xi'an (UTM 49N), nine residences in three circles (one column of
residences each) and outlets placed so that circle A has most 业态 nearby and circle C few.
Access is computed by the real engine; the grade, evidence, KPI, blind-spot, satisfaction and
evaluation tables are filled by hand following the model's columns.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lifecircle.access import compute_access
from lifecircle.assess.model import GRADE_EN, Assessment
from lifecircle.taxonomy import load_catalogue
from lifecircle.testing import SYNTHETIC_CRS, network_from_polylines

_STEP = 250.0
_SIZE = 2000.0


def _grid() -> list[list[tuple[float, float]]]:
    lines = []
    ticks = np.arange(0.0, _SIZE + 1, _STEP)
    for y in ticks:
        lines += [[(x0, y), (x0 + _STEP, y)] for x0 in ticks[:-1]]
    for x in ticks:
        lines += [[(x, y0), (x, y0 + _STEP)] for y0 in ticks[:-1]]
    return lines


def _to_wgs84(xy: list[tuple[float, float]]) -> gpd.GeoSeries:
    shifted = [shapely.Point(500_000.0 + x, 3_790_000.0 + y) for x, y in xy]
    return gpd.GeoSeries(shifted, crs=SYNTHETIC_CRS).to_crs(4326)


def build_assessment() -> Assessment:
    """The synthetic graded city (西安示例城区)."""
    cat = load_catalogue()
    codes = [c.code for c in cat.categories]
    info = {c.code: c for c in cat.categories}
    network = network_from_polylines(_grid())

    # residences: circle A at x=250, B at x=1000, C at x=1750; y = 250, 1000, 1750
    res_xy = [(x, y) for x in (250.0, 1000.0, 1750.0) for y in (250.0, 1000.0, 1750.0)]
    circle_of = ["A"] * 3 + ["B"] * 3 + ["C"] * 3
    households = [500, 800, 1200, 300, 650, 400, 900, 200, 350]
    residences = gpd.GeoDataFrame(
        {
            "residence_id": [f"R{i + 1}" for i in range(9)],
            "name": [f"小区{i + 1}" for i in range(9)],
            "households": households,
            "population": [h * 2.6 for h in households],
            "circle_id": circle_of,
        },
        geometry=_to_wgs84(res_xy),
        crs=4326,
    )

    # outlets: every basic type near circle A, half of them near B, three near C;
    # quality types near A only (so A can be 品质型)
    outlet_rows = []
    basic = [c for c in codes if info[c].klass == "basic"]
    quality = [c for c in codes if info[c].klass == "quality"]
    for i, code in enumerate(basic):
        outlet_rows.append((code, (150.0 + 10 * i, 500.0)))
        if i % 2 == 0:
            outlet_rows.append((code, (1000.0, 700.0 + 10 * i)))
    for i, code in enumerate(quality):
        outlet_rows.append((code, (400.0, 300.0 + 40 * i)))
    for code in ("convenience_store", "breakfast", "pharmacy"):
        outlet_rows.append((code, (1750.0, 1400.0)))
    outlets = gpd.GeoDataFrame(
        {
            "outlet_id": [f"O{i + 1}" for i in range(len(outlet_rows))],
            "name": [f"{info[c].name_zh}{i + 1}" for i, (c, _) in enumerate(outlet_rows)],
            "category": [c for c, _ in outlet_rows],
            "category_zh": [info[c].name_zh for c, _ in outlet_rows],
            "class": [info[c].klass for c, _ in outlet_rows],
            "is_chain": pd.array([i % 3 == 0 for i in range(len(outlet_rows))], dtype="boolean"),
        },
        geometry=_to_wgs84([xy for _, xy in outlet_rows]),
        crs=4326,
    )
    result = compute_access(network, outlets, residences, categories=codes)
    access = result.to_pandas()

    # circles: the hull of their residences, buffered by 150 m
    geoms = []
    for cid in ("A", "B", "C"):
        pts = [shapely.Point(xy) for xy, c in zip(res_xy, circle_of, strict=True) if c == cid]
        geoms.append(shapely.MultiPoint(pts).convex_hull.buffer(150.0))
    circles = gpd.GeoDataFrame(
        {
            "circle_id": ["A", "B", "C"],
            "name": ["钟楼生活圈", "鼓楼生活圈", "西大街生活圈"],
            "n_residences": [3, 3, 3],
            "households": [2500, 1350, 1450],
            "population": [6500.0, 3510.0, 3770.0],
        },
        geometry=gpd.GeoSeries(
            [shapely.affinity.translate(g, 500_000.0, 3_790_000.0) for g in geoms],
            crs=SYNTHETIC_CRS,
        ).to_crs(4326),
        crs=4326,
    )

    evidence, merged = evidence_from_access(access, residences)

    counts = (
        evidence[evidence["present"]].groupby(["circle_id", "class"]).size().unstack(fill_value=0)
    )
    grades = pd.DataFrame(
        {
            "circle_id": ["A", "B", "C"],
            "name": ["钟楼生活圈", "鼓楼生活圈", "西大街生活圈"],
            "grade": ["品质型", "基础型", "未达标"],
            "households": [2500, 1350, 1450],
            "n_basic": [int(counts.get("basic", pd.Series()).get(c, 0)) for c in "ABC"],
            "n_quality": [int(counts.get("quality", pd.Series()).get(c, 0)) for c in "ABC"],
            "core_missing": ["", "", "菜市场;维修点;邮政快递综合服务点（快递公共取送点）"],
            "next_grade": [None, "提升型", "基础型"],
            "missing_for_next_grade": [
                "",
                "品质提升类业态还差 10 种（现有 0 种，需 10 种）；服务评价得分需 ≥ 70（现为 65）",
                "核心业态缺少：菜市场、维修点、邮政快递综合服务点（快递公共取送点）；基本保障类业态还差 7 种",
            ],
            "missing_for_next_grade_en": [
                "",
                "10 more quality types (has 0, needs 10); evaluation score ≥ 70 (is 65)",
                "core types missing: wet market, repair point, post and parcel point; 7 more basic types",
            ],
            "evaluation_score": [88.0, 65.0, np.nan],
            "satisfaction_rate": [0.93, 0.85, np.nan],
        }
    )
    grades["grade_en"] = grades["grade"].map(GRADE_EN)

    kpis = pd.DataFrame(
        {
            "scope": ["city"] * 5,
            "kpi": [
                "share_circles_basic_or_better",
                "chain_store_share",
                "satisfaction_rate",
                "outlets_per_10k_residents",
                "service_area_per_100_households",
            ],
            "kpi_zh": [
                "达到基础型及以上的生活圈比例",
                "品牌连锁便利店比例",
                "居民满意度",
                "每万人网点数",
                "每百户社区综合服务设施面积",
            ],
            "value": [2 / 3, 0.24, 0.91, 38.5, np.nan],
            "target": [1.0, 0.30, 0.90, np.nan, 30.0],
            "unit": ["share", "share", "share", "个/万人", "m²/百户"],
            "meets": pd.array([False, False, True, None, None], dtype="boolean"),
            "source": ["P", "V2", "V2", None, "V2"],
        }
    )

    lacking = merged[~merged["covered"]]
    blind_spots = pd.DataFrame(
        {
            "residence_id": lacking["residence_id"].to_numpy(),
            "circle_id": lacking["circle_id"].to_numpy(),
            "category": lacking["category"].to_numpy(),
            "category_zh": lacking["category_zh"].to_numpy(),
            "households": lacking["households"].to_numpy(),
            "nearest_min": lacking["nearest_min"].to_numpy(),
        }
    )

    satisfaction = pd.DataFrame(
        {
            "circle_id": ["A", "B", "city"],
            "n_valid": [120, 80, 200],
            "n_satisfied": [112, 68, 180],
            "rate": [112 / 120, 68 / 80, 0.9],
            "ci_low": [0.874, 0.755, 0.851],
            "ci_high": [0.966, 0.913, 0.935],
            "below_target": [False, True, False],
        }
    )
    evaluation = pd.DataFrame(
        {
            "circle_id": ["A", "B"],
            "score": [88.0, 65.0],
            "规划布局": [27.0, 20.0],
            "规范经营": [18.0, 12.0],
        }
    )
    snapshot = {
        "date": "2026-11-22",
        "software_version": "0.1.0",
        "rulebook_version": "default-2026.11 (P)",
        "catalogue_version": cat.version,
        "inputs": {
            "network": "synthetic grid",
            "outlets.csv": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        },
        "parameters": {"walk_speed_kmh": 4.2, "coverage_share": 0.5, "bands_min": [5, 10, 15]},
    }
    return Assessment(
        city="西安示例城区",
        network=network,
        outlets=outlets,
        residences=result.residences.assign(circle_id=circle_of)
        if "circle_id" not in result.residences
        else result.residences,
        circles=circles,
        access=access,
        grades=grades,
        evidence=evidence,
        kpis=kpis,
        blind_spots=blind_spots,
        satisfaction=satisfaction,
        evaluation=evaluation,
        snapshot=snapshot,
    )


def evidence_from_access(
    access: pd.DataFrame, residences: gpd.GeoDataFrame, share: float = 0.5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 有没有 table (circle × 业态) and the residence × 业态 coverage, from an access table."""
    cat = load_catalogue()
    info = {c.code: c for c in cat.categories}
    codes = list(info)
    # evidence (circle × 业态) from the access table
    band = {c: float(info[c].tier_min or cat.band_minutes(c)) for c in codes}
    merged = access.merge(
        residences[["residence_id", "circle_id", "households"]], on="residence_id"
    )
    merged["band_min"] = merged["category"].map(band)
    merged["covered"] = merged["nearest_min"].le(merged["band_min"])
    merged["count_within"] = np.where(
        merged["band_min"] <= 5,
        merged["n_5min"],
        np.where(merged["band_min"] <= 10, merged["n_10min"], merged["n_15min"]),
    )
    merged["hh_cov"] = merged["households"] * merged["covered"]
    grouped = merged.groupby(["circle_id", "category"], sort=False)
    evidence = grouped.agg(
        category_zh=("category_zh", "first"),
        band_min=("band_min", "first"),
        hh_cov=("hh_cov", "sum"),
        hh=("households", "sum"),
        residences_covered_share=("covered", "mean"),
        nearest_min_median=("nearest_min", "median"),
        count_within_band_median=("count_within", "median"),
    ).reset_index()
    evidence["households_covered_share"] = evidence["hh_cov"] / evidence["hh"]
    evidence["class"] = evidence["category"].map(lambda c: info[c].klass)
    evidence["present"] = evidence["households_covered_share"] >= share
    evidence = evidence[
        [
            "circle_id",
            "category",
            "category_zh",
            "class",
            "band_min",
            "present",
            "households_covered_share",
            "residences_covered_share",
            "nearest_min_median",
            "count_within_band_median",
        ]
    ]

    return evidence, merged

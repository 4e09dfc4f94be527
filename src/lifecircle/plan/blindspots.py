"""Blind spots (盲区): who lacks which 业态 on foot, by circle and district, and as a map layer.

The residence × 业态 rows come from :func:`lifecircle.assess.blind_spots` (a residence lacks a
业态 when no outlet of it is within the 业态's band along the network); here they are counted
per circle or district and turned into a point layer for maps.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from lifecircle.errors import InputError, Problem

if TYPE_CHECKING:
    from lifecircle.taxonomy import Catalogue

__all__ = ["SUMMARY_COLUMNS", "blind_spot_layer", "blind_spot_summary"]

log = logging.getLogger(__name__)

#: Columns of :func:`blind_spot_summary` after the group column.
SUMMARY_COLUMNS = (
    "category",
    "category_zh",
    "class",
    "band_min",
    "n_residences",
    "n_lacking",
    "households",
    "households_lacking",
    "share_lacking",
)


def _assessed(residences: pd.DataFrame) -> pd.DataFrame:
    """Residences on the walking network (``status == 'ok'`` when the column is there)."""
    res = pd.DataFrame(residences.drop(columns="geometry", errors="ignore")).copy()
    if "status" in res.columns:
        res = res.loc[(res["status"] == "ok").to_numpy()]
    res["residence_id"] = res["residence_id"].astype(str)
    return res.drop_duplicates("residence_id")


def _group_of(
    res: pd.DataFrame,
    residences: pd.DataFrame,
    by: str,
    circles: pd.DataFrame | None,
    districts: gpd.GeoDataFrame | None,
    district_name: str,
) -> pd.Series:
    if by == "circle":
        if "circle_id" not in res.columns:
            raise InputError(
                Problem(
                    "residences have no circle_id",
                    field="circle_id",
                    fix="use the residences of an Assessment, or assign circles first",
                ),
                "blind spots",
            )
        return res["circle_id"].astype("string")
    if by != "district":
        if by not in res.columns:
            raise InputError(
                Problem(
                    f"column {by!r} is not on the residences",
                    field=by,
                    fix="group by 'circle', 'district' or an existing column",
                ),
                "blind spots",
            )
        return res[by].astype("string")
    if districts is not None:
        if not isinstance(residences, gpd.GeoDataFrame):
            raise InputError(
                "districts from boundaries need the residences' geometry (a GeoDataFrame)",
                "blind spots",
            )
        if district_name not in districts.columns:
            raise InputError(
                Problem(
                    f"the district layer has no column {district_name!r} "
                    f"(columns: {', '.join(map(str, districts.columns))})",
                    field=district_name,
                    fix="pass district_name= the column with the district/street names",
                ),
                "districts",
            )
        pts = gpd.GeoDataFrame(
            {"residence_id": residences["residence_id"].astype(str).to_numpy()},
            geometry=residences.geometry.to_numpy(),
            crs=residences.crs,
        )
        joined = gpd.sjoin(pts, districts[[district_name, "geometry"]].to_crs(pts.crs),
                           how="left", predicate="within")  # fmt: skip
        joined = joined.drop_duplicates("residence_id").set_index("residence_id")
        return res["residence_id"].map(joined[district_name]).astype("string")
    if "district" in res.columns:
        return res["district"].astype("string")
    if circles is not None and "district" in circles.columns and "circle_id" in res.columns:
        lookup = circles.set_index(circles["circle_id"].astype(str))["district"]
        return res["circle_id"].astype(str).map(lookup).astype("string")
    raise InputError(
        Problem(
            "no districts: the residences and circles have no 'district' column and no "
            "district boundaries were given",
            field="district",
            fix="pass districts= a polygon layer with the district/street names",
        ),
        "blind spots",
    )


def blind_spot_summary(
    spots: pd.DataFrame,
    residences: pd.DataFrame,
    *,
    by: str = "circle",
    circles: pd.DataFrame | None = None,
    districts: gpd.GeoDataFrame | None = None,
    district_name: str = "name",
    catalogue: Catalogue | None = None,
    weights: Any = "households",
) -> pd.DataFrame:
    """Blind spots counted per circle, district/street or any residence column, per 业态.

    Parameters
    ----------
    spots
        The blind-spot rows (``Assessment.blind_spots``).
    residences
        The residences (``Assessment.residences``: ``residence_id``, ``circle_id``,
        ``households``, ``status``); those not on the network are left out.
    by
        ``circle``, ``district`` (from ``districts`` polygons, or a ``district`` column of the
        residences or the circles) or a residence column.
    circles
        The circles (for their districts).
    districts
        District/street boundaries with a name column ``district_name``.
    catalogue
        For the 业态 names and bands (default: bundled).
    weights
        Household column (unknown households are filled with the median, as in planning).

    Returns
    -------
    DataFrame
        ``circle_id`` (or ``district``, or the column) and :data:`SUMMARY_COLUMNS`: residences
        and households in the group, those lacking the 业态, and the households' share lacking.

    Examples
    --------
    >>> import pandas as pd
    >>> res = pd.DataFrame({"residence_id": ["a", "b"], "circle_id": ["C1", "C1"],
    ...                     "households": [100, 300]})
    >>> spots = pd.DataFrame({"residence_id": ["b"], "category": ["pharmacy"]})
    >>> out = blind_spot_summary(spots, res)
    >>> row = out.set_index("category").loc["pharmacy"]
    >>> int(row["n_lacking"]), float(row["share_lacking"])
    (1, 0.75)
    """
    from lifecircle.plan.coverage import demand_weights
    from lifecircle.taxonomy import load_catalogue

    cat = catalogue if catalogue is not None else load_catalogue()
    res = _assessed(residences)
    key = "circle_id" if by == "circle" else by
    group = _group_of(res, residences, by, circles, districts, district_name)
    res = res.assign(_group=group.to_numpy(), _w=demand_weights(res, weights))
    res = res.loc[res["_group"].notna()]
    meta = cat.to_frame().set_index("code")
    codes = cat.codes()
    sizes = res.groupby("_group", sort=True).agg(n=("_w", "size"), hh=("_w", "sum"))
    sp = pd.DataFrame(spots)[["residence_id", "category"]].astype(str)
    sp = sp.merge(res[["residence_id", "_group", "_w"]], on="residence_id", how="inner")
    lack = sp.groupby(["_group", "category"], sort=False).agg(
        n_lacking=("_w", "size"), households_lacking=("_w", "sum")
    )
    full = pd.MultiIndex.from_product([sizes.index, codes], names=["_group", "category"])
    lack = lack.reindex(full).fillna(0.0)
    out = pd.DataFrame(
        {
            key: full.get_level_values(0).astype(str),
            "category": full.get_level_values(1),
        }
    )
    out["category_zh"] = out["category"].map(meta["name_zh"])
    out["class"] = out["category"].map(meta["class"])
    out["band_min"] = out["category"].map(meta["band_minutes"]).astype(np.float64)
    out["n_residences"] = sizes["n"].reindex(full.get_level_values(0)).to_numpy(dtype=np.int64)
    out["n_lacking"] = lack["n_lacking"].to_numpy(dtype=np.int64)
    out["households"] = sizes["hh"].reindex(full.get_level_values(0)).to_numpy(dtype=np.float64)
    out["households_lacking"] = lack["households_lacking"].to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_lacking"] = np.where(
            out["households"] > 0, out["households_lacking"] / out["households"], np.nan
        )
    return out[[key, *SUMMARY_COLUMNS]].reset_index(drop=True)


def blind_spot_layer(
    spots: pd.DataFrame,
    residences: gpd.GeoDataFrame,
    *,
    category: str | None = None,
    catalogue: Catalogue | None = None,
) -> gpd.GeoDataFrame:
    """A point layer of the residences lacking 业态, for maps.

    Parameters
    ----------
    spots
        The blind-spot rows.
    residences
        The residences with geometry (any CRS; the layer is WGS-84).
    category
        Only this 业态 (code or name); default: every 业态.

    Returns
    -------
    GeoDataFrame
        One row per residence lacking at least one (or the given) 业态: ``residence_id, name,
        circle_id, households, n_missing, missing`` (Chinese names joined by ``、``,
        ``missing_codes`` the codes joined by ``;``), points in WGS-84.
    """
    from lifecircle.taxonomy import load_catalogue

    cat = catalogue if catalogue is not None else load_catalogue()
    sp = pd.DataFrame(spots)[["residence_id", "category"]].astype(str)
    if category is not None:
        from lifecircle.plan.sites import resolve_category

        sp = sp.loc[sp["category"] == resolve_category(category, cat)]
    if residences.crs is None:
        raise InputError("the residences have no CRS; declare it", "residences")
    res = residences.to_crs(4326)
    res = res.assign(residence_id=res["residence_id"].astype(str))
    order = {c: i for i, c in enumerate(cat.codes())}
    names = cat.to_frame().set_index("code")["name_zh"]
    sp = sp.assign(_o=sp["category"].map(order)).sort_values(["residence_id", "_o"], kind="stable")
    grouped = sp.groupby("residence_id", sort=False)["category"]
    agg = pd.DataFrame(
        {
            "n_missing": grouped.size(),
            "missing": grouped.agg(lambda s: "、".join(names.get(c, c) for c in s)),
            "missing_codes": grouped.agg(";".join),
        }
    )
    out = res.loc[res["residence_id"].isin(agg.index)].copy()
    for col in ("name", "circle_id", "households"):
        if col not in out.columns:
            out[col] = np.nan
    out = out[["residence_id", "name", "circle_id", "households", "geometry"]]
    out = out.join(agg, on="residence_id")
    cols = ["residence_id", "name", "circle_id", "households", "n_missing", "missing",
            "missing_codes", "geometry"]  # fmt: skip
    return gpd.GeoDataFrame(out[cols].reset_index(drop=True), geometry="geometry", crs=4326)

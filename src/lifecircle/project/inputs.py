"""Reading a city's inputs from its :class:`~lifecircle.project.spec.CitySpec`.

:func:`read_inputs` is the one way every command reads a city: the network, outlets and
residences (with the readers of :mod:`lifecircle.ingest`), the entrances, the study area and the
district levels.  It then

* clips outlets and residences to the study area and keeps the network to the study area plus a
  buffer of the longest walk (so walks that start near the edge stay exact);
* places every residence and outlet in its district at each level (``district:<level>``);
* applies the household policy (:class:`~lifecircle.project.spec.HouseholdPolicy`): outlier
  counts are treated as unknown unless confirmed, unknown counts are estimated by the median of
  the known ones (or left out), and ``households_source`` says which count each residence has.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from lifecircle.errors import CRSError, InputError, Problem, Problems
from lifecircle.project.spec import AreaSpec, CitySpec, HouseholdPolicy

if TYPE_CHECKING:
    import geopandas as gpd

    from lifecircle.assess import Rulebook
    from lifecircle.network import WalkNetwork
    from lifecircle.taxonomy import Catalogue

__all__ = [
    "CityInputs",
    "HouseholdFigures",
    "access_parameters",
    "apply_household_policy",
    "district_column",
    "inputs_from_frames",
    "load_city_rulebook",
    "read_area",
    "read_entrances",
    "read_inputs",
]

log = logging.getLogger(__name__)

#: Values of ``households_source``.
KNOWN, ESTIMATED, OUTLIER = "known", "estimated", "outlier"


def district_column(level: str) -> str:
    """Column holding the district of a level (``district:区``)."""
    return f"district:{level}"


@dataclass(frozen=True)
class HouseholdFigures:
    """The household policy as applied: what every output states about households.

    Attributes
    ----------
    method
        ``"median"`` or ``"none"``.
    fill_value
        Households given to a residence with an unknown count (NaN with ``"none"``).
    n_known, n_estimated, n_outliers
        Residences with a known count, with an estimated one, and outliers among the estimated.
    households_known, households_estimated
        Sums of the known and of the estimated counts.
    outlier_ids
        Residences whose count was an outlier (and not confirmed).
    """

    method: str
    fill_value: float
    n_known: int
    n_estimated: int
    n_outliers: int
    households_known: float
    households_estimated: float
    outlier_ids: tuple[str, ...] = ()

    def describe(self) -> str:
        """One sentence for logs and reports (English)."""
        if self.method == "none":
            return (
                f"households: {self.n_known} residences with a known count "
                f"({self.households_known:,.0f}); {self.n_estimated} unknown, left out of "
                "household-weighted figures"
            )
        return (
            f"households: {self.n_known} residences with a known count "
            f"({self.households_known:,.0f}); {self.n_estimated} estimated at the median "
            f"{self.fill_value:,.0f} ({self.households_estimated:,.0f})"
            + (f", of which {self.n_outliers} outliers" if self.n_outliers else "")
        )


def apply_household_policy(
    residences: gpd.GeoDataFrame, policy: HouseholdPolicy
) -> tuple[gpd.GeoDataFrame, HouseholdFigures]:
    """Outliers, estimates and ``households_source`` for every residence (see the module doc).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> res = gpd.GeoDataFrame({"residence_id": list("abcd"),
    ...                         "households": [100.0, None, 300.0, 2_008_042.0],
    ...                         "population": [262.0, None, 786.0, 5_261_070.0],
    ...                         "population_estimated": [True] * 4},
    ...                        geometry=[shapely.Point(0, 0)] * 4, crs=4326)
    >>> out, figures = apply_household_policy(res, HouseholdPolicy())
    >>> out["households"].tolist(), out["households_source"].tolist()
    ([100.0, 200.0, 300.0, 200.0], ['known', 'estimated', 'known', 'outlier'])
    >>> figures.households_known, figures.households_estimated
    (400.0, 400.0)
    """
    out = residences.copy()
    ids = out["residence_id"].astype(str).to_numpy()
    hh = pd.to_numeric(out.get("households"), errors="coerce")
    hh = np.asarray(hh if hh is not None else np.full(len(out), np.nan), dtype=np.float64)
    known = np.isfinite(hh) & (hh > 0)
    confirmed = np.isin(ids, list(policy.confirmed))
    outlier = known & (hh > policy.max) & ~confirmed
    logs = np.log(np.where(known & ~outlier, hh, np.nan))
    if np.isfinite(logs).sum() >= 10:
        mu, sd = float(np.nanmean(logs)), float(np.nanstd(logs))
        with np.errstate(invalid="ignore"):
            outlier |= (
                known & ~confirmed & (np.log(np.where(known, hh, 1.0)) > mu + policy.sigma * sd)
            )
    good = known & ~outlier
    fill = float(np.median(hh[good])) if policy.fill == "median" and good.any() else np.nan
    if policy.fill == "median" and not good.any():
        fill = np.nan
    new = np.where(good, hh, fill)
    source = np.where(good, KNOWN, np.where(outlier, OUTLIER, ESTIMATED)).astype(object)
    out["households"] = new
    out["households_source"] = source
    out["households_estimated"] = ~good
    if "population" in out.columns:
        size = float(out.attrs.get("household_size", 2.62))
        pop = pd.to_numeric(out["population"], errors="coerce").to_numpy(dtype=np.float64)
        derived = (
            out["population_estimated"].to_numpy(dtype=bool)
            if "population_estimated" in out.columns
            else np.zeros(len(out), bool)
        )
        # population derived from households follows the household policy
        redo = derived | ~np.isfinite(pop) | outlier
        out["population"] = np.where(redo, new * size, pop)
        out["population_estimated"] = redo
    figures = HouseholdFigures(
        method=policy.fill,
        fill_value=fill,
        n_known=int(good.sum()),
        n_estimated=int((~good).sum()),
        n_outliers=int(outlier.sum()),
        households_known=float(hh[good].sum()),
        households_estimated=float(np.nansum(new[~good])),
        outlier_ids=tuple(ids[outlier].tolist()),
    )
    if figures.n_outliers:
        log.warning(
            "%d residences have implausible household counts and are estimated instead "
            "(first: %s); confirm real ones with households.confirmed in the city file",
            figures.n_outliers,
            ", ".join(figures.outlier_ids[:5]),
        )
    return out, figures


def load_city_rulebook(spec: CitySpec, catalogue: Catalogue | None = None) -> Rulebook:
    """The city's rulebook: preset or file, with ``rulebook_overrides`` merged on top."""
    from lifecircle.assess import PRESETS, load_rulebook

    overrides = dict(spec.rulebook_overrides) if spec.rulebook_overrides else None
    if spec.rulebook is None or spec.rulebook in PRESETS:
        return load_rulebook(preset=spec.rulebook, catalogue=catalogue, overrides=overrides)
    return load_rulebook(Path(spec.rulebook), catalogue=catalogue, overrides=overrides)


def access_parameters(
    catalogue: Catalogue,
    rulebook: Rulebook,
    walk_speed: float | str,
    bands: tuple[float, ...] = (5.0, 10.0, 15.0),
) -> dict[str, Any]:
    """The keyword arguments of ``compute_access`` for an assessment: every band the
    catalogue and the rulebook use besides ``bands``."""
    all_bands = sorted({*map(float, bands), *catalogue.bands.values(), *rulebook.bands_min()})
    return {
        "categories": catalogue.codes(),
        "category_names": {c.code: c.name_zh for c in catalogue.categories},
        "walk_speed": walk_speed,
        "bands_min": all_bands,
    }


def _to_wgs84_geometry(geoms: np.ndarray, crs: str) -> np.ndarray:
    from lifecircle.geo import to_wgs84

    if crs == "wgs84":
        return geoms

    def convert(xy: np.ndarray) -> np.ndarray:
        x, y = to_wgs84(xy[:, 0], xy[:, 1], crs)
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, convert))


def read_area(area: AreaSpec, what: str) -> gpd.GeoDataFrame:
    """A polygon layer in WGS-84 with a ``name`` column (districts), from its declared CRS.

    Raises
    ------
    InputError
        A file that cannot be read, no polygon, a missing name field, unnamed districts.
    """
    import geopandas as gpd

    from lifecircle.geo import parse_crs_name

    crs = parse_crs_name(area.crs)
    frames = []
    items = area.path.items() if isinstance(area.path, dict) else [(None, area.path)]
    found = Problems()
    for name, path in items:
        try:
            frame = gpd.read_file(path, layer=area.layer) if area.layer else gpd.read_file(path)
        except Exception as exc:
            raise InputError(
                Problem(
                    f"cannot read the polygons ({exc})",
                    file=str(path),
                    fix="give a GeoJSON, GeoPackage or Shapefile of polygons",
                ),
                what,
            ) from None
        if frame.crs is not None and not frame.crs.equals(4326) and frame.crs.is_projected:
            frame = frame.to_crs(4326)  # a projected file: its own CRS is the truth
            crs = "wgs84"
        kinds = frame.geometry.geom_type.fillna("None")
        bad = ~kinds.isin(["Polygon", "MultiPolygon"])
        for row in np.flatnonzero(bad.to_numpy()):
            found.add(
                f"geometry is {kinds.iat[row]}, not a polygon",
                row=int(row) + 1,
                field="geometry",
                fix="give areas as polygons",
            )
        frame = frame.loc[~bad.to_numpy()]
        if name is not None:
            merged = shapely.union_all(frame.geometry.to_numpy())
            frame = gpd.GeoDataFrame({"name": [name]}, geometry=[merged], crs=4326)
        elif area.name_field is not None:
            if area.name_field not in frame.columns:
                raise InputError(
                    Problem(
                        f"field '{area.name_field}' not found (fields: "
                        f"{', '.join(c for c in frame.columns if c != 'geometry')})",
                        file=str(path),
                        field="name_field",
                        fix=f"set {what}.name_field to the field holding the names",
                    ),
                    what,
                )
            frame = frame.assign(name=frame[area.name_field].astype("string"))
        else:
            frame = frame.assign(name=pd.array([None] * len(frame), dtype="string"))
        frames.append(frame[["name", "geometry"]])
    found.raise_if_any(what)
    out = pd.concat(frames, ignore_index=True)
    geoms = _to_wgs84_geometry(out.geometry.to_numpy(), crs)
    result = gpd.GeoDataFrame({"name": out["name"].to_numpy()}, geometry=list(geoms), crs=4326)
    if not len(result):
        raise InputError(Problem("no polygon", file=str(area.files()[0])), what)
    x0, y0, x1, y1 = result.total_bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise CRSError(
            Problem(
                f"coordinates out of longitude/latitude range ({x0:.0f}, {y0:.0f}, {x1:.0f}, "
                f"{y1:.0f})",
                file=str(area.files()[0]),
                fix="give the file in longitude/latitude, or with its projected CRS declared",
            ),
            what,
        )
    return result


def read_entrances(layer: Any, network: WalkNetwork) -> gpd.GeoDataFrame:
    """Entrances (小区出入口) of a :class:`~lifecircle.project.spec.LayerSpec`: points with
    ``residence_id``, in WGS-84, from CSV (lon/lat columns) or a vector file."""
    import geopandas as gpd

    from lifecircle.geo import parse_crs_name
    from lifecircle.ingest import _tables as t

    opts = dict(layer.options)
    rid = opts.pop("residence_id", None)
    table = t.read_table(
        layer.path, what="entrances", encoding=opts.get("encoding"), layer=opts.get("layer")
    )
    column = rid or t.find_column(table.frame.columns, ["residence_id", "小区id", "xiaoqu_id"])
    problems = Problems(file=table.file)
    if column is None or column not in table.frame.columns:
        problems.add(
            f"no residence id column (columns: {', '.join(map(str, table.frame.columns))})",
            field=rid or "residence_id",
            fix="name the column with entrances.residence_id (--entrances-id) or call it "
            "residence_id",
        )
        problems.raise_if_any("entrances")
    points = t.start_points(
        table,
        what="entrances",
        crs=parse_crs_name(opts.get("crs", "wgs84")),
        lon=opts.get("lon"),
        lat=opts.get("lat"),
        id_column=None,
        id_candidates=("entrance_id", "id"),
        on_missing="error",
    )
    done = t.finish_points(
        points, what="entrances", network=network, max_outside_m=2000.0, on_outside="error"
    )
    keep = done.keep
    ids = t.text_column(table.frame, column)[keep]
    return gpd.GeoDataFrame(
        {"residence_id": ids.astype(str)},
        geometry=gpd.points_from_xy(done.lon[keep], done.lat[keep]),
        crs=4326,
    )


@dataclass
class CityInputs:
    """A city's inputs as read, clipped and completed (what the access step needs).

    Attributes
    ----------
    spec
        The city.
    network, outlets, residences, entrances
        The layers (outlets and residences clipped to the study area; WGS-84 points).
    boundary
        The study area (WGS-84 polygon), or ``None``.
    districts
        Level → districts (``name``, WGS-84 geometry), largest level first.
    households
        The household policy as applied.
    counts
        ``outlets_read, outlets_outside_area, residences_read, residences_outside_area``.
    access_kwargs
        What ``compute_access`` will be asked for (categories, bands, speed).
    duplicates
        Outlets merged as duplicates (``kept_id, merged_id, name, distance_m``).
    outlet_groups
        The source group of every outlet row of the file (for the truncation check), or
        ``None`` when the file has no group column.
    warnings
        Warnings raised while reading (text).
    timings
        Seconds per step.
    """

    spec: CitySpec
    network: WalkNetwork
    outlets: gpd.GeoDataFrame
    residences: gpd.GeoDataFrame
    entrances: gpd.GeoDataFrame | None
    boundary: Any
    districts: dict[str, gpd.GeoDataFrame]
    households: HouseholdFigures
    counts: dict[str, int]
    access_kwargs: dict[str, Any]
    duplicates: pd.DataFrame = field(default_factory=pd.DataFrame)
    outlet_groups: pd.Series | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def levels(self) -> list[str]:
        """District levels, largest first."""
        return list(self.districts)


@contextmanager
def recording_warnings(into: list[str], *, reemit: bool = True) -> Iterator[None]:
    """Collect warnings as text (for logs and run records); with ``reemit`` they then go on to
    the caller's filters too, else they stop here (a batch worker records them only)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                text = f"{w.category.__name__}: {w.message}"
                if text not in into:
                    into.append(text)
    for w in caught if reemit else ():
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _in_area(points: gpd.GeoDataFrame, area: Any) -> np.ndarray:
    if area is None or not len(points):
        return np.ones(len(points), dtype=bool)
    shapely.prepare(area)
    return np.asarray(shapely.intersects(area, points.geometry.to_numpy()), dtype=bool)


def place_in_districts(
    frame: gpd.GeoDataFrame, districts: dict[str, gpd.GeoDataFrame]
) -> gpd.GeoDataFrame:
    """Add ``district:<level>`` (the district each point lies in, else missing) per level."""
    out = frame
    for level, polys in districts.items():
        tree = shapely.STRtree(polys.geometry.to_numpy())
        pts = frame.geometry.to_numpy()
        pi, di = tree.query(pts, predicate="intersects")
        order = np.lexsort((di, pi))
        pi, di = pi[order], di[order]
        first = np.unique(pi, return_index=True)[1]
        names = np.full(len(frame), None, dtype=object)
        names[pi[first]] = polys["name"].to_numpy()[di[first]]
        out = out.assign(**{district_column(level): pd.array(names, dtype="string")})
    return out


def read_inputs(spec: CitySpec, *, progress: bool = False) -> CityInputs:
    """Read, clip and complete a city's inputs (see the module docstring).

    Parameters
    ----------
    spec
        The city (:func:`~lifecircle.project.load_city_file`).
    progress
        Log each step at INFO (the CLI shows them with ``-v``).

    Returns
    -------
    CityInputs

    Raises
    ------
    InputError
        From the readers: every problem of a layer, with file, row, field and fix; a study area
        that holds no outlet or no residence.
    """
    from lifecircle.ingest import read_network, read_residences
    from lifecircle.taxonomy import load_catalogue

    caught: list[str] = []
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with recording_warnings(caught):
        boundary = None
        buffer_m = 0.0
        catalogue = load_catalogue()
        book = load_city_rulebook(spec, catalogue)
        kwargs = access_parameters(catalogue, book, spec.walk_speed, spec.bands)
        if spec.boundary is not None:
            area = read_area(spec.boundary, "boundary")
            boundary = shapely.union_all(area.geometry.to_numpy())
            from lifecircle.access import walk_speed_m_per_min

            longest = max(kwargs["bands_min"]) * walk_speed_m_per_min(spec.walk_speed)
            buffer_m = spec.boundary.buffer_m if spec.boundary.buffer_m is not None else longest
        net_opts = dict(spec.network.options)
        net = read_network(spec.network.path, **net_opts)
        timings["network"] = time.perf_counter() - t0
        t = time.perf_counter()
        on_outside = {} if boundary is None else {"on_outside": "drop"}
        outlets = _read_outlet_sources(spec, net, on_outside)
        residences = read_residences(
            spec.residences.path, network=net, **{**on_outside, **dict(spec.residences.options)}
        )
        timings["layers"] = time.perf_counter() - t
        counts = {
            "outlets_read": len(outlets) + len(outlets.attrs.get("dropped_outside_ids", [])),
            "residences_read": len(residences)
            + len(residences.attrs.get("dropped_outside_ids", [])),
        }
        inside_o = _in_area(outlets, boundary)
        inside_r = _in_area(residences, boundary)
        counts["outlets_outside_area"] = counts["outlets_read"] - int(inside_o.sum())
        counts["residences_outside_area"] = counts["residences_read"] - int(inside_r.sum())
        outlets = _keep(outlets, inside_o)
        residences = _keep(residences, inside_r)
        from lifecircle.project.audit import merge_duplicate_outlets

        outlets, duplicates = merge_duplicate_outlets(outlets, spec.audit.duplicate_m)
        if boundary is not None:
            net = _clip_network(net, boundary, buffer_m)
            log.info(
                "study area: %d of %d outlets, %d of %d residences inside; network kept to the "
                "area + %.0f m (%d edges)",
                len(outlets),
                counts["outlets_read"],
                len(residences),
                counts["residences_read"],
                buffer_m,
                net.n_edges,
            )
        problems = Problems(file=str(spec.source) if spec.source else None)
        for what, frame in (("outlets", outlets), ("residences", residences)):
            if not len(frame):
                problems.add(
                    f"no {what} left inside the study area",
                    field=f"{what}",
                    fix="check the boundary file and its crs (boundary.crs), and the "
                    f"{what} coordinates and crs ({what}.crs)",
                )
        problems.raise_if_any("city")
        districts: dict[str, gpd.GeoDataFrame] = {}
        for level in spec.districts:
            districts[level.level] = read_area(level, f"districts ({level.level})")
        outlets = place_in_districts(outlets, districts)
        residences = place_in_districts(residences, districts)
        residences, figures = apply_household_policy(residences, spec.households)
        entrances = read_entrances(spec.entrances, net) if spec.entrances is not None else None
    timings["total"] = time.perf_counter() - t0
    log.info("%s", figures.describe())
    return CityInputs(
        spec, net, outlets, residences, entrances, boundary, districts, figures, counts, kwargs,
        duplicates, _outlet_groups(spec), caught, {k: round(v, 3) for k, v in timings.items()},
    )  # fmt: skip


def _outlet_groups(spec: CitySpec) -> pd.Series | None:
    """The source-group column of the outlets file (query word, source file), if it has one."""
    from lifecircle.ingest import _tables as t
    from lifecircle.project.audit import GROUP_CANDIDATES

    path = spec.outlets.path
    if t.is_pbf(path):
        return None
    opts = spec.outlets.options
    table = t.read_table(
        path,
        what="outlets",
        encoding=opts.get("encoding"),
        layer=opts.get("layer"),
        where=opts.get("where"),
    )
    wanted = spec.audit.group_column
    column = wanted if wanted in table.frame.columns else None
    if column is None and wanted is None:
        column = t.find_column(table.frame.columns, GROUP_CANDIDATES)
    if column is None:
        return None
    return table.frame[column].astype("string").rename(column)


def inputs_from_frames(
    spec: CitySpec,
    network: WalkNetwork,
    outlets: gpd.GeoDataFrame,
    residences: gpd.GeoDataFrame,
) -> CityInputs:
    """:class:`CityInputs` of layers already read and final (no study area, no districts, no
    duplicate merging: access may have been computed on them), with the household policy."""
    from lifecircle.taxonomy import load_catalogue

    catalogue = load_catalogue()
    kwargs = access_parameters(
        catalogue, load_city_rulebook(spec, catalogue), spec.walk_speed, spec.bands
    )
    duplicates = pd.DataFrame(
        columns=["kept_id", "merged_id", "name", "distance_m", "kept_source", "merged_source"]
    )
    residences, figures = apply_household_policy(residences, spec.households)
    counts = {
        "outlets_read": len(outlets),
        "residences_read": len(residences),
        "outlets_outside_area": 0,
        "residences_outside_area": 0,
    }
    return CityInputs(
        spec, network, outlets, residences, None, None, {}, figures, counts, kwargs, duplicates
    )


def _read_outlet_sources(
    spec: CitySpec, network: WalkNetwork, on_outside: dict[str, str]
) -> gpd.GeoDataFrame:
    """The city's outlets: one layer, or every source in priority order with ``source_label``
    and ids prefixed by the label (``amap:B0FFG…``) so that they stay unique."""
    import geopandas as gpd

    from lifecircle.ingest import read_outlets

    sources = spec.outlet_sources or (spec.outlets,)
    frames = []
    for layer in sources:
        frame = read_outlets(layer.path, network=network, **{**on_outside, **dict(layer.options)})
        if len(sources) > 1:
            frame = frame.assign(
                outlet_id=str(layer.label) + ":" + frame["outlet_id"].astype(str),
                source_label=str(layer.label),
            )
        frames.append(frame)
    if len(frames) == 1:
        return frames[0]
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
    out.attrs.update(frames[0].attrs)
    out.attrs["dropped_outside_ids"] = [
        i for f in frames for i in f.attrs.get("dropped_outside_ids", [])
    ]
    out.attrs["sources"] = {str(s.label): len(f) for s, f in zip(sources, frames, strict=True)}
    return out


def _keep(frame: gpd.GeoDataFrame, mask: np.ndarray) -> gpd.GeoDataFrame:
    if mask.all():
        return frame
    attrs = dict(frame.attrs)
    out = frame.loc[mask].reset_index(drop=True)
    out.attrs.update(attrs)
    return out


def _clip_network(network: WalkNetwork, boundary: Any, buffer_m: float) -> WalkNetwork:
    """The edges that touch the study area grown by ``buffer_m`` (metres, network CRS)."""
    from lifecircle.geo import project_xy

    def to_net(xy: np.ndarray) -> np.ndarray:
        x, y = project_xy(xy[:, 0], xy[:, 1], 4326, network.crs)
        return np.column_stack([x, y])

    area = shapely.buffer(shapely.transform(boundary, to_net), buffer_m)
    shapely.prepare(area)
    keep = np.flatnonzero(shapely.intersects(area, network.edge_geometry))
    if keep.size == network.n_edges:
        return network
    return network.subnetwork(keep)

"""Static maps and charts (matplotlib, Agg, no tiles), projected to the network CRS in metres."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import shapely

from lifecircle.report._fonts import mpl_context
from lifecircle.report._labels import GRADE_ORDER, grade_label, text

if TYPE_CHECKING:
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from lifecircle.network import WalkNetwork

__all__ = [
    "CLASS_COLOURS",
    "GRADE_COLOURS",
    "Basemap",
    "CircleMapper",
    "chart_coverage",
    "chart_grades",
    "map_blind_spots",
    "map_districts",
    "map_grades",
    "map_outlets",
    "map_project_sites",
]

#: Fill colour of each grade (lowest red to highest dark green).
GRADE_COLOURS = {
    GRADE_ORDER[0]: "#9e9e9e",
    GRADE_ORDER[1]: "#d7301f",
    GRADE_ORDER[2]: "#fdbb84",
    GRADE_ORDER[3]: "#78c679",
    GRADE_ORDER[4]: "#238443",
}
#: Colour of each outlet class.
CLASS_COLOURS = {"basic": "#2171b5", "quality": "#e6550d"}
_NETWORK_GREY = "#9e9e9e"
#: Colour of the proposed sites on a circle map.
SITE_COLOUR = "#d62728"
#: Circles are labelled with their id on the grade map up to this many.
_MAX_LABELS = 120
_DPI = 150


def _figure(
    width_in: float, height_in: float, layout: Literal["constrained"] | None = "constrained"
) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path, dpi: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, facecolor="white", pil_kwargs={"compress_level": 3})
    return path


@dataclass
class Basemap:
    """The network drawn as line segments, split once and reused by every map.

    Attributes
    ----------
    network
        The walking network (projected CRS, metres).
    """

    network: WalkNetwork
    _coords: np.ndarray = field(init=False, repr=False)
    _starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        coords, index = shapely.get_coordinates(self.network.edge_geometry, return_index=True)
        self._coords = coords
        counts = np.bincount(index, minlength=self.network.n_edges)
        self._starts = np.concatenate([[0], np.cumsum(counts)])

    def lines(self, bbox: tuple[float, float, float, float] | None = None) -> list[np.ndarray]:
        """Edge coordinate arrays, all or those intersecting ``bbox`` (network CRS)."""
        if bbox is None:
            idx = np.arange(self.network.n_edges)
        else:
            idx = np.sort(self.network.edge_tree.query(shapely.box(*bbox)))
        starts = self._starts
        return [self._coords[starts[i] : starts[i + 1]] for i in idx]

    def draw(
        self,
        ax: Axes,
        bbox: tuple[float, float, float, float] | None = None,
        *,
        colour: str = _NETWORK_GREY,
        width: float = 0.35,
    ) -> None:
        """Draw the network on ``ax``."""
        from matplotlib.collections import LineCollection

        ax.add_collection(
            LineCollection(self.lines(bbox), colors=colour, linewidths=width, zorder=1)
        )


def _projected_xy(frame: gpd.GeoDataFrame, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """x, y of (a representative point of) each geometry in ``crs``."""
    if len(frame) == 0:
        return np.empty(0), np.empty(0)
    geoms = frame.geometry
    if frame.crs is not None and crs is not None:
        geoms = geoms.to_crs(crs)
    pts = geoms.values
    kinds = shapely.get_type_id(np.asarray(pts))
    if (kinds != 0).any():
        pts = shapely.point_on_surface(np.asarray(pts))
    xy = shapely.get_coordinates(np.asarray(pts))
    if xy.shape[0] != len(frame):  # empty geometries
        out = np.full((len(frame), 2), np.nan)
        ok = ~shapely.is_empty(np.asarray(pts))
        out[ok] = xy
        xy = out
    return xy[:, 0], xy[:, 1]


def _aspect(bbox: Sequence[float]) -> float:
    """Height / width of a bounding box, kept between 0.45 and 1.3 for page layout."""
    x0, y0, x1, y1 = bbox
    if x1 <= x0 or y1 <= y0:
        return 1.0
    return float(min(max((y1 - y0) / (x1 - x0), 0.45), 1.3))


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    choices = (20, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000)
    best = choices[0]
    for c in choices:
        if c <= target:
            best = c
    return float(best)


def _decorate(ax: Axes, lang: str, bbox: tuple[float, float, float, float]) -> None:
    """Equal aspect, no ticks, scale bar and north arrow."""
    x0, y0, x1, y1 = bbox
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#bbbbbb")
    width, height = x1 - x0, y1 - y0
    length = _nice_length(width)
    bx, by = x0 + 0.04 * width, y0 + 0.04 * height
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=2.5, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx + length / 2, by + 0.015 * height, label, ha="center", va="bottom", fontsize=7)
    ax.annotate(
        text("north", lang),
        xy=(0.96, 0.97),
        xytext=(0.96, 0.87),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=8,
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.0},
    )


def _padded(
    bounds: Sequence[float], pad_share: float = 0.04, min_pad: float = 0.0
) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(b) for b in bounds)
    pad = max((x1 - x0) * pad_share, (y1 - y0) * pad_share, min_pad)
    return (x0 - pad, y0 - pad, x1 + pad, y1 + pad)


def _sizes(households: pd.Series | np.ndarray, scale: float = 1.0) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(households), errors="coerce").astype("Float64")
    hh = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    hh = np.where(np.isfinite(hh) & (hh > 0), hh, 100.0)
    return np.clip(np.sqrt(hh) * 0.6 * scale, 3 * scale, 60 * scale)


def _outlet_classes(outlets: gpd.GeoDataFrame) -> pd.Series:
    """``basic``/``quality`` per outlet (from ``class``, else from the 业态 code), ``""`` if none."""
    if "class" in outlets.columns:
        classes = outlets["class"].astype("string")
    elif "category" in outlets.columns:
        from lifecircle.taxonomy import load_catalogue

        klass = {c.code: c.klass for c in load_catalogue().categories}
        classes = outlets["category"].astype("string").map(klass).astype("string")
    else:
        classes = pd.Series(pd.NA, index=outlets.index, dtype="string")
    return classes.fillna("").astype(object)


def map_outlets(
    base: Basemap, outlets: gpd.GeoDataFrame, lang: str, path: Path, *, dpi: int = _DPI
) -> Path:
    """Map 1: the network in grey and the outlets coloured by class (basic / quality)."""
    from matplotlib.lines import Line2D

    bbox = _padded(base.network.bounds())
    with mpl_context():
        fig = _figure(7.0, 7.0 * _aspect(bbox), None)
        ax = fig.add_axes((0.005, 0.005, 0.99, 0.99))
        base.draw(ax)
        x, y = _projected_xy(outlets, base.network.crs)
        classes = _outlet_classes(outlets).to_numpy()
        handles: list[Any] = [
            Line2D([], [], color=_NETWORK_GREY, lw=1, label=text("legend_network", lang))
        ]
        for klass in ("basic", "quality"):
            sel = classes == klass
            n = int(sel.sum())
            ax.scatter(
                x[sel], y[sel], s=2.5, c=CLASS_COLOURS[klass], linewidths=0, alpha=0.75, zorder=3
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="",
                    color=CLASS_COLOURS[klass],
                    markersize=5,
                    label=f"{text('class_' + klass, lang)} ({n:,})",
                )
            )
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
        _decorate(ax, lang, bbox)
        return _save(fig, path, dpi)


def map_grades(
    base: Basemap,
    circles: gpd.GeoDataFrame,
    grades: pd.DataFrame,
    residences: gpd.GeoDataFrame,
    lang: str,
    path: Path,
    *,
    dpi: int = _DPI,
) -> Path:
    """Map 2: circles filled by grade (residences coloured by grade where a circle has no area)."""
    from matplotlib.patches import Patch

    grade_of = dict(zip(grades["circle_id"].astype(str), grades["grade"], strict=False))
    bbox = _padded(base.network.bounds())
    with mpl_context():
        fig = _figure(7.0, 7.0 * _aspect(bbox), None)
        ax = fig.add_axes((0.005, 0.005, 0.99, 0.99))
        base.draw(ax, colour="#c8c8c8", width=0.3)
        drawn: set[str] = set()
        if len(circles) and circles.geometry is not None:
            proj = circles.to_crs(base.network.crs) if circles.crs is not None else circles
            geoms = np.asarray(proj.geometry.values)
            ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
            ok &= np.isin(shapely.get_type_id(geoms), (3, 6))  # polygons only
            ids = proj["circle_id"].astype(str).to_numpy()
            colours = [GRADE_COLOURS.get(grade_of.get(i, ""), "#ffffff") for i in ids]
            for geom, colour, good in zip(geoms, colours, ok, strict=True):
                if good:
                    _fill(ax, geom, colour)
            drawn = set(ids[ok])
            if 0 < ok.sum() <= _MAX_LABELS:
                import matplotlib.patheffects as pe

                anchors = shapely.get_coordinates(shapely.point_on_surface(geoms[ok]))
                halo = [pe.withStroke(linewidth=2, foreground="white")]
                for (lx, ly), label in zip(anchors, ids[ok], strict=True):
                    ax.text(
                        lx,
                        ly,
                        label,
                        fontsize=6.5,
                        ha="center",
                        va="center",
                        zorder=5,
                        path_effects=halo,
                    )
        res = residences
        if "circle_id" in res.columns and len(res):
            rid = res["circle_id"].astype(str)
            x, y = _projected_xy(res, base.network.crs)
            colours = rid.map(lambda c: GRADE_COLOURS.get(grade_of.get(c, ""), "#777777"))
            inside = rid.isin(drawn).to_numpy()
            ax.scatter(x[inside], y[inside], s=2, c="#333333", linewidths=0, zorder=4)
            out = ~inside
            if out.any():
                ax.scatter(
                    x[out],
                    y[out],
                    s=_sizes(res["households"].to_numpy()[out]) if "households" in res else 8,
                    c=colours.to_numpy()[out],
                    edgecolors="#333333",
                    linewidths=0.3,
                    zorder=4,
                )
        counts = grades["grade"].value_counts()
        handles = [
            Patch(
                facecolor=GRADE_COLOURS[g],
                edgecolor="#555555",
                label=f"{grade_label(g, lang)} ({int(counts.get(g, 0))})",
            )
            for g in reversed(GRADE_ORDER)
        ]
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
        _decorate(ax, lang, bbox)
        return _save(fig, path, dpi)


def map_districts(
    base: Basemap,
    districts: gpd.GeoDataFrame,
    share: dict[str, float],
    lang: str,
    path: Path,
    *,
    dpi: int = _DPI,
) -> Path:
    """Districts filled by the share of their households in circles at 基础型 or better, with
    the share written on each (grey: no assessed household)."""
    import matplotlib.patheffects as pe
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["RdYlGn"]
    bbox = _padded(base.network.bounds())
    with mpl_context():
        fig = _figure(7.0, 7.0 * _aspect(bbox), None)
        ax = fig.add_axes((0.005, 0.005, 0.99, 0.99))
        base.draw(ax, colour="#c8c8c8", width=0.3)
        proj = districts.to_crs(base.network.crs)
        halo = [pe.withStroke(linewidth=2.5, foreground="white")]
        for name, geom in zip(proj["name"].astype(str), proj.geometry, strict=True):
            value = share.get(name, float("nan"))
            colour = "#d9d9d9" if not np.isfinite(value) else to_hex(cmap(float(value)))
            _fill(ax, geom, colour, alpha=0.55, edge="#555555")
            shown = shapely.intersection(geom, shapely.box(*bbox))  # label where it is seen
            if shapely.is_empty(shown):
                continue
            x, y = shapely.get_coordinates(shapely.point_on_surface(shown))[0]
            label = f"{name}\n{value:.0%}" if np.isfinite(value) else name
            ax.text(x, y, label, fontsize=8, ha="center", va="center", zorder=5,
                    path_effects=halo)  # fmt: skip
        ax.set_xlim(bbox[0], bbox[2])
        ax.set_ylim(bbox[1], bbox[3])
        _decorate(ax, lang, bbox)
        return _save(fig, path, dpi)


def _fill(ax: Axes, geom: Any, colour: str, *, alpha: float = 0.75, edge: str = "white") -> None:
    from matplotlib.patches import Polygon as MplPolygon

    polys = geom.geoms if hasattr(geom, "geoms") else [geom]
    for poly in polys:
        ax.add_patch(
            MplPolygon(
                np.asarray(poly.exterior.coords),
                closed=True,
                facecolor=colour,
                edgecolor=edge,
                linewidth=0.8,
                alpha=alpha,
                zorder=2,
            )
        )


def map_blind_spots(
    base: Basemap,
    residences: gpd.GeoDataFrame,
    blind_spots: pd.DataFrame,
    panels: Sequence[tuple[str, str, float, float, str]],
    lang: str,
    path: Path,
    *,
    dpi: int = _DPI,
) -> Path:
    """Map 3: one panel per 业态 ``(code, label, band_min, share lacking, unit of the share)``;
    blind spots in red."""
    from matplotlib.lines import Line2D

    n = max(len(panels), 1)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    x, y = _projected_xy(residences, base.network.crs)
    rid = residences["residence_id"].astype(str).to_numpy()
    hh = (
        residences["households"].to_numpy()
        if "households" in residences
        else np.full(len(rid), np.nan)
    )
    bbox = _padded(base.network.bounds())
    panel_h = 3.5 * _aspect(bbox) + 0.3  # map + title
    height = panel_h * rows + 0.35  # + legend
    with mpl_context():
        fig = _figure(7.0, height, None)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        fig.subplots_adjust(
            left=0.01,
            right=0.99,
            top=1 - 0.3 / height,
            bottom=0.35 / height,
            wspace=0.04,
            hspace=0.3 / (panel_h - 0.3),
        )
        for ax, (code, label, band, share, unit) in zip(axes, panels, strict=False):
            base.draw(ax, colour="#c8c8c8", width=0.25)
            lacking = set(
                blind_spots.loc[blind_spots["category"] == code, "residence_id"].astype(str)
            )
            blind = np.isin(rid, list(lacking))
            ax.scatter(x[~blind], y[~blind], s=2, c="#7f7f7f", linewidths=0, zorder=3)
            ax.scatter(
                x[blind],
                y[blind],
                s=_sizes(hh[blind], 0.6),
                c="#e31a1c",
                alpha=0.7,
                edgecolors="#67000d",
                linewidths=0.3,
                zorder=4,
            )
            ax.set_title(
                text(
                    "blind_panel",
                    lang,
                    name=label,
                    band=f"{band:g}",
                    share=f"{share:.0%}",
                    unit=unit,
                ),
                fontsize=8.5,
            )
            _decorate(ax, lang, bbox)
        for ax in axes[len(panels) :]:
            ax.set_axis_off()
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                color="#e31a1c",
                markersize=6,
                label=text("legend_blind", lang),
            ),
            Line2D(
                [],
                [],
                marker="o",
                ls="",
                color="#7f7f7f",
                markersize=3,
                label=text("legend_covered", lang),
            ),
        ]
        fig.legend(handles=handles, loc="lower center", ncols=2, fontsize=8, frameon=False)
        return _save(fig, path, dpi)


def _site_classes(sites: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per proposed site: ``site_id``, ``n`` (业态 added there) and ``basic`` (whether
    one of them is basic), with the site's geometry."""
    from lifecircle.taxonomy import load_catalogue

    klass = {c.code: c.klass for c in load_catalogue().categories}
    frame = pd.DataFrame(
        {
            "site_id": sites["site_id"].astype(str).to_numpy(),
            "basic": sites["category"].astype(str).map(klass).eq("basic").to_numpy(),
            "category": sites["category"].astype(str).to_numpy(),
            "geometry": sites.geometry.to_numpy(),
        }
    )
    return frame.groupby("site_id", sort=False).agg(
        n=("category", "nunique"), basic=("basic", "any"), geometry=("geometry", "first")
    )


def _site_sizes(n: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return np.clip(40.0 + 20.0 * (n - 1), 40.0, 220.0) * scale


def map_project_sites(
    base: Basemap,
    circles: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    lang: str,
    path: Path,
    *,
    dpi: int = _DPI,
) -> Path:
    """Map of the city plan: the circles' areas and the proposed sites (stars sized by the
    业态 added there; blue when one of them is basic, orange when all are quality)."""
    import geopandas as gpd
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    bbox = _padded(base.network.bounds())
    per_site = _site_classes(sites)
    points = gpd.GeoDataFrame(per_site, geometry="geometry", crs=sites.crs)
    x, y = _projected_xy(points, base.network.crs)
    basic = per_site["basic"].to_numpy(dtype=bool)
    sizes = _site_sizes(per_site["n"].to_numpy(dtype=np.float64))
    with mpl_context():
        fig = _figure(7.0, 7.0 * _aspect(bbox), None)
        ax = fig.add_axes((0.005, 0.005, 0.99, 0.99))
        base.draw(ax, colour="#c8c8c8", width=0.3)
        if len(circles) and circles.geometry is not None:
            proj = circles.to_crs(base.network.crs) if circles.crs is not None else circles
            geoms = np.asarray(proj.geometry.values)
            ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
            ok &= np.isin(shapely.get_type_id(geoms), (3, 6))  # polygons only
            for geom in geoms[ok]:
                _fill(ax, geom, "#fff3b0", alpha=0.45, edge="#b8860b")
        handles: list[Any] = [
            Line2D([], [], color=_NETWORK_GREY, lw=1, label=text("legend_network", lang)),
            Patch(facecolor="#fff3b0", edgecolor="#b8860b", label=text("legend_circle", lang)),
        ]
        for klass, sel in (("basic", basic), ("quality", ~basic)):
            ax.scatter(
                x[sel],
                y[sel],
                s=sizes[sel],
                marker="*",
                c=CLASS_COLOURS[klass],
                edgecolors="black",
                linewidths=0.4,
                zorder=5,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="*",
                    ls="",
                    color=CLASS_COLOURS[klass],
                    markeredgecolor="black",
                    markeredgewidth=0.4,
                    markersize=9,
                    label=f"{text('legend_sites_' + klass, lang)} ({int(sel.sum()):,})",
                )
            )
        ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
        _decorate(ax, lang, bbox)
        return _save(fig, path, dpi)


class CircleMapper:
    """Draws circle maps on one reused figure (artists updated per circle, not rebuilt).

    Parameters
    ----------
    base
        The basemap.
    outlets
        All outlets (any CRS); projected once.
    lang
        Report language.
    dpi
        Resolution of the PNGs.
    with_sites
        The maps show proposed sites (the ``sites`` of :meth:`draw`), with a legend entry.
    """

    def __init__(
        self,
        base: Basemap,
        outlets: gpd.GeoDataFrame,
        lang: str,
        *,
        dpi: int = 110,
        with_sites: bool = False,
    ) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        self.base = base
        self.lang = lang
        self.dpi = dpi
        ox, oy = _projected_xy(outlets, base.network.crs)
        classes = _outlet_classes(outlets).to_numpy()
        self._outlets = {k: np.column_stack([ox, oy])[classes == k] for k in ("basic", "quality")}
        with mpl_context():
            self.fig = _figure(4.6, 4.6, None)
            ax = self.ax = self.fig.add_axes((0.005, 0.005, 0.99, 0.99))
            self._lines = LineCollection([], colors=_NETWORK_GREY, linewidths=0.5, zorder=1)
            ax.add_collection(self._lines)
            self._area: list[Any] = []
            empty = np.empty((0, 2))
            self._scatter = {
                k: ax.scatter(
                    empty[:, 0],
                    empty[:, 1],
                    s=6,
                    c=CLASS_COLOURS[k],
                    linewidths=0,
                    alpha=0.8,
                    zorder=3,
                )
                for k in ("basic", "quality")
            }
            self._res = ax.scatter(
                empty[:, 0],
                empty[:, 1],
                s=10,
                c="#6a3d9a",
                alpha=0.85,
                edgecolors="white",
                linewidths=0.5,
                zorder=4,
            )
            self._sites = ax.scatter(
                empty[:, 0],
                empty[:, 1],
                s=90,
                marker="*",
                c=SITE_COLOUR,
                edgecolors="black",
                linewidths=0.4,
                zorder=6,
            )
            (self._bar,) = ax.plot(
                [], [], color="black", linewidth=2.5, solid_capstyle="butt", zorder=5
            )
            self._bar_text = ax.text(0, 0, "", ha="center", va="bottom", fontsize=7, zorder=5)
            ax.annotate(
                text("north", lang),
                xy=(0.96, 0.97),
                xytext=(0.96, 0.87),
                xycoords="axes fraction",
                ha="center",
                va="center",
                fontsize=8,
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.0},
            )
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color("#bbbbbb")
            handles: list[Any] = [
                Line2D([], [], color=_NETWORK_GREY, lw=1, label=text("legend_network", lang)),
                Patch(facecolor="#fff3b0", edgecolor="#b8860b", label=text("legend_circle", lang)),
                *(
                    Line2D(
                        [],
                        [],
                        marker="o",
                        ls="",
                        color=CLASS_COLOURS[k],
                        markersize=4,
                        label=text("class_" + k, lang),
                    )
                    for k in ("basic", "quality")
                ),
                Line2D(
                    [],
                    [],
                    marker="o",
                    ls="",
                    color="#6a3d9a",
                    markersize=6,
                    label=text("legend_residences", lang),
                ),
            ]
            if with_sites:
                handles.append(
                    Line2D(
                        [],
                        [],
                        marker="*",
                        ls="",
                        color=SITE_COLOUR,
                        markeredgecolor="black",
                        markeredgewidth=0.4,
                        markersize=8,
                        label=text("legend_sites", lang),
                    )
                )
            ax.legend(handles=handles, loc="upper left", fontsize=6.5, framealpha=0.9)

    def draw(
        self,
        area: Any,
        residences: gpd.GeoDataFrame,
        path: Path,
        sites: gpd.GeoDataFrame | None = None,
    ) -> Path:
        """Map of one circle: its area (network CRS), residences by households, nearby outlets
        and the proposed ``sites`` (stars sized by the 业态 added there; any CRS)."""
        from matplotlib.patches import Polygon as MplPolygon

        base = self.base
        rx, ry = _projected_xy(residences, base.network.crs)
        has_area = (
            area is not None
            and not shapely.is_empty(area)
            and area.geom_type in ("Polygon", "MultiPolygon")
        )
        parts = [area.bounds] if has_area else []
        finite = np.isfinite(rx) & np.isfinite(ry)
        if finite.any():
            parts.append((rx[finite].min(), ry[finite].min(), rx[finite].max(), ry[finite].max()))
        site_xy, site_n = np.empty((0, 2)), np.empty(0)
        if sites is not None and len(sites):
            import geopandas as gpd

            per_site = _site_classes(sites)
            sx, sy = _projected_xy(
                gpd.GeoDataFrame(per_site, geometry="geometry", crs=sites.crs),
                base.network.crs,
            )
            ok = np.isfinite(sx) & np.isfinite(sy)
            site_xy = np.column_stack([sx, sy])[ok]
            site_n = per_site["n"].to_numpy(dtype=np.float64)[ok]
            if ok.any():
                parts.append((sx[ok].min(), sy[ok].min(), sx[ok].max(), sy[ok].max()))
        if parts:
            arr = np.asarray(parts, dtype=np.float64)
            bounds = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
        else:
            bounds = base.network.bounds()
        bbox = _padded(bounds, 0.08, 250.0)
        # square extent so that every circle map has the same shape
        cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
        half = max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 2
        x0, y0, x1, y1 = cx - half, cy - half, cx + half, cy + half
        ax = self.ax
        with mpl_context():
            self._lines.set_segments(base.lines((x0, y0, x1, y1)))
            for patch in self._area:
                patch.remove()
            self._area = []
            if has_area:
                polys = area.geoms if hasattr(area, "geoms") else [area]
                for poly in polys:
                    patch = MplPolygon(
                        np.asarray(poly.exterior.coords),
                        closed=True,
                        facecolor="#fff3b0",
                        edgecolor="#b8860b",
                        linewidth=0.8,
                        alpha=0.55,
                        zorder=2,
                    )
                    ax.add_patch(patch)
                    self._area.append(patch)
            for klass, xy in self._outlets.items():
                near = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
                self._scatter[klass].set_offsets(xy[near])
            hh = (
                residences["households"].to_numpy()
                if "households" in residences
                else np.full(len(rx), np.nan)
            )
            self._res.set_offsets(np.column_stack([rx, ry])[finite])
            self._res.set_sizes(_sizes(hh, 2.0)[finite])
            self._sites.set_offsets(site_xy)
            self._sites.set_sizes(_site_sizes(site_n, 0.8))
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            width = x1 - x0
            length = _nice_length(width)
            bx, by = x0 + 0.04 * width, y0 + 0.04 * width
            self._bar.set_data([bx, bx + length], [by, by])
            self._bar_text.set_position((bx + length / 2, by + 0.015 * width))
            self._bar_text.set_text(f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m")
            return _save(self.fig, path, self.dpi)


def chart_grades(grades: pd.DataFrame, lang: str, path: Path, *, dpi: int = _DPI) -> Path:
    """Bar chart: number of circles per grade."""
    counts = grades["grade"].value_counts()
    labels = [grade_label(g, lang) for g in GRADE_ORDER]
    values = [int(counts.get(g, 0)) for g in GRADE_ORDER]
    with mpl_context():
        fig = _figure(5.0, 2.8)
        ax = fig.add_subplot()
        bars = ax.bar(
            labels,
            values,
            color=[GRADE_COLOURS[g] for g in GRADE_ORDER],
            edgecolor="#555555",
            linewidth=0.5,
        )
        ax.bar_label(bars, fontsize=8, padding=2)
        ax.set_ylabel(text("chart_grades_y", lang), fontsize=8)
        ax.set_title(text("chart_grades", lang), fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_ylim(0, max([*values, 1]) * 1.18)
        ax.spines[["top", "right"]].set_visible(False)
        return _save(fig, path, dpi)


def chart_coverage(
    coverage: pd.DataFrame, target: float | None, lang: str, path: Path, *, dpi: int = _DPI
) -> Path:
    """Horizontal bars: households covered per 业态 (``label, class, share``), basic vs quality."""
    from matplotlib.patches import Patch

    frame = coverage.iloc[::-1]
    n = len(frame)
    with mpl_context():
        fig = _figure(7.0, max(2.5, 0.19 * n + 1.1))
        ax = fig.add_subplot()
        colours = [CLASS_COLOURS.get(str(c), "#999999") for c in frame["class"]]
        ax.barh(np.arange(n), frame["share"].to_numpy(dtype=float), color=colours, height=0.7)
        ax.set_yticks(np.arange(n), frame["label"].tolist(), fontsize=7)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel(text("chart_coverage_x", lang), fontsize=8)
        ax.set_ylim(-0.6, n - 0.4)
        ax.spines[["top", "right"]].set_visible(False)
        handles: list[Any] = [
            Patch(color=CLASS_COLOURS["basic"], label=text("class_basic", lang)),
            Patch(color=CLASS_COLOURS["quality"], label=text("class_quality", lang)),
        ]
        if target is not None and np.isfinite(target):
            line = ax.axvline(target, color="#b2182b", linestyle="--", linewidth=1)
            line.set_label(text("coverage_target", lang, value=f"{target:.0%}"))
            handles.append(line)
        ax.legend(handles=handles, loc="lower right", fontsize=7, framealpha=0.9)
        ax.set_title(text("chart_coverage", lang), fontsize=9.5)
        return _save(fig, path, dpi)

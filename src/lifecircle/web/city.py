"""A served city: its analysis in memory, fast nearest-outlet queries and live outlet changes.

A city is named on the command line (``lifecircle serve [CITY…]``) or in
``LIFECIRCLE_CITIES`` as one of

* the name of a bundled sample (``helsinki``): network, outlets and residences all come from the
  bundled OpenStreetMap extract;
* an ``.osm.pbf`` file: the same from that file;
* a city file (``city.toml``, see :mod:`lifecircle.project.spec`), or a folder holding one:
  the same city file every command reads (``lifecircle run|assess|serve CITY.toml``).

The analysis (:func:`lifecircle.project.run_city`: audit, access, grades) is computed at start, with progress logged,
and cached in ``<data_dir>/cache`` keyed by the input files' SHA-256 and the software, catalogue
and rulebook versions, so a restart loads it in a moment.  Approved merchant outlets are then
applied on top (and later ones as they are approved, without a restart): the outlets table, the
nearest-outlet index and the access rows of the residences they can reach are updated, and the
grades, blind spots and KPIs recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyproj
import shapely

from lifecircle.access.route import NetworkRouter, Targets
from lifecircle.assess.model import GRADE_EN, GRADES, NOT_GRADED, Assessment
from lifecircle.errors import InputError, Problem
from lifecircle.geo import project_xy
from lifecircle.project.spec import CitySpec
from lifecircle.web.errors import NotFoundError

if TYPE_CHECKING:
    from lifecircle.plan.whatif import WhatIf

__all__ = [
    "SLOGAN_SHORTCUTS",
    "City",
    "CityRegistry",
    "CitySpec",
    "MerchantOutletData",
    "load_city",
    "resolve_city",
]

log = logging.getLogger(__name__)

#: Map shortcuts of the policy slogans → the slogans (of the catalogue) they gather;
#: 小修小补 (small repairs) is the 一修 业态 on its own.
SLOGAN_SHORTCUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "一店一早": (("一店", "一早"), "A convenience store and a breakfast shop"),
    "一菜一修": (("一菜", "一修"), "A food market and a repair point"),
    "一老一小": (("一老", "一小"), "Care for the elderly and for small children"),
    "小修小补": (("一修",), "Small repairs (小修小补)"),
}
_CACHE_FORMAT = 2
_EMPTY_TEXT = ("", "nan", "None", "<NA>")


# ----------------------------------------------------------------------------------------------
# City specification
# ----------------------------------------------------------------------------------------------


def _key_of(text: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text.lower())
    return keep.strip("-")[:64] or "city"


def resolve_city(arg: str | os.PathLike[str]) -> CitySpec:
    """The :class:`~lifecircle.project.spec.CitySpec` of a command-line city argument.

    Examples
    --------
    >>> spec = resolve_city("helsinki")
    >>> spec.id, spec.network.path.name
    ('helsinki', 'helsinki.osm.pbf')
    """
    from lifecircle import datasets
    from lifecircle.project import load_city_file

    text = str(arg)
    if text in datasets.available():
        pbf = datasets.get_path(text)
        return _pbf_spec(text, pbf)
    path = Path(text)
    if path.is_dir():
        path = path / "city.toml"
    if not path.exists():
        raise InputError(
            Problem(
                f"no city {text!r}: not a bundled sample ({', '.join(datasets.available())}), "
                "not an .osm.pbf file, not a city file (city.toml) or a folder holding one",
                field="city",
                fix="give a bundled sample name, an .osm.pbf file or a city.toml "
                "(lifecircle init writes one)",
            ),
            "city",
        )
    if path.name.endswith(".osm.pbf") or path.suffix == ".pbf":
        return _pbf_spec(_key_of(path.name.split(".")[0]), path)
    return load_city_file(path)


def _pbf_spec(key: str, pbf: Path) -> CitySpec:
    from lifecircle.project.spec import spec_from_mapping

    doc = {
        "name": key.replace("_", " ").title(),
        "id": key,
        "attribution": "© OpenStreetMap contributors (ODbL)",
        "network": str(pbf),
        "outlets": str(pbf),
        "residences": str(pbf),
    }
    return spec_from_mapping(doc, pbf.parent / f"({pbf.name})")


# ----------------------------------------------------------------------------------------------
# Computing (or loading) the analysis
# ----------------------------------------------------------------------------------------------


def _served_spec(spec: CitySpec, walk_speed: str) -> CitySpec:
    """A city file keeps its own walking speed; a sample or .pbf takes the server's."""
    if spec.source is not None:
        return spec
    speed: float | str = float(walk_speed) if _is_number(walk_speed) else walk_speed
    return spec.with_changes(walk_speed=speed)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _cache_key(spec: CitySpec) -> str:
    from lifecircle import __version__
    from lifecircle.assess.pipeline import file_sha256
    from lifecircle.taxonomy import load_catalogue

    payload = {
        "format": _CACHE_FORMAT,
        "version": __version__,
        "catalogue": load_catalogue().version,
        "spec": json.loads(json.dumps(spec.options(), default=str, sort_keys=True)),
        "files": {str(p): file_sha256(p) for p in spec.input_files() if p.is_file()},
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()
    return digest[:24]


def _compute(spec: CitySpec, progress: bool) -> Assessment:
    from lifecircle.project import run_city

    t0 = time.perf_counter()
    log.info("%s: reading, auditing and assessing the city", spec.id)
    assessment = run_city(spec, progress=progress).assessment
    log.info("%s: analysis done in %.1f s", spec.id, time.perf_counter() - t0)
    return assessment


def _load_or_compute(spec: CitySpec, data_dir: Path, progress: bool) -> Assessment:
    cache_dir = Path(data_dir) / "cache"
    key = _cache_key(spec)
    path = cache_dir / f"{spec.id}-{key}.pickle"
    if path.is_file():
        t0 = time.perf_counter()
        try:
            with path.open("rb") as handle:
                # the cache is written by this software into its own data folder
                cached = pickle.load(handle)
            if isinstance(cached, Assessment):
                log.info(
                    "%s: analysis loaded from %s in %.2f s",
                    spec.id,
                    path,
                    time.perf_counter() - t0,
                )
                return cached
        except Exception as exc:  # a stale or truncated cache is recomputed
            log.warning("%s: ignoring unreadable cache %s (%s)", spec.id, path, exc)
    assessment = _compute(spec, progress)
    cache_dir.mkdir(parents=True, exist_ok=True)
    network = assessment.network
    tree = network.__dict__.pop("edge_tree", None)  # shapely trees are rebuilt on demand
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        with tmp.open("wb") as handle:
            pickle.dump(assessment, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in cache_dir.glob(f"{spec.id}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("%s: could not write the analysis cache %s (%s)", spec.id, path, exc)
        tmp.unlink(missing_ok=True)
    finally:
        if tree is not None:
            network.__dict__["edge_tree"] = tree
    return assessment


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def _clean(value: Any) -> Any:
    """A JSON-safe copy: NaN/inf/NA → None, numpy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_clean(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _records(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    data = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    if columns is not None:
        data = data[[c for c in columns if c in data.columns]]
    return [_clean(row) for row in data.to_dict(orient="records")]


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    text = str(value).strip()
    return None if text in _EMPTY_TEXT else text


def _services(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if _text(v)]
    text = _text(value)
    if not text:
        return []
    return [part.strip() for part in text.replace("；", ";").split(";") if part.strip()]


def _chain(value: Any) -> bool | None:
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return None
    return bool(value)


@dataclass(frozen=True)
class MerchantOutletData:
    """An approved merchant outlet as the city needs it."""

    outlet_id: str
    name: str
    category: str
    lon: float
    lat: float
    opening_hours: str | None = None
    services: tuple[str, ...] = ()
    brand: str | None = None
    active: bool = True


@dataclass(frozen=True)
class _OutletIndex:
    """Snapped, classified outlets as flat arrays for nearest-outlet queries (immutable)."""

    rows: np.ndarray  # positions in the outlets frame
    edge: np.ndarray
    offset: np.ndarray
    access: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    ids: list[str]
    names: list[str | None]
    categories: list[str]
    category_zh: list[str]
    targets: Targets


@dataclass(frozen=True)
class _Graded:
    grades: pd.DataFrame
    evidence: pd.DataFrame
    kpis: pd.DataFrame
    blind_spots: pd.DataFrame
    satisfaction: pd.DataFrame | None


# ----------------------------------------------------------------------------------------------
# The served city
# ----------------------------------------------------------------------------------------------


class City:
    """One served city: the analysis, the router and the live outlets (thread-safe updates).

    Build it with :func:`load_city`.
    """

    def __init__(self, spec: CitySpec, assessment: Assessment, *, walk_speed: str = "4.2",
                 nearest_max_minutes: float = 30.0) -> None:  # fmt: skip
        from lifecircle.access import walk_speed_m_per_min
        from lifecircle.assess.survey import load_survey
        from lifecircle.taxonomy import load_catalogue

        self.spec = spec
        self.key = spec.id
        self.name = spec.name
        self.assessment = assessment
        self.network = assessment.network
        params = assessment.snapshot.get("parameters", {})
        self.speed = float(params.get("walk_speed_m_per_min") or walk_speed_m_per_min(walk_speed))
        self.bands_min: list[float] = [float(b) for b in params.get("bands_min", [5, 10, 15])]
        self.k = int(params.get("k") or 3)
        self.max_snap_m = float(params.get("max_snap_m") or 250.0)
        self.nearest_cutoff_m = float(nearest_max_minutes) * self.speed
        from lifecircle.project.inputs import load_city_rulebook

        self.catalogue = load_catalogue()
        self.rulebook = load_city_rulebook(spec, self.catalogue)
        self.survey = load_survey(spec.survey) if spec.survey else load_survey()
        self.router = NetworkRouter(self.network, max_snap_m=self.max_snap_m)
        self._code_index = {c: i for i, c in enumerate(self.catalogue.codes())}
        self._to_net_local = threading.local()
        self._lock = threading.RLock()
        self.revision = 0
        self.applied_change_id = 0
        self.last_sync = 0.0
        self._graded_cache: tuple[Any, _Graded] | None = None
        self._reports_lock = threading.Lock()
        self._area_cache: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._area_lock = threading.Lock()
        self._whatif_cache: tuple[Any, WhatIf] | None = None
        self._whatif_lock = threading.Lock()

        self.residences = assessment.residences
        self.circles = (
            assessment.circles.to_crs(4326) if assessment.circles.crs else assessment.circles
        )
        self.access = self._plain_access(assessment.access)
        outlets = assessment.outlets
        outlets = (
            outlets.to_crs(4326)
            if outlets.crs is not None and outlets.crs.to_epsg() != 4326
            else outlets
        )
        self.outlets = self._with_snap(outlets.reset_index(drop=True).assign(source="file"))
        self._graded = _Graded(
            assessment.grades,
            assessment.evidence,
            assessment.kpis,
            assessment.blind_spots,
            assessment.satisfaction,
        )
        self._rebuild_index()
        self._network_features = self._build_network_features()
        bounds = self.network.bounds_wgs84()
        self.bbox = [round(float(b), 7) for b in bounds]
        self.center = [
            round((bounds[0] + bounds[2]) / 2.0, 7),
            round((bounds[1] + bounds[3]) / 2.0, 7),
        ]

    # -- basics ------------------------------------------------------------------------------
    def _transformer(self) -> pyproj.Transformer:
        tr = getattr(self._to_net_local, "tr", None)
        if tr is None:  # pyproj transformers are not shared between threads
            tr = pyproj.Transformer.from_crs(4326, self.network.crs, always_xy=True)
            self._to_net_local.tr = tr
        return tr

    def _to_net(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tr = self._transformer()
        x, y = tr.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    @staticmethod
    def _plain_access(access: pd.DataFrame) -> pd.DataFrame:
        frame = access.copy()
        for col in ("residence_id", "category", "category_zh", "nearest_outlet_id"):
            if col in frame.columns:
                frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        frame["residence_id"] = frame["residence_id"].astype(str)
        return frame.reset_index(drop=True)

    def _with_snap(self, outlets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        geom = outlets.geometry
        if len(geom) and not (geom.geom_type == "Point").all():
            geom = geom.representative_point()
        lon = geom.x.to_numpy(dtype=np.float64)
        lat = geom.y.to_numpy(dtype=np.float64)
        x, y = self._to_net(lon, lat)
        snap = self.router.snap(x, y)
        out = outlets.copy()
        out["lon"] = lon
        out["lat"] = lat
        out["edge"] = snap.edge
        out["offset_m"] = snap.offset
        out["access_m"] = snap.access_m
        return out

    def in_area(self, lon: float, lat: float, margin_deg: float = 0.02) -> bool:
        """Whether a point lies within the city's bounding box (plus a margin)."""
        x0, y0, x1, y1 = self.bbox
        return (
            x0 - margin_deg <= lon <= x1 + margin_deg and y0 - margin_deg <= lat <= y1 + margin_deg
        )

    def snap_lonlat(self, lon: float, lat: float) -> tuple[bool, float]:
        """Whether a point is within the snap distance of a street, and its access leg (m)."""
        x, y = self._to_net(np.array([lon]), np.array([lat]))
        snap = self.router.snap(x, y)
        return bool(snap.ok[0]), float(snap.access_m[0]) if snap.ok[0] else math.inf

    def nearest_edge(self, lon: float, lat: float) -> int | None:
        """The walkable street segment nearest to a point (its edge index), or None when none
        is within the snap distance."""
        x, y = self._to_net(np.array([lon]), np.array([lat]))
        snap = self.router.snap(x, y)
        return int(snap.edge[0]) if snap.ok[0] else None

    def street(self, edge: int) -> dict[str, Any]:
        """A street segment for people: its shape in WGS-84 (``line``, [[lon, lat], …]) and its
        street name (``street``, left out when it has none)."""
        coords = shapely.get_coordinates(self.network.edge_geometry[edge])
        lon, lat = project_xy(coords[:, 0], coords[:, 1], self.network.crs, 4326)
        out: dict[str, Any] = {
            "line": np.round(np.column_stack([lon, lat]), 7).tolist(),
        }
        attrs = self.network.edge_attrs
        name = attrs["name"].iat[edge] if "name" in attrs.columns else None
        if isinstance(name, str) and name.strip():
            out["street"] = name.strip()
        return out

    def _rebuild_index(self) -> None:
        frame = self.outlets
        known = set(self.catalogue.codes())
        cat = frame["category"].astype(str)
        mask = (frame["edge"].to_numpy() >= 0) & cat.isin(known).to_numpy()
        rows = np.flatnonzero(mask)
        categories = cat.to_numpy()[rows].tolist()
        names = {c.code: c.name_zh for c in self.catalogue.categories}
        edge = frame["edge"].to_numpy(dtype=np.int64)[rows]
        offset = frame["offset_m"].to_numpy(dtype=np.float64)[rows]
        access = frame["access_m"].to_numpy(dtype=np.float64)[rows]
        group = np.array([self._code_index[c] for c in categories], dtype=np.int64)
        self._index = _OutletIndex(
            rows=rows,
            edge=edge,
            offset=offset,
            access=access,
            lon=frame["lon"].to_numpy(dtype=np.float64)[rows],
            lat=frame["lat"].to_numpy(dtype=np.float64)[rows],
            ids=frame["outlet_id"].astype(str).to_numpy()[rows].tolist(),
            names=[_text(v) for v in frame["name"].to_numpy()[rows]],
            categories=categories,
            category_zh=[names.get(c, c) for c in categories],
            targets=self.router.targets(edge, offset, access, group),
        )
        self._outlet_features = self._build_outlet_features()

    # -- outlets -------------------------------------------------------------------------------
    def _build_outlet_features(self) -> dict[str, dict[str, Any]]:
        frame = self.outlets
        known = {c.code: c for c in self.catalogue.categories}
        features: dict[str, dict[str, Any]] = {}
        cols = {c: frame[c].to_numpy() if c in frame.columns else np.full(len(frame), None)
                for c in ("outlet_id", "name", "category", "category_zh", "class", "opening_hours",
                          "services", "brand", "is_chain", "source", "lon", "lat")}  # fmt: skip
        for i in range(len(frame)):
            code = str(cols["category"][i])
            cat = known.get(code)
            oid = str(cols["outlet_id"][i])
            features[oid] = {
                "type": "Feature",
                "id": oid,
                "geometry": {
                    "type": "Point",
                    "coordinates": [
                        round(float(cols["lon"][i]), 7),
                        round(float(cols["lat"][i]), 7),
                    ],
                },
                "properties": {
                    "id": oid,
                    "name": _text(cols["name"][i]),
                    "category": code,
                    "category_zh": cat.name_zh
                    if cat
                    else (_text(cols["category_zh"][i]) or "未分类"),
                    "category_en": cat.name_en if cat else "Unclassified",
                    "class": cat.klass if cat else None,
                    "opening_hours": _text(cols["opening_hours"][i]),
                    "services": _services(cols["services"][i]),
                    "brand": _text(cols["brand"][i]),
                    "is_chain": _chain(cols["is_chain"][i]),
                    "source": _text(cols["source"][i]) or "file",
                },
            }
        return features

    def categories_for_slogan(self, slogan: str) -> list[str] | None:
        """业态 codes of a slogan shortcut (一店一早, 小修小补, …) or a single slogan (一店)."""
        wanted: tuple[str, ...]
        if slogan in SLOGAN_SHORTCUTS:
            wanted = SLOGAN_SHORTCUTS[slogan][0]
        else:
            parts = tuple(slogan[i : i + 2] for i in range(0, len(slogan), 2))
            from lifecircle.taxonomy import SLOGANS

            if not parts or any(p not in SLOGANS for p in parts):
                return None
            wanted = parts
        return [c.code for c in self.catalogue.categories if set(c.slogans) & set(wanted)]

    def resolve_category(self, text: str) -> str:
        """The 业态 code of a code or name; :class:`InputError` listing close names otherwise."""
        code = self.catalogue.resolve(text)
        if code is None:
            raise InputError(
                Problem(
                    f"{text!r} is not a 业态 of the catalogue",
                    field="category",
                    fix="use a code or name from /api/categories, e.g. "
                    + ", ".join(self.catalogue.suggest(text) or ["pharmacy", "便利店"]),
                ),
                "category",
            )
        return code

    def outlet_features(
        self,
        *,
        categories: Iterable[str] | None = None,
        q: str | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        limit: int = 5000,
    ) -> tuple[list[dict[str, Any]], int]:
        """Classified outlets as GeoJSON features, filtered; also the count before ``limit``."""
        frame = self.outlets
        known = set(self.catalogue.codes())
        cat = frame["category"].astype(str)
        mask = cat.isin(known).to_numpy().copy()
        if categories is not None:
            mask &= cat.isin(set(categories)).to_numpy()
        if bbox is not None:
            lon = frame["lon"].to_numpy()
            lat = frame["lat"].to_numpy()
            mask &= (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])
        if q:
            needle = q.strip().casefold()
            names = frame["name"].astype("string").str.casefold()
            hit = names.str.contains(needle, regex=False).fillna(False).to_numpy(dtype=bool)
            brands = frame["brand"].astype("string").str.casefold() if "brand" in frame else None
            if brands is not None:
                hit |= brands.str.contains(needle, regex=False).fillna(False).to_numpy(dtype=bool)
            matched = {
                c.code
                for c in self.catalogue.categories
                if needle in c.name_zh.casefold() or needle in c.name_en.casefold()
            }
            resolved = self.catalogue.resolve(q)
            if resolved:
                matched.add(resolved)
            hit |= cat.isin(matched).to_numpy()
            mask &= hit
        ids = frame["outlet_id"].astype(str).to_numpy()[mask]
        feats = self._outlet_features
        return [feats[i] for i in ids[:limit]], int(mask.sum())

    def outlet_feature(self, outlet_id: str) -> dict[str, Any]:
        """One outlet as a GeoJSON feature (:class:`NotFoundError` if unknown)."""
        try:
            return self._outlet_features[outlet_id]
        except KeyError:
            raise NotFoundError(f"no outlet {outlet_id!r} in {self.name}") from None

    # -- nearest and walking areas ----------------------------------------------------------------
    def nearest(
        self, lon: float, lat: float, *, categories: Sequence[str] | None = None, k: int = 5
    ) -> dict[str, Any]:
        """The ``k`` nearest outlets along the network from a point, with their routes (WGS-84).

        Distances follow :func:`lifecircle.access.compute_access` (access legs + network walk,
        partial edges exact) and are searched up to ``nearest_max_minutes``.
        """
        data = self._nearest(lon, lat, categories, k)
        for result in data["results"]:
            result["route"]["coordinates"] = result["route"]["coordinates"].tolist()
        return data

    def nearest_json(
        self, lon: float, lat: float, *, categories: Sequence[str] | None = None, k: int = 5
    ) -> bytes:
        """:meth:`nearest` as UTF-8 JSON (orjson writes the route arrays directly: the
        platform's hottest request spends little time on formatting)."""
        data = self._nearest(lon, lat, categories, k)
        return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)

    def _nearest(
        self, lon: float, lat: float, categories: Sequence[str] | None, k: int
    ) -> dict[str, Any]:
        """:meth:`nearest` with the route coordinates as ``(n, 2)`` arrays (7 decimals)."""
        x, y = self._transformer().transform(lon, lat)
        idx = self._index  # an immutable snapshot: updates swap it whole
        groups = None
        if categories is not None:
            groups = [self._code_index[c] for c in categories if c in self._code_index]
        tree, found, dists = self.router.nearest(
            float(x), float(y), idx.targets, k=k, cutoff_m=self.nearest_cutoff_m, groups=groups
        )
        foot = self.router.point_at(tree.edge, tree.offset, wgs84=True)
        ends = np.column_stack([idx.lon[found], idx.lat[found]])
        coords, bounds = self.router.routes_wgs84(
            tree, idx.edge[found], idx.offset[found], (lon, lat), ends
        )
        ends = np.round(ends, 7)
        results = []
        for r, (i, dist) in enumerate(zip(found.tolist(), dists.tolist(), strict=True)):
            results.append(
                {
                    "outlet_id": idx.ids[i],
                    "name": idx.names[i],
                    "category": idx.categories[i],
                    "category_zh": idx.category_zh[i],
                    "lon": float(ends[r, 0]),
                    "lat": float(ends[r, 1]),
                    "distance_m": dist,
                    "minutes": dist / self.speed,
                    "route": {
                        "type": "LineString",
                        "coordinates": coords[bounds[r] : bounds[r + 1]],
                    },
                }
            )
        return {
            "origin": {
                "lon": lon,
                "lat": lat,
                "foot_lon": round(float(foot[0]), 7),
                "foot_lat": round(float(foot[1]), 7),
                "access_m": tree.access_m,
            },
            "walk_speed_m_per_min": self.speed,
            "max_minutes": self.nearest_cutoff_m / self.speed,
            "results": results,
        }

    def walking_area(self, lon: float, lat: float, minutes: Sequence[float]) -> dict[str, Any]:
        """5/10/15-minute walking areas around a point (GeoJSON, WGS-84)."""
        from lifecircle.access.isochrone import walking_areas

        ok, _ = self.snap_lonlat(lon, lat)
        if not ok:
            raise InputError(
                Problem(
                    f"the point ({lon}, {lat}) has no walkable street within {self.max_snap_m:g} m",
                    field="lon/lat",
                    fix="pick a point nearer to a street of the city",
                ),
                "point",
            )
        point = gpd.GeoDataFrame({"id": ["p"]}, geometry=[shapely.Point(lon, lat)], crs=4326)
        areas = walking_areas(
            self.network,
            point,
            id_column="id",
            minutes=minutes,
            walk_speed=self.speed * 60.0 / 1000.0,
            max_snap_m=self.max_snap_m,
        )
        features = []
        for row in areas.itertuples(index=False):
            geom = row.geometry
            features.append(
                {
                    "type": "Feature",
                    "geometry": json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-7)))
                    if geom is not None and not geom.is_empty
                    else None,
                    "properties": {
                        "minutes": float(row.minutes),
                        "reached_km": float(row.reached_km),
                        "distance_m": float(row.minutes) * self.speed,
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}

    def walking_area_json(self, lon: float, lat: float, minutes: Sequence[float]) -> str:
        """:meth:`walking_area` as JSON text, cached for the last 256 points asked."""
        key = (round(lon, 6), round(lat, 6), tuple(sorted(float(m) for m in minutes)))
        with self._area_lock:
            text = self._area_cache.get(key)
            if text is not None:
                self._area_cache.move_to_end(key)
                return text
        text = json.dumps(
            self.walking_area(key[0], key[1], key[2]), ensure_ascii=False, separators=(",", ":")
        )
        with self._area_lock:
            self._area_cache[key] = text
            while len(self._area_cache) > 256:
                self._area_cache.popitem(last=False)
        return text

    # -- network -----------------------------------------------------------------------------------
    def _build_network_features(self) -> tuple[np.ndarray, list[str]]:
        r = self.router
        lonlat = r._lonlat
        ptr = r._ptr
        attrs = self.network.edge_attrs.reset_index(drop=True)
        highway = attrs["highway"].to_numpy() if "highway" in attrs else np.full(len(ptr) - 1, None)
        names = attrs["name"].to_numpy() if "name" in attrs else np.full(len(ptr) - 1, None)
        starts = ptr[:-1]
        boxes = np.column_stack(
            [
                np.minimum.reduceat(lonlat[:, 0], starts),
                np.minimum.reduceat(lonlat[:, 1], starts),
                np.maximum.reduceat(lonlat[:, 0], starts),
                np.maximum.reduceat(lonlat[:, 1], starts),
            ]
        )
        rounded = np.round(lonlat, 7)
        texts = []
        for e in range(len(starts)):
            props = {"edge": e, "highway": _text(highway[e]), "name": _text(names[e])}
            texts.append(
                json.dumps(
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "LineString",
                            "coordinates": rounded[ptr[e] : ptr[e + 1]].tolist(),
                        },
                        "properties": props,
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
            )
        return boxes, texts

    def network_json(self, bbox: tuple[float, float, float, float] | None) -> str:
        """The street network's edges as a GeoJSON FeatureCollection (text)."""
        boxes, texts = self._network_features
        if bbox is None:
            chosen: Iterable[int] = range(len(texts))
        else:
            hit = (
                (boxes[:, 2] >= bbox[0])
                & (boxes[:, 0] <= bbox[2])
                & (boxes[:, 3] >= bbox[1])
                & (boxes[:, 1] <= bbox[3])
            )
            chosen = np.flatnonzero(hit).tolist()
        return (
            '{"type":"FeatureCollection","features":[' + ",".join(texts[i] for i in chosen) + "]}"
        )

    # -- circles, grades and the dashboard -----------------------------------------------------------
    def circle_ids(self) -> list[str]:
        """Ids of the city's circles."""
        return self.circles["circle_id"].astype(str).tolist()

    def circle_name(self, circle_id: str) -> str | None:
        """Display name of a circle, ``None`` when unknown."""
        match = self.circles.loc[self.circles["circle_id"].astype(str) == circle_id]
        if match.empty:
            return None
        return _text(match["name"].iat[0]) if "name" in match else circle_id

    def circle_at(self, lon: float, lat: float) -> str | None:
        """The circle whose area holds a point, if any."""
        point = shapely.Point(lon, lat)
        hits = self.circles.loc[self.circles.geometry.contains(point)]
        return str(hits["circle_id"].iat[0]) if len(hits) else None

    def graded(self, satisfaction: pd.DataFrame | None = None, key: Any = None) -> _Graded:
        """Grades, evidence, KPIs and blind spots of the current outlets (and survey answers).

        ``satisfaction`` (``satisfaction_by_circle`` of the residents' answers) is folded in;
        the result is cached for ``key`` and the current revision.
        """
        if satisfaction is None:
            return self._graded
        cache_key = (self.revision, key)
        cached = self._graded_cache
        if cached is not None and cached[0] == cache_key:
            return cached[1]
        with self._lock:
            result = self._regrade(satisfaction)
            self._graded_cache = (cache_key, result)
        return result

    def _regrade(self, satisfaction: pd.DataFrame | None) -> _Graded:
        from lifecircle.assess import blind_spots, grade_circles
        from lifecircle.assess.attributes import attribute_access, attribute_rows
        from lifecircle.assess.pipeline import city_kpis, with_circle_districts

        res = self.residences
        plain_outlets = self.outlets.drop(
            columns=["edge", "offset_m", "access_m", "lon", "lat", "source"]
        )
        # the rulebook's must-have alternatives by outlet attribute (一早: 小吃店 with breakfast …)
        params = self.assessment.snapshot.get("parameters", {})
        rows = attribute_rows(
            self.network,
            plain_outlets,
            res,
            self.rulebook,
            walk_speed=params.get("walk_speed_kmh", 4.2),
            bands_min=self.bands_min,
        )
        grades, evidence = grade_circles(
            attribute_access(self.access, rows),
            res,
            self.rulebook,
            self.catalogue,
            evaluation=self.assessment.evaluation,
            satisfaction=satisfaction,
            circles=self.circles,
            data_flags=getattr(self.assessment, "data_flags", None),
        )
        grades = with_circle_districts(grades, self.circles)
        spots = blind_spots(self.access, res, self.catalogue)
        kpis = city_kpis(
            self.access.drop(columns=["knn_outlet_ids", "knn_m"], errors="ignore"),
            res,
            plain_outlets,
            grades,
            evidence,
            self.catalogue,
            self.circles,
            satisfaction,
            self.assessment.snapshot.get("district_levels", ()),
        )
        return _Graded(grades, evidence, kpis, spots, satisfaction)

    def circles_geojson(self, graded: _Graded | None = None) -> dict[str, Any]:
        """Circles with their grade as a FeatureCollection (WGS-84)."""
        g = (graded or self._graded).grades.set_index("circle_id")
        features = []
        for row in self.circles.itertuples(index=False):
            cid = str(row.circle_id)
            info = g.loc[cid] if cid in g.index else None
            grade = str(info["grade"]) if info is not None else NOT_GRADED

            def val(name: str, info: Any = info) -> Any:
                return _clean(info[name]) if info is not None and name in info.index else None

            features.append(
                {
                    "type": "Feature",
                    "id": cid,
                    "geometry": json.loads(
                        shapely.to_geojson(shapely.set_precision(row.geometry, 1e-7))
                    )
                    if row.geometry is not None and not row.geometry.is_empty
                    else None,
                    "properties": {
                        "circle_id": cid,
                        "name": _text(getattr(row, "name", None)) or cid,
                        "grade": grade,
                        "grade_en": GRADE_EN.get(grade, grade),
                        "grade_label": val("grade_label"),
                        "grade_rank": (GRADES.index(grade) + 1) if grade in GRADES else 0,
                        "households": val("households"),
                        "n_residences": val("n_residences"),
                        "n_basic": val("n_basic"),
                        "n_quality": val("n_quality"),
                        "next_grade": val("next_grade"),
                        "missing_for_next_grade": val("missing_for_next_grade"),
                        "missing_for_next_grade_en": val("missing_for_next_grade_en"),
                        "satisfaction_rate": val("satisfaction_rate"),
                    },
                }
            )
        return {"type": "FeatureCollection", "features": features}

    def evidence_rows(self, circle_id: str, graded: _Graded | None = None) -> list[dict[str, Any]]:
        """The 有没有 evidence rows of one circle (:class:`NotFoundError` if unknown)."""
        if circle_id not in set(self.circle_ids()):
            raise NotFoundError(f"no circle {circle_id!r} in {self.name}")
        ev = (graded or self._graded).evidence
        return _records(ev.loc[ev["circle_id"].astype(str) == circle_id])

    def blind_spot_features(
        self, category: str | None, graded: _Graded | None = None
    ) -> dict[str, Any]:
        """Residences lacking a 业态 within its band, as points (WGS-84)."""
        spots = (graded or self._graded).blind_spots
        if category is not None:
            spots = spots.loc[spots["category"] == category]
        res = self.residences.drop_duplicates("residence_id").set_index("residence_id")
        pts = res.geometry.representative_point() if len(res) else res.geometry
        lon = pts.x.reindex(spots["residence_id"].astype(str)).to_numpy()
        lat = pts.y.reindex(spots["residence_id"].astype(str)).to_numpy()
        names = res["name"] if "name" in res.columns else pd.Series(index=res.index, dtype=object)
        features = []
        for row, x, y in zip(_records(spots), lon, lat, strict=True):
            row["residence_name"] = _text(names.get(row["residence_id"]))
            features.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(float(x), 7), round(float(y), 7)],
                    }
                    if np.isfinite(x) and np.isfinite(y)
                    else None,
                    "properties": row,
                }
            )
        households = pd.to_numeric(spots["households"], errors="coerce")
        return {
            "type": "FeatureCollection",
            "features": features,
            "count": len(features),
            "households": float(households.sum()) if households.notna().any() else None,
        }

    def assessment_now(self, graded: _Graded | None = None) -> Assessment:
        """An :class:`Assessment` of the current state (for the reports)."""
        g = graded or self._graded
        return Assessment(
            city=self.name,
            network=self.network,
            outlets=self.outlets.drop(columns=["edge", "offset_m", "access_m", "lon", "lat"]),
            residences=self.residences,
            circles=self.circles,
            access=self.access,
            grades=g.grades,
            evidence=g.evidence,
            kpis=g.kpis,
            blind_spots=g.blind_spots,
            satisfaction=g.satisfaction,
            evaluation=self.assessment.evaluation,
            snapshot=self.assessment.snapshot,
            audit=getattr(self.assessment, "audit", None),
            data_flags=getattr(self.assessment, "data_flags", None),
            figures=getattr(self.assessment, "figures", {}),
        )

    def whatif_base(self, graded: _Graded | None = None, key: Any = None) -> WhatIf:
        """A :class:`~lifecircle.plan.whatif.WhatIf` of the current state, to try scenarios on.

        Built from :meth:`assessment_now` (``graded``: the grades with the residents' survey
        answers folded in, as :meth:`graded` returns them for ``key``) with the city's rulebook
        and catalogue, and cached for the current revision and ``key``.  Callers must not
        change it: :func:`~lifecircle.plan.whatif.run_scenario` works on a fork.
        """
        with self._lock:
            cache_key = (self.revision, key)
            cached = self._whatif_cache
            if cached is not None and cached[0] == cache_key:
                return cached[1]
            assessment = self.assessment_now(graded)
        with self._whatif_lock:
            cached = self._whatif_cache
            if cached is not None and cached[0] == cache_key:
                return cached[1]
            from lifecircle.plan.whatif import WhatIf

            t0 = time.perf_counter()
            base = WhatIf(assessment, rulebook=self.rulebook, catalogue=self.catalogue)
            self._whatif_cache = (cache_key, base)
            log.info("%s: what-if base built in %.2f s", self.key, time.perf_counter() - t0)
        return base

    # -- live outlet changes ------------------------------------------------------------------------
    def apply_outlets(self, changes: Sequence[MerchantOutletData]) -> None:
        """Add, move, change or withdraw merchant outlets; update access, grades and indexes.

        Only the access rows of residences that can reach an old or new position (by straight
        distance within the largest band) and of the 业态 concerned are recomputed.
        """
        if not changes:
            return
        from lifecircle.access import compute_access

        t0 = time.perf_counter()
        with self._lock:
            frame = self.outlets
            ids = frame["outlet_id"].astype(str)
            touched_cats: set[str] = set()
            points: list[tuple[float, float]] = []
            drop_ids = set()
            rows = []
            for ch in changes:
                old = frame.loc[ids == ch.outlet_id]
                if len(old):
                    touched_cats.add(str(old["category"].iat[0]))
                    points.append((float(old["lon"].iat[0]), float(old["lat"].iat[0])))
                    drop_ids.add(ch.outlet_id)
                if ch.active:
                    touched_cats.add(ch.category)
                    points.append((ch.lon, ch.lat))
                    cat = self.catalogue.get(ch.category)
                    rows.append(
                        {
                            "outlet_id": ch.outlet_id,
                            "name": ch.name,
                            "category": ch.category,
                            "category_zh": cat.name_zh if cat else ch.category,
                            "category_rule": "merchant",
                            "class": cat.klass if cat else None,
                            "source_type": "merchant",
                            "brand": ch.brand,
                            "is_chain": True if ch.brand else pd.NA,
                            "opening_hours": ch.opening_hours,
                            "services": ";".join(ch.services) if ch.services else None,
                            "source": "merchant",
                            "geometry": shapely.Point(ch.lon, ch.lat),
                        }
                    )
            kept = frame.loc[~ids.isin(drop_ids)]
            if rows:
                added = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
                added = self._with_snap(added)
                added["is_chain"] = added["is_chain"].astype("boolean")
                frame = pd.concat([kept, added], ignore_index=True)
                frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
            else:
                frame = kept.reset_index(drop=True)
            self.outlets = frame
            self._update_access(sorted(touched_cats), points, compute_access)
            self._rebuild_index()
            self._graded = self._regrade(self._graded.satisfaction)
            self._graded_cache = None
            self.revision += 1
        log.info(
            "%s: %d outlet change(s) applied in %.2f s (revision %d)",
            self.key,
            len(changes),
            time.perf_counter() - t0,
            self.revision,
        )

    def _update_access(
        self, cats: list[str], points: list[tuple[float, float]], compute_access: Callable[..., Any]
    ) -> None:
        cats = [c for c in cats if c in set(self.catalogue.codes())]
        if not cats or not points:
            return
        res = self.residences
        res = res.loc[res["status"] == "ok"] if "status" in res.columns else res
        geom = res.geometry
        if len(geom) and not (geom.geom_type == "Point").all():
            geom = geom.representative_point()
        rx, ry = self._to_net(geom.x.to_numpy(), geom.y.to_numpy())
        px, py = self._to_net(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
        reach = max(self.bands_min) * self.speed + 1.0
        near = np.zeros(len(res), dtype=bool)
        for x, y in zip(px, py, strict=True):
            near |= np.hypot(rx - x, ry - y) <= reach
        if not near.any():
            return
        subset = res.loc[near, ["residence_id", "geometry"]].copy()
        subset["residence_id"] = subset["residence_id"].astype(str)
        outl = self.outlets.loc[
            self.outlets["category"].isin(cats), ["outlet_id", "category", "geometry"]
        ]
        names = {c.code: c.name_zh for c in self.catalogue.categories}
        result = compute_access(
            self.network,
            gpd.GeoDataFrame(outl, geometry="geometry", crs=4326),
            gpd.GeoDataFrame(subset, geometry="geometry", crs=4326),
            categories=cats,
            category_names=names,
            walk_speed=self.speed * 60.0 / 1000.0,
            bands_min=self.bands_min,
            k=self.k,
            max_snap_m=self.max_snap_m,
        )
        fresh = self._plain_access(result.to_pandas())
        acc = self.access
        stale = acc["residence_id"].isin(set(subset["residence_id"])) & acc["category"].isin(cats)
        merged = pd.concat([acc.loc[~stale], fresh[acc.columns]], ignore_index=True)
        order = {c: i for i, c in enumerate(self.catalogue.codes())}
        res_order = {r: i for i, r in enumerate(self.residences["residence_id"].astype(str))}
        merged = merged.assign(
            _r=merged["residence_id"].map(res_order), _c=merged["category"].map(order)
        ).sort_values(["_r", "_c"], kind="stable")
        self.access = merged.drop(columns=["_r", "_c"]).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# Loading and the registry
# ----------------------------------------------------------------------------------------------


def load_city(
    arg: str | os.PathLike[str] | CitySpec,
    *,
    data_dir: str | os.PathLike[str],
    walk_speed: str = "4.2",
    nearest_max_minutes: float = 30.0,
    progress: bool = False,
) -> City:
    """Load a city: its analysis from the cache in ``data_dir``, or computed (and cached).

    Parameters
    ----------
    arg
        A city argument (see :func:`resolve_city`) or a :class:`CitySpec`.
    data_dir
        The platform's data folder (the cache goes to ``<data_dir>/cache``).
    walk_speed
        km/h or a preset name, for an analysis computed here.
    nearest_max_minutes
        Search radius of nearest-outlet queries.
    progress
        Show progress bars while computing.
    """
    spec = _served_spec(arg if isinstance(arg, CitySpec) else resolve_city(arg), walk_speed)
    t0 = time.perf_counter()
    assessment = _load_or_compute(spec, Path(data_dir), progress)
    city = City(spec, assessment, walk_speed=walk_speed, nearest_max_minutes=nearest_max_minutes)
    log.info("%s: ready in %.1f s", spec.id, time.perf_counter() - t0)
    return city


class CityRegistry:
    """The served cities by key; the first is the default."""

    def __init__(self, cities: Sequence[City]) -> None:
        if not cities:
            raise InputError("no city to serve", "cities")
        self.cities: dict[str, City] = {}
        for city in cities:
            if city.key in self.cities:
                raise InputError(
                    Problem(
                        f"two cities share the key {city.key!r}",
                        field="key",
                        fix="give each city file its own key = '…'",
                    ),
                    "cities",
                )
            self.cities[city.key] = city
        self.default = cities[0].key

    def get(self, key: str | None = None) -> City:
        """A city by key (the default for ``None``); :class:`NotFoundError` if unknown."""
        if key is None or key == "":
            return self.cities[self.default]
        try:
            return self.cities[key]
        except KeyError:
            raise NotFoundError(f"no city {key!r}; served: {', '.join(self.cities)}") from None

    def __iter__(self) -> Iterator[City]:
        return iter(self.cities.values())

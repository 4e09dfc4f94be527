"""Cut a regional OpenStreetMap extract to a city: boundary plus a buffer, streaming with pyosmium.

:func:`clip_osm` reads the ``.osm.pbf`` once, in order (nodes, ways, relations), and keeps

* every node inside the boundary buffered by ``buffer_m`` (tagged nodes are written at once: the
  outlets; untagged ones only go into an id set);
* every way with at least one node inside, *complete* (all its nodes, also those outside), so a
  street crossing the edge keeps its true shape and length;
* every relation with a kept member (residential multipolygons, …), with its member ways.

The referenced objects are added by pyosmium's :class:`osmium.BackReferenceWriter`, which reads
the source again for them.  Memory is bounded by the id sets of the kept area (pyosmium's compact
``IdSet``) and a fixed batch of node coordinates, not by the size of the extract.  The output is
an ordinary ``.osm.pbf`` that :func:`~lifecircle.ingest.read_network`,
:func:`~lifecircle.ingest.read_outlets` and :func:`~lifecircle.ingest.read_residences` read, and
:func:`write_city_file` writes a city file (``city.toml``) naming it for all three layers.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from lifecircle.errors import InputError, Problem

__all__ = ["ClipReport", "buffered_area", "clip_osm", "extract_date", "write_city_file"]

logger = logging.getLogger(__name__)

_BATCH = 200_000  # node coordinates tested together (bounded memory)
_TICK = 100_000  # objects between progress reports
_MARGIN_DEG = 0.05  # nodes this far around the area are kept aside for complete ways (~5 km)


@dataclass(frozen=True)
class ClipReport:
    """What :func:`clip_osm` did.

    Attributes
    ----------
    path
        The clipped ``.osm.pbf``.
    nodes_inside, ways, relations
        Nodes inside the area; ways and relations kept.
    input_bytes
        Size of the source file.
    seconds
        Wall time of the whole clip (reading, testing, writing).
    """

    path: Path
    nodes_inside: int
    ways: int
    relations: int
    input_bytes: int
    seconds: float

    @property
    def mb_per_s(self) -> float:
        """Source megabytes (10⁶ bytes) clipped per second of wall time."""
        return self.input_bytes / 1e6 / self.seconds if self.seconds > 0 else float("inf")


def buffered_area(boundary: BaseGeometry, buffer_m: float) -> BaseGeometry:
    """``boundary`` (WGS-84) grown by ``buffer_m`` metres, measured in the local UTM zone.

    Examples
    --------
    >>> area = buffered_area(shapely.box(24.93, 60.16, 24.95, 60.17), 100.0)
    >>> area.contains(shapely.Point(24.9505, 60.165)), area.contains(shapely.Point(24.96, 60.165))
    (True, False)
    """
    from pyproj import Transformer

    from lifecircle.geo import local_utm_crs

    if buffer_m <= 0:
        return boundary
    c = boundary.centroid
    utm = local_utm_crs([c.x], [c.y])
    forward = Transformer.from_crs(4326, utm, always_xy=True)
    back = Transformer.from_crs(utm, 4326, always_xy=True)

    def project(xy: np.ndarray, t: Transformer) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    grown = shapely.transform(boundary, lambda xy: project(xy, forward)).buffer(buffer_m)
    return shapely.transform(grown, lambda xy: project(xy, back))


def clip_osm(
    pbf: str | Path,
    boundary: BaseGeometry,
    out: str | Path,
    *,
    buffer_m: float = 1000.0,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ClipReport:
    """Clip ``pbf`` to ``boundary`` + ``buffer_m`` and write the result to ``out``.

    Parameters
    ----------
    pbf
        The regional extract (``.osm.pbf``, sorted by type then id as Geofabrik's are).
    boundary
        The city's boundary polygon in WGS-84 (:func:`~lifecircle.acquire.read_boundary`).
    out
        The ``.osm.pbf`` to write.
    buffer_m
        Margin around the boundary in metres, so that walks leaving the city near its edge and
        outlets just outside are kept (default 1 km, a 15-minute walk).
    overwrite
        Replace ``out`` when it exists.
    progress
        Called with the number of objects read, every 100,000 (a progress bar).

    Returns
    -------
    ClipReport
        Counts, size and time (``mb_per_s``).

    Raises
    ------
    InputError
        The source is missing or not an OSM file, or ``out`` exists.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from lifecircle.datasets import get_path
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "clip.osm.pbf"
    >>> report = clip_osm(get_path("helsinki"), shapely.box(24.94, 60.165, 24.945, 60.168), out,
    ...                   buffer_m=50)
    >>> report.ways > 0 and out.exists()
    True
    """
    import osmium

    source = Path(pbf)
    target = Path(out)
    if not source.exists():
        raise InputError(
            Problem("file not found", file=str(source), fix="check the path of --pbf"),
            "OSM extract",
        )
    if target.exists():
        if not overwrite:
            raise InputError(
                Problem(
                    "the output file exists",
                    file=str(target),
                    fix="choose another --out folder or delete the file",
                ),
                "OSM clip",
            )
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    area = buffered_area(boundary, buffer_m)
    shapely.prepare(area)
    size = source.stat().st_size
    t0 = time.perf_counter()

    scratch = target.with_name(target.name + ".nodes.osm.pbf")
    scratch.unlink(missing_ok=True)
    try:
        scan = _scan(source, area, scratch, progress)
        if scan.n_inside == 0:
            raise InputError(
                Problem(
                    "no node of the extract lies inside the boundary (+ buffer): they do not "
                    f"overlap (boundary {tuple(round(v, 4) for v in boundary.bounds)}, WGS-84)",
                    file=str(source),
                    fix="check that the extract covers the city and the boundary's coordinate "
                    "system (--boundary-crs gcj02 for Amap's boundaries)",
                ),
                "OSM clip",
            )
        if scan.extra:  # member ways of kept relations that touch no inside node
            for way in _objects(str(source), osmium.osm.WAY):
                if way.id in scan.extra:
                    scan.ways.add(way.id)
                    scan.needed.update(n.ref for n in way.nodes)
        _write(source, scratch, target, scan)
    except RuntimeError as exc:
        target.unlink(missing_ok=True)
        raise InputError(
            Problem(
                f"the file cannot be read or written as OpenStreetMap data ({exc})",
                file=str(source),
                fix="give an .osm.pbf extract, e.g. from download.geofabrik.de",
            ),
            "OSM extract",
        ) from exc
    finally:
        scratch.unlink(missing_ok=True)
    n_inside = scan.n_inside
    n_ways, n_relations = len(scan.ways), len(scan.relations)
    seconds = time.perf_counter() - t0
    report = ClipReport(target, n_inside, n_ways, n_relations, size, seconds)
    logger.info(
        "%s: %d nodes inside, %d ways, %d relations kept in %.1f s (%.1f MB/s)",
        source,
        n_inside,
        n_ways,
        n_relations,
        seconds,
        report.mb_per_s,
    )
    return report


def _objects(path: str, entities: Any = None) -> Iterator[Any]:
    """The OSM objects of ``path`` (all kinds, or ``entities``), in the file's order."""
    import osmium

    if entities is None:
        yield from osmium.FileProcessor(path)
    else:
        yield from osmium.FileProcessor(path, entities)


@dataclass
class _Scan:
    n_inside: int
    needed: set[int]  # nodes to write: of kept ways and relations, and tagged nodes inside
    stored: set[int]  # nodes copied to the scratch file (the area's bounding box + margin)
    ways: set[int]
    relations: set[int]
    extra: set[int]  # member ways of kept relations not kept for themselves


def _scan(
    source: Path, area: BaseGeometry, scratch: Path, progress: Callable[[int], None] | None
) -> _Scan:
    """First read: nodes inside (batched point-in-polygon), ways touching them, their relations.

    Nodes within the area's bounding box grown by ``_MARGIN_DEG`` are copied to ``scratch`` on
    the way, so that the second read need not go through the region's nodes again.
    """
    import osmium

    west, south, east, north = area.bounds
    mw, ms, me, mn = (
        west - _MARGIN_DEG,
        south - _MARGIN_DEG,
        east + _MARGIN_DEG,
        north + _MARGIN_DEG,
    )
    inside: set[int] = set()
    out = _Scan(0, set(), set(), set(), set(), set())
    ids = np.empty(_BATCH, dtype=np.int64)
    lons = np.empty(_BATCH, dtype=np.float64)
    lats = np.empty(_BATCH, dtype=np.float64)
    filled = 0
    seen = 0

    def flush() -> None:
        nonlocal filled
        if filled:
            hit = shapely.contains_xy(area, lons[:filled], lats[:filled])
            inside.update(ids[:filled][hit].tolist())
            filled = 0

    writer = osmium.SimpleWriter(str(scratch))
    try:
        for obj in _objects(str(source)):
            seen += 1
            if progress is not None and seen % _TICK == 0:
                progress(_TICK)
            if obj.is_node():
                loc = obj.location
                if not loc.valid():
                    continue
                lon, lat = loc.lon, loc.lat
                if not (mw <= lon <= me and ms <= lat <= mn):
                    continue
                writer.add_node(obj)
                out.stored.add(obj.id)
                if not (west <= lon <= east and south <= lat <= north):
                    continue
                if len(obj.tags) and shapely.contains_xy(area, lon, lat):
                    out.needed.add(obj.id)
                ids[filled], lons[filled], lats[filled] = obj.id, lon, lat
                filled += 1
                if filled == _BATCH:
                    flush()
            elif obj.is_way():
                if filled:
                    flush()
                refs = [n.ref for n in obj.nodes]
                if not inside.isdisjoint(refs):
                    out.ways.add(obj.id)
                    out.needed.update(refs)
            elif obj.is_relation():
                members = [(m.type, m.ref) for m in obj.members]
                if any(
                    (t == "w" and r in out.ways) or (t == "n" and r in inside) for t, r in members
                ):
                    out.relations.add(obj.id)
                    out.extra.update(r for t, r in members if t == "w" and r not in out.ways)
                    out.needed.update(r for t, r in members if t == "n")
        flush()
    finally:
        writer.close()
    if progress is not None:
        progress(seen % _TICK)
    out.n_inside = len(inside)
    return out


def _write(source: Path, scratch: Path, target: Path, scan: _Scan) -> None:
    """Write the kept objects in the source's order: nodes, then ways, then relations.

    The nodes come from the scratch file when it holds them all (the usual case), else from a
    read of the source's nodes (a kept way reaching far outside the area).
    """
    import osmium

    complete = scan.needed <= scan.stored
    if not complete:
        logger.info(
            "%d nodes lie far outside the area: reading the source's nodes again",
            len(scan.needed - scan.stored),
        )
    writer = osmium.SimpleWriter(str(target))
    try:
        for node in _objects(str(scratch if complete else source), osmium.osm.NODE):
            if node.id in scan.needed:
                writer.add_node(node)
        entities = osmium.osm.WAY | osmium.osm.RELATION
        for obj in _objects(str(source), entities):
            if obj.is_way():
                if obj.id in scan.ways:
                    writer.add_way(obj)
            elif obj.id in scan.relations:
                writer.add_relation(obj)
    finally:
        writer.close()


def extract_date(pbf: str | Path) -> str | None:
    """The date of an extract's data (its header's replication timestamp), if it says."""
    import osmium

    reader = osmium.io.Reader(str(pbf), osmium.osm.NOTHING)
    try:
        header = reader.header()
        stamp = header.get("osmosis_replication_timestamp") or header.get("timestamp")
    finally:
        reader.close()
    return stamp[:10] if stamp else None


def write_city_file(
    folder: str | Path,
    name: str,
    pbf: str | Path,
    boundary: BaseGeometry,
    *,
    buffer_m: float,
    date: str | None = None,
) -> Path:
    """Write ``city.toml`` and ``boundary.geojson`` in ``folder`` for the clipped extract.

    The city file (the format every command reads: ``lifecircle run|assess|… city.toml``) names
    the clip for the network, the OSM outlets and the residential buildings, and the boundary
    (written beside it in WGS-84) with the buffer; ``date`` (the extract's) feeds the data audit.
    Edit it to point ``outlets``/``residences`` at a provider import or the bureau's tables.
    """
    import json

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / "boundary.geojson").write_text(
        json.dumps(shapely.geometry.mapping(boundary)), encoding="utf-8"
    )
    rel = Path(os.path.relpath(Path(pbf), out)).as_posix()
    dated = f"\ndate = {date}" if date else ""
    text = (
        "# written by lifecircle fetch osm; run with: lifecircle run city.toml\n"
        f"name = {json.dumps(name, ensure_ascii=False)}\n\n"
        f'[boundary]\npath = "boundary.geojson"\ncrs = "wgs84"\nbuffer_m = {float(buffer_m)}\n\n'
        f'[network]\npath = "{rel}"{dated}\n\n'
        f'[outlets]                  # or a provider import: path = "amap_places.csv", crs = "gcj02"\n'
        f'path = "{rel}"{dated}\n\n'
        f"[residences]               # or the 小区 list read by lifecircle template read\n"
        f'path = "{rel}"{dated}\n'
    )
    target = out / "city.toml"
    target.write_text(text, encoding="utf-8")
    return target

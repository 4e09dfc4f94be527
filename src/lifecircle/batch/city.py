"""One city of a batch, step by step: check → ingest → split → tiles → assess and write.

Each step is a plain function of picklable values, so that the batch runner can ship it to a Dask
worker as it is, and :func:`run_city` runs the same steps one after another in this process.
A step that fails raises :class:`CityTaskError`, which carries a JSON-able record of the error
(the message, and for an :class:`~lifecircle.errors.InputError` every problem with its file,
row, field and fix) through Dask's serialisation to the run log.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from lifecircle.batch._measure import StepStats, measure
from lifecircle.batch.config import CityConfig
from lifecircle.batch.tiles import TileAccess, TileInput, merge_tile_access, run_tile, split_inputs
from lifecircle.errors import InputError, LifecircleError

if TYPE_CHECKING:
    import geopandas as gpd

    from lifecircle.access import AccessResult
    from lifecircle.assess import Assessment, Rulebook
    from lifecircle.network import WalkNetwork
    from lifecircle.taxonomy import Catalogue

__all__ = [
    "MANIFEST",
    "CheckResult",
    "CityInputs",
    "CityTaskError",
    "access_parameters",
    "check_city",
    "code_fingerprint",
    "failed_record",
    "finish_city",
    "load_city_rulebook",
    "read_city_inputs",
    "run_city",
    "run_tile_step",
    "skipped_record",
    "split_city",
    "write_city_outputs",
]

log = logging.getLogger(__name__)

#: Name of the per-city manifest, written last: a city folder without it is incomplete.
MANIFEST = "manifest.json"
#: Bump when the layout of a city's outputs changes (forces a re-run).
OUTPUT_FORMAT = 1
#: Settings that change how a city is computed but not its results (tiling is exact).
_NOT_FINGERPRINTED = ("tiles", "tile_nodes", "halo_m")
#: Parts of the package whose code shapes a city's results (hashed into the fingerprint).
_CODE_PARTS = (
    "access",
    "assess",
    "batch",
    "ingest",
    "report",
    "taxonomy",
    "errors.py",
    "geo.py",
    "network.py",
    "__init__.py",
)
_CODE_SUFFIXES = frozenset({".py", ".toml", ".csv", ".json", ".html", ".j2", ".css", ".txt"})

P = ParamSpec("P")
R = TypeVar("R")


class CityTaskError(LifecircleError):
    """A step of a city failed; ``record`` says how (JSON-able, survives pickling).

    Attributes
    ----------
    record
        ``stage, error, error_type, problems`` (list of ``file, row, field, message, fix``) and
        ``traceback`` (for errors other than input errors, i.e. bugs).
    """

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(record)
        self.record = record

    def __str__(self) -> str:
        return str(self.record.get("error", "failed"))


def _error_record(exc: BaseException, stage: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "stage": stage,
        "error": str(exc),
        "error_type": type(exc).__name__,
        "problems": [],
    }
    if isinstance(exc, InputError):
        record["problems"] = [
            {"file": p.file, "row": p.row, "field": p.field, "message": p.message, "fix": p.fix}
            for p in exc.problems
        ]
    if not isinstance(exc, LifecircleError):
        record["traceback"] = "".join(traceback.format_exception(exc)).rstrip()
    return record


def _stage(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn any exception of a step into a :class:`CityTaskError` naming the step."""

    def wrap(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except CityTaskError:
                raise
            except Exception as exc:
                raise CityTaskError(_error_record(exc, name)) from exc

        return inner

    return wrap


@contextmanager
def _recording_warnings(into: list[str]) -> Iterator[None]:
    """Collect warnings as text (for the run log) instead of letting filters act on them."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                text = f"{w.category.__name__}: {w.message}"
                if text not in into:
                    into.append(text)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 over the package code and data files that shape results (cached per process)."""
    import lifecircle

    root = Path(lifecircle.__file__).resolve().parent
    digest = hashlib.sha256()
    files: list[Path] = []
    for part in _CODE_PARTS:
        p = root / part
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files += [
                f
                for f in p.rglob("*")
                if f.is_file() and f.suffix in _CODE_SUFFIXES and "__pycache__" not in f.parts
            ]
    for f in sorted(set(files)):
        digest.update(f.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(f.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def load_city_rulebook(city: CityConfig, catalogue: Catalogue | None = None) -> Rulebook:
    """The city's rulebook: preset or file, with ``rulebook_overrides`` merged on top."""
    from lifecircle.assess import PRESETS, load_rulebook

    overrides = dict(city.rulebook_overrides) if city.rulebook_overrides else None
    if city.rulebook is None or city.rulebook in PRESETS:
        return load_rulebook(preset=city.rulebook, catalogue=catalogue, overrides=overrides)
    return load_rulebook(Path(city.rulebook), catalogue=catalogue, overrides=overrides)


def access_parameters(
    catalogue: Catalogue, rulebook: Rulebook, walk_speed: float | str
) -> dict[str, Any]:
    """The keyword arguments :func:`~lifecircle.assess.assess_city` gives ``compute_access``.

    Tiles must be computed with exactly these (the bands are the default 5/10/15, the
    catalogue's bands and the rulebook's ``must_have_within_min``).
    """
    from lifecircle.access import DEFAULT_BANDS_MIN

    bands = sorted(
        {*map(float, DEFAULT_BANDS_MIN), *catalogue.bands.values(), *rulebook.bands_min()}
    )
    return {
        "categories": catalogue.codes(),
        "category_names": {c.code: c.name_zh for c in catalogue.categories},
        "walk_speed": walk_speed,
        "bands_min": bands,
    }


@dataclass
class CheckResult:
    """Whether a city's results are current (then it is skipped) and its fingerprint.

    Attributes
    ----------
    skip
        The folder holds results for the same inputs, settings, rulebook and software.
    fingerprint
        SHA-256 of ``fingerprint_doc`` (canonical JSON).
    fingerprint_doc
        ``inputs`` (file → SHA-256), ``options``, ``rulebook_sha256``, ``catalogue_version``,
        ``lifecircle_version``, ``code_sha256``, ``output_format``.
    manifest
        The manifest found in the folder, if any.
    stats
        Time and memory of the check.
    """

    skip: bool
    fingerprint: str
    fingerprint_doc: dict[str, Any]
    manifest: dict[str, Any] | None
    stats: StepStats


def _read_manifest(city_dir: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((city_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


@_stage("check")
def check_city(
    city: CityConfig, city_dir: str | os.PathLike[str], *, force: bool = False
) -> CheckResult:
    """Hash the city's inputs and settings and compare with the manifest in ``city_dir``.

    Raises
    ------
    CityTaskError
        An input file cannot be read, or the rulebook is invalid.
    """
    from lifecircle import __version__
    from lifecircle.taxonomy import load_catalogue

    city_dir = Path(city_dir)
    with measure("check") as stats:
        catalogue = load_catalogue()
        book = load_city_rulebook(city, catalogue)
        options = {k: v for k, v in city.options().items() if k not in _NOT_FINGERPRINTED}
        doc = {
            "output_format": OUTPUT_FORMAT,
            "lifecircle_version": __version__,
            "code_sha256": code_fingerprint(),
            "inputs": {str(p): _sha256(p) for p in city.input_files()},
            "options": options,
            "rulebook_sha256": book.sha256,
            "catalogue_version": catalogue.version,
        }
        text = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
        fingerprint = hashlib.sha256(text.encode("utf-8")).hexdigest()
        manifest = _read_manifest(city_dir)
        skip = (
            not force
            and manifest is not None
            and manifest.get("status") == "ok"
            and manifest.get("fingerprint") == fingerprint
            and all((city_dir / f).is_file() for f in manifest.get("outputs", []))
        )
    return CheckResult(bool(skip), fingerprint, doc, manifest, stats)


@dataclass
class CityInputs:
    """A city's inputs as read and validated, with what the access step will be asked for."""

    city: CityConfig
    network: WalkNetwork
    outlets: gpd.GeoDataFrame
    residences: gpd.GeoDataFrame
    access_kwargs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    stats: StepStats = field(default_factory=lambda: StepStats("ingest"))


@_stage("ingest")
def read_city_inputs(city: CityConfig) -> CityInputs:
    """Read and validate the city's network, outlets and residences (``lifecircle.ingest``)."""
    from lifecircle.ingest import read_network, read_outlets, read_residences
    from lifecircle.taxonomy import load_catalogue

    caught: list[str] = []
    with measure("ingest") as stats, _recording_warnings(caught):
        net = read_network(city.network.path, **dict(city.network.options))
        outlets = read_outlets(city.outlets.path, network=net, **dict(city.outlets.options))
        residences = read_residences(
            city.residences.path, network=net, **dict(city.residences.options)
        )
        catalogue = load_catalogue()
        kwargs = access_parameters(catalogue, load_city_rulebook(city, catalogue), city.walk_speed)
    return CityInputs(city, net, outlets, residences, kwargs, caught, stats)


def _n_tiles(inputs: CityInputs) -> int:
    city = inputs.city
    if city.tiles == "auto":
        n = math.ceil(inputs.network.n_nodes / city.tile_nodes)
    else:
        n = int(city.tiles)
    return max(1, min(n, len(inputs.residences)))


@_stage("split")
def split_city(inputs: CityInputs) -> list[TileInput]:
    """The city's tiles (:func:`lifecircle.batch.tiles.split_inputs`); empty when untiled."""
    n = _n_tiles(inputs)
    if n <= 1:
        return []
    return split_inputs(
        inputs.network,
        inputs.outlets,
        inputs.residences,
        n,
        halo_m=inputs.city.halo_m,
        **inputs.access_kwargs,
    )


@_stage("access")
def run_tile_step(tile_input: TileInput) -> tuple[TileAccess, StepStats]:
    """One tile's access, timed."""
    caught: list[str] = []
    with measure(f"tile {tile_input.tile.index + 1}") as stats, _recording_warnings(caught):
        result = run_tile(tile_input)
    return result, stats


def _assess(inputs: CityInputs, access: AccessResult | None) -> Assessment:
    from lifecircle.assess import assess_city

    city = inputs.city
    kwargs: dict[str, Any] = {
        "city": city.name,
        "rulebook": load_city_rulebook(city),
        "walk_speed": city.walk_speed,
        "circle_minutes": city.circle_minutes,
        "input_files": [str(p) for p in city.input_files()],
    }
    if city.circles is not None:
        import geopandas as gpd

        kwargs["circles"] = gpd.read_file(city.circles)
    if city.mapping is not None:
        kwargs["mapping"] = city.mapping
    if city.responses is not None:
        kwargs["responses"] = city.responses
        kwargs["survey"] = city.survey
    if city.scores is not None:
        kwargs["evaluator_scores"] = city.scores
        kwargs["indicator_sheet"] = city.indicators
    return assess_city(inputs.network, inputs.outlets, inputs.residences, access=access, **kwargs)


def _write_frame_csv(frame: Any, path: Path) -> None:
    frame.to_csv(path, index=False, encoding="utf-8-sig")  # opens in Excel


def write_city_outputs(assessment: Assessment, city_dir: str | os.PathLike[str]) -> list[str]:
    """Write a city's tables; returns the paths written, relative to ``city_dir``.

    ``grades.csv, evidence.csv, kpis.csv, blind_spots.csv``, ``evaluation.csv`` (服务"好不好"
    per circle × indicator, auto/score/missing) and ``evaluation_scores.csv`` (per circle),
    ``satisfaction.csv`` when there are surveys, ``circles.geojson``,
    ``circle_mapping.csv``, ``access.parquet`` (the long residence × 业态 table),
    ``residences.parquet`` (GeoParquet, with each residence's circle and snapping) and
    ``snapshot.json`` (what the results were computed from).
    """
    from lifecircle.assess import write_circle_mapping

    out = Path(city_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    tables = {
        "grades.csv": assessment.grades,
        "evidence.csv": assessment.evidence,
        "kpis.csv": assessment.kpis,
        "blind_spots.csv": assessment.blind_spots,
        "satisfaction.csv": assessment.satisfaction,
        "evaluation.csv": assessment.service_evaluation,
        "evaluation_scores.csv": assessment.service_scores,
    }
    for name, frame in tables.items():
        if frame is not None:
            _write_frame_csv(frame, out / name)
            written.append(name)
    assessment.circles.to_file(out / "circles.geojson", driver="GeoJSON")
    written.append("circles.geojson")
    write_circle_mapping(assessment.residences, out / "circle_mapping.csv", assessment.circles)
    written.append("circle_mapping.csv")
    assessment.access.to_parquet(out / "access.parquet", index=False)
    written.append("access.parquet")
    assessment.residences.to_parquet(out / "residences.parquet", index=False)
    written.append("residences.parquet")
    (out / "snapshot.json").write_text(
        json.dumps(assessment.snapshot, ensure_ascii=False, indent=1, default=str), "utf-8"
    )
    written.append("snapshot.json")
    return written


def _write_reports(assessment: Assessment, city: CityConfig, out: Path) -> list[str]:
    try:
        from lifecircle.report import write_reports
    except ImportError as exc:
        warnings.warn(f"reports not written: {exc}", stacklevel=2)
        return []
    written = write_reports(
        assessment,
        out,
        lang=city.lang,
        formats=city.report_formats,
        per_circle=city.per_circle_reports,
    )
    return [str(name) for name in written]  # paths relative to ``out``


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically: a half-written manifest must never look valid."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str), "utf-8")
    os.replace(tmp, path)


def _now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def _city_summary(inputs: CityInputs, assessment: Assessment) -> dict[str, Any]:
    counts = dict(assessment.snapshot.get("counts", {}))
    return {
        "n_nodes": inputs.network.n_nodes,
        "n_edges": inputs.network.n_edges,
        "network_km": round(inputs.network.total_km, 3),
        "n_outlets": len(inputs.outlets),
        "n_residences": len(inputs.residences),
        "n_circles": len(assessment.grades),
        "grades": counts.get("grades", {}),
    }


@_stage("assess")
def finish_city(
    city: CityConfig,
    city_dir: str | os.PathLike[str],
    inputs: CityInputs,
    parts: Sequence[tuple[TileAccess, StepStats]],
    check: CheckResult,
) -> dict[str, Any]:
    """Merge the tiles (if any), assess the whole city, write its outputs and its manifest.

    Returns
    -------
    dict
        The city's run-log record (``status = "ok"``).
    """
    out = Path(city_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # the folder is being rewritten
    caught = list(inputs.warnings)
    steps = [check.stats, inputs.stats, *(s for _, s in parts)]
    with _recording_warnings(caught):
        access = None
        if parts:
            with measure("merge") as merge_stats:
                access = merge_tile_access(
                    inputs.network,
                    inputs.outlets,
                    inputs.residences,
                    [p for p, _ in parts],
                    **inputs.access_kwargs,
                )
            steps.append(merge_stats)
        with measure("assess") as assess_stats:
            assessment = _assess(inputs, access)
        steps.append(assess_stats)
        with measure("write") as write_stats:
            outputs = write_city_outputs(assessment, out)
        steps.append(write_stats)
        if city.report:
            with measure("report") as report_stats:
                outputs += _write_reports(assessment, city, out)
            steps.append(report_stats)
    timings: dict[str, float] = {}
    for s in steps:
        key = "access_tiles" if s.step.startswith("tile ") else s.step
        timings[key] = round(timings.get(key, 0.0) + s.seconds, 3)
    record: dict[str, Any] = {
        "city": city.name,
        "id": city.id,
        "group": city.group,
        "status": "ok",
        "out": str(out),
        "fingerprint": check.fingerprint,
        "tiles": len(parts) or 1,
        **_city_summary(inputs, assessment),
        "busy_s": round(sum(s.seconds for s in steps), 3),
        "timings_s": timings,
        "peak_rss_mb": round(max(s.peak_rss_mb for s in steps), 1),
        "steps": [s.to_dict() for s in steps],
        "warnings": caught,
        "finished": _now(),
    }
    manifest = {
        **{k: v for k, v in record.items() if k not in ("steps", "warnings", "out")},
        "fingerprint_doc": check.fingerprint_doc,
        "outputs": sorted(dict.fromkeys(outputs)),
    }
    _write_json(out / MANIFEST, manifest)
    return record


def skipped_record(
    city: CityConfig, city_dir: str | os.PathLike[str], check: CheckResult
) -> dict[str, Any]:
    """The run-log record of a city whose results are current."""
    previous = check.manifest or {}
    return {
        "city": city.name,
        "id": city.id,
        "group": city.group,
        "status": "skipped",
        "out": str(city_dir),
        "fingerprint": check.fingerprint,
        "reason": "inputs, settings, rulebook and software unchanged since "
        + str(previous.get("finished", "the last run")),
        "busy_s": round(check.stats.seconds, 3),
        "timings_s": {"check": round(check.stats.seconds, 3)},
        "peak_rss_mb": round(check.stats.peak_rss_mb, 1),
        "steps": [check.stats.to_dict()],
        "finished": _now(),
    }


def failed_record(
    city: CityConfig, city_dir: str | os.PathLike[str], error: BaseException
) -> dict[str, Any]:
    """The run-log record of a failed city (its stale manifest is removed)."""
    if isinstance(error, CityTaskError):
        detail = dict(error.record)
    else:
        detail = _error_record(error, "batch")
    (Path(city_dir) / MANIFEST).unlink(missing_ok=True)
    return {
        "city": city.name,
        "id": city.id,
        "group": city.group,
        "status": "failed",
        "out": str(city_dir),
        **detail,
        "finished": _now(),
    }


def run_city(
    city: CityConfig,
    city_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    map_tiles: Callable[[Callable[[TileInput], Any], list[TileInput]], Iterable[Any]] | None = None,
) -> dict[str, Any]:
    """Run one city in this process: the same steps as on a cluster, one after another.

    Never raises for a failing city: the returned record has ``status = "failed"`` and the error.

    Parameters
    ----------
    city
        The city's configuration.
    city_dir
        Its output folder.
    force
        Recompute even when the results are current.
    map_tiles
        How to run the tiles (default: one after another).

    Returns
    -------
    dict
        The run-log record: ``status`` ``ok``, ``skipped`` or ``failed``.
    """
    try:
        check = check_city(city, city_dir, force=force)
        if check.skip:
            return skipped_record(city, city_dir, check)
        inputs = read_city_inputs(city)
        tiles = split_city(inputs)
        parts = list((map_tiles or map)(run_tile_step, tiles))
        return finish_city(city, city_dir, inputs, parts, check)
    except Exception as exc:
        return failed_record(city, city_dir, exc)

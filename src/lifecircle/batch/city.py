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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from lifecircle.batch._measure import StepStats, measure
from lifecircle.batch.config import CityConfig
from lifecircle.batch.tiles import TileAccess, TileInput, merge_tile_access, run_tile, split_inputs
from lifecircle.errors import InputError, LifecircleError
from lifecircle.project.inputs import access_parameters, load_city_rulebook, recording_warnings

if TYPE_CHECKING:
    import geopandas as gpd

    from lifecircle.access import AccessResult
    from lifecircle.assess import Assessment
    from lifecircle.network import WalkNetwork
    from lifecircle.project import CityInputs as ProjectInputs
    from lifecircle.project import CityRun

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


def _recording_warnings(into: list[str]) -> Any:
    """Collect warnings as text (for the run log) instead of letting filters act on them."""
    return recording_warnings(into, reemit=False)


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
    """A city's inputs as read and validated, with what the access step will be asked for.

    ``project`` holds the inputs of :func:`lifecircle.project.read_inputs` (study area,
    districts, household policy); without it they are completed from the three layers.
    """

    city: CityConfig
    network: WalkNetwork
    outlets: gpd.GeoDataFrame
    residences: gpd.GeoDataFrame
    access_kwargs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    stats: StepStats = field(default_factory=lambda: StepStats("ingest"))
    project: ProjectInputs | None = None


@_stage("ingest")
def read_city_inputs(city: CityConfig) -> CityInputs:
    """Read, clip and complete the city's inputs (:func:`lifecircle.project.read_inputs`)."""
    from lifecircle.project import read_inputs

    caught: list[str] = []
    with measure("ingest") as stats, _recording_warnings(caught):
        project = read_inputs(city)
    return CityInputs(
        city,
        project.network,
        project.outlets,
        project.residences,
        project.access_kwargs,
        caught,
        stats,
        project,
    )


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


def _run(inputs: CityInputs, access: AccessResult | None) -> CityRun:
    """The city run (:func:`lifecircle.project.run_city`) on inputs already read."""
    from lifecircle.project import run_city
    from lifecircle.project.inputs import inputs_from_frames

    project = inputs.project or inputs_from_frames(
        inputs.city, inputs.network, inputs.outlets, inputs.residences
    )
    return run_city(inputs.city, inputs=project, access=access)


def _assess(inputs: CityInputs, access: AccessResult | None) -> Assessment:
    return _run(inputs, access).assessment


def write_city_outputs(
    run: CityRun, city_dir: str | os.PathLike[str], *, reports: bool = False
) -> list[str]:
    """Write a city's outputs; returns the paths written, relative to ``city_dir``.

    Those of :meth:`lifecircle.project.CityRun.write` (``summary.json``, ``audit.csv``,
    ``grades.csv`` …, ``access.parquet``; with ``reports`` the reports as the city asks) plus
    ``residences.parquet`` (GeoParquet, with each residence's circle and snapping) and
    ``snapshot.json`` (what the results were computed from).
    """
    out = Path(city_dir)
    written = [Path(p) for p in run.write(out, reports=reports)]
    assessment = run.assessment
    assessment.residences.to_parquet(out / "residences.parquet", index=False)
    written.append(out / "residences.parquet")
    (out / "snapshot.json").write_text(
        json.dumps(assessment.snapshot, ensure_ascii=False, indent=1, default=str), "utf-8"
    )
    written.append(out / "snapshot.json")
    return [p.relative_to(out).as_posix() if p.is_absolute() else str(p) for p in written]


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
            run = _run(inputs, access)
            assessment = run.assessment
        steps.append(assess_stats)
        with measure("write") as write_stats:
            outputs = write_city_outputs(run, out, reports=city.report)
        steps.append(write_stats)
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

"""Run a batch of cities on Dask (or one after another in this process), with a run log.

Each city is a small graph of tasks: ``check`` (hash the inputs, compare with the city's
manifest) → ``ingest`` → ``split`` (into tiles when the city is large) → one task per tile →
``assess`` (merge the tiles, grade the whole city, write its tables, reports and manifest).
Cities run side by side; a failed city is logged with its error and the others go on.

The output folder must be reachable under the same path from the workers and from this process
(a local folder for a ``LocalCluster``, a shared file system for a cluster).
"""

from __future__ import annotations

import json
import logging
import operator
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecircle.batch.city import (
    check_city,
    failed_record,
    finish_city,
    read_city_inputs,
    run_city,
    run_tile_step,
    skipped_record,
    split_city,
)
from lifecircle.batch.config import BatchConfig
from lifecircle.errors import LifecircleError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["RUN_LOG", "BatchSummary", "batch_client", "dashboard_link", "run_batch"]

log = logging.getLogger(__name__)

#: The run log in the output folder: one JSON object per line (``start``, ``city``, ``end``).
RUN_LOG = "run_log.jsonl"
#: Dask priorities: finish cities already started before ingesting new ones (bounded memory).
_PRIORITY = {"check": 0, "ingest": 1, "split": 2, "tile": 3, "finish": 4}


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise LifecircleError(
            "batch runs on a cluster need Dask: pip install 'lifecircle[batch]' "
            "(or run without Dask with --workers 0)"
        ) from exc
    return distributed


@contextmanager
def batch_client(
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | float = "auto",
    dashboard_address: str | None = ":8787",
) -> Iterator[Client | None]:
    """A Dask client for a batch: an existing cluster, a new ``LocalCluster``, or none.

    Parameters
    ----------
    scheduler
        Address of an existing scheduler (``tcp://host:8786``); then the other options are
        ignored.
    n_workers
        Worker processes of a new ``LocalCluster`` (default: the CPU count); ``0`` yields
        ``None``: run in this process, one city after another.
    threads_per_worker
        Threads per worker process (default 1: the access kernels release the GIL and use
        threads of their own; one task per process also makes the per-step memory exact).
    memory_limit
        Per worker (Dask's ``"auto"``: the machine's memory shared by the workers).
    dashboard_address
        Where the dashboard listens (needs ``bokeh``); ``None`` for none.
    """
    if scheduler is None and n_workers == 0:
        yield None
        return
    distributed = _import_distributed()
    if scheduler is not None:
        client = distributed.Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = distributed.LocalCluster(
        n_workers=n_workers or os.cpu_count() or 1,
        threads_per_worker=threads_per_worker,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=dashboard_address,
        silence_logs=logging.ERROR,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        quiet = logging.getLogger("distributed")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # no INFO lines about every closing worker
        try:
            client.close()
            cluster.close()
        finally:
            quiet.setLevel(level)


def dashboard_link(client: Client | None) -> str | None:
    """The Dask dashboard's address, or ``None`` when it is not served (no ``bokeh``)."""
    if client is None:
        return None
    try:
        services = client.scheduler_info().get("services", {})
    except Exception:  # pragma: no cover - scheduler gone
        return None
    return str(client.dashboard_link) if "dashboard" in services else None


@dataclass
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    out
        The output folder.
    run_log
        The run log (JSON lines).
    records
        One record per city, in the configuration's order (``status`` ``ok``, ``skipped`` or
        ``failed``; see the run log).
    rollup
        The roll-up files written (empty if it failed).
    rollup_error
        Why the roll-up failed, if it did.
    wall_s
        Wall time of the whole run.
    run_id
        This run's ``run_id`` in the run log (which accumulates runs).
    """

    out: Path
    run_log: Path
    records: list[dict[str, Any]]
    run_id: str = ""
    rollup: dict[str, Path] = field(default_factory=dict)
    rollup_error: str | None = None
    wall_s: float = 0.0

    def count(self, status: str) -> int:
        """Number of cities with this status."""
        return sum(1 for r in self.records if r.get("status") == status)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Records of the failed cities."""
        return [r for r in self.records if r.get("status") == "failed"]

    @property
    def exit_code(self) -> int:
        """0 when every city has results and the roll-up was written, else 1."""
        return 1 if self.failed or self.rollup_error else 0


class _RunLog:
    """Appends JSON lines and flushes each, so that a crash leaves a readable log."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, doc: Mapping[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")


def _run_serial(
    config: BatchConfig, out: Path, force: bool, done: Callable[[int, dict[str, Any]], None]
) -> None:
    for i, city in enumerate(config.cities):
        done(i, run_city(city, out / city.id, force=force))


def _run_distributed(
    client: Client,
    config: BatchConfig,
    out: Path,
    force: bool,
    done: Callable[[int, dict[str, Any]], None],
) -> None:
    distributed = _import_distributed()
    pending = distributed.as_completed()
    stage_of: dict[str, tuple[int, str]] = {}
    held: dict[int, dict[str, Any]] = {}
    cities = config.cities

    def submit(i: int, stage: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        fut = client.submit(func, *args, pure=False, priority=_PRIORITY[stage], **kwargs)
        held.setdefault(i, {}).setdefault(stage, []).append(fut)
        return fut

    def watch(fut: Any, i: int, stage: str) -> None:
        stage_of[fut.key] = (i, stage)
        pending.add(fut)

    for i, city in enumerate(cities):
        watch(submit(i, "check", check_city, city, str(out / city.id), force=force), i, "check")

    for fut in pending:
        i, stage = stage_of.pop(fut.key)
        city = cities[i]
        city_dir = out / city.id
        if fut.status != "finished":
            error = fut.exception() if fut.status == "error" else RuntimeError(fut.status)
            held.pop(i, None)
            done(i, failed_record(city, city_dir, error))
            continue
        if stage == "check":
            check = fut.result()
            if check.skip:
                held.pop(i, None)
                done(i, skipped_record(city, city_dir, check))
                continue
            inputs = submit(i, "ingest", read_city_inputs, city)
            tiles = submit(i, "split", split_city, inputs)
            watch(submit(i, "split", len, tiles), i, "split")
        elif stage == "split":
            n_tiles = fut.result()
            inputs = held[i]["ingest"][0]
            tiles = held[i]["split"][0]
            parts = [
                submit(i, "tile", run_tile_step, submit(i, "tile", operator.getitem, tiles, j))
                for j in range(n_tiles)
            ]
            check = held[i]["check"][0]
            watch(
                submit(i, "finish", finish_city, city, str(city_dir), inputs, parts, check),
                i,
                "finish",
            )
        else:
            held.pop(i, None)
            done(i, fut.result())


def run_batch(
    config: BatchConfig,
    *,
    out: str | os.PathLike[str] | None = None,
    client: Client | None = None,
    force: bool = False,
    progress: bool = False,
) -> BatchSummary:
    """Run every city of a batch, write the run log and the roll-up.

    Parameters
    ----------
    config
        The batch (:func:`lifecircle.batch.load_batch_config`).
    out
        Output folder (default: the configuration's ``out``, else ``lifecircle-batch`` beside
        the configuration file).  Each city writes to ``out/<city id>/``.
    client
        A Dask client (:func:`batch_client`); ``None`` runs the cities one after another in this
        process, with the same steps.
    force
        Recompute cities whose results are current.
    progress
        Show a progress bar (cities done) on stderr.

    Returns
    -------
    BatchSummary
        Its ``exit_code`` is 1 when a city failed (every other city's results are written).
    """
    from tqdm.auto import tqdm

    from lifecircle import __version__
    from lifecircle.batch.rollup import write_rollup

    t0 = time.perf_counter()
    folder = (
        Path(out) if out is not None else (config.out or config.path.parent / "lifecircle-batch")
    )
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    run_log = _RunLog(folder / RUN_LOG)
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    workers = len(client.scheduler_info().get("workers", {})) if client is not None else 0
    run_log.write(
        {
            "event": "start",
            "run_id": run_id,
            "started": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
            "config": str(config.path),
            "out": str(folder),
            "n_cities": len(config.cities),
            "scheduler": client.scheduler.address if client is not None else "in-process",
            "workers": workers,
            "dashboard": dashboard_link(client),
            "force": force,
            "lifecircle_version": __version__,
        }
    )
    records: list[dict[str, Any]] = [{} for _ in config.cities]
    with tqdm(
        total=len(config.cities), disable=not progress, unit="city", desc="城市 cities"
    ) as bar:

        def done(i: int, record: dict[str, Any]) -> None:
            records[i] = record
            run_log.write({"event": "city", "run_id": run_id, **record})
            if record.get("status") == "failed":
                log.error("%s failed: %s", record.get("city"), record.get("error"))
            bar.set_postfix_str(f"{record.get('city')}: {record.get('status')}", refresh=False)
            bar.update(1)

        if client is None:
            _run_serial(config, folder, force, done)
        else:
            _run_distributed(client, config, folder, force, done)

    summary = BatchSummary(folder, folder / RUN_LOG, records, run_id=run_id)
    try:
        summary.rollup = write_rollup(folder, config.cities, records, title=config.title)
    except Exception as exc:  # the cities' results stand; say why the roll-up is missing
        log.exception("roll-up failed")
        summary.rollup_error = f"{type(exc).__name__}: {exc}"
    summary.wall_s = time.perf_counter() - t0
    run_log.write(
        {
            "event": "end",
            "run_id": run_id,
            "ok": summary.count("ok"),
            "skipped": summary.count("skipped"),
            "failed": summary.count("failed"),
            "wall_s": round(summary.wall_s, 3),
            "rollup": {k: str(v) for k, v in summary.rollup.items()},
            "rollup_error": summary.rollup_error,
        }
    )
    return summary

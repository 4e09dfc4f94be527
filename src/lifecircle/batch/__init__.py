"""Many cities on Dask: batch runs, tiles for large cities, resumable, with a roll-up.

>>> from lifecircle.batch import batch_client, load_batch_config, run_batch  # doctest: +SKIP
>>> config = load_batch_config("shaanxi.toml")  # doctest: +SKIP
>>> with batch_client(n_workers=4) as client:  # doctest: +SKIP
...     summary = run_batch(config, client=client, progress=True)
>>> summary.exit_code  # doctest: +SKIP
0

The configuration format is described in :mod:`lifecircle.batch.config`; tiling in
:mod:`lifecircle.batch.tiles`; the steps of one city in :mod:`lifecircle.batch.city`.
Dask (``pip install 'lifecircle[batch]'``) is imported only when a cluster is used.
"""

from lifecircle.batch.city import CityTaskError, run_city
from lifecircle.batch.config import BatchConfig, CityConfig, LayerSpec, load_batch_config
from lifecircle.batch.rollup import Rollup, build_rollup, write_rollup
from lifecircle.batch.runner import RUN_LOG, BatchSummary, batch_client, dashboard_link, run_batch
from lifecircle.batch.tiles import compute_access_tiled, min_halo_m, plan_tiles

__all__ = [
    "RUN_LOG",
    "BatchConfig",
    "BatchSummary",
    "CityConfig",
    "CityTaskError",
    "LayerSpec",
    "Rollup",
    "batch_client",
    "build_rollup",
    "compute_access_tiled",
    "dashboard_link",
    "load_batch_config",
    "min_halo_m",
    "plan_tiles",
    "run_batch",
    "run_city",
    "write_rollup",
]

"""Several server processes on one port, each with its own listening socket.

uvicorn's ``--workers`` shares one listening socket between its processes; under load the
process that happens to be waiting in ``accept`` takes most new connections (measured: 186 of
200 keep-alive clients on one of two workers), so one core idles while the other queues.  Here
every process binds the port itself with ``SO_REUSEPORT`` and the kernel spreads connections
over them evenly.  Where the platform has no ``SO_REUSEPORT``, uvicorn's workers are used.

Each process builds the app with :func:`lifecircle.web.app.create_app` from the environment
(``LIFECIRCLE_*``), as ``uvicorn --factory`` does.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
from types import FrameType
from typing import Any

__all__ = ["serve_processes"]

_APP = "lifecircle.web.app:create_app"


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn

    sock = _listen(host, port)
    config = uvicorn.Config(_APP, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve_processes(host: str, port: int, workers: int, **options: Any) -> None:
    """Serve the platform from ``workers`` processes on ``host:port`` until stopped.

    ``options`` go to :class:`uvicorn.Config` (``log_level``, ``proxy_headers``, ...).
    SIGINT/SIGTERM stop every process.
    """
    if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - not on Linux/macOS
        import uvicorn

        uvicorn.run(_APP, factory=True, host=host, port=port, workers=workers, **options)
        return
    _listen(host, port).close()  # a port in use is reported here, once, not by each process
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker, args=(host, port, options), name=f"lifecircle-web-{i}")
        for i in range(workers)
    ]

    def stop(signum: int, frame: FrameType | None) -> None:
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                proc.terminate()  # uvicorn shuts down gracefully on SIGTERM

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    failed = [p.exitcode for p in procs if p.exitcode not in (0, -signal.SIGTERM)]
    if failed:
        sys.exit(f"a server process failed (exit codes {failed}); see the log above")

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
import time
from multiprocessing.connection import wait
from types import FrameType
from typing import Any

__all__ = ["serve_processes"]

_APP = "lifecircle.web.app:create_app"
#: More than this many replacements per worker within the window means a crash loop: stop.
_MAX_RESTARTS = 5
_RESTART_WINDOW_S = 60.0


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
    SIGINT/SIGTERM stop every process.  A process that ends otherwise (killed, out of memory)
    is replaced by a new one; if they keep ending, the server stops with an error.
    """
    if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - not on Linux/macOS
        import uvicorn

        uvicorn.run(_APP, factory=True, host=host, port=port, workers=workers, **options)
        return
    _listen(host, port).close()  # a port in use is reported here, once, not by each process
    ctx = multiprocessing.get_context("spawn")

    def start(i: int) -> Any:
        proc = ctx.Process(target=_worker, args=(host, port, options), name=f"lifecircle-web-{i}")
        proc.start()
        return proc

    stopping = False
    procs: list[Any] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                proc.terminate()  # uvicorn shuts down gracefully on SIGTERM

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    procs.extend(start(i) for i in range(workers))
    recent: list[float] = []  # when processes were replaced, to stop a crash loop
    gave_up = False
    while any(proc.is_alive() for proc in procs):
        wait([proc.sentinel for proc in procs if proc.is_alive()], timeout=1.0)
        for i, proc in enumerate(procs):
            if stopping or proc.exitcode is None:
                continue
            # a process that ends while the server is not being stopped (killed, out of
            # memory, a crash) is replaced, so the port keeps its full number of processes
            now = time.monotonic()
            recent = [t for t in recent if now - t < _RESTART_WINDOW_S] + [now]
            if len(recent) > _MAX_RESTARTS * workers:
                print(
                    f"server processes keep ending ({len(recent)} in {_RESTART_WINDOW_S:g} s); "
                    "stopping / 服务进程反复退出，停止服务",
                    file=sys.stderr,
                    flush=True,
                )
                gave_up = True
                stop(signal.SIGTERM, None)
                break
            print(
                f"server process {proc.name} (pid {proc.pid}) ended with exit code "
                f"{proc.exitcode}; starting a new one / 服务进程退出，已重新启动",
                file=sys.stderr,
                flush=True,
            )
            procs[i] = start(i)
    failed = [p.exitcode for p in procs if p.exitcode not in (0, -signal.SIGTERM)]
    if failed or gave_up:
        sys.exit(f"a server process failed (exit codes {failed}); see the log above")

"""Load benchmark of the web platform: concurrent clients on ``/api/nearest`` over loopback.

Each client holds one keep-alive HTTP/1.1 connection and sends ``GET /api/nearest`` requests
back to back (no think time by default: a closed loop, the hardest case; ``--think-ms`` adds a
pause like a resident looking at the map between clicks) from random points of the city
(outlet positions moved by up to ~40 m) with a random 业态 (or none), for ``--duration`` seconds
after ``--warmup`` seconds that are not counted.  Latency is measured per request by the client
(send → last byte of the body); any status other than 200 or any broken connection is an error.

The load generator is ``h2load`` (``apt-get install nghttp2-client``) when installed, else this
script's asyncio clients (which take a good share of the CPU themselves).

Prints a markdown table (for bench/RESULTS.md) and exits 1 when there were errors or when the
p99 latency exceeds ``--max-p99-ms``.

Usage::

    python bench/web_load.py                      # starts a server on the sample city
    python bench/web_load.py --workers 4          # ... with 4 server processes
    python bench/web_load.py --url http://127.0.0.1:8000   # a server already running

The acceptance run is 200 clients for 60 s (the defaults): p99 < 100 ms, no errors.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CATEGORIES = [None, "pharmacy", "convenience_store", "breakfast", "bank", "repair", "supermarket"]


@dataclass
class Tally:
    """What the clients measured."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    first_error: str = ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def start_server(args: argparse.Namespace, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``lifecircle serve`` on a free port with the city; returns the process and URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFECIRCLE_")}
    env.update(
        {
            "LIFECIRCLE_DATA_DIR": str(data_dir),
            "LIFECIRCLE_CITIES": args.city,
            "LIFECIRCLE_MODE": "dev",
            "PYTHONPATH": str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", ""),
        }
    )
    # the platform's own command: one process per worker, each with its own listening socket
    cmd = [sys.executable, "-m", "lifecircle.cli", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(args.workers), "--data-dir", str(data_dir)]  # fmt: skip
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + args.start_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited; see {data_dir / 'server.log'}")
        try:
            if _get_json(f"{url}/api/health").get("status") == "ok":  # type: ignore[union-attr]
                return proc, url
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server did not start in {args.start_timeout} s")


def query_paths(url: str, n: int, seed: int) -> list[str]:
    """``n`` request paths from random points near the city's outlets."""
    rng = random.Random(seed)
    outlets = _get_json(f"{url}/api/outlets?limit=20000")
    coords = [f["geometry"]["coordinates"] for f in outlets["features"]]  # type: ignore[index]
    paths = []
    for _ in range(n):
        lon, lat = rng.choice(coords)
        lon += rng.uniform(-0.0006, 0.0006)
        lat += rng.uniform(-0.0003, 0.0003)
        query = {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "k": "5"}
        category = rng.choice(CATEGORIES)
        if category:
            query["category"] = category
        paths.append("/api/nearest?" + urllib.parse.urlencode(query))
    return paths


async def _read_response(reader: asyncio.StreamReader) -> int:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed by the server")
    status = int(status_line.split(b" ", 2)[1])
    length = -1
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding":
            raise ConnectionError("chunked responses are not expected")
    if length < 0:
        raise ConnectionError("response without Content-Length")
    await reader.readexactly(length)
    return status


async def client(
    host: str,
    port: int,
    paths: list[str],
    t_count: float,
    t_stop: float,
    seed: int,
    tally: Tally,
    think_s: float = 0.0,
) -> None:
    """One client: a keep-alive connection, requests until ``t_stop`` (back to back, or with an
    exponentially distributed pause of mean ``think_s`` after each answer)."""
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            if think_s > 0:
                await asyncio.sleep(rng.expovariate(1.0 / think_s))
            now = time.perf_counter()
            if now >= t_stop:
                break
            request = (
                f"GET {rng.choice(paths)} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                "Connection: keep-alive\r\n\r\n"
            ).encode("ascii")
            try:
                if reader.at_eof():
                    # the server closed the idle keep-alive connection (as HTTP allows):
                    # open a new one, as browsers do; not an error
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    now = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status = await _read_response(reader)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                tally.errors += 1
                tally.first_error = tally.first_error or repr(exc)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            done = time.perf_counter()
            if now >= t_count:
                tally.latencies.append(done - now)
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
                if status != 200:
                    tally.errors += 1
                    tally.first_error = tally.first_error or f"HTTP {status}"
    finally:
        writer.close()


async def run_load(
    url: str,
    paths: list[str],
    clients: int,
    warmup: float,
    duration: float,
    think_s: float = 0.0,
) -> Tally:
    """Run ``clients`` clients; count what happens after ``warmup`` for ``duration`` seconds."""
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    tally = Tally()
    start = time.perf_counter()
    t_count, t_stop = start + warmup, start + warmup + duration
    await asyncio.gather(
        *(client(host, port, paths, t_count, t_stop, i, tally, think_s) for i in range(clients))
    )
    return tally


def run_h2load(url: str, paths: list[str], args: argparse.Namespace) -> dict[str, float]:
    """``h2load`` (nghttp2's load generator, in C: it takes little of the machine's CPU from
    the server) in HTTP/1.1 mode: ``--clients`` connections, each sending the next request as
    soon as the answer is in, cycling through ``paths``.  Every request is logged, so the
    percentiles are exact.  (wrk was tried first: against a trivial ASGI app it reported a
    multi-second p99 that neither h2load nor the asyncio clients see.)"""
    with tempfile.TemporaryDirectory(prefix="lifecircle-h2load-") as tmp:
        uris = Path(tmp) / "uris.txt"
        uris.write_text("".join(f"{url}{p}\n" for p in paths))
        log = Path(tmp) / "requests.log"
        cmd = ["h2load", "--h1", "-c", str(args.clients), "-t", "1", "-i", str(uris),
               "--warm-up-time", f"{args.warmup:g}", "-D", f"{args.duration:g}",
               "--log-file", str(log), url]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not log.exists():
            raise SystemExit(f"h2load failed: {done.stdout}{done.stderr}")
        return h2load_figures(log.read_text(), done.stdout, args.duration)


def h2load_figures(log: str, summary: str, duration: float) -> dict[str, float]:
    """The figures of one h2load run from its ``--log-file`` and its printed summary.

    The log has one line per request closed in the counted phase: start (µs since the
    epoch), status (-1: failed) and latency (µs).  A successful line with status 0 is a
    request whose status line arrived during the warm-up (h2load 1.52 records a status only
    in the counted phase): it began before counting started and is left out like every
    other warm-up request.  A failed request is both a log line and in h2load's ``failed``
    count; it is counted once."""
    rows = np.loadtxt(io.StringIO(log), usecols=(0, 1, 2), ndmin=2)
    failed = re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", summary)
    status = rows[:, 1].astype(int)
    codes, counts = np.unique(status, return_counts=True)
    print(f"statuses {dict(zip(codes.tolist(), counts.tolist(), strict=True))}; "
          f"h2load: {failed.group(0) if failed else '?'}", file=sys.stderr)  # fmt: skip
    counted = status != 0
    lat, status = rows[counted, 2], status[counted]
    return {
        "requests": int(lat.size),
        "duration_us": duration * 1e6,
        "p50_us": float(np.percentile(lat, 50)),
        "p90_us": float(np.percentile(lat, 90)),
        "p99_us": float(np.percentile(lat, 99)),
        "max_us": float(lat.max()),
        "errors": max(int((status != 200).sum()), int(failed.group(1)) if failed else 0),
    }


def figures_of(tally: Tally, duration: float) -> dict[str, float]:
    """The Python clients' tally as the figures :func:`run_h2load` returns."""
    lat = np.array(tally.latencies) * 1e6
    n = lat.size
    q = lambda x: float(np.percentile(lat, x)) if n else float("nan")  # noqa: E731
    return {"requests": n, "duration_us": duration * 1e6, "p50_us": q(50), "p90_us": q(90),
            "p99_us": q(99), "max_us": float(lat.max()) if n else float("nan"),
            "errors": tally.errors}  # fmt: skip


def table(args: argparse.Namespace, fig: dict[str, float], server: str) -> str:
    """The results as a markdown table."""
    ms = {k: fig[f"{k}_us"] / 1000.0 for k in ("p50", "p90", "p99", "max")}
    rps = fig["requests"] / (fig["duration_us"] / 1e6)
    rows = [
        "| client | clients | think ms | workers | duration s | requests | req/s | p50 ms | p90 ms "
        "| p99 ms | max ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {args.client} | {args.clients} | {args.think_ms:g} | {server} | "
        f"{fig['duration_us'] / 1e6:.0f} | {fig['requests']} | {rps:.0f} | {ms['p50']:.1f} | "
        f"{ms['p90']:.1f} | {ms['p99']:.1f} | {ms['max']:.1f} | {fig['errors']} |",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--city", default="helsinki", help="city of the started server")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers to start")
    parser.add_argument("--data-dir", type=Path, help="data folder of the started server")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="counted seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="uncounted seconds first")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause of a client between answer and next request (default 0: a closed "
        "loop, requests back to back)",
    )
    parser.add_argument(
        "--client",
        choices=["h2load", "python"],
        default="h2load" if shutil.which("h2load") else "python",
        help="load generator: h2load (Debian package nghttp2-client; the default when "
        "installed) or the asyncio clients of this script (needed for --think-ms)",
    )
    parser.add_argument("--max-p99-ms", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start-timeout", type=float, default=300.0)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    proc = None
    tmp = None
    url = args.url
    server = "?"
    try:
        if url is None:
            data_dir = args.data_dir
            if data_dir is None:
                tmp = tempfile.mkdtemp(prefix="lifecircle-bench-")
                data_dir = Path(tmp)
            data_dir.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            proc, url = start_server(args, data_dir)
            server = str(args.workers)
            print(f"server up in {time.perf_counter() - t0:.1f} s at {url}", file=sys.stderr)
        paths = query_paths(url, 4000, args.seed)
        print(
            f"{args.clients} clients, {args.warmup:g} s warm-up + {args.duration:g} s on "
            f"/api/nearest …",
            file=sys.stderr,
        )
        if args.client == "h2load":
            if args.think_ms:
                parser.error("--think-ms needs --client python")
            fig = run_h2load(url, paths, args)
        else:
            tally = asyncio.run(
                run_load(url, paths, args.clients, args.warmup, args.duration, args.think_ms / 1000)
            )
            fig = figures_of(tally, args.duration)
            if tally.first_error:
                print(f"first error: {tally.first_error}", file=sys.stderr)
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    print(table(args, fig, server))
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    print(
        f"\nclient and server on one machine ({os.cpu_count()} cores, load average "
        f"{load[0]:.1f} at the end)",
        file=sys.stderr,
    )
    if args.json:
        out = {"client": args.client, "clients": args.clients, "think_ms": args.think_ms,
               "workers": server, "cores": os.cpu_count(), **fig,
               "rps": fig["requests"] / (fig["duration_us"] / 1e6)}  # fmt: skip
        args.json.write_text(json.dumps(out, indent=2))
    ok = fig["errors"] == 0 and fig["requests"] > 0 and fig["p99_us"] / 1000 <= args.max_p99_ms
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

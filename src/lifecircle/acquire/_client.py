"""The HTTP client shared by the provider imports: cache, rate limit, retries, key hygiene.

Every request goes through :class:`ApiClient`:

* an on-disk SQLite cache keyed by the request *without* the key, written after every successful
  response, so that an interrupted import resumes where it stopped and a re-run costs nothing;
* a rate limit (``qps`` requests per second at most) and an optional request budget (the daily
  quota the user wants to spend);
* retries with exponential backoff on transport errors, HTTP 5xx/429 and the provider's
  "too frequent"/"busy" codes;
* the key is added to the request only when it is sent, never stored, and redacted from every log
  record of httpx and from every message.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lifecircle.errors import LifecircleError

__all__: list[str] = []  # private module; the errors are exported by lifecircle.acquire

logger = logging.getLogger(__name__)

# the loggers of httpx/httpcore that may see a request (a filter applies to its own logger only)
_HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


class AcquireError(LifecircleError):
    """A provider request failed for good (after the retries, or for a reason retrying cannot fix)."""


class KeyInvalidError(AcquireError):
    """The provider rejected the key (unknown, disabled, wrong platform or IP/SN check failed)."""


class QuotaExceededError(AcquireError):
    """The provider's daily quota, or the request budget given to the import, is spent."""


class TransientError(AcquireError):
    """A failure worth retrying (busy, too frequent, gateway timeout)."""


@dataclass(frozen=True)
class ProviderReply:
    """How a provider's JSON reply is judged: ``ok`` or one of the error kinds with a message."""

    kind: str  # "ok", "key", "quota", "transient", "error"
    message: str = ""


class RequestCache:
    """Responses on disk (SQLite), keyed by provider, path and parameters (never the key).

    Parameters
    ----------
    path
        The database file; created with its folder when missing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses ("
            " request TEXT PRIMARY KEY, body TEXT NOT NULL, fetched_at TEXT NOT NULL)"
        )
        self._db.commit()

    def get(self, request: str) -> tuple[dict[str, Any], str] | None:
        """The cached body and its fetch time (UTC ISO), or ``None``."""
        row = self._db.execute(
            "SELECT body, fetched_at FROM responses WHERE request = ?", (request,)
        ).fetchone()
        if row is None:
            return None
        return json.loads(row[0]), str(row[1])

    def put(self, request: str, body: Mapping[str, Any], fetched_at: str) -> None:
        """Store one response and commit at once (an interrupted run keeps it)."""
        self._db.execute(
            "INSERT OR REPLACE INTO responses (request, body, fetched_at) VALUES (?, ?, ?)",
            (request, json.dumps(body, ensure_ascii=False), fetched_at),
        )
        self._db.commit()

    def close(self) -> None:
        """Close the database."""
        self._db.close()


class _RedactKey(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self.secret in text:
            record.msg = text.replace(self.secret, "***")
            record.args = ()
        return True


@dataclass
class RequestStats:
    """What an :class:`ApiClient` did: requests sent, answered from the cache, retried."""

    sent: int = 0
    cached: int = 0
    retried: int = 0
    first_fetch: str | None = None
    last_fetch: str | None = None
    sent_requests: list[str] = field(default_factory=list)

    def _seen(self, fetched_at: str) -> None:
        if self.first_fetch is None or fetched_at < self.first_fetch:
            self.first_fetch = fetched_at
        if self.last_fetch is None or fetched_at > self.last_fetch:
            self.last_fetch = fetched_at


class ApiClient:
    """GET JSON from one provider with cache, rate limit, budget and retries.

    Parameters
    ----------
    provider
        ``"amap"`` or ``"baidu"`` (part of the cache key).
    base_url
        The provider's address, e.g. ``https://restapi.amap.com``.
    key
        The user's key; sent as the parameter ``key_param``, never cached, logged or written.
    key_param
        Name of the key's query parameter (``"key"`` for Amap, ``"ak"`` for Baidu).
    judge
        Reads a reply's JSON and tells whether it is a success or which error it is.
    cache
        Where responses are kept; ``None`` caches nothing.
    qps
        Requests per second at most.
    max_requests
        Stop with :class:`QuotaExceededError` before sending more than this many requests
        (cached answers are free); ``None`` for no budget.
    retries
        Attempts after the first on a transient failure.
    backoff_s
        First wait before a retry; doubled at each further attempt.
    timeout_s
        Timeout of one request.
    transport
        An httpx transport (tests); default the network.
    sleep
        The function that waits (tests may pass a fake clock).
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        key: str,
        key_param: str,
        judge: Callable[[Mapping[str, Any]], ProviderReply],
        *,
        cache: RequestCache | None = None,
        qps: float = 3.0,
        max_requests: int | None = None,
        retries: int = 4,
        backoff_s: float = 1.0,
        timeout_s: float = 20.0,
        transport: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        if not key or not key.strip():
            raise KeyInvalidError(
                f"no {provider} key was given / 未提供{provider}密钥. Fix: set it in the "
                "environment variable or a key file (see --help)"
            )
        if qps <= 0:
            raise AcquireError(f"qps must be positive, got {qps}")
        self.provider = provider
        self._key = key.strip()
        self._key_param = key_param
        self._judge = judge
        self.cache = cache
        self._interval = 1.0 / qps
        self._max_requests = max_requests
        self._retries = retries
        self._backoff = backoff_s
        self._sleep = sleep
        self._last_sent = -float("inf")
        #: UTC time (ISO) at which the answer returned by the last :meth:`get` was fetched.
        self.last_fetched_at = ""
        self.stats = RequestStats()
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout_s, transport=transport, follow_redirects=True
        )
        self._filter = _RedactKey(self._key)
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    def close(self) -> None:
        """Close the connection pool and the cache; stop redacting the key from httpx logs."""
        self._http.close()
        if self.cache is not None:
            self.cache.close()
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """``text`` with the key replaced by ``***``."""
        return text.replace(self._key, "***")

    def request_id(self, path: str, params: Mapping[str, Any]) -> str:
        """The cache key of a request: provider, path and sorted parameters, without the key."""
        items = sorted((str(k), str(v)) for k, v in params.items() if k != self._key_param)
        return json.dumps([self.provider, path, items], ensure_ascii=False)

    def get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON reply to ``GET path?params`` (from the cache when it has it).

        Raises
        ------
        KeyInvalidError, QuotaExceededError
            At once: retrying cannot help.
        AcquireError
            Any other failure, after the retries.
        """
        rid = self.request_id(path, params)
        if self.cache is not None:
            hit = self.cache.get(rid)
            if hit is not None:
                self.stats.cached += 1
                self.stats._seen(hit[1])
                self.last_fetched_at = hit[1]
                return hit[0]
        body, fetched_at = self._fetch(path, params, rid)
        self.stats._seen(fetched_at)
        self.last_fetched_at = fetched_at
        if self.cache is not None:
            self.cache.put(rid, body, fetched_at)
        return body

    def _fetch(self, path: str, params: Mapping[str, Any], rid: str) -> tuple[dict[str, Any], str]:
        import httpx

        last = ""
        for attempt in range(self._retries + 1):
            if attempt:
                self.stats.retried += 1
                wait = self._backoff * 2 ** (attempt - 1)
                logger.info("%s: retry %d in %.1f s (%s)", self.provider, attempt, wait, last)
                self._sleep(wait)
            if self._max_requests is not None and self.stats.sent >= self._max_requests:
                raise QuotaExceededError(
                    f"{self.provider}: the request budget of {self._max_requests} is spent "
                    f"/ 请求预算已用完. Fix: run the same command again later (or with a larger "
                    "--max-requests); the cache keeps every answer received, nothing is asked twice"
                )
            self._throttle()
            self.stats.sent += 1
            self.stats.sent_requests.append(rid)
            try:
                response = self._http.get(path, params={**params, self._key_param: self._key})
            except httpx.HTTPError as exc:
                last = self.redact(f"{type(exc).__name__}: {exc}")
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise AcquireError(
                    f"{self.provider}: HTTP {response.status_code} for {path} "
                    f"/ 请求失败. Fix: check --base-url"
                )
            try:
                body = response.json()
            except ValueError:
                last = "the reply is not JSON"
                continue
            verdict = self._judge(body)
            fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            if verdict.kind == "ok":
                return body, fetched_at
            message = self.redact(verdict.message)
            if verdict.kind == "key":
                raise KeyInvalidError(
                    f"{self.provider} rejected the key / 密钥无效: {message}. Fix: check the key "
                    "and that it is enabled for the Web Service API (Web服务) on this IP"
                )
            if verdict.kind == "quota":
                raise QuotaExceededError(
                    f"{self.provider}: the daily quota is exhausted / 当日配额已用完: {message}. "
                    "Fix: run the same command again tomorrow (or with a key of larger quota); "
                    "the cache keeps every answer received, nothing is asked twice"
                )
            if verdict.kind == "transient":
                last = message
                continue
            raise AcquireError(f"{self.provider}: request refused / 请求被拒绝: {message}")
        raise AcquireError(
            f"{self.provider}: {path} failed after {self._retries + 1} attempts / 多次重试失败: "
            f"{last}. Fix: check the network and run again; answers received so far are cached"
        )

    def _throttle(self) -> None:
        now = time.monotonic()
        wait = self._last_sent + self._interval - now
        if wait > 0:
            time.sleep(wait)
        self._last_sent = time.monotonic()


@contextmanager
def open_client(*args: Any, **kwargs: Any) -> Iterator[ApiClient]:
    """An :class:`ApiClient` closed on exit."""
    client = ApiClient(*args, **kwargs)
    try:
        yield client
    finally:
        client.close()

"""Checks every request passes before the app sees it, and headers every response carries.

:class:`lifecircle.web.app.PlatformApp` runs them first, before the fast path, the middleware
and the routes, so that nothing large or malformed is ever parsed by the framework:

* **Body size.**  A request body is read into memory up to a limit (``max_body_bytes``, 1 MB by
  default; ``multipart/form-data`` uploads have their own ``max_upload_bytes``).  A declared
  ``Content-Length`` over the limit is refused at once, and a body that grows past it while it
  is read is refused without reading the rest: 413.
* **Strict JSON.**  A JSON body must be UTF-8 JSON without ``NaN``/``Infinity``, without numbers
  that overflow to infinity (``1e400``), without lone surrogates (``"\\ud800"``) and without NUL
  characters in any string or key: otherwise 400 (``invalid_json``) naming what was wrong,
  never the input itself.  A NUL in the path or the query string is refused the same way.
* **Headers.**  Every response gets ``X-Content-Type-Options: nosniff`` and, unless the route
  set its own, a ``Content-Security-Policy`` that allows nothing (:data:`DEFAULT_CSP`; the HTML
  pages, ``/docs`` and the reports set theirs), ``X-Frame-Options: DENY`` and
  ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

__all__ = [
    "DEFAULT_CSP",
    "BodyRefused",
    "check_json_body",
    "check_target",
    "checked_receive",
    "read_limited_body",
    "send_refusal",
    "with_security_headers",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: The Content-Security-Policy of every response that does not set its own (JSON, files).
DEFAULT_CSP: Final = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"

_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyRefused(Exception):
    """A request refused before the app sees it: its status, code and bilingual message."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.status = status
        self.code = code
        self.zh = zh
        self.en = en

    def body(self) -> bytes:
        """The JSON error body (the same shape as the app's other errors)."""
        data = {"detail": f"{self.zh} / {self.en}", "code": self.code, "zh": self.zh,
                "en": self.en, "message_zh": self.zh, "message_en": self.en}  # fmt: skip
        return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return None


def _limit_for(scope: Scope, max_body: int, max_upload: int) -> int:
    content_type = (_header(scope, b"content-type") or b"").lower()
    return max_upload if content_type.startswith(b"multipart/form-data") else max_body


def _too_large(limit: int) -> BodyRefused:
    kb = limit // 1000
    return BodyRefused(
        413,
        "too_large",
        f"提交的内容太大（上限 {kb} KB）",
        f"the request body is larger than the limit of {kb} kB",
    )


async def read_limited_body(
    scope: Scope, receive: Receive, *, max_body: int, max_upload: int
) -> bytes | None:
    """Read the whole request body, refusing it past the limit.

    Returns ``None`` for requests that carry no body (``GET``, …: nothing is read); raises
    :class:`BodyRefused` (413) when the declared or the actual size exceeds the limit.
    """
    if scope["method"] not in _BODY_METHODS:
        return None
    limit = _limit_for(scope, max_body, max_upload)
    declared = _header(scope, b"content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BodyRefused(
                400,
                "bad_request",
                "请求头 Content-Length 无效",
                "the Content-Length is not a number",
            ) from None
        if size > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


_BAD_JSON: Final = ("提交的内容不是有效的 JSON", "the body is not valid JSON")


def _bad(zh: str, en: str) -> BodyRefused:
    return BodyRefused(400, "invalid_json", zh, en)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise _bad("文字中含有 NUL 控制字符，请删除", "a text holds a NUL character; remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(
            "文字中含有无效的 Unicode 字符（单独的代理项）",
            "a text holds invalid Unicode (a lone surrogate)",
        ) from None


def check_json_body(body: bytes) -> None:
    r"""Refuse a JSON body that the API must never see.

    Raises :class:`BodyRefused` (400) for invalid UTF-8 or JSON, ``NaN``/``Infinity``, numbers
    beyond the float range, lone surrogates and NUL characters (in values and keys).

    Examples
    --------
    >>> check_json_body(b'{"lon": 24.9, "name": "\\u836f\\u5e97"}')
    >>> for bad in (b'{"lat": NaN}', b'[1e400]', b'["\\ud800"]', b'{"a\\u0000": 1}', b'{'):
    ...     try:
    ...         check_json_body(bad)
    ...     except BodyRefused as exc:
    ...         print(exc.status, exc.en)
    400 NaN, Infinity and numbers beyond the float range are not valid numbers
    400 NaN, Infinity and numbers beyond the float range are not valid numbers
    400 a text holds invalid Unicode (a lone surrogate)
    400 a text holds a NUL character; remove it
    400 the body is not valid JSON
    """
    if not body.strip():
        return  # the route reports a missing body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("提交的内容不是 UTF-8 编码", "the body is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError:
        raise _bad(*_BAD_JSON) from None
    except (ValueError, OverflowError):
        raise _bad(
            "NaN、Infinity 或超出范围的数字不是有效数字",
            "NaN, Infinity and numbers beyond the float range are not valid numbers",
        ) from None
    except RecursionError:
        raise _bad("JSON 嵌套太深", "the JSON is nested too deeply") from None
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                _check_text(key)
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**63:
            raise _bad("整数超出范围", "an integer is out of range")


def _is_json(scope: Scope) -> bool:
    content_type = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
    return content_type == b"application/json" or content_type.endswith(b"+json")


def check_target(scope: Scope) -> None:
    """Refuse a NUL character in the path or the query string (400)."""
    query = bytes(scope.get("query_string") or b"").lower()
    if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
        raise BodyRefused(
            400, "bad_request", "网址中含有 NUL 控制字符", "the URL holds a NUL character"
        )


async def checked_receive(
    scope: Scope, receive: Receive, *, max_body: int, max_upload: int
) -> Receive:
    """A ``receive`` that replays the body read and checked here (raises :class:`BodyRefused`)."""
    check_target(scope)
    body = await read_limited_body(scope, receive, max_body=max_body, max_upload=max_upload)
    if body is None:
        return receive
    if _is_json(scope):
        check_json_body(body)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def send_refusal(send: Send, refusal: BodyRefused) -> None:
    """Answer a refused request (with the security headers; the connection may close)."""
    body = refusal.body()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if refusal.status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_ALWAYS: Final = ((b"x-content-type-options", b"nosniff"),)
_DEFAULTS: Final = (
    (b"content-security-policy", DEFAULT_CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def with_security_headers(send: Send) -> Send:
    """A ``send`` that adds ``nosniff`` to every response and the default CSP, framing and
    referrer policies to responses that set none of their own."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or ())
            present = {bytes(k).lower() for k, _ in headers}
            headers.extend(h for h in _ALWAYS if h[0] not in present)
            headers.extend(h for h in _DEFAULTS if h[0] not in present)
            message = {**message, "headers": headers}
        await send(message)

    return wrapped

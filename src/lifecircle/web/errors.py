"""Errors of the web layer and the one table that maps every error to an HTTP status.

Domain errors of :mod:`lifecircle.errors` keep their meaning: an :class:`~lifecircle.errors.InputError`
(a bad parameter, a point off the network, an unknown 业态) is a 422 whose ``detail`` lists every
problem in the shape FastAPI uses for its own validation errors (``loc``, ``msg``, ``type``) plus
the problem's ``field`` and ``fix``; the other errors are ``{"detail": "...", "code": "..."}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from lifecircle.errors import CRSError, InputError, LifecircleError, NetworkError, Problem

__all__ = [
    "ERROR_RESPONSES",
    "STATUS_BY_ERROR",
    "AuthenticationRequired",
    "ConflictError",
    "ErrorOut",
    "NotFoundError",
    "PermissionDenied",
    "RateLimited",
    "ServiceUnavailable",
    "install_error_handlers",
    "split_bilingual",
    "status_of",
    "validation_items",
]

log = logging.getLogger(__name__)


class NotFoundError(LifecircleError, LookupError):
    """The thing asked for does not exist (404)."""


class AuthenticationRequired(LifecircleError):
    """No valid login session (401)."""


class PermissionDenied(LifecircleError):
    """Logged in, but the role does not allow this, or the CSRF token is missing (403)."""

    def __init__(self, message: str, code: str = "forbidden") -> None:
        super().__init__(message)
        self.code = code


class ConflictError(LifecircleError):
    """The request clashes with the current state, e.g. a submission already decided (409)."""


class ServiceUnavailable(LifecircleError):
    """The service is not ready yet, e.g. the city analysis is still loading (503)."""


class RateLimited(LifecircleError):
    """Too many requests from one client (429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


#: Error class → HTTP status.  The most specific class in an error's MRO wins.
STATUS_BY_ERROR: dict[type[BaseException], int] = {
    CRSError: 422,
    NetworkError: 422,
    InputError: 422,
    NotFoundError: 404,
    AuthenticationRequired: 401,
    PermissionDenied: 403,
    ConflictError: 409,
    RateLimited: 429,
    ServiceUnavailable: 503,
    LifecircleError: 400,
}

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "invalid_input",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    503: "unavailable",
}


#: What each status means, in Chinese, for messages that exist in English only.
_ZH_BY_STATUS = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限",
    404: "没有找到",
    405: "不支持此操作",
    409: "与当前状态冲突",
    413: "提交的内容太大",
    422: "填写有误",
    429: "操作太频繁，请稍后再试",
    503: "服务正在准备，请稍后再试",
}


def split_bilingual(text: str) -> tuple[str | None, str]:
    """``"中文 / English"`` → ``("中文", "English")``; English-only text → ``(None, text)``.

    Examples
    --------
    >>> split_bilingual("店名不能为空 / the name is empty")
    ('店名不能为空', 'the name is empty')
    >>> split_bilingual("field 'x': no circle 'a / b'")
    (None, "field 'x': no circle 'a / b'")
    """
    head, sep, tail = text.partition(" / ")
    if sep and any("\u4e00" <= ch <= "\u9fff" for ch in head):
        prefix, colon, zh = head.rpartition(": ")  # "field 'name': 中文" → the Chinese part
        if colon and not any("\u4e00" <= ch <= "\u9fff" for ch in prefix):
            return zh, (prefix + ": " + tail)
        return head, tail
    return None, text


def status_of(error: BaseException) -> int:
    """The HTTP status of an error (500 for errors outside the table).

    Examples
    --------
    >>> status_of(InputError("bad")), status_of(NotFoundError("x")), status_of(KeyError())
    (422, 404, 500)
    """
    for klass in type(error).__mro__:
        if klass in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[klass]
    return 500


class ErrorOut(BaseModel):
    """Body of an error response other than 422: ``detail`` as raised, and the message in
    Chinese (``message_zh``, a general one when the error has none) and English."""

    detail: str
    code: str
    message_zh: str | None = None
    message_en: str | None = None


#: OpenAPI ``responses`` entries for the error statuses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": _CODES[status].replace("_", " ")}
    for status in (400, 401, 403, 404, 409, 429, 503)
}


def _problem_item(problem: Problem) -> dict[str, Any]:
    loc: list[str | int] = []
    if problem.row is not None:
        loc.append(problem.row)
    if problem.field is not None:
        loc.append(problem.field)
    zh, en = split_bilingual(problem.message)
    fix_zh, fix_en = split_bilingual(problem.fix or "")
    return {
        "loc": loc or ["body"],
        "msg": str(problem).replace(problem.message, en).replace(problem.fix or "\0", fix_en),
        "msg_zh": zh or f"{_field_zh([problem.field or '输入'])}：{_ZH_BY_STATUS[422]}",
        "type": "input_error",
        "field": problem.field,
        "fix": fix_en or None,
        "fix_zh": fix_zh,
    }


def error_response(error: LifecircleError) -> JSONResponse:
    """The JSON response of a lifecircle error."""
    status = status_of(error)
    if isinstance(error, InputError):
        items = [_problem_item(p) for p in error.problems]
        body: dict[str, Any] = {
            "detail": items,
            "code": "invalid_input",
            "message": "; ".join(i["msg"] for i in items) or str(error),
            "message_zh": "；".join(i["msg_zh"] for i in items) or _ZH_BY_STATUS[422],
        }
        return JSONResponse(body, status_code=422)
    code = getattr(error, "code", None) or _CODES.get(status, "error")
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(error.retry_after_s)
    if isinstance(error, AuthenticationRequired):
        headers["WWW-Authenticate"] = 'Cookie realm="lifecircle"'
    return JSONResponse(_error_body(str(error), code, status), status_code=status, headers=headers)


def _error_body(text: str, code: str, status: int) -> dict[str, Any]:
    zh, en = split_bilingual(text)
    return {
        "detail": text,
        "code": code,
        "message_zh": zh or _ZH_BY_STATUS.get(status, "服务器出错，请稍后再试"),
        "message_en": en,
    }


#: Chinese text of the validation error types of pydantic (English: pydantic's own message).
_VALIDATION_ZH: dict[str, str] = {
    "missing": "必填项缺失",
    "null_not_allowed": "此项不能为空值（null）",
    "extra_forbidden": "不认识的字段",
    "string_type": "应为文字",
    "string_too_short": "不能为空或太短",
    "string_too_long": "文字太长",
    "string_pattern_mismatch": "格式不对",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_type": "应为是或否（true/false）",
    "bool_parsing": "应为是或否（true/false）",
    "greater_than": "数值太小",
    "greater_than_equal": "数值太小",
    "less_than": "数值太大",
    "less_than_equal": "数值太大",
    "literal_error": "不是允许的值",
    "enum": "不是允许的值",
    "union_tag_invalid": "不是允许的值",
    "union_tag_not_found": "缺少类型字段",
    "too_short": "项目太少",
    "too_long": "项目太多",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "date_type": "应为日期",
    "date_parsing": "应为日期（年-月-日）",
    "date_from_datetime_parsing": "应为日期（年-月-日）",
    "json_invalid": "不是有效的 JSON",
    "value_error": "取值无效",
}
#: Field names as residents read them (Chinese), for the Chinese messages.
_FIELD_ZH: dict[str, str] = {
    "text": "内容",
    "name": "名称",
    "category": "业态",
    "lon": "经度",
    "lat": "纬度",
    "lon/lat": "位置",
    "circle_id": "生活圈",
    "answers": "回答",
    "opening_hours": "营业时间",
    "services": "服务",
    "brand": "品牌",
    "username": "用户名",
    "password": "密码",
    "display_name": "显示名称",
    "phone": "电话",
    "licence_no": "营业执照号",
    "title": "标题",
    "body": "正文",
    "reason": "理由",
    "valid_until": "有效期",
    "coupon": "优惠券",
    "description": "说明",
    "role": "角色",
}


def _field_zh(parts: Any) -> str:
    names = [str(p) for p in parts if p not in ("body", "query", "path")]
    return ".".join(_FIELD_ZH.get(n, n) for n in names)


#: Longest ``loc`` element and message echoed back, and most problems listed, in a 422.
_MAX_LOC_CHARS = 64
_MAX_MSG_CHARS = 300
_MAX_PROBLEMS = 50


def _short(value: object, limit: int) -> str | int:
    if isinstance(value, int):
        return value
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validation_items(errors: Any) -> list[dict[str, Any]]:
    """The problems of a request validation error, without the input (never echoed back).

    Examples
    --------
    >>> items = validation_items(
    ...     [{"loc": ("body", "name"), "msg": "Field required", "type": "missing", "input": "x" * 10**6}]
    ... )
    >>> items
    [{'loc': ['body', 'name'], 'msg': 'Field required', 'msg_zh': '名称：必填项缺失', 'type': 'missing'}]
    """
    items = []
    for error in list(errors)[:_MAX_PROBLEMS]:
        loc = [_short(part, _MAX_LOC_CHARS) for part in error.get("loc", ())]
        kind = str(error.get("type", "value_error"))
        msg = str(_short(error.get("msg", ""), _MAX_MSG_CHARS))
        zh = _VALIDATION_ZH.get(kind, "取值无效")
        ctx = error.get("ctx") or {}
        if kind == "string_too_short" and int(ctx.get("min_length", 0)) > 1:
            zh = f"至少需要 {ctx['min_length']} 个字符"
        elif kind == "string_too_long" and "max_length" in ctx:
            zh = f"不能超过 {ctx['max_length']} 个字符"
        if kind == "value_error" and any("\u4e00" <= ch <= "\u9fff" for ch in msg):
            # our own validators say it in Chinese first: "中文 / English"
            zh = msg.removeprefix("Value error, ").split(" / ")[0]
        where = _field_zh(loc)
        items.append(
            {"loc": loc, "msg": msg, "msg_zh": f"{where}：{zh}" if where else zh, "type": kind}
        )
    return items


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn lifecircle errors (and HTTP errors raised by the
    framework, e.g. an unreadable body) into JSON responses with a ``code``."""

    async def handle_http(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
            raise exc
        code = _CODES.get(exc.status_code, "error")
        return JSONResponse(
            _error_body(str(exc.detail), code, exc.status_code),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    app.add_exception_handler(StarletteHTTPException, handle_http)

    async def handle_validation(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):  # pragma: no cover
            raise exc
        items = validation_items(exc.errors())
        body = {
            "detail": items,
            "code": "invalid_input",
            "message": "; ".join(i["msg"] for i in items[:5]),
            "message_zh": "；".join(i["msg_zh"] for i in items[:5]),
        }
        return JSONResponse(body, status_code=422)

    app.add_exception_handler(RequestValidationError, handle_validation)

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, LifecircleError):  # pragma: no cover - registered for these only
            raise exc
        return error_response(exc)

    app.add_exception_handler(LifecircleError, handle)

"""Fuzz of every write route with poisoned JSON: 0 server errors (issue 16, item 1).

schemathesis generates a schema-valid request for every POST/PUT/PATCH/DELETE operation of
``/openapi.json``; one value of its body (or the whole body) is then replaced by a poison —
``NaN``, ``±Infinity``, ``1e400``, a huge integer, a lone surrogate, a NUL, ``null``, a deeply
nested array, a string just under and one over the body limit — and sent as raw JSON,
anonymously and as the administrator (session cookie and CSRF token).  No answer may be a 5xx,
and no answer may be larger than a few kilobytes (nothing is echoed back).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from _web_fixtures import Api, make_api
from _web_fixtures import sample_city_base as sample_city_base
from _web_fixtures import sample_data_dir as sample_data_dir
from lifecircle.web.city import City

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*httpx2.*")]

_WRITE = {"POST", "PUT", "PATCH", "DELETE"}
#: Raw JSON texts put in place of a value (some cannot be written by json.dumps).
_POISONS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1" + "0" * 400,
    '"\\ud800"',
    '"abc\\udfff"',
    '"a\\u0000b"',
    "null",
    "[" * 5000 + "]" * 5000,
    '"' + "长" * 330_000 + '"',  # just under the 1 MB limit (UTF-8)
    '"' + "x" * 1_100_000 + '"',  # over it
]
_MARK = "__lifecircle_poison__"


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        out = [(*path, k) for k in value]  # a key's value, whatever it is
        for k, v in value.items():
            out.extend(_leaves(v, (*path, k))[1:] if isinstance(v, dict | list) else [])
        return out
    if isinstance(value, list):
        return [(*path, i) for i in range(len(value))]
    return []


def _poisoned(body: Any, where: int, poison: str) -> bytes:
    """The body with the value at leaf ``where`` (or the whole body) replaced by ``poison``."""
    leaves = _leaves(body)
    if not leaves or where % (len(leaves) + 1) == len(leaves):
        return poison.encode("utf-8")
    target = leaves[where % len(leaves)]
    holder = body
    for step in target[:-1]:
        holder = holder[step]
    holder[target[-1]] = _MARK
    text = json.dumps(body, ensure_ascii=True).replace(json.dumps(_MARK), poison)
    return text.encode("utf-8")


@pytest.fixture(scope="module")
def fuzz_api(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    sample_city_base: City,
) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    yield from make_api("sqlite", tmp, request, sample_city_base)


@pytest.mark.parametrize("as_admin", [False, True], ids=["anonymous", "admin"])
def test_no_write_route_answers_a_poisoned_body_with_a_5xx(fuzz_api: Api, as_admin: bool) -> None:
    api = fuzz_api
    api.logout()
    headers = api.login("admin") if as_admin else {}  # the client keeps the session cookie
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    ops = [r.ok() for r in schema.get_all_operations()]
    writes = [op for op in ops if op.method.upper() in _WRITE and op.path != "/api/auth/logout"]
    assert len(writes) >= 12, [op.path for op in writes]
    failures: list[str] = []
    seen: dict[int, int] = {}
    for op in writes:

        @given(
            case=op.as_strategy(generation_mode=GenerationMode.POSITIVE),
            poison=st.sampled_from(_POISONS),
            where=st.integers(0, 50),
        )
        @settings(
            max_examples=len(_POISONS),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.generate],
        )
        def check(case: Any, poison: str, where: int) -> None:
            body = case.body if isinstance(case.body, dict | list) else {}
            raw = _poisoned(json.loads(json.dumps(body)), where, poison)
            r = api.client.request(
                case.method.upper(),
                case.formatted_path,
                params=case.query or None,
                content=raw,
                headers={"Content-Type": "application/json", **headers},
            )
            seen[r.status_code] = seen.get(r.status_code, 0) + 1
            assert r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
            assert len(r.content) < 20_000, f"{len(r.content)} bytes back for {len(raw)} sent"

        try:
            check()
        except Exception as exc:  # gather every operation's failure, then report all
            failures.append(f"{op.method.upper()} {op.path}: {exc}"[:1500])
    api.logout()
    assert not failures, "\n\n".join(failures)
    assert seen.get(400, 0) > 0 and seen.get(413, 0) > 0, seen

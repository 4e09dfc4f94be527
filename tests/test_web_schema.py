"""schemathesis against /openapi.json: no 5xx and no response outside the documented schema.

Every operation is called with generated inputs (schema-valid and schema-invalid ones),
anonymously and as the admin (with the session cookie and the CSRF token), and every response
is checked: never a server error, a documented status code, the documented content type and
headers, and a body that conforms to the response schema.  Examples per operation are bounded
to keep the run near a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from _web_fixtures import Api, make_api
from _web_fixtures import sample_city_base as sample_city_base
from _web_fixtures import sample_data_dir as sample_data_dir
from lifecircle.web.city import City

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*httpx2.*")]

_EXAMPLES = {GenerationMode.POSITIVE: 12, GenerationMode.NEGATIVE: 6}
_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# operations whose side effects would spoil the shared session
_SKIP_AS_ADMIN = {
    ("POST", "/api/auth/logout"),
    ("POST", "/api/admin/users/{user_id}/password"),  # would reset the admin's own password
    ("PATCH", "/api/admin/users/{user_id}"),  # would disable or demote it
}


@pytest.fixture(scope="module")
def schema_api(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    sample_city_base: City,
) -> Iterator[Api]:
    tmp: Path = tmp_path_factory.mktemp("schema")
    yield from make_api("sqlite", tmp, request, sample_city_base)


def _operations(api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    ops = [result.ok() for result in schema.get_all_operations()]
    assert len(ops) > 30
    return ops


def _run(api: Api, mode: GenerationMode, session: dict[str, Any] | None) -> None:
    failures: list[str] = []
    for op in _operations(api):
        if session is not None and (op.method.upper(), op.path) in _SKIP_AS_ADMIN:
            continue

        @given(case=op.as_strategy(generation_mode=mode))
        @settings(
            max_examples=_EXAMPLES[mode],
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            kwargs: dict[str, Any] = {"checks": _CHECKS}
            if session is not None:
                kwargs["headers"] = {**(case.headers or {}), **session["headers"]}
                kwargs["cookies"] = session["cookies"]
            case.call_and_validate(**kwargs)

        try:
            check()
        except Unsatisfiable:
            continue  # no invalid input exists (an operation without parameters)
        except Exception as exc:  # gather every operation's failure, then report all
            failures.append(f"{op.method.upper()} {op.path}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("mode", list(_EXAMPLES), ids=lambda m: m.value)
def test_anonymous_calls_conform(schema_api: Api, mode: GenerationMode) -> None:
    _run(schema_api, mode, None)


@pytest.mark.parametrize("mode", list(_EXAMPLES), ids=lambda m: m.value)
def test_admin_calls_conform(schema_api: Api, mode: GenerationMode) -> None:
    headers = schema_api.login("admin")
    session = {"headers": headers, "cookies": dict(schema_api.client.cookies)}
    schema_api.logout()
    _run(schema_api, mode, session)

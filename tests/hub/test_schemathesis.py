"""Property-based contract test: every operation of the partner API, called over HTTP on the live server.

Schemathesis generates requests (valid and invalid) from the OpenAPI document the
hub publishes and fails on any 5xx, any undocumented status code, any content
type or body that does not match the schema. Calls are authenticated with a real
API key of a consumer acting for the ERP, which may read every domain and is the
system of record for all of them, so the upserts are exercised too. Bounded and
deterministic: a fixed seed, a few examples per operation, no example database.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.core.result import Err
from schemathesis.pytest.lazy import get_all_tests

from tests.hub.world import build_world

MAX_EXAMPLES = 10
SEED = 20240602
WRITER = "erp"  # the system the key acts for; paths naming a system mostly name this one
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
]


@pytest.fixture
def api_schema(live_server):
    """The document the live server publishes at /api/schema/, with a small data set and an ERP key.

    One data set serves every operation: live_server makes each test transactional,
    and a flush per operation would cost more than the calls themselves.
    """
    world = build_world(size=3)
    config = schemathesis.Config.from_dict(
        {
            "base-url": live_server.url,
            "headers": {"Authorization": f"Bearer {world.key_for(WRITER)}"},
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none", "mode": "all"},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "dictionaries": {"systems": {"values": [WRITER]}},
            "parameters": {"path.system": {"dictionary": "systems", "probability": 0.8}},
        }
    )
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/", config=config)
    return schema.include(path_regex=r"^/api/v1/")


# Hypothesis settings for every operation's generated test: no deadline (a request's time is not
# the property under test); the suppressed health checks are about generation speed, not the API.
SETTINGS = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def _call_and_validate(case):
    case.call_and_validate()


def test_api_conforms_to_its_schema(api_schema):
    # schemathesis.pytest.from_fixture would report each operation as a subtest, but it does not run
    # on pytest 9.2 (it sets Node._nodeid, which pytest 9.2 no longer has); so this test runs the same
    # per-operation Hypothesis tests itself (all phases: examples, coverage, fuzzing) and reports
    # every failing operation at the end.
    schema = api_schema.clone(test_function=_call_and_validate)
    failures, operations = [], 0
    for result in get_all_tests(schema=schema, test_func=_call_and_validate, settings=SETTINGS, given_kwargs=None):
        if isinstance(result, Err):
            failures.append(f"{result.err().label}: the schema of this operation is invalid: {result.err()}")
            continue
        operation, operation_test = result.ok()
        operations += 1
        try:
            operation_test()
        except FailureGroup as exc:
            failures.append(f"{operation.label}\n{as_reported_failure(exc)}")
        except Exception as exc:  # a transport error, or a failure outside the checks
            failures.append(f"{operation.label}\n{type(exc).__name__}: {exc}")
    assert operations > 0, "the schema lists no /api/v1/ operations"
    separator = "\n" + "=" * 100 + "\n"
    assert not failures, f"{len(failures)} of {operations} operations fail:{separator}" + separator.join(failures)

"""A list costs the same number of queries however many rows it returns: no query per row.

The list endpoints are found in the OpenAPI document (every GET under /api/v1/ whose
200 answer is an array or a page of results), so an endpoint added later is covered
without touching this file. Paginated lists compare a page of 1 with a page of 50;
lists under a parent record compare a parent with one child and one with several.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from tests.hub.world import build_world

# Values for path parameters of nested lists: one value, or (a parent with one child, a parent with several).
# tests/hub/world.py gives the supplier's first purchase order several acknowledgements and ship notices.
PATH_VALUES: dict[str, str | tuple[str, str]] = {
    "system": "supplier-a",
    "po_ref": ("SUP-PO1", "SUP-PO0"),
}
_PARAM = re.compile(r"\{(\w+)\}")


def _document() -> dict:
    with GENERATOR_STATS.silence():  # schema warnings are test_openapi's business, not noise here
        document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


def _resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def list_operations() -> dict[str, bool]:
    """{path: paginated} for every GET under /api/v1/ that answers with a list."""
    document = _document()
    found = {}
    for path, item in document["paths"].items():
        operation = item.get("get")
        if not path.startswith("/api/v1/") or operation is None:
            continue
        content = operation["responses"].get("200", {}).get("content", {}).get("application/json")
        if not content:
            continue
        body = _resolve(document, content["schema"])
        if body.get("type") == "array":
            found[path] = False
        elif _resolve(document, body.get("properties", {}).get("results", {})).get("type") == "array":
            found[path] = True
    return dict(sorted(found.items()))


OPERATIONS = list_operations()


def test_list_endpoints_are_discovered():
    assert OPERATIONS.get("/api/v1/customers") is True
    assert OPERATIONS.get("/api/v1/system-of-record") is False


def _urls(path: str) -> tuple[str, str]:
    """The path for a parent with one child and for a parent with several."""
    missing = sorted(set(_PARAM.findall(path)) - set(PATH_VALUES))
    assert not missing, f"{path}: add values for {missing} to PATH_VALUES (and rows to tests/hub/world.py)"
    few, many = path, path
    for name in _PARAM.findall(path):
        value = PATH_VALUES[name]
        one, several = value if isinstance(value, tuple) else (value, value)
        few, many = few.replace(f"{{{name}}}", one), many.replace(f"{{{name}}}", several)
    return few, many


def _get(client: APIClient, path: str, params: dict):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200, (path, response.status_code, response.content[:400])
    body = response.json()
    rows = body if isinstance(body, list) else body["results"]
    return len(queries.captured_queries), rows, queries


def _sql(queries) -> str:
    return "\n".join(q["sql"][:200] for q in queries.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("path", list(OPERATIONS))
def test_list_query_count_does_not_grow_with_rows(path):
    paginated = OPERATIONS[path]
    world = build_world(size=5)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.key_for('erp')}")
    few_url, many_url = _urls(path)
    client.get(many_url)  # the key's first use records last_used_at; keep that write out of the counts

    if not paginated and few_url == many_url:
        # A deliberately unpaginated list of a bounded table: a query per row would outnumber the rows.
        count, rows, queries = _get(client, many_url, {})
        assert len(rows) > 1, f"{path}: the test data has fewer than two rows for it; extend tests/hub/world.py"
        assert count < len(rows), f"{path} (unpaginated): {count} queries for {len(rows)} rows:\n{_sql(queries)}"
        return

    small = (many_url, {"page_size": 1}) if paginated else (few_url, {})
    large = (many_url, {"page_size": 50}) if paginated else (many_url, {})
    small_count, small_rows, _ = _get(client, *small)
    large_count, large_rows, large_queries = _get(client, *large)
    assert len(large_rows) > 1, f"{path}: the test data has fewer than two rows for it; extend tests/hub/world.py"
    assert 1 <= len(small_rows) < len(large_rows)
    assert large_count == small_count, (
        f"{path}: {small_count} queries for {len(small_rows)} rows, {large_count} for {len(large_rows)}:\n"
        + _sql(large_queries)
    )

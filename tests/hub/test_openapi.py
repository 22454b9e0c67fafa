"""The OpenAPI document is valid and complete, and its documentation pages need no network."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS

pytestmark = pytest.mark.django_db

API_KEY_SCHEMES = {"bearerAuth", "apiKeyAuth"}
_ABSOLUTE_URL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)


@pytest.fixture
def schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def test_spectacular_validates_without_warnings(tmp_path, capsys):
    # Warnings are cached per process and printed once; start clean so this run reports them all.
    GENERATOR_STATS.reset()
    target = tmp_path / "schema.yaml"
    try:
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    except Exception as exc:  # SchemaGenerationError on warnings, a jsonschema error when invalid
        captured = capsys.readouterr()
        pytest.fail(f"spectacular --validate --fail-on-warn: {exc}\n{captured.err}{captured.out}")
    captured = capsys.readouterr()
    assert not GENERATOR_STATS, captured.err
    assert "Warning" not in captured.err and "Error" not in captured.err, captured.err
    assert target.stat().st_size > 0


def test_schema_has_the_problem_component(schema):
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"type", "title", "status", "detail"}
    assert "errors" in problem["properties"]


def test_no_component_is_described_by_a_python_docstring_meant_for_developers(schema):
    # A serializer without a docstring of its own inherits its mixins' in drf-spectacular's eyes.
    leaked = sorted(name for name, component in schema["components"]["schemas"].items()
                    if "serializer" in component.get("description", "").lower())
    assert leaked == []


def test_every_error_an_operation_documents_has_the_problem_body(schema):
    bare = sorted(f"{method.upper()} {path} {code}" for path, operations in schema["paths"].items()
                  for method, operation in operations.items() if isinstance(operation, dict)
                  for code, response in operation.get("responses", {}).items()
                  if code[:1] in "45" and "content" not in response)
    assert bare == []


def test_order_submission_documents_its_headers(schema):
    responses = schema["paths"]["/api/v1/orders"]["post"]["responses"]
    assert {"Location", "Idempotent-Replayed"} <= set(responses["201"]["headers"])
    assert "Retry-After" in responses["409"]["headers"]
    assert responses["422"]["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_schema_declares_the_api_key_security_schemes(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["apiKeyAuth"]["type"] == "apiKey"
    assert schemes["apiKeyAuth"]["in"] == "header"
    assert schemes["apiKeyAuth"]["name"] == "X-API-Key"


def test_every_partner_operation_accepts_the_api_key_and_documents_problems(schema):
    missing_security, missing_problems = [], []
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]
    assert operations, "the schema lists no /api/v1/ operations"
    for path, method, operation in operations:
        # Each key header is an alternative of its own (a requirement naming both would mean "send both").
        requirements = operation.get("security", schema.get("security", []))
        offered = {name for requirement in requirements if len(requirement) == 1 for name in requirement}
        if not API_KEY_SCHEMES <= offered:
            missing_security.append(f"{method.upper()} {path}: {sorted(offered)}")
        for code in ("400", "401", "404", "500"):
            content = operation["responses"].get(code, {}).get("content", {})
            if "application/problem+json" not in content:
                missing_problems.append(f"{method.upper()} {path} {code}")
    assert missing_security == []
    assert missing_problems == []


class _AssetCollector(HTMLParser):
    """Every URL the page makes the browser load: src, href of link elements, inline styles' url()."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.urls.append(attributes["href"])
        for name in ("spec-url", "data", "poster"):
            if attributes.get(name):
                self.urls.append(attributes[name])
        self._in_script = tag in {"script", "style"}

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_documentation_pages_load_only_files_served_by_the_hub(client, page):
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    collector = _AssetCollector()
    collector.feed(html)

    external = [url for url in collector.urls if _ABSOLUTE_URL.match(url)]
    external += _ABSOLUTE_URL.findall(" ".join(collector.scripts))
    assert external == [], f"{page} makes the browser fetch from the internet: {external}"

    local_assets = [url for url in collector.urls if url.startswith("/static/")]
    assert local_assets, f"{page} loads no static files at all; the UI bundle is missing"
    for url in local_assets:
        asset = client.get(url)
        assert asset.status_code == 200, f"{page} references {url}, which the hub does not serve"
        asset.close()


def test_swagger_ui_does_not_call_the_online_validator(client):
    # Swagger UI defaults to an <img> from validator.swagger.io for any non-localhost schema URL.
    html = client.get("/api/docs/").content.decode()
    settings_json = re.search(r"const swaggerSettings = (\{.*?\});", html, re.DOTALL)
    assert settings_json, "the Swagger UI page no longer has its settings object"
    assert "validatorUrl" in json.loads(settings_json.group(1)), (
        "set SPECTACULAR_SETTINGS['SWAGGER_UI_SETTINGS']['validatorUrl'] = None"
    )
    assert json.loads(settings_json.group(1))["validatorUrl"] is None

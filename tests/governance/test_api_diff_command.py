"""manage.py api_diff as API teams run it in CI: real processes, exit codes 0/1/2, text and JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.governance.diff_docs import FIXTURES, doc, op

ROOT = Path(__file__).resolve().parents[2]
OLD = FIXTURES / "swagger-petstore3-1.0.26-SNAPSHOT.yaml"
NEW = FIXTURES / "swagger-petstore3-1.0.27.yaml"
EXPANDED = FIXTURES / "oai-petstore-expanded-3.0.yaml"


def api_diff(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "api_diff", *map(str, args)],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )


def write(path: Path, document: dict, *, as_json: bool = False) -> Path:
    path.write_text(json.dumps(document) if as_json else yaml.safe_dump(document, sort_keys=False))
    return path


def test_no_breaking_change_exits_0(tmp_path):
    # The same document in JSON against its YAML original: nothing changed.
    same = write(tmp_path / "expanded.json", yaml.safe_load(EXPANDED.read_text()), as_json=True)
    result = api_diff(EXPANDED, same)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("API diff 1.0.0 -> 1.0.0: 0 error(s), 0 warning(s), 0 info")
    assert "No findings." in result.stdout and result.stderr == ""


def test_breaking_change_exits_1_with_the_report_grouped_by_severity():
    result = api_diff(OLD, NEW)
    assert result.returncode == 1
    out = result.stdout
    assert out.startswith("API diff 1.0.26-SNAPSHOT -> 1.0.27: 3 error(s), 0 warning(s), 33 info - BREAKING")
    assert out.index("Breaking changes (error): 3") < out.index("Other changes (info): 33")
    assert "  - parameter-became-required  GET /pet/findByStatus\n" in out
    assert "      at /paths/~1pet~1findByStatus/get/parameters/0/required (new document)\n" in out
    assert result.stderr.strip() == "CommandError: 3 breaking change(s) found."


def test_json_format_has_every_field():
    result = api_diff(OLD, NEW, "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert (data["old_version"], data["new_version"], data["has_breaking"]) == ("1.0.26-SNAPSHOT", "1.0.27", True)
    assert data["counts"] == {"error": 3, "warning": 0, "info": 33}
    assert data["verdict"] is None
    first = data["findings"][0]
    assert set(first) == {"check_id", "severity", "direction", "location", "message", "old", "new", "waived", "waiver_reason"}
    assert first["location"] == {"path": "/pet/findByStatus", "method": "GET", "document": "new",
                                 "pointer": "/paths/~1pet~1findByStatus/get/parameters/0/required"}
    assert (first["check_id"], first["severity"], first["direction"], first["old"], first["new"]) == (
        "parameter-became-required", "error", "request", False, True)


def test_versions_decide_the_exit_code_when_given():
    refused = api_diff(OLD, NEW, "--old-version", "1.0.26", "--new-version", "1.0.27")
    assert refused.returncode == 1
    assert "Version check: Refused: 1.0.27 is a patch release after 1.0.26" in refused.stdout
    assert "  * [response-body-removed] POST /user:" in refused.stdout
    major = api_diff(OLD, NEW, "--new-version", "2.0.0", "--format", "json")
    assert major.returncode == 0, major.stderr
    verdict = json.loads(major.stdout)["verdict"]
    assert (verdict["allowed"], verdict["old_version"], verdict["new_version"], verdict["bump"]) == (True, "1.0.26-SNAPSHOT", "2.0.0", "major")


def test_lint_reports_style_findings_and_style_errors_exit_1(tmp_path):
    result = api_diff(EXPANDED, EXPANDED, "--lint", "--format", "json")
    assert result.returncode == 1
    lint = json.loads(result.stdout)["lint"]
    assert {f["check_id"] for f in lint} == {"style-path-not-versioned", "style-problem-details-missing", "style-summary-missing", "style-tags-missing"}
    assert "style error(s)" in result.stderr
    clean = doc({"/v1/items": {"get": op("listItems", summary="List", tags=["items"], responses={
        "200": {"description": "ok"}, "500": {"description": "oops", "content": {"application/problem+json": {}}}})}})
    path = write(tmp_path / "clean.yaml", clean)
    text = api_diff(path, path, "--lint")
    assert text.returncode == 0, text.stderr
    assert "Style findings for the new document: 0" in text.stdout


def test_today_option_judges_sunsets(tmp_path):
    old = write(tmp_path / "old.yaml", doc({"/v1/a": {"get": op("a", deprecated=True, **{"x-sunset": "2025-03-01"})}, "/v1/b": {"get": op("b")}}))
    new = write(tmp_path / "new.yaml", doc({"/v1/b": {"get": op("b")}}))
    assert api_diff(old, new, "--today", "2025-03-02").returncode == 0
    assert api_diff(old, new, "--today", "2025-02-28").returncode == 1


@pytest.mark.parametrize(("content", "args", "message"), [
    (None, (), "Cannot read"),
    ("openapi: [3.0\n  : bad", (), "is not valid YAML"),
    ("hello: world\n", (), "'openapi' must be a string starting with 3.0 or 3.1"),
    ("swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {}\n", (), "Swagger 2.0 documents are not supported"),
    ("{\"openapi\": \"3.0.0\",", (), "is not valid JSON"),
    ("VALID", ("--new-version", "latest"), "'latest' is not a semantic version"),
    ("VALID", ("--today", "tomorrow"), "--today must be a date"),
])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, content, args, message):
    target = tmp_path / "new.yaml"
    if content == "VALID":
        target = NEW
    elif content is not None:
        target.write_text(content)
    result = api_diff(OLD, target, *args)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_argument_exits_2():
    result = api_diff(OLD)
    assert result.returncode == 2
    assert "the following arguments are required: new" in result.stderr

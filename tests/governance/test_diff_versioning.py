"""The semantic-version rule: a breaking change needs a major bump (a minor one under 1.0.0), with reasons."""

from __future__ import annotations

import pytest

from governance.diff import SemVer, VersionError, compare_openapi, verdict
from tests.governance.diff_docs import obj, request_pair, response_pair

STR = {"type": "string"}


@pytest.fixture
def breaking_report():
    old, new = request_pair(obj({"name": STR}), obj({"name": STR, "owner": STR, "site": STR}, ["owner", "site"]))
    old["info"]["version"], new["info"]["version"] = "1.4.2", "1.5.0"
    return compare_openapi(old, new)


@pytest.fixture
def additive_report():
    old, new = response_pair(obj({"id": STR}), obj({"id": STR, "name": STR}))
    return compare_openapi(old, new)


def test_breaking_change_in_a_minor_release_is_refused_with_every_reason(breaking_report):
    result = breaking_report.verdict()  # versions from info.version
    assert not result.allowed
    assert (result.old_version, result.new_version, result.bump, result.required_bump) == ("1.4.2", "1.5.0", "minor", "major")
    assert len(result.reasons) == 2
    assert all(reason.startswith("[request-required-property-added] POST /v1/items:") for reason in result.reasons)
    assert {"'owner'", "'site'"} == {word for reason in result.reasons for word in ("'owner'", "'site'") if word in reason}
    assert "2 breaking changes" in result.summary and "2.0.0" in result.summary
    assert [f.check_id for f in result.blocking] == ["request-required-property-added"] * 2


@pytest.mark.parametrize(("old", "new", "allowed"), [
    ("1.4.2", "2.0.0", True),
    ("1.4.2", "1.4.3", False),
    ("1.4.2", "1.5.0", False),
    ("0.3.0", "0.4.0", True),   # under 1.0.0 a minor bump counts as major
    ("0.3.0", "0.3.1", False),
    ("0.9.1", "1.0.0", True),
    ("2.0.0-rc.1", "2.0.0-rc.2", True),  # pre-releases of one version promise nothing
    ("1.9.0", "2.0.0-rc.1", True),
    ("2.0.0-rc.2", "2.0.0", False),
    ("v1.2.0", "v2", True),
])
def test_breaking_changes_need_a_major_bump(breaking_report, old, new, allowed):
    assert breaking_report.verdict(old, new).allowed is allowed


def test_a_new_version_must_be_greater(additive_report):
    result = additive_report.verdict("1.2.0", "1.2.0")
    assert not result.allowed and "not greater" in result.summary
    assert not additive_report.verdict("1.2.0", "1.1.9").allowed


def test_additions_are_allowed_in_a_patch_but_advise_a_minor(additive_report):
    result = additive_report.verdict("1.2.0", "1.2.1")
    assert result.allowed and result.required_bump == "minor" and "minor release" in result.summary
    assert result.reasons == []


def test_unparseable_version_raises(additive_report):
    with pytest.raises(VersionError, match="not a semantic version"):
        additive_report.verdict("1.2.0", "next")


def test_semver_precedence_follows_the_spec():
    order = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
    parsed = [SemVer.parse(v) for v in order]
    assert all(a < b for a, b in zip(parsed, parsed[1:], strict=False))
    assert SemVer.parse("1.0.26-SNAPSHOT") < SemVer.parse("1.0.27")


def test_verdict_function_ignores_waived_errors(breaking_report):
    waived = [f.with_changes(waived=True, waiver_reason="agreed with consumers") for f in breaking_report.findings]
    assert verdict(waived, old_version="1.0.0", new_version="1.0.1").allowed

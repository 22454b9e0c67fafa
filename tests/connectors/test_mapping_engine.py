"""The mapping engine: every rule feature, every error kind, and specs that are refused."""

from __future__ import annotations

import pytest

from connectors.mapping import MappingError, MappingSpecError, apply_mapping, spec_problems
from connectors.models import Mapping


def errors_of(spec, source) -> list[tuple[str, str]]:
    with pytest.raises(MappingError) as caught:
        apply_mapping(spec, source)
    return [(e.pointer, e.reason) for e in caught.value.errors]


def test_fields_constants_and_nested_targets():
    spec = {
        "constants": {"/meta/source": "erp", "/meta/version": 2},
        "fields": [{"target": "/order/number", "source": "/hdr/no"}, {"target": "/order/po", "source": "/hdr/po"}],
    }
    assert apply_mapping(spec, {"hdr": {"no": "SO-1", "po": "P"}}) == {
        "meta": {"source": "erp", "version": 2}, "order": {"number": "SO-1", "po": "P"},
    }


def test_a_bare_list_is_a_spec_and_a_mapping_model_is_accepted():
    rules = [{"target": "/a", "source": "/b"}]
    assert apply_mapping(rules, {"b": 1}) == {"a": 1}
    assert apply_mapping(Mapping(name="m", version=3, spec=rules), {"b": 2}) == {"a": 2}


def test_missing_optional_field_is_left_out_and_default_fills_missing_or_null():
    spec = [{"target": "/a", "source": "/x"}, {"target": "/b", "source": "/y", "default": "d"},
            {"target": "/c", "source": "/z", "default": 0}]
    assert apply_mapping(spec, {"z": None}) == {"b": "d", "c": 0}


def test_missing_and_null_required_fields_are_named():
    spec = [{"target": "/name", "source": "/Account/Name", "required": True},
            {"target": "/id", "source": "/Account/Id", "required": True}]
    assert errors_of(spec, {"Account": {"Id": None}}) == [
        ("/Account/Name", "missing required field"), ("/Account/Id", "required field is null"),
    ]


def test_value_map_unknown_value_is_an_error_unless_there_is_a_default():
    strict = [{"target": "/s", "source": "/Status", "value_map": {"SHIPPED": "shipped"}}]
    lenient = [{"target": "/s", "source": "/Status", "value_map": {"SHIPPED": "shipped"}, "default": "other"}]
    assert apply_mapping(strict, {"Status": "SHIPPED"}) == {"s": "shipped"}
    assert errors_of(strict, {"Status": "XX"}) == [("/Status", "value 'XX' not in value map (allowed: 'SHIPPED')")]
    assert apply_mapping(lenient, {"Status": "XX"}) == {"s": "other"}


def test_value_map_matches_numbers_and_booleans_by_their_json_text():
    spec = [{"target": "/n", "source": "/n", "value_map": {"1": "one"}},
            {"target": "/b", "source": "/b", "value_map": {"true": "Y", "false": "N"}}]
    assert apply_mapping(spec, {"n": 1, "b": False}) == {"n": "one", "b": "N"}


@pytest.mark.parametrize(
    ("transform", "value", "expected"),
    [
        ("upper", "ab", "AB"), ("lower", "AB", "ab"), ("strip", "  a ", "a"), ("int", "42", 42), ("int", 5.0, 5),
        ("decimal", 12.5, "12.5"), ("decimal", "0010.50", "10.50"), ("date", "2024-03-04", "2024-03-04"),
        ("date", "2024-03-04T23:30:00-06:00", "2024-03-04"), ("str", 100234, "100234"), ("str", True, "true"),
        ("datetime_iso", "2024-03-01T10:15:00.000+0000", "2024-03-01T10:15:00+00:00"),
        ("datetime_iso", "2024-03-01T10:15:00", "2024-03-01T10:15:00+00:00"),
        ("datetime_iso", "2024-03-01", "2024-03-01T00:00:00+00:00"),
        (["strip", "upper"], " shp ", "SHP"),
    ],
)
def test_transforms(transform, value, expected):
    assert apply_mapping([{"target": "/v", "source": "/v", "transform": transform}], {"v": value}) == {"v": expected}


@pytest.mark.parametrize(
    ("transform", "value", "reason"),
    [
        ("int", "abc", "'abc' is not a number"), ("int", "2.5", "'2.5' is not a whole number"),
        ("int", True, "'int' needs a number, got a boolean"), ("decimal", "NaN", "'NaN' is not a finite number"),
        ("upper", 5, "'upper' needs text, got a number"), ("date", "04/03/2024", "'04/03/2024' is not a date (YYYY-MM-DD)"),
        ("date", "2024-02-30", "'2024-02-30' is not a date (YYYY-MM-DD)"),
        ("datetime_iso", "yesterday", "'yesterday' is not an ISO 8601 date-time"),
        ("str", {"a": 1}, "'str' needs a single value, got an object"),
    ],
)
def test_transform_failures_name_the_field_and_the_reason(transform, value, reason):
    assert errors_of([{"target": "/v", "source": "/in/v", "transform": transform}], {"in": {"v": value}}) == [
        ("/in/v", reason),
    ]


def test_transform_runs_before_the_value_map():
    spec = [{"target": "/s", "source": "/s", "transform": ["strip", "upper"], "value_map": {"SHP": "shipped"}}]
    assert apply_mapping(spec, {"s": " shp"}) == {"s": "shipped"}


def test_each_maps_every_array_element_and_errors_carry_the_index():
    spec = [{"target": "/items", "source": "/lines[*]", "required": True, "each": [
        {"target": "/sku", "source": "/item", "required": True},
        {"target": "/qty", "source": "/qty", "transform": "decimal"},
    ]}]
    assert apply_mapping(spec, {"lines": [{"item": "A", "qty": 2}, {"item": "B"}]}) == {
        "items": [{"sku": "A", "qty": "2"}, {"sku": "B"}],
    }
    assert errors_of(spec, {"lines": [{"item": "A", "qty": "x"}, {}]}) == [
        ("/lines/0/qty", "'x' is not a number"), ("/lines/1/item", "missing required field"),
    ]
    assert errors_of(spec, {"lines": {"item": "A"}}) == [("/lines", "expected an array")]
    assert errors_of(spec, {}) == [("/lines[*]", "missing required field")]


def test_fields_builds_an_object_and_dash_appends_to_an_array():
    spec = [
        {"target": "/addresses/-", "when": "/BillingStreet", "fields": [
            {"target": "/kind", "default": "billing"}, {"target": "/line1", "source": "/BillingStreet"}]},
        {"target": "/addresses/-", "when": "/ShippingStreet", "fields": [
            {"target": "/kind", "default": "shipping"}, {"target": "/line1", "source": "/ShippingStreet"}]},
        {"target": "/hq", "source": "/Hq", "fields": [{"target": "/city", "source": "/City", "required": True}]},
    ]
    assert apply_mapping(spec, {"BillingStreet": "1 Main", "ShippingStreet": None, "Hq": {"City": "X"}}) == {
        "addresses": [{"kind": "billing", "line1": "1 Main"}], "hq": {"city": "X"},
    }
    assert errors_of(spec, {"Hq": {}}) == [("/Hq/City", "missing required field")]
    assert errors_of(spec, {"Hq": "X"}) == [("/Hq", "expected an object")]


def test_select_picks_the_first_array_element_with_a_field_value():
    spec = [{"target": "/bill", "source": "/addresses[kind=billing]/city"},
            {"target": "/phone", "source": "/contacts[is_primary=true]/phone", "required": True}]
    source = {"addresses": [{"kind": "shipping", "city": "A"}, {"kind": "billing", "city": "B"}],
              "contacts": [{"is_primary": False, "phone": "1"}, {"is_primary": True, "phone": "2"}]}
    assert apply_mapping(spec, source) == {"bill": "B", "phone": "2"}
    assert errors_of(spec, {"contacts": [{"is_primary": False, "phone": "1"}]}) == [
        ("/contacts[is_primary=true]/phone", "missing required field"),
    ]


def test_json_pointer_escapes_and_array_indexes():
    spec = [{"target": "/a", "source": "/x~1y/m~0n"}, {"target": "/b", "source": "/list/1"}]
    assert apply_mapping(spec, {"x/y": {"m~n": 1}, "list": ["p", "q"]}) == {"a": 1, "b": "q"}


def test_every_failing_field_is_reported_at_once():
    spec = [{"target": "/a", "source": "/a", "required": True}, {"target": "/b", "source": "/b", "transform": "int"},
            {"target": "/c", "source": "/c", "value_map": {"X": "x"}}]
    with pytest.raises(MappingError) as caught:
        apply_mapping(spec, {"b": "nope", "c": "Y"})
    assert len(caught.value.errors) == 3
    assert str(caught.value) == (
        "Mapping failed: /a: missing required field; /b: 'nope' is not a number; "
        "/c: value 'Y' not in value map (allowed: 'X')"
    )
    assert caught.value.as_problem_errors()[0] == {
        "pointer": "/a", "field": "a", "messages": ["missing required field"], "target": "/a",
    }


def test_the_mapping_name_and_version_are_in_the_error():
    with pytest.raises(MappingError, match=r"^Mapping 'sf-account v2' failed: /Name"):
        apply_mapping(Mapping(name="sf-account", version=2, spec=[{"target": "/n", "source": "/Name",
                                                                     "required": True}]), {})


def test_output_does_not_share_objects_with_the_spec_or_the_input():
    spec = {"constants": {"/tags": ["a"]}, "fields": [{"target": "/obj", "source": "/obj"}]}
    source = {"obj": {"k": [1]}}
    output = apply_mapping(spec, source)
    output["tags"].append("b")
    output["obj"]["k"].append(2)
    assert spec["constants"]["/tags"] == ["a"] and source["obj"]["k"] == [1]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("fields", "spec: must be a list of rules or an object with 'fields'"),
        ({"rules": []}, "spec: unknown key 'rules'"),
        ([{"source": "/a"}], "fields[0]: 'target' is required"),
        ([{"target": "/a"}], "fields[0]: a rule needs a 'source' or a 'default' (or use 'constants')"),
        ([{"target": "/a", "source": "/a", "transform": "eval"}], "fields[0].transform: 'eval' is not one of"),
        ([{"target": "/a", "source": "/a", "transform": "__import__('os')"}], "is not one of"),
        ([{"target": "a", "source": "/a"}], "fields[0].target: pointer 'a' must start with '/'"),
        ([{"target": "/a", "source": "/a~2"}], "has a '~' not followed by 0 or 1"),
        ([{"target": "/a", "source": "/l[*]"}], "[*] is allowed only at the end of the source of a rule with 'each'"),
        ([{"target": "/a[*]", "source": "/l"}], "a target cannot use [*] or [field=value]"),
        ([{"target": "", "default": 1}], "a target cannot be the whole document"),
        ([{"target": "/a", "each": []}], "'each' needs a 'source' array"),
        ([{"target": "/a", "source": "/a", "each": [], "value_map": {}}], "'value_map' and 'transform' apply"),
        ([{"target": "/a", "source": "/a", "required": "yes"}], "fields[0].required: must be true or false"),
        ([{"target": "/a", "source": "/a", "colour": 1}], "fields[0]: unknown key 'colour'"),
        ([{"target": "/a", "source": "/a", "each": [{"target": "/b"}]}], "fields[0].each.fields[0]: a rule needs"),
    ],
)
def test_invalid_specs_are_refused_naming_the_rule(spec, problem):
    problems = spec_problems(spec)
    assert any(problem in p for p in problems), problems
    with pytest.raises(MappingSpecError):
        apply_mapping(spec, {})

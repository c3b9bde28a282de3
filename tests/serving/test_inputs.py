import math

import pytest

from studyrec_lib.core.schema import FEATURE_COLUMNS, FIELDS_BY_NAME, MAX_TEXT_LENGTH
from studyrec_lib.serving.inputs import NUMERIC_INPUTS, check_features

VALID = {"semester": 3, "subject": "Mathematics", "assignment_marks": 3.5, "quiz_marks": 6,
         "attendance_percentage": 80, "midterm_marks": 18.5, "previous_cgpa": 3.1}


def _errors_by_field(payload: dict, **kwargs) -> dict[str, list[str]]:
    _, errors = check_features(payload, **kwargs)
    found: dict[str, list[str]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(error.rule)
    return found


def test_numeric_inputs_are_the_six_numeric_features():
    assert set(NUMERIC_INPUTS) == set(FEATURE_COLUMNS) - {"subject"}
    assert "final_marks" not in NUMERIC_INPUTS


def test_valid_payload_is_cleaned_with_ints_accepted_for_floats():
    clean, errors = check_features(VALID)
    assert errors == []
    assert clean == {"semester": 3, "subject": "Mathematics", "assignment_marks": 3.5, "quiz_marks": 6.0,
                     "attendance_percentage": 80.0, "midterm_marks": 18.5, "previous_cgpa": 3.1}
    assert type(clean["semester"]) is int
    for name in NUMERIC_INPUTS:
        if name != "semester":
            assert type(clean[name]) is float, name


def test_whole_float_semester_is_accepted_as_int():
    clean, errors = check_features({**VALID, "semester": 4.0})
    assert errors == []
    assert clean["semester"] == 4
    assert type(clean["semester"]) is int


def test_subject_whitespace_is_normalised():
    clean, errors = check_features({**VALID, "subject": "  Data   Bases\t"})
    assert errors == []
    assert clean["subject"] == "Data Bases"


@pytest.mark.parametrize("field", FEATURE_COLUMNS)
def test_missing_field_is_required(field):
    payload = {k: v for k, v in VALID.items() if k != field}
    clean, errors = check_features(payload)
    assert [(e.field, e.rule) for e in errors] == [(field, "is required")]
    assert field not in clean


@pytest.mark.parametrize("field", FEATURE_COLUMNS)
@pytest.mark.parametrize("empty", [None, ""])
def test_none_or_empty_field_is_required(field, empty):
    assert _errors_by_field({**VALID, field: empty}) == {field: ["is required"]}


@pytest.mark.parametrize("field", NUMERIC_INPUTS)
@pytest.mark.parametrize("value", ["abc", True, False, [1], {"a": 1}, "1,5"])
def test_wrong_type_is_not_a_number(field, value):
    clean, errors = check_features({**VALID, field: value})
    assert len(errors) == 1
    assert errors[0].field == field
    assert errors[0].rule == "must be a number"
    assert errors[0].value == value
    assert field not in clean


@pytest.mark.parametrize("field", NUMERIC_INPUTS)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "nan", "inf"])
def test_nan_and_infinity_are_rejected(field, value):
    errors = _errors_by_field({**VALID, field: value})
    assert errors == {field: ["must be a number"]}


@pytest.mark.parametrize("field", NUMERIC_INPUTS)
def test_exact_bounds_are_accepted(field):
    spec = FIELDS_BY_NAME[field]
    for bound in (spec.low, spec.high):
        value = int(bound) if spec.integer else float(bound)
        clean, errors = check_features({**VALID, field: value})
        assert errors == [], (field, bound)
        assert clean[field] == bound


@pytest.mark.parametrize("field", NUMERIC_INPUTS)
def test_values_just_outside_the_bounds_are_rejected_with_the_range_rule(field):
    spec = FIELDS_BY_NAME[field]
    step = 1 if spec.integer else 0.001
    for value in (spec.low - step, spec.high + step):
        clean, errors = check_features({**VALID, field: value})
        assert len(errors) == 1, (field, value)
        error = errors[0]
        assert error.field == field
        assert error.rule == spec.rule
        assert f"from {spec.low:g} to {spec.high:g}" in error.rule
        assert error.value == value
        assert field not in clean


def test_range_rules_name_the_kind_of_number():
    assert FIELDS_BY_NAME["semester"].rule == "must be an integer from 1 to 12"
    assert FIELDS_BY_NAME["quiz_marks"].rule == "must be a number from 0 to 10"


def test_numeric_strings_are_parsed_and_range_checked():
    clean, errors = check_features({**VALID, "quiz_marks": " 7.5 ", "semester": "2"})
    assert errors == []
    assert clean["quiz_marks"] == 7.5
    assert clean["semester"] == 2
    assert _errors_by_field({**VALID, "quiz_marks": "10.5"}) == {"quiz_marks": ["must be a number from 0 to 10"]}


@pytest.mark.parametrize("value", [2.5, 11.999, "3.5"])
def test_fractional_semester_is_rejected_not_truncated(value):
    clean, errors = check_features({**VALID, "semester": value})
    assert "semester" not in clean
    assert len(errors) == 1
    assert errors[0].field == "semester"
    assert "whole number" in errors[0].rule
    assert "not truncated" in errors[0].rule


@pytest.mark.parametrize("subject", ["", "   ", "\t\n", None, 42, ["Maths"]])
def test_empty_or_non_text_subject_is_required(subject):
    clean, errors = check_features({**VALID, "subject": subject})
    assert [(e.field, e.rule) for e in errors] == [("subject", "is required")]
    assert "subject" not in clean


def test_subject_length_limit():
    clean, errors = check_features({**VALID, "subject": "x" * MAX_TEXT_LENGTH})
    assert errors == []
    assert clean["subject"] == "x" * MAX_TEXT_LENGTH
    clean, errors = check_features({**VALID, "subject": "x" * (MAX_TEXT_LENGTH + 1)})
    assert [(e.field, e.rule) for e in errors] == [("subject", f"must be at most {MAX_TEXT_LENGTH} characters")]
    assert "subject" not in clean
    assert len(str(errors[0].value)) < MAX_TEXT_LENGTH  # the echoed value is shortened


def test_unknown_field_is_rejected_unless_extra_fields_are_allowed():
    payload = {**VALID, "final_marks": 40, "student_id": "S1"}
    clean, errors = check_features(payload)
    assert sorted((e.field, e.rule) for e in errors) == [("final_marks", "is not a known field"),
                                                         ("student_id", "is not a known field")]
    clean, errors = check_features(payload, allow_extra=True)
    assert errors == []
    assert set(clean) == set(FEATURE_COLUMNS)


def test_every_broken_rule_is_reported_at_once():
    payload = {"semester": 2.5, "subject": "", "assignment_marks": "abc", "quiz_marks": 11,
               "attendance_percentage": math.nan, "previous_cgpa": True, "extra": 1}
    errors = _errors_by_field(payload)
    assert set(errors) == {*FEATURE_COLUMNS, "extra"}
    assert errors["midterm_marks"] == ["is required"]
    assert errors["quiz_marks"] == ["must be a number from 0 to 10"]
    assert errors["extra"] == ["is not a known field"]
    assert all(len(rules) == 1 for rules in errors.values())


def test_input_error_as_dict():
    _, errors = check_features({**VALID, "quiz_marks": 12})
    assert errors[0].as_dict() == {"field": "quiz_marks", "rule": "must be a number from 0 to 10", "value": 12}


def test_an_integer_too_large_for_a_float_is_out_of_range_not_a_crash():
    from studyrec_lib.serving.inputs import check_features

    payload = {"semester": 1, "subject": "M", "assignment_marks": 1, "quiz_marks": 10**400,
               "attendance_percentage": 50, "midterm_marks": 10, "previous_cgpa": 2}
    _, errors = check_features(payload)
    assert [(e.field, e.rule) for e in errors] == [("quiz_marks", "must be a number from 0 to 10")]

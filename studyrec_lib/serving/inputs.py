"""Check one student's prediction input with the rules, and the wording, of :mod:`studyrec_lib.core.schema`."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from studyrec_lib.core.schema import (
    FEATURE_COLUMNS,
    FIELDS_BY_NAME,
    MAX_TEXT_LENGTH,
    NOT_A_NUMBER,
    REQUIRED,
    TEXT_FIELDS,
    TOO_LONG,
    UNKNOWN_FIELD,
)

NUMERIC_INPUTS = tuple(c for c in FEATURE_COLUMNS if c in FIELDS_BY_NAME)
TEXT_INPUTS = tuple(c for c in FEATURE_COLUMNS if c in TEXT_FIELDS)
ECHO_LENGTH = 20  # a long value is echoed cut short


@dataclass(frozen=True)
class InputError:
    field: str
    rule: str
    value: object = None

    def as_dict(self) -> dict:
        return {"field": self.field, "rule": self.rule, "value": self.value}


def _shortened(value: object) -> str:
    return str(value)[:ECHO_LENGTH] + "..."


def check_features(payload: Mapping[str, object], allow_extra: bool = False) -> tuple[dict, list[InputError]]:
    """Clean feature values, and every rule the payload breaks (empty when it is valid).

    Numbers may come as text (a cell of a teacher's file); text is trimmed and its inner spaces collapsed.
    """
    errors: list[InputError] = []
    clean: dict[str, object] = {}
    for name in NUMERIC_INPUTS:
        spec = FIELDS_BY_NAME[name]
        value = payload.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):  # blank, as ingest trims cells
            errors.append(InputError(name, REQUIRED))
            continue
        number = value
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                number = float(str(value).strip())
            except ValueError:
                errors.append(InputError(name, NOT_A_NUMBER, value))
                continue
        rule = spec.check(number)
        if rule is not None:
            too_large = isinstance(value, int) and abs(value) > sys.float_info.max  # echoed cut short
            errors.append(InputError(name, rule, _shortened(value) if too_large else value))
        else:
            clean[name] = int(number) if spec.integer else float(number)
    for name in TEXT_INPUTS:
        text = payload.get(name)
        if not isinstance(text, str) or not text.strip():
            errors.append(InputError(name, REQUIRED, text))
        elif len(text.strip()) > MAX_TEXT_LENGTH:
            errors.append(InputError(name, TOO_LONG, _shortened(text)))
        else:
            clean[name] = " ".join(text.split())
    if not allow_extra:
        errors.extend(InputError(str(k), UNKNOWN_FIELD) for k in payload if k not in FEATURE_COLUMNS)
    return clean, errors

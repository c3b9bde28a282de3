"""Check one student's prediction input with the ingest rules of :mod:`studyrec_lib.schema`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .schema import FEATURE_COLUMNS, FIELDS_BY_NAME
from .validate import MAX_TEXT_LENGTH

NUMERIC_INPUTS = tuple(c for c in FEATURE_COLUMNS if c in FIELDS_BY_NAME)


@dataclass(frozen=True)
class InputError:
    field: str
    rule: str
    value: object = None

    def as_dict(self) -> dict:
        return {"field": self.field, "rule": self.rule, "value": self.value}


def check_features(payload: Mapping[str, object], allow_extra: bool = False) -> tuple[dict, list[InputError]]:
    """Clean feature values, and every rule the payload breaks (empty when it is valid)."""
    errors: list[InputError] = []
    clean: dict[str, object] = {}
    for name in NUMERIC_INPUTS:
        spec = FIELDS_BY_NAME[name]
        value = payload.get(name)
        if value is None or value == "":
            errors.append(InputError(name, "is required"))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(str(value).strip())
            except ValueError:
                errors.append(InputError(name, "must be a number", payload[name]))
                continue
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            errors.append(InputError(name, spec.rule, str(payload[name])[:20] + "..."))
            continue
        if not math.isfinite(number):
            errors.append(InputError(name, "must be a number", payload[name]))
        elif not spec.low <= number <= spec.high:
            errors.append(InputError(name, spec.rule, payload[name]))
        elif spec.integer and number % 1 != 0:
            errors.append(InputError(name, "must be a whole number (a fraction is rejected, not truncated)",
                                     payload[name]))
        else:
            clean[name] = int(number) if spec.integer else number
    subject = payload.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        errors.append(InputError("subject", "is required", subject))
    elif len(subject.strip()) > MAX_TEXT_LENGTH:
        errors.append(InputError("subject", f"must be at most {MAX_TEXT_LENGTH} characters", subject[:20] + "..."))
    else:
        clean["subject"] = " ".join(subject.split())
    if not allow_extra:
        errors.extend(InputError(str(k), "is not a known field") for k in payload if k not in FEATURE_COLUMNS)
    return clean, errors

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
        if name not in payload or payload[name] is None or payload[name] == "":
            errors.append(InputError(name, "is required"))
            continue
        value = payload[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(str(value).strip())
            except ValueError:
                errors.append(InputError(name, "must be a number", payload[name]))
                continue
        if not math.isfinite(value):
            errors.append(InputError(name, "must be a number", payload[name]))
        elif not spec.low <= value <= spec.high:
            errors.append(InputError(name, spec.rule, payload[name]))
        elif spec.integer and float(value) % 1 != 0:
            errors.append(InputError(name, "must be a whole number (a fraction is rejected, not truncated)",
                                     payload[name]))
        else:
            clean[name] = int(value) if spec.integer else float(value)
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

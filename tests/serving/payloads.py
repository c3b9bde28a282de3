"""Students' inputs shared by the serving tests."""

import numpy as np

from studyrec_lib.core.schema import FIELDS_BY_NAME

# No weak signal fires for this student.
STRONG = {"semester": 4, "subject": "Mathematics", "assignment_marks": 4.0, "quiz_marks": 7.0,
          "attendance_percentage": 85.0, "midterm_marks": 20.0, "previous_cgpa": 3.0}


def random_payloads(subjects: list[str], n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    payloads = []
    for i in range(n):
        payload = {"subject": subjects[i % len(subjects)]}
        for name in ("semester", "assignment_marks", "quiz_marks", "attendance_percentage", "midterm_marks",
                     "previous_cgpa"):
            spec = FIELDS_BY_NAME[name]
            value = rng.uniform(spec.low, spec.high)
            payload[name] = round(value) if spec.integer else round(float(value), 1)
        payloads.append(payload)
    return payloads

"""Demo data: the synthetic example cohort of ``make run`` and the tests, and shifted copies of it.

:func:`generate` gives the same rows for the same seed; :func:`shift_frame` moves features, scales marks or
brings in a new subject, for drift and feedback demonstrations.
"""

from studyrec_lib.demo.example import (
    FINAL_MARKS_NOISE_SD,
    bayes_optimal_grade_accuracy,
    ensure_example_dataset,
    generate,
    write,
)
from studyrec_lib.demo.shifted import SHIFTABLE, parse_assignments, shift_frame

__all__ = [
    "FINAL_MARKS_NOISE_SD",
    "SHIFTABLE",
    "bayes_optimal_grade_accuracy",
    "ensure_example_dataset",
    "generate",
    "parse_assignments",
    "shift_frame",
    "write",
]

"""What calibration did to the grade model, in one phrase the model card, the tables and the summary share.

Four decimals of the Brier score hid a change of 0.000003 ("0.0641 -> 0.0641" read as a bug); a change too
small to show is now said to be one.
"""

from __future__ import annotations

from studyrec_lib.core.metric_words import metric_words

MEASURABLE_CHANGE = 0.00005  # half of the last of four decimals: a smaller change rounds away


def calibration_words(calibration: dict) -> str:
    """E.g. "temperature calibration applied: error of the grade probabilities (CV Brier score) 0.0712 → 0.0641".

    Args:
        calibration: the grade model's ``extra["calibration"]`` (method, considered, applied, Brier before and
            after, or why it was skipped).

    Returns:
        The phrase (no final full stop): not tried and why, or applied or not with the Brier score before and
        after, or "no measurable change" with six decimals when four would show none.
    """
    method = calibration.get("method", "no")
    if "brier_before" not in calibration:
        why = calibration.get("skipped") or "the hand rule was chosen"
        return f"{method} calibration not tried ({why})"
    before, after = calibration["brier_before"], calibration["brier_after"]
    brier = metric_words("cv_brier_macro")
    if abs(after - before) < MEASURABLE_CHANGE:
        figures = f"no measurable change in the {brier}: {before:.6f} → {after:.6f}"
    else:
        figures = f"{brier} {before:.4f} → {after:.4f}"
    if calibration.get("applied"):
        return f"{method} calibration applied, {figures}"
    return f"{method} calibration not applied (it did not lower the Brier score), {figures}"

"""A prediction result as HTML for the student app: what a student reads, with every value escaped.

Elements carry ``studyrec-*`` classes and ``data-*`` attributes so a browser test can read the grade and
each probability exactly as the page shows them.
"""

from __future__ import annotations

from html import escape

from studyrec_lib.core.schema import GRADES

BAR_COLOUR = {"A+": "#1b7837", "A": "#1b7837", "A-": "#5aae61", "B+": "#5aae61", "B": "#a6dba0", "C+": "#fee08b",
              "C": "#fdae61", "D": "#f46d43", "F": "#d73027"}
ERROR_COLOUR = "#b00020"


def field_error_html(rule: str) -> str:
    return f'<span class="studyrec-field-error" style="color:{ERROR_COLOUR}">{escape(rule)}</span>'


def render_errors_note() -> str:
    return (f'<p class="studyrec-fix" style="color:{ERROR_COLOUR}">Some marks are outside their range: fix the '
            "fields marked in red, then press Predict again.</p>")


def no_model_html(reason: str) -> str:
    return (f'<div class="studyrec-message"><h3>No prediction available yet</h3><p>{escape(reason)}</p>'
            "<p>To train one, run <code>make run</code> in the StudyRec folder (or "
            "<code>studyrec pipeline YOUR_FILE.csv</code>), then press <b>Check again</b>.</p></div>")


def _probability_bars(probabilities: dict[str, float], predicted: str) -> str:
    rows = []
    for grade in GRADES:
        p = float(probabilities[grade])
        weight = "bold" if grade == predicted else "normal"
        rows.append(
            f'<tr class="studyrec-prob" data-grade="{escape(grade)}" data-p="{p:.4f}" style="font-weight:{weight}">'
            f'<td style="width:2.5em">{escape(grade)}</td>'
            f'<td style="width:260px"><div style="background:{BAR_COLOUR[grade]};height:14px;'
            f'width:{max(p * 100, 0.5):.1f}%"></div></td><td style="text-align:right">{p * 100:.1f}%</td></tr>')
    return f'<table class="studyrec-probabilities">{"".join(rows)}</table>'


def _improvement(best: dict | None, grade: str, predicted_total: float) -> str:
    if best is None:
        return "<p>Every mark you can still change is already at its maximum.</p>"
    if best["grade_steps"] <= 0 and grade == GRADES[0]:
        return '<p class="studyrec-improvement">You are on track for the top grade: keep it up.</p>'
    if best["grade_steps"] > 0:
        change = escape(f'{best["change"]} -> {best["new_grade"]}')
        return f'<p class="studyrec-improvement">Biggest single step up: <b>{change}</b>.</p>'
    # No single change lifts the grade: say how far the next grade is, and what the best change does.
    return (f'<p class="studyrec-improvement">No single change lifts your predicted grade {escape(grade)}. '
            f'A {escape(str(best["next_grade"]))} needs a course total of {best["next_grade_total"]:g}; yours is '
            f'predicted at {predicted_total:g}, and the change that helps most, <b>{escape(best["change"])}</b>, '
            f'would bring it to {best["new_predicted_total"]:g}.</p>')


def _items(css_class: str, items: list[str]) -> str:
    return f'<ul class="{css_class}">{"".join(f"<li>{item}</li>" for item in items)}</ul>'


def _plan(plan: list[dict]) -> str:
    if not plan:
        return "<p>No study resources are listed for this subject yet.</p>"
    links = [f'<a href="{escape(item["url"], quote=True)}" target="_blank" rel="noopener noreferrer">'
             f'{escape(item["title"])}</a> <small>({escape(item["reason"])})</small>' for item in plan]
    return f'<ol class="studyrec-plan">{"".join(f"<li>{link}</li>" for link in links)}</ol>'


def render_result(result: dict) -> str:
    grade = result["predicted_grade"]
    interval = result["interval"]
    parts = [
        f'<h3>Predicted grade <span class="studyrec-grade" data-grade="{escape(grade)}">{escape(grade)}</span></h3>',
        f'<p>Final exam: <b class="studyrec-final" data-value="{result["predicted_final_marks"]:g}">'
        f'{result["predicted_final_marks"]:g}</b> of 50 ({interval["level"]:.0%} range {interval["low"]:g} to '
        f'{interval["high"]:g}). Course total: <b class="studyrec-total" data-value="{result["predicted_total"]:g}">'
        f'{result["predicted_total"]:g}</b> of 100.</p>',
        "<h4>How likely each grade is</h4>", _probability_bars(result["grade_probabilities"], grade),
        _improvement(result["best_improvement"], grade, result["predicted_total"]),
    ]
    if result["weak_signals"]:
        parts += ["<h4>Where you are losing marks</h4>",
                  _items("studyrec-signals", [f"Your {escape(s['message'])}." for s in result["weak_signals"]])]
    if result["weak_subjects"]:
        weak = [f"{escape(w['subject'])}: total {w['total']:g} (semester {w['semester']})"
                for w in result["weak_subjects"]]
        parts += ["<h4>Your weak subjects</h4>", _items("studyrec-weak-subjects", weak)]
    parts += ["<h4>Your study plan</h4>", _plan(result["study_plan"])]
    if result["warnings"]:
        parts.append(_items("studyrec-warnings", [f'<span style="color:{ERROR_COLOUR}">{escape(w)}</span>'
                                                  for w in result["warnings"]]))
    versions = ", ".join(f"{task} {version}" for task, version in sorted(result["model_versions"].items()))
    parts.append(f'<details class="studyrec-details"><summary>Details</summary><small class="studyrec-versions">'
                 f'Models: {escape(versions)}</small></details>')
    return f'<div class="studyrec-prediction">{"".join(parts)}</div>'

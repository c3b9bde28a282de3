import re

from studyrec_lib.core.schema import GRADES
from studyrec_lib.web.result_html import field_error_html, no_model_html, render_result


def _result(**overrides) -> dict:
    probabilities = dict.fromkeys(GRADES, 0.0) | {"B": 0.6, "C+": 0.3, "B+": 0.1}
    result = {
        "predicted_final_marks": 31.5, "interval": {"level": 0.9, "low": 25.0, "high": 38.0},
        "predicted_total": 63.25, "predicted_grade": "B", "grade_probabilities": probabilities,
        "weak_signals": [{"component": "quiz", "field": "quiz_marks", "message": "quiz marks below 5 of 10"}],
        "weak_subjects": None,
        "study_plan": [{"subject": "Physics", "component": "quiz", "title": "Quiz practice",
                        "url": "https://example.org/quiz?a=1&b=2", "reason": "Physics: improve your quiz marks"}],
        "best_improvement": {"change": "+2 quiz marks", "field": "quiz_marks", "step": 2.0, "new_grade": "B+",
                             "grade_steps": 1, "new_predicted_total": 65.1},
        "warnings": [], "model_versions": {"regression": "20261125000000", "classification": "20261125000000"},
    }
    return result | overrides


def test_grade_and_every_probability_are_readable_in_grade_order():
    html = render_result(_result())
    assert re.search(r'class="studyrec-grade" data-grade="B">B<', html)
    rows = re.findall(r'class="studyrec-prob" data-grade="([^"]+)" data-p="([0-9.]+)"', html)
    assert [grade for grade, _ in rows] == list(GRADES)
    assert dict(rows)["B"] == "0.6000" and dict(rows)["C+"] == "0.3000" and dict(rows)["F"] == "0.0000"
    assert "60.0%" in html


def test_improvement_is_shown_as_change_and_new_grade():
    assert "+2 quiz marks -&gt; B+" in render_result(_result())
    no_step = _result(predicted_total=62.5, best_improvement={
        "change": "+10% attendance", "field": "attendance_percentage", "step": 10.0, "new_grade": "B",
        "grade_steps": 0, "new_predicted_total": 64.0, "next_grade": "B+", "next_grade_total": 65})
    sentence = re.sub(r"<[^>]+>", "", render_result(no_step))
    # A true sentence: it never reads as if the change led to the grade the student already has.
    assert ("No single change lifts your predicted grade B. A B+ needs a course total of 65; yours is predicted at "
            "62.5, and the change that helps most, +10% attendance, would bring it to 64.") in sentence
    assert "-&gt; B" not in render_result(no_step)
    assert "already at its maximum" in render_result(_result(best_improvement=None))
    top = _result(predicted_grade="A+", best_improvement={"change": "+2 quiz marks", "field": "quiz_marks", "step": 2.0,
                                                          "new_grade": "A+", "grade_steps": 0,
                                                          "new_predicted_total": 90.0})
    assert "on track for the top grade" in render_result(top) and "-&gt; A+" not in render_result(top)


def test_plan_links_open_in_a_new_tab_with_escaped_urls():
    html = render_result(_result())
    assert '<a href="https://example.org/quiz?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">' in html
    assert "Your quiz marks below 5 of 10." in html


def test_text_from_teachers_or_students_cannot_inject_markup():
    hostile = "<script>alert(1)</script>"
    html = render_result(_result(
        study_plan=[{"subject": "X", "component": "quiz", "title": hostile, "url": 'https://e.org/"onmouseover="x',
                     "reason": hostile}],
        weak_subjects=[{"subject": hostile, "semester": 2, "total": 41.0, "grade": "D"}],
        warnings=[f"subject {hostile!r} was not in the training data"]))
    assert "<script>" not in html
    assert '"onmouseover="' not in html
    assert html.count("&lt;script&gt;") == 4


def test_weak_subjects_appear_only_when_given():
    assert "Your weak subjects" not in render_result(_result(weak_subjects=None))
    assert "Your weak subjects" not in render_result(_result(weak_subjects=[]))
    html = render_result(_result(weak_subjects=[{"subject": "Physics", "semester": 3, "total": 44.5, "grade": "D"}]))
    assert "Physics: total 44.5 (semester 3)" in html


def test_messages_escape_and_say_what_to_do():
    assert "must be a number from 0 to 10" in field_error_html("must be a number from 0 to 10")
    message = no_model_html("no <model> yet")
    assert "no &lt;model&gt; yet" in message and "make run" in message


def test_model_versions_sit_behind_a_details_toggle():
    html = render_result(_result())
    details = re.search(r'<details class="studyrec-details"><summary>Details</summary>(.*?)</details>', html)
    assert details and "studyrec-versions" in details.group(1)
    assert html.count("studyrec-versions") == 1  # nowhere outside the toggle

"""A realistic synthetic cohort: the example data set of ``make run`` and of the tests.

Each student has a latent ability; each subject a difficulty. Assignment, quiz, attendance and midterm
marks follow from both with noise; final marks follow from those marks and the previous CGPA plus
Gaussian noise of standard deviation :data:`FINAL_MARKS_NOISE_SD`. That noise is the floor of any
model's RMSE on this data. Previous CGPA is the mean grade point of the student's earlier subjects,
so it stays on the 0-4 scale across semesters (the old generator drifted from 2.9 to 2.1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from studyrec_lib.core.schema import COLUMNS, GRADES, grade_for_total, marks_before_final, total_marks

FINAL_MARKS_NOISE_SD = 4.0
SEMESTERS = 8
SUBJECTS_PER_SEMESTER = 3
SUBJECT_DIFFICULTY = {
    "Mathematics": 0.6,
    "Physics": 0.5,
    "Programming": 0.2,
    "Statistics": 0.3,
    "Databases": 0.0,
    "English": -0.5,
    "Economics": -0.1,
    "Chemistry": 0.4,
}
GRADE_POINTS = dict(zip(GRADES, (4.0, 3.75, 3.5, 3.25, 3.0, 2.75, 2.5, 2.0, 0.0), strict=True))


def generate(students: int = 120, seed: int = 7, open_semesters: int = 0, with_expected: bool = False
             ) -> pd.DataFrame:
    """A synthetic cohort: ``students`` x 8 semesters x 3 subjects, the same rows for the same seed.

    Args:
        students: how many students (24 rows each).
        seed: the random generator's seed.
        open_semesters: the last semesters that have no final marks and grade yet.
        with_expected: add ``expected_final_marks``, the noise-free mean the final marks were drawn around.

    Returns:
        The rows, with the columns of ``core.schema.COLUMNS`` in that order.
    """
    rng = np.random.default_rng(seed)
    subjects = np.array(list(SUBJECT_DIFFICULTY))
    difficulty = np.array(list(SUBJECT_DIFFICULTY.values()))
    n_rows = SEMESTERS * SUBJECTS_PER_SEMESTER
    ability = rng.normal(0, 1, students)
    # 3 distinct subjects per student and semester.
    picks = np.argsort(rng.random((students, SEMESTERS, len(subjects))), axis=2)[:, :, :SUBJECTS_PER_SEMESTER]
    subject_index = picks.reshape(students, n_rows)
    a = np.repeat(ability[:, None], n_rows, axis=1)
    d = difficulty[subject_index]

    def marks(centre: float, spread_ability: float, spread_difficulty: float, noise: float, high: float):
        value = centre + spread_ability * a - spread_difficulty * d + rng.normal(0, noise, a.shape)
        return np.clip(np.round(value, 1), 0, high)

    assignment = marks(3.6, 0.55, 0.3, 0.6, 5)
    quiz = marks(6.6, 1.3, 0.8, 1.2, 10)
    attendance = np.clip(np.round(84 + 7 * a + rng.normal(0, 8, a.shape)), 0, 100)
    midterm = marks(19.0, 3.8, 2.0, 3.0, 30)

    entry_cgpa = np.clip(2.85 + 0.45 * ability + rng.normal(0, 0.2, students), 0, 4)
    cgpa = np.empty((students, n_rows))
    final = np.empty((students, n_rows))
    expected_final = np.empty((students, n_rows))
    grades = np.empty((students, n_rows), dtype=object)
    points_sum = np.zeros(students)
    points_count = np.zeros(students)
    for semester in range(SEMESTERS):
        cols = slice(semester * SUBJECTS_PER_SEMESTER, (semester + 1) * SUBJECTS_PER_SEMESTER)
        previous = np.where(points_count > 0, points_sum / np.maximum(points_count, 1), entry_cgpa)
        cgpa[:, cols] = np.round(previous, 2)[:, None]
        expected = (
            -3.5 + 0.75 * midterm[:, cols] + 1.1 * quiz[:, cols] + 1.2 * assignment[:, cols]
            + 0.09 * attendance[:, cols] + 2.0 * (cgpa[:, cols] - 2.9) - 2.5 * d[:, cols]
        )
        expected_final[:, cols] = expected
        final[:, cols] = np.clip(np.round(expected + rng.normal(0, FINAL_MARKS_NOISE_SD, expected.shape), 1), 0, 50)
        total = total_marks({"assignment_marks": assignment[:, cols], "attendance_percentage": attendance[:, cols],
                             "quiz_marks": quiz[:, cols], "midterm_marks": midterm[:, cols],
                             "final_marks": final[:, cols]})
        grades[:, cols] = grade_for_total(total.ravel()).reshape(total.shape)
        points = np.vectorize(GRADE_POINTS.get)(grades[:, cols])
        points_sum += points.sum(axis=1)
        points_count += SUBJECTS_PER_SEMESTER

    frame = pd.DataFrame(
        {
            "student_id": np.repeat([f"S{i + 1:05d}" for i in range(students)], n_rows),
            "semester": np.tile(np.repeat(np.arange(1, SEMESTERS + 1), SUBJECTS_PER_SEMESTER), students),
            "subject": subjects[subject_index].ravel(),
            "assignment_marks": assignment.ravel(),
            "quiz_marks": quiz.ravel(),
            "attendance_percentage": attendance.ravel(),
            "midterm_marks": midterm.ravel(),
            "previous_cgpa": cgpa.ravel(),
            "final_marks": final.ravel(),
            "final_grade": grades.ravel(),
        },
        columns=list(COLUMNS),
    )
    if with_expected:
        frame["expected_final_marks"] = expected_final.ravel()
    if open_semesters:
        still_open = frame["semester"] > SEMESTERS - open_semesters
        frame["final_marks"] = frame["final_marks"].where(~still_open)
        frame["final_grade"] = frame["final_grade"].where(~still_open)
    return frame


def bayes_optimal_grade_accuracy(frame: pd.DataFrame, draws: int = 400, seed: int = 0) -> float:
    """The grade accuracy of a model that knew the generator exactly, simulated.

    ``frame`` must come from ``generate(..., with_expected=True)``. For each row, the final marks are
    redrawn ``draws`` times from the generator's noise; the best any model can do is to predict the most
    frequent resulting grade, which is right with that grade's frequency.
    """
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, FINAL_MARKS_NOISE_SD, (len(frame), draws))
    finals = np.clip(np.round(frame["expected_final_marks"].to_numpy()[:, None] + noise, 1), 0, 50)
    known = marks_before_final(frame)
    grades = grade_for_total((known[:, None] + finals).ravel()).reshape(finals.shape)
    best_share = [pd.Series(row).value_counts().iloc[0] / draws for row in grades]
    return float(np.mean(best_share))


def write(frame: pd.DataFrame, output: str | Path, file_format: str | None = None) -> Path:
    """Write a cohort as CSV or XLSX, chosen by ``file_format`` or the file name.

    Args:
        frame: the rows to write.
        output: the file to write (its folder is created).
        file_format: ``csv`` or ``xlsx`` (default: ``xlsx`` for a .xlsx name, else ``csv``).

    Returns:
        The path written.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    file_format = file_format or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")
    if file_format == "xlsx":
        frame.to_excel(output, index=False, engine="openpyxl")
    else:
        frame.to_csv(output, index=False)
    return output


def ensure_example_dataset(path: str | Path | None = None, students: int = 120, open_semesters: int = 1) -> Path:
    """The example data set's path, generating it first when it is absent (last semester still open).

    Args:
        path: where the example data set is (default: ``data/example/students.csv`` of the project).
        students: how many students to generate when it is absent.
        open_semesters: the last semesters without final marks when it is generated.

    Returns:
        The path of the (existing or new) file.
    """
    from studyrec_lib.core.config import EXAMPLE_DATASET

    path = Path(path or EXAMPLE_DATASET)
    if not path.exists():
        write(generate(students, open_semesters=open_semesters), path)
    return path

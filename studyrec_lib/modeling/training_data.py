"""Read what models learn from (and what they predict for) out of the warehouse."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

from studyrec_lib.core import warehouse
from studyrec_lib.core.config import Settings
from studyrec_lib.core.schema import COLUMNS


@dataclass
class TrainingData:
    frame: pd.DataFrame
    dataset_ids: list[int]
    sha256: str  # of the rows' content, so a version records exactly what it learned from


def content_sha256(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def load_training_examples(settings: Settings | None = None) -> TrainingData:
    """The latest finished row per (student, semester, subject), in a stable order.

    Args:
        settings: where the warehouse is.

    Returns:
        The rows, the datasets they came from and the sha256 of their content.
    """
    frame = warehouse.query_frame(
        f"SELECT dataset_id, {', '.join(COLUMNS)} FROM training_examples ORDER BY student_id, semester, subject",
        settings=settings,
    )
    return TrainingData(
        frame=frame.drop(columns="dataset_id"),
        dataset_ids=sorted(int(i) for i in frame["dataset_id"].unique()),
        sha256=content_sha256(frame[list(COLUMNS)]),
    )


def load_open_rows(settings: Settings | None = None) -> pd.DataFrame:
    """Rows without final marks yet from the latest dataset that has any: whom to warn in time.

    Of those, a row whose final marks a later upload brought (same student, semester and subject in
    ``training_examples``) is finished, not open: its student needs no warning any more. Older datasets'
    rows never come back: a student who left long ago is not flagged again.

    Args:
        settings: where the warehouse is.

    Returns:
        The open rows with their dataset and source row, ordered by student, semester and subject.
    """
    return warehouse.query_frame(
        f"""SELECT dataset_id, source_row, {', '.join(COLUMNS)} FROM student_performance AS open_row
            WHERE final_marks IS NULL AND dataset_id = (
                SELECT max(sp.dataset_id) FROM student_performance AS sp JOIN datasets AS d USING (dataset_id)
                WHERE sp.final_marks IS NULL AND d.status = 'loaded')
            AND NOT EXISTS (
                SELECT 1 FROM training_examples AS done
                WHERE done.student_id = open_row.student_id AND done.semester = open_row.semester
                  AND done.subject = open_row.subject AND done.dataset_id > open_row.dataset_id)
            ORDER BY student_id, semester, subject""",
        settings=settings,
    )

"""score_file: a teacher's file scored row by row, each scored row logged, the output written and summed up.

The command line around it (``studyrec predict --input``) is tested in tests/test_cli_predict.py.
"""

import pandas as pd
import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.errors import FileRefused
from studyrec_lib.core.files import file_sha256
from studyrec_lib.demo.example import generate
from studyrec_lib.serving.batch_scoring import NothingScored, score_file
from studyrec_lib.serving.predictor import Predictor
from studyrec_lib.serving.spool import PredictionSpool


@pytest.fixture
def scoring(copy_of_trained):
    predictor = Predictor(copy_of_trained, resources=[])
    spool = PredictionSpool(copy_of_trained, source="batch")
    yield predictor, spool
    spool.close()


def _rows(tmp_path, quiz: list[float]):
    frame = generate(students=1, seed=4).head(len(quiz)).drop(columns=["final_marks", "final_grade"])
    frame["quiz_marks"] = quiz
    path = tmp_path / "rows.csv"
    frame.to_csv(path, index=False)
    return path


def test_every_row_is_written_the_scored_ones_logged_and_summed_up(scoring, copy_of_trained, tmp_path):
    predictor, spool = scoring
    source, output = _rows(tmp_path, [5.0, 11.0, 7.0]), tmp_path / "out.csv"
    summary = score_file(source, output, predictor, spool, copy_of_trained)
    versions = predictor.models().versions
    assert summary == {"input": str(source), "input_sha256": file_sha256(source), "output": str(output),
                       "rows": 3, "scored": 2, "rows_with_errors": 1, "model_versions": versions}
    scored = pd.read_csv(output, keep_default_na=False)
    assert scored["errors"].tolist() == ["", "quiz_marks: must be a number from 0 to 10", ""]
    spool.flush()
    logged = warehouse.query_frame("SELECT source FROM prediction_log", settings=copy_of_trained)
    assert logged["source"].tolist() == ["batch", "batch"]


def test_a_file_where_no_row_scores_is_refused_after_its_output_is_written(scoring, copy_of_trained, tmp_path):
    predictor, spool = scoring
    source, output = _rows(tmp_path, [11.0, 12.0]), tmp_path / "out.xlsx"
    with pytest.raises(NothingScored) as refused:
        score_file(source, output, predictor, spool, copy_of_trained)
    assert str(refused.value).startswith(f"{source}: none of the 2 rows could be scored. First: row 2: quiz_marks")
    assert (refused.value.summary["scored"], refused.value.summary["rows_with_errors"]) == (0, 2)
    assert len(pd.read_excel(output)) == 2


def test_a_file_ingest_would_refuse_is_refused_before_anything_is_written(scoring, copy_of_trained, tmp_path):
    predictor, spool = scoring
    source, output = tmp_path / "wrong.csv", tmp_path / "out.csv"
    source.write_text("Name,Score\nAda,3\n")
    with pytest.raises(FileRefused, match="required columns are missing"):
        score_file(source, output, predictor, spool, copy_of_trained)
    assert not output.exists()

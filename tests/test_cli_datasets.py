"""``studyrec datasets`` as a user runs it: the listing with withdrawals, and ``datasets withdraw``'s exit codes."""

import getpass
import json

from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file
from tests.test_cli import _run


def _upload(settings, path, seed: int = 1) -> int:
    summary = ingest_file(example_data.write(example_data.generate(students=1, seed=seed), path), progress=None,
                          settings=settings).summary
    assert summary.status == "loaded", summary.message
    return summary.dataset_id


def test_withdraw_then_list(settings, tmp_path):
    kept, mistaken = _upload(settings, tmp_path / "a.csv"), _upload(settings, tmp_path / "b.csv", seed=2)

    done = _run(["datasets", "withdraw", str(mistaken), "--reason", "wrong term", "--by", "ann"], settings)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"dataset {mistaken} (b.csv) withdrawn by ann: its 24 rows no longer count")

    listed = json.loads(_run(["datasets", "--json"], settings).stdout)
    assert [(d["dataset_id"], d["status"], d["withdrawn_by"], d["withdrawal_reason"]) for d in listed] == [
        (kept, "loaded", None, None), (mistaken, "withdrawn", "ann", "wrong term")]
    assert listed[1]["withdrawn_at"] and listed[0]["withdrawn_at"] is None
    assert "uploaded_by" in listed[0]
    table = _run(["datasets"], settings).stdout
    assert "withdrawn_by" in table and "wrong term" in table


def test_withdraw_refusals_exit_1_and_usage_errors_exit_2(settings, tmp_path):
    dataset = _upload(settings, tmp_path / "a.csv")
    for args, words in (([str(dataset), "--reason", " "], "give a reason"),
                        ([str(dataset)], "give a reason"),
                        (["99", "--reason", "mistake"], "there is no dataset 99")):
        refused = _run(["datasets", "withdraw", *args], settings)
        assert refused.returncode == 1, refused.stderr
        assert words in refused.stderr
    no_id = _run(["datasets", "withdraw", "--reason", "mistake"], settings)
    assert no_id.returncode == 2 and "give the dataset to withdraw" in no_id.stderr
    assert _run(["datasets", "withdraw", "abc", "--reason", "mistake"], settings).returncode == 2

    first = _run(["datasets", "withdraw", str(dataset), "--reason", "mistake", "--json"], settings)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["withdrawn_by"] == getpass.getuser()  # the OS user when --by is not given
    assert result["status"] == "withdrawn" and result["training_rows_removed"] == 24
    again = _run(["datasets", "withdraw", str(dataset), "--reason", "mistake"], settings)
    assert again.returncode == 1 and "already withdrawn" in again.stderr

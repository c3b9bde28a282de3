"""`studyrec ingest` as a teacher runs it: --uploaded-by, --no-replace, warnings on stdout, exit codes."""

import getpass
import json

from studyrec_lib.demo import example as example_data
from tests.test_cli import _run


def _summary(done) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_uploader_and_no_replace(settings, tmp_path):
    cohort = example_data.generate(students=2)
    first = example_data.write(cohort, tmp_path / "term1.csv")
    loaded = _run(["ingest", str(first), "--json", "--uploaded-by", "t.okafor"], settings)
    assert loaded.returncode == 0, loaded.stderr
    assert _summary(loaded)["rows_superseding"] == 0

    resent = example_data.write(cohort.head(5), tmp_path / "term1-fix.csv")
    refused = _run(["ingest", str(resent), "--json", "--no-replace"], settings)
    assert refused.returncode == 1, refused.stderr
    summary = _summary(refused)
    assert (summary["status"], summary["ingest_status"], summary["dataset_id"]) == ("failed", "refused", None)
    assert "5 rows would replace rows loaded before" in summary["error"]
    assert "(5 of dataset 1 'term1.csv')" in summary["error"]

    replaced = _run(["ingest", str(resent)], settings)  # by default: loaded, with the warning printed
    assert replaced.returncode == 0, replaced.stderr
    assert ("warning: 5 rows replace rows loaded before for the same student, semester and subject: "
            "5 of dataset 1 'term1.csv'.") in replaced.stdout.splitlines()

    datasets = json.loads(_run(["datasets", "--json"], settings).stdout)
    assert [(d["source_file"], d["uploaded_by"]) for d in datasets] == [
        ("term1.csv", "t.okafor"), ("term1-fix.csv", getpass.getuser()),
    ]


def test_no_replace_and_uploaded_by_are_documented():
    import subprocess
    import sys

    shown = subprocess.run([sys.executable, "-m", "studyrec_lib.cli", "ingest", "--help"], capture_output=True,
                           text=True, timeout=60)
    text = " ".join(shown.stdout.split())
    assert "--no-replace refuse the file (exit 1, nothing loaded) if any of its rows would replace a row loaded " \
        "before for the same student, semester and subject" in text
    assert "--uploaded-by NAME who uploads, stored with the dataset (default: the OS user)" in text

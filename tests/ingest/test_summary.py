from studyrec_lib.demo import example as example_data
from studyrec_lib.ingest import ingest_file
from studyrec_lib.ingest.summary import ingest_summary, semester_span


def _ingest(settings, path, **kwargs):
    return ingest_file(path, settings=settings, progress=None, **kwargs)


def test_the_first_upload_says_what_it_loaded(settings, tmp_path):
    path = example_data.write(example_data.generate(students=3, seed=1, open_semesters=1), tmp_path / "first.csv")
    text = ingest_summary(_ingest(settings, path, uploaded_by="ana"), settings).data
    assert text.startswith("## Summary\n")
    assert ('**`first.csv`** was loaded as dataset 1 ("first", uploaded by ana): 72 rows read, 72 loaded, 0 rejected; '
            "3 students, semesters 1 to 8; 9 open rows (no final marks yet).") in text
    assert "- Only 72 valid rows: a model trained on this data alone will be weak" in text
    assert "**What changed.** This is the warehouse's first upload." in text


def test_a_later_upload_says_what_it_replaced_and_what_it_brings(settings, tmp_path):
    first = example_data.generate(students=3, seed=1)
    _ingest(settings, example_data.write(first, tmp_path / "first.csv"))
    later = example_data.generate(students=5, seed=2)
    later = later[later["semester"] <= 2].copy()  # 3 students' semesters 1-2 again (replacing), 2 new students
    later.loc[later["semester"] == 2, "semester"] = 9  # and a semester the warehouse has not seen
    text = ingest_summary(_ingest(settings, example_data.write(later, tmp_path / "later.csv")), settings).data
    replaced = len(later.merge(first, on=["student_id", "semester", "subject"]))
    assert replaced and (f"30 rows read, 30 loaded ({replaced} of them replacing earlier rows of the same student, "
                         "semester and subject), 0 rejected; 5 students, semesters 1, 9;") in text
    assert f"- {replaced} rows replace rows loaded before for the same student, semester and subject: {replaced} of " \
           "dataset 1 'first.csv'." in text  # the warning says whose
    assert ("**What changed since the previous upload** (dataset 1 `first.csv`, ") in text
    assert "72 rows loaded): this upload brings 2 new students and new semester 9; the loaded data now hold " \
           "5 students in 2 datasets." in text


def test_a_refused_or_repeated_file_says_nothing_changed(settings, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    refused = ingest_summary(_ingest(settings, empty), settings).data
    assert "**`empty.csv` was refused; the warehouse is unchanged.** " in refused
    assert "What changed" not in refused
    path = example_data.write(example_data.generate(students=3), tmp_path / "three.csv")
    _ingest(settings, path)
    again = ingest_summary(_ingest(settings, path), settings).data
    assert "**`three.csv` was loaded before; nothing changed.** This file (sha256 " in again


def test_semester_spans_read_as_words():
    assert semester_span([3, 1, 2, 2]) == "semesters 1 to 3"
    assert semester_span([2, 5]) == "semesters 2, 5"
    assert semester_span([4]) == "semester 4"
    assert semester_span([]) == "no semester"

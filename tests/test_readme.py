"""The README works from a clean clone anywhere: every file it or the Makefile names ships with the project."""

import hashlib
import re

from studyrec_lib.core.config import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
MAKEFILE = (PROJECT_ROOT / "Makefile").read_text()
UCI = PROJECT_ROOT / "data" / "real" / "uci-student-por.csv"


def test_nothing_outside_the_project_is_referenced():
    assert not re.findall(r"\.\./\w", README + MAKEFILE)


def test_the_documents_and_data_the_readme_names_are_shipped():
    named = set(re.findall(r"`((?:docs|data/real)/[\w./-]+)`", README))
    assert {"docs/DESIGN.md", "data/real/uci-student-por.csv"} <= named
    for path in named:
        assert (PROJECT_ROOT / path).is_file(), path


def test_the_uci_file_is_the_one_the_paper_used():
    assert hashlib.md5(UCI.read_bytes()).hexdigest() == "5252caab3920531cb9f109f208d4ed73"  # benchmarks/real_uci.py

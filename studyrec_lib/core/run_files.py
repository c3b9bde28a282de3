"""The names of the files a run folder holds, in one place.

The stages that write them (ingest, registry, evaluation, monitoring) come before ``runs/`` in the import
order, so the names live in ``core`` and ``runs`` reads them from here like everyone else.
"""

from __future__ import annotations

PARAMS = "params.json"
PROVENANCE = "provenance.json"
PACKAGES = "packages.json"
SUMMARY = "summary.json"
INGEST_SUMMARY = "ingest.json"
INGEST_REPORT = "01_ingest.html"  # the HTML of notebooks/01_ingest.ipynb: an upload's report
REJECTED_ROWS = "rejected_rows.csv"
TRAIN_SUMMARY = "train.json"
MONITOR_SUMMARY = "monitor.json"
MODEL_CARD = "model_card.md"
AT_RISK_CSV = "at_risk.csv"
AT_RISK_XLSX = "at_risk.xlsx"
ARTIFACTS = "artifacts"
TRAINING_STATE = "training.joblib"  # inside ARTIFACTS
INDEX = "index.html"  # in the runs folder itself
# What runs/index.html links in each run folder, and all the reports service shows: reports, and the tables
# for teachers (at_risk.csv)
REPORT_FILES = ("*.html", "*.md", "*.csv", "*.xlsx")

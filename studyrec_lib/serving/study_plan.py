"""Study resources and the plan built from them: the student's weak components and subjects first."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from studyrec_lib.core import warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings
from studyrec_lib.core.errors import FileRefused, WarehouseLocked

COMPONENTS = ("assignment", "quiz", "attendance", "midterm", "general")
RESOURCE_COLUMNS = ["subject", "component", "title", "url"]
ANY_SUBJECT = "*"
PLAN_LENGTH = 6
SIGNAL_COMPONENT = {"assignment_marks": "assignment", "quiz_marks": "quiz", "attendance_percentage": "attendance",
                    "midterm_marks": "midterm"}


def packaged_resources() -> pd.DataFrame:
    with resources.files("studyrec_lib.data").joinpath("study_resources.csv").open(encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str)


def check_resources(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Refuse a resource list with missing columns, unknown components or links that are not http(s)."""
    missing = [c for c in RESOURCE_COLUMNS if c not in frame.columns]
    if missing:
        raise FileRefused(source, f"missing columns {missing}; found {list(frame.columns)}.",
                          f"A resource list needs {RESOURCE_COLUMNS}.")
    frame = frame[RESOURCE_COLUMNS].fillna("").astype(str).apply(lambda column: column.str.strip())
    problems = []
    for row_number, row in enumerate(frame.itertuples(index=False), start=2):
        if not row.subject or not row.title:
            problems.append(f"row {row_number}: subject and title are required")
        if row.component not in COMPONENTS:
            problems.append(f"row {row_number}, column component: {row.component!r} is not one of {COMPONENTS}")
        if not row.url.startswith(("https://", "http://")):
            problems.append(f"row {row_number}, column url: {row.url!r} must start with https:// or http://")
    if problems:
        raise FileRefused(source, "; ".join(problems[:10]) + ("; ..." if len(problems) > 10 else "") + ".")
    return frame


def load_resources(path: str | Path | None, settings: Settings | None = None) -> int:
    """Replace the study_resources table with a teacher's CSV (or, with no path, the packaged list)."""
    source = "packaged" if path is None else str(path)
    try:
        frame = packaged_resources() if path is None else pd.read_csv(path, dtype=str)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise FileRefused(source, f"could not be read as CSV ({error}).") from error
    if frame.empty:
        raise FileRefused(source, "has no resources (only a header).", "Add one row per resource.")
    frame = check_resources(frame, source).assign(source=source, loaded_at=utc_now())
    with warehouse.transaction(settings) as con:
        con.execute("DELETE FROM study_resources")
        con.register("resources_frame", frame)
        con.execute("INSERT INTO study_resources BY NAME SELECT * FROM resources_frame")
        con.unregister("resources_frame")
    return len(frame)


def read_resources(settings: Settings | None = None) -> pd.DataFrame:
    """The resource list, seeded from the packaged CSV the first time."""
    frame = warehouse.query_frame(f"SELECT {', '.join(RESOURCE_COLUMNS)} FROM study_resources", settings=settings)
    if frame.empty:
        load_resources(None, settings)
        frame = warehouse.query_frame(f"SELECT {', '.join(RESOURCE_COLUMNS)} FROM study_resources",
                                      settings=settings)
    return frame


def current_resources(settings: Settings) -> list[dict]:
    """The study resources; the packaged list while another process (an ingest, a training) holds the warehouse.

    So an app or API worker that starts during a write still starts, instead of failing after the lock timeout;
    it keeps the packaged list until it restarts.
    """
    try:
        return read_resources(settings).to_dict("records")
    except WarehouseLocked:
        return packaged_resources().to_dict("records")


def build_plan(resources_list: list[dict], subject: str, weak_components: list[str],
               weak_subjects: list[str], limit: int = PLAN_LENGTH) -> list[dict]:
    """Resources ranked: this subject's weak components, then weak subjects, then general advice."""
    ranked: list[tuple[int, dict]] = []
    for row in resources_list:
        same_subject = row["subject"] == subject
        any_subject = row["subject"] == ANY_SUBJECT
        weak_component = row["component"] in weak_components
        if same_subject and weak_component:
            rank, reason = 0, f"{subject}: improve your {row['component']} marks"
        elif any_subject and weak_component:
            rank, reason = 1, f"improve your {row['component']} marks"
        elif row["subject"] in weak_subjects:
            rank, reason = 2, f"{row['subject']} is one of your weak subjects"
        elif same_subject:
            rank, reason = 3, f"more practice in {subject}"
        elif any_subject and row["component"] == "general":
            rank, reason = 4, "general study skills"
        else:
            continue
        ranked.append((rank, {**row, "reason": reason}))
    ranked.sort(key=lambda item: item[0])
    seen: set[str] = set()
    plan = []
    for _, item in ranked:
        if item["url"] not in seen:
            seen.add(item["url"])
            plan.append(item)
    return plan[:limit]

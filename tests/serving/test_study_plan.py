import dataclasses

import pytest

from studyrec_lib.core import warehouse
from studyrec_lib.core.errors import FileRefused
from studyrec_lib.serving.study_plan import (
    ANY_SUBJECT,
    COMPONENTS,
    PLAN_LENGTH,
    RESOURCE_COLUMNS,
    build_plan,
    check_resources,
    current_resources,
    load_resources,
    packaged_resources,
    read_resources,
)

TEACHER_CSV = (
    "subject,component,title,url\n"
    "Mathematics,quiz,Maths quiz drills,https://example.edu/maths-quiz\n"
    "*,general,Sleep well,http://example.edu/sleep\n"
    "Biology,assignment,Lab reports,https://example.edu/lab\n"
)


def _stored(settings) -> list[tuple]:
    with warehouse.connect(settings, read_only=True) as con:
        return con.execute("SELECT subject, component, title, url, source FROM study_resources "
                           "ORDER BY subject, url").fetchall()


def test_packaged_resources_pass_their_own_check():
    frame = packaged_resources()
    checked = check_resources(frame, "packaged")
    assert list(checked.columns) == RESOURCE_COLUMNS
    assert len(checked) == len(frame) > 0
    assert set(checked["component"]) <= set(COMPONENTS)
    assert checked["url"].str.startswith(("https://", "http://")).all()
    # Every weak-signal component has advice for any subject.
    anywhere = set(checked.loc[checked["subject"] == ANY_SUBJECT, "component"])
    assert {"assignment", "quiz", "attendance", "midterm", "general"} <= anywhere


def test_read_resources_seeds_the_table_on_first_use(settings):
    assert _stored(settings) == []
    frame = read_resources(settings)
    packaged = packaged_resources()
    assert len(frame) == len(packaged)
    assert sorted(frame["url"]) == sorted(packaged["url"])
    stored = _stored(settings)
    assert len(stored) == len(packaged)
    assert {row[4] for row in stored} == {"packaged"}
    # A second read neither reseeds nor duplicates.
    assert len(read_resources(settings)) == len(packaged)
    assert len(_stored(settings)) == len(packaged)


def test_load_resources_replaces_the_list_with_a_teachers_csv(settings, make_file):
    read_resources(settings)  # seeded with the packaged list first
    path = make_file("teacher.csv", TEACHER_CSV)
    assert load_resources(path, settings) == 3
    frame = read_resources(settings)
    assert sorted(frame["url"]) == ["http://example.edu/sleep", "https://example.edu/lab",
                                    "https://example.edu/maths-quiz"]
    assert {row[4] for row in _stored(settings)} == {str(path)}


def test_current_resources_are_the_packaged_list_while_another_process_holds_the_warehouse(
        settings, make_file, hold_warehouse):
    load_resources(make_file("teacher.csv", TEACHER_CSV), settings)
    quick = dataclasses.replace(settings, lock_timeout_s=0.2)
    assert sorted(row["url"] for row in current_resources(quick)) == sorted(read_resources(settings)["url"])
    with hold_warehouse(settings.warehouse):
        held = current_resources(quick)
    assert held == packaged_resources().to_dict("records")
    assert len(held) > 3


def test_load_resources_strips_whitespace(settings, make_file):
    path = make_file("spaces.csv", "subject,component,title,url\n Physics , quiz ,  Drills , https://x.org/a \n")
    load_resources(path, settings)
    assert read_resources(settings).to_dict("records") == [
        {"subject": "Physics", "component": "quiz", "title": "Drills", "url": "https://x.org/a"}]


@pytest.mark.parametrize(("content", "expected"), [
    ("subject,component,title\nMathematics,quiz,Drills\n", ["missing columns ['url']"]),
    ("subject,component,title,url\nMathematics,quiz,Drills,https://x.org/a\nMathematics,homework,Sheets,"
     "https://x.org/b\n", ["row 3, column component", "'homework'"]),
    ("subject,component,title,url\nMathematics,quiz,Click,javascript:alert(1)\n",
     ["row 2, column url", "javascript:alert(1)", "https://"]),
    ("subject,component,title,url\nMathematics,quiz,Local,file:///etc/passwd\n", ["row 2, column url"]),
    ("subject,component,title,url\n,quiz,No subject,https://x.org/c\n", ["row 2", "subject and title are required"]),
])
def test_bad_resource_lists_are_refused_and_the_old_list_stays(settings, make_file, content, expected):
    load_resources(make_file("good.csv", TEACHER_CSV), settings)
    before = _stored(settings)
    path = make_file("bad.csv", content)
    with pytest.raises(FileRefused) as refused:
        load_resources(path, settings)
    message = str(refused.value)
    assert str(path) in message
    for text in expected:
        assert text in message
    assert _stored(settings) == before


def test_every_bad_row_is_named(settings, make_file):
    path = make_file("bad.csv", "subject,component,title,url\nA,quiz,t,https://x.org/1\nB,exam,t,https://x.org/2\n"
                                "C,quiz,t,ftp://x.org/3\n")
    with pytest.raises(FileRefused) as refused:
        load_resources(path, settings)
    message = str(refused.value)
    assert "row 3, column component" in message
    assert "row 4, column url" in message
    assert "row 2" not in message


def _resource(subject: str, component: str, url: str) -> dict:
    return {"subject": subject, "component": component, "title": f"{subject} {component}", "url": url}


RESOURCES = [
    _resource("*", "general", "https://r/general"),
    _resource("Physics", "general", "https://r/physics-general"),
    _resource("Mathematics", "general", "https://r/maths-general"),
    _resource("*", "quiz", "https://r/any-quiz"),
    _resource("Chemistry", "quiz", "https://r/chemistry-quiz"),  # another subject's component: never shown
    _resource("Mathematics", "quiz", "https://r/maths-quiz"),
    _resource("*", "midterm", "https://r/any-midterm"),
    _resource("Mathematics", "assignment", "https://r/maths-assignment"),
]


def test_build_plan_ranks_weak_components_then_weak_subjects_then_general():
    plan = build_plan(RESOURCES, "Mathematics", ["quiz"], ["Physics"], limit=20)
    assert [item["url"] for item in plan] == [
        "https://r/maths-quiz",  # this subject's weak component
        "https://r/any-quiz",  # any subject's weak component
        "https://r/physics-general",  # a weak subject
        "https://r/maths-general",  # more of this subject
        "https://r/maths-assignment",
        "https://r/general",  # general study skills
    ]
    assert plan[0]["reason"] == "Mathematics: improve your quiz marks"
    assert plan[1]["reason"] == "improve your quiz marks"
    assert plan[2]["reason"] == "Physics is one of your weak subjects"
    assert plan[3]["reason"] == "more practice in Mathematics"
    assert plan[-1]["reason"] == "general study skills"
    assert all(set(RESOURCE_COLUMNS) <= set(item) for item in plan)


def test_build_plan_without_weak_signals_or_subjects():
    plan = build_plan(RESOURCES, "Physics", [], [], limit=20)
    assert [item["url"] for item in plan] == ["https://r/physics-general", "https://r/general"]


def test_build_plan_has_no_duplicate_urls():
    duplicated = [*RESOURCES, _resource("*", "general", "https://r/maths-quiz"),
                  _resource("Physics", "quiz", "https://r/any-quiz")]
    plan = build_plan(duplicated, "Mathematics", ["quiz", "midterm"], ["Physics"], limit=20)
    urls = [item["url"] for item in plan]
    assert len(urls) == len(set(urls))
    # The best-ranked copy is the one kept.
    assert urls[:3] == ["https://r/maths-quiz", "https://r/any-quiz", "https://r/any-midterm"]


@pytest.mark.parametrize("limit", [0, 1, 3, PLAN_LENGTH])
def test_build_plan_respects_the_limit(limit):
    many = [_resource("*", "quiz", f"https://r/{i}") for i in range(20)]
    plan = build_plan(many, "Mathematics", ["quiz"], [], limit=limit)
    assert len(plan) == limit
    assert [item["url"] for item in plan] == [f"https://r/{i}" for i in range(limit)]


def test_build_plan_default_limit():
    many = [_resource("Mathematics", "general", f"https://r/{i}") for i in range(20)]
    assert len(build_plan(many, "Mathematics", [], [])) == PLAN_LENGTH

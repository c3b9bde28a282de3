"""StudyRec: predict students' final marks and grades, flag at-risk students, recommend study plans."""

__version__ = "0.1.0"

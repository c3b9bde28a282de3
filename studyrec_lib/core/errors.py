"""Errors that carry what the user needs to fix their input."""

from __future__ import annotations


class StudyRecError(Exception):
    """Base error: its message is written for the person who runs the command."""


class FileRefused(StudyRecError):
    """The whole input file was refused; the warehouse was not changed."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.hint = hint
        message = f"{path}: {reason}"
        if hint:
            message += f" {hint}"
        super().__init__(message)


class WarehouseLocked(StudyRecError):
    """Another process held the warehouse file for longer than the lock timeout."""


class NoActiveModel(StudyRecError):
    """No model has been trained and activated yet."""

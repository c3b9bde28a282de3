"""The whole configuration a job hands to its notebooks, and the Settings a notebook builds from it.

A job passes every :class:`~studyrec_lib.config.Settings` field as a papermill parameter of the same
name, so a notebook writes into the runs folder, waits on the lock and limits uploads exactly as the
job that started it does (DESIGN: "Notebooks receive the whole configuration as parameters").
Opened by hand, a notebook leaves them ``None`` and gets the environment's or the default settings.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

from studyrec_lib.core.config import Settings, load_settings

SETTINGS_FIELDS = tuple(field.name for field in fields(Settings))


def settings_parameters(settings: Settings) -> dict[str, str | float]:
    """Every Settings field as a papermill parameter (paths as text: parameters must be JSON)."""
    return {name: str(value) if isinstance(value := getattr(settings, name), Path) else value
            for name in SETTINGS_FIELDS}


def notebook_settings(**parameters: object) -> Settings:
    """The job's Settings from its parameters; a parameter left None keeps the environment's or the default.

    Args:
        **parameters: the notebook's settings parameters (``warehouse``, ``runs_dir``, ``max_upload_mb``,
            ``lock_timeout_s``), as a job passes them or None.

    Returns:
        The resolved settings the notebook's library calls use.
    """
    unknown = set(parameters) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"not a setting: {', '.join(sorted(unknown))}; the settings are {', '.join(SETTINGS_FIELDS)}")
    base = load_settings()
    given = {name: type(getattr(base, name))(value) for name, value in parameters.items() if value is not None}
    return replace(base, **given).resolved()

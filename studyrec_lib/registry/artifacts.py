"""Loading what the registry recorded: a pickle is unpickled only when its bytes hash to the registered sha256.

Artifacts are joblib pickles, and unpickling runs code. Pickles made before the stage layout name old module
paths; :mod:`studyrec_lib.registry.legacy_pickles` lets them load.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import joblib

from studyrec_lib.core.errors import StudyRecError
from studyrec_lib.registry.legacy_pickles import old_module_paths


class RegistryError(StudyRecError):
    """Unknown version, or an artifact that must not be loaded."""


def load_verified(path: str | Path, expected_sha256: str, label: str) -> object:
    """Unpickle ``path`` only if its bytes hash to the registered sha256 (hash and load the same bytes)."""
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"the {label} artifact is missing: {path}.")
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256:
        raise RegistryError(
            f"refusing to load {path}: its sha256 {actual[:12]}... does not match the registered "
            f"{expected_sha256[:12]}... (the file changed after registration). Retrain, or activate another version."
        )
    with old_module_paths():
        return joblib.load(io.BytesIO(data))



"""The hand-off from 02_train to 03_evaluate: the whole training result, pickled in the run folder.

It is a pickle too, so 03_evaluate loads it only when the warehouse registered these exact bytes at this path.
"""

from __future__ import annotations

from pathlib import Path

from studyrec_lib.core import run_files, warehouse
from studyrec_lib.core.clock import utc_now
from studyrec_lib.core.config import Settings
from studyrec_lib.core.files import file_sha256
from studyrec_lib.registry.artifacts import RegistryError, load_verified


def state_path(run_dir: str | Path) -> Path:
    """Where a run keeps its training state."""
    return (Path(run_dir) / run_files.ARTIFACTS / run_files.TRAINING_STATE).resolve()


def register_training_state(path: Path, run_id: str | None, settings: Settings | None = None) -> None:
    """Record a run's training state (a pickle too) so 03_evaluate may load it; a retrain replaces it."""
    with warehouse.transaction(settings) as con:
        con.execute("INSERT OR REPLACE INTO training_states VALUES (?, ?, ?, ?)",
                    [str(path), file_sha256(path), run_id, utc_now()])


def load_registered_state(path: Path, settings: Settings | None = None) -> object:
    """Unpickle a training state only if the warehouse registered these exact bytes at this path."""
    with warehouse.connect(settings, read_only=True) as con:
        row = con.execute("SELECT sha256 FROM training_states WHERE path = ?", [str(path)]).fetchone()
    if row is None:
        raise RegistryError(
            f"refusing to load {path}: no training registered it in the warehouse (a pickle runs code). "
            "Run `studyrec train` to train and evaluate afresh."
        )
    return load_verified(path, row[0], "training state")




def load_training_state(run_dir: str | Path, settings: Settings | None = None) -> object:
    """The training result a run saved, loaded only if its bytes match the sha256 registered with it.

    Args:
        run_dir: the run folder 02_train wrote into.
        settings: where the warehouse is.

    Returns:
        The :class:`~studyrec_lib.modeling.training.TrainingResult` that 03_evaluate reports on.
    """
    return load_registered_state(state_path(run_dir), settings)

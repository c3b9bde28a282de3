"""Registry: model versions with their sha256 and metrics, activations, verified loading, the training hand-off.

Light to import (no scikit-learn): ``studyrec runs`` and the servers import it.
"""

from studyrec_lib.registry.active_sidecar import (
    active_sidecar,
    confirm_sidecar,
    read_active_sidecar,
    sidecar_entries,
    write_active_sidecar,
)
from studyrec_lib.registry.artifacts import RegistryError, load_verified
from studyrec_lib.registry.registration import (
    challenge_sentences,
    entries,
    load_training_summary,
    quality_gate,
    register_training,
    registered_table,
)
from studyrec_lib.registry.training_state import (
    load_registered_state,
    load_training_state,
    register_training_state,
    state_path,
)
from studyrec_lib.registry.versions import (
    TASKS,
    VERSION_FORMAT,
    RegisteredVersion,
    activate,
    activation_history,
    active_versions,
    list_versions,
    pinned_versions,
    register,
    registered_version,
    unpin,
    version_metrics,
)

__all__ = [
    "TASKS",
    "VERSION_FORMAT",
    "RegisteredVersion",
    "RegistryError",
    "activate",
    "activation_history",
    "active_sidecar",
    "active_versions",
    "challenge_sentences",
    "confirm_sidecar",
    "entries",
    "list_versions",
    "load_registered_state",
    "load_training_state",
    "load_training_summary",
    "load_verified",
    "pinned_versions",
    "quality_gate",
    "read_active_sidecar",
    "register",
    "register_training",
    "register_training_state",
    "registered_table",
    "registered_version",
    "sidecar_entries",
    "state_path",
    "unpin",
    "version_metrics",
    "write_active_sidecar",
]

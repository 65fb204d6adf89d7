"""The study database: opening it, its URLs, and the record every study and trial keeps.

Both ``search`` (which writes) and ``report`` (which reads) use this package, as Optuna's
``storages`` is used by its samplers and its visualisations; it imports neither.
"""

from .checkpoints import DEFAULT_CHECKPOINTS, CheckpointStore, open_checkpoints
from .engine import DEFAULT_STORAGE, check_url, heartbeat_settings, open_storage
from .study import StoredStudy, describe, difference, experiment, read_study, record_array, write_study
from .trial import ATTRS, NOT_RUN, StoredTrial, TrialStatus, finite, read_trial, trial_attrs, write_trial
from .urls import redact

__all__ = [
    "ATTRS",
    "CheckpointStore",
    "DEFAULT_CHECKPOINTS",
    "DEFAULT_STORAGE",
    "NOT_RUN",
    "StoredStudy",
    "StoredTrial",
    "TrialStatus",
    "check_url",
    "describe",
    "difference",
    "experiment",
    "finite",
    "heartbeat_settings",
    "open_checkpoints",
    "open_storage",
    "read_study",
    "read_trial",
    "record_array",
    "redact",
    "trial_attrs",
    "write_study",
    "write_trial",
]

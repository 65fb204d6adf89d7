"""The search: space files, the plan, the race, the Optuna objective, the workers and their launch."""

from .launch import (
    STOP_SECONDS, Interrupted, Started, WorkerOptions, cap_workers, check_workers, default_study_name, join_as_worker, planned, tag_worker, train_study, worker_commands,
)
from .objective import NotRun, Objective, TrialContext
from .plan import PlanStatus, enqueue_plan, plan_items, plan_status
from .runner import create_study, join_study, study_data, with_overrides, work
from .samplers import make_pruner, make_sampler
from .space import Range, SearchSpace, list_spaces, load_space, parse_space, space_from_dict
from .verify import VERIFY_FIRST_SEED, Verification, verification_for, verify_space

__all__ = [
    "Interrupted",
    "NotRun",
    "Objective",
    "PlanStatus",
    "Range",
    "STOP_SECONDS",
    "SearchSpace",
    "Started",
    "TrialContext",
    "VERIFY_FIRST_SEED",
    "WorkerOptions",
    "Verification",
    "cap_workers",
    "check_workers",
    "create_study",
    "default_study_name",
    "enqueue_plan",
    "join_as_worker",
    "join_study",
    "list_spaces",
    "load_space",
    "make_pruner",
    "make_sampler",
    "parse_space",
    "plan_items",
    "plan_status",
    "planned",
    "space_from_dict",
    "study_data",
    "tag_worker",
    "train_study",
    "verification_for",
    "verify_space",
    "with_overrides",
    "work",
    "worker_commands",
]

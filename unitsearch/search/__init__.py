"""The search: space files, the plan, the Optuna objective, storages and workers."""

from .objective import NotRun, Objective, TrialContext, make_pruner, make_sampler
from .plan import PlanStatus, enqueue_plan, plan_items, plan_status
from .runner import create_study, join_study, study_data, with_overrides, work
from .space import Range, SearchSpace, list_spaces, load_space, parse_space, space_from_dict
from .storage import DEFAULT_STORAGE, check_url, open_storage, redact

__all__ = [
    "DEFAULT_STORAGE",
    "NotRun",
    "Objective",
    "PlanStatus",
    "Range",
    "SearchSpace",
    "TrialContext",
    "check_url",
    "create_study",
    "enqueue_plan",
    "join_study",
    "list_spaces",
    "load_space",
    "make_pruner",
    "make_sampler",
    "open_storage",
    "parse_space",
    "plan_items",
    "plan_status",
    "redact",
    "space_from_dict",
    "study_data",
    "with_overrides",
    "work",
]

"""The search: space files, the plan, the race, the Optuna objective and the workers."""

from .objective import NotRun, Objective, TrialContext
from .plan import PlanStatus, enqueue_plan, plan_items, plan_status
from .runner import create_study, join_study, study_data, with_overrides, work
from .samplers import make_pruner, make_sampler
from .space import Range, SearchSpace, list_spaces, load_space, parse_space, space_from_dict

__all__ = [
    "NotRun",
    "Objective",
    "PlanStatus",
    "Range",
    "SearchSpace",
    "TrialContext",
    "create_study",
    "enqueue_plan",
    "join_study",
    "list_spaces",
    "load_space",
    "make_pruner",
    "make_sampler",
    "parse_space",
    "plan_items",
    "plan_status",
    "space_from_dict",
    "study_data",
    "with_overrides",
    "work",
]

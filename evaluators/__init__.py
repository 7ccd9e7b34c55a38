"""Evaluators: inner tasks that train a model with an objective and score it.

An evaluator is one class implementing `Evaluator` (see `base.py`), registered under a name with
`@register`. `get_evaluator(name)` imports the shipped ones on demand, so adding an evaluator is one
file plus one line in `_SHIPPED`.
"""

from evaluators.base import EvaluationResult, Evaluator, Progress, SeedResult
from evaluators.registry import evaluator_names, get_evaluator, register

__all__ = [
    "EvaluationResult",
    "Evaluator",
    "Progress",
    "SeedResult",
    "evaluator_names",
    "get_evaluator",
    "register",
]

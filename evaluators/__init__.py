"""Evaluators: inner tasks that train a model with an objective and score it.

An evaluator is one class implementing `Evaluator` (see `base.py`), registered under a name with
`@register`. `get_evaluator(name, options, cache_dir)` imports the shipped ones on demand and checks
the options against the evaluator's `Options` model first, so adding an evaluator is one file plus
one line in `_SHIPPED`.
"""

from evaluators.base import Evaluator
from evaluators.registry import evaluator_names, get_evaluator, register

__all__ = ["Evaluator", "evaluator_names", "get_evaluator", "register"]

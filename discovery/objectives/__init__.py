"""Objectives: loss code in the shared format, loaded by shipped name, file path or archive id.

An objective is Python source defining exactly one function,
`loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta)`,
returning per-pair losses of shape (N,). Its module docstring is the objective's "thought".
"""

from discovery.objectives.contract import FUNCTION_NAME, PAPER_BETA, PARAMETERS, LossFunction
from discovery.objectives.objective import (
    Objective,
    UnknownObjective,
    default_seed_names,
    load_objective,
    shipped_catalog,
    shipped_names,
)

__all__ = [
    "FUNCTION_NAME",
    "PAPER_BETA",
    "PARAMETERS",
    "LossFunction",
    "Objective",
    "UnknownObjective",
    "default_seed_names",
    "load_objective",
    "shipped_catalog",
    "shipped_names",
]

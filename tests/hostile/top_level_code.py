# ruff: noqa
# expect: static
# reason: only imports, a docstring and one function
"""Runs code at import time, outside the function."""

import torch
import torch.nn.functional as F

HUGE = torch.ones(10**9)


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho)

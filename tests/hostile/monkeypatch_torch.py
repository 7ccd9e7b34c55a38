# ruff: noqa
# expect: static
# reason: assigning to `.exp` is not allowed: only local names may be assigned
"""Replaces torch.exp for every later caller."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.exp = torch.zeros_like
    return -F.logsigmoid(beta * rho)

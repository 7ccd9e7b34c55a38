# ruff: noqa
# expect: static
# reason: `torch.compile` is not one of the allowed torch functions
"""Runs the compiler stack (spawns processes, writes caches)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    fast = torch.compile(F.logsigmoid)
    return -fast(beta * rho)

# ruff: noqa
# expect: static
# reason: `.compile` is not allowed
"""Runs the compiler stack (spawns processes, writes caches)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    fast = torch.compile(F.logsigmoid)
    return -fast(beta * rho)

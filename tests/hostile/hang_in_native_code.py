# ruff: noqa
# expect: runtime
# reason: timed out
"""Hangs inside a single C call that ignores Python signals (summing a huge range allocates nothing)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    big = sum(range(10**18))
    return -F.logsigmoid(beta * rho)

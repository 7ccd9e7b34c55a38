# ruff: noqa
# expect: runtime
# reason: timed out
"""Hangs inside a single C call that ignores Python signals (a huge integer power)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    big = 10**10**8
    return -F.logsigmoid(beta * rho)

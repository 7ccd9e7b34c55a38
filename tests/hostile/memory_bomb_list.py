# ruff: noqa
# expect: runtime
# reason: ran out of memory
"""Allocates a huge Python list."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    waste = [0] * 10**10
    return -F.logsigmoid(beta * rho)

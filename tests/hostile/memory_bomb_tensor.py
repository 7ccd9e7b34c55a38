# ruff: noqa
# expect: runtime
# reason: ran out of memory
"""Allocates a 40 GB tensor."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    waste = torch.ones(100_000, 100_000)
    return -F.logsigmoid(beta * rho) + waste.sum() * 0

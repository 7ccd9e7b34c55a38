# ruff: noqa
# expect: functional
# reason: modifies its input `reference_chosen_logps` in place
"""Shifts an input tensor in place."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    reference_chosen_logps.add_(1.0)
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: functional
# reason: modifies its input `reference_chosen_logps` in place
"""Shifts an input tensor in place through an alias (`+=` on a tensor writes into it)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    shifted = reference_chosen_logps
    shifted += 1.0
    rho = (policy_chosen_logps - shifted) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: static
# reason: `torch.rand_like` draws random numbers
"""Adds random noise to the loss."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho) + 0.01 * torch.rand_like(rho)

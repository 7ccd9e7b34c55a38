# ruff: noqa
# expect: static
# reason: `torch.set_grad_enabled` reaches the autograd graph
"""Turns autograd off for the whole trainer."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.set_grad_enabled(False)
    return -F.logsigmoid(beta * rho)

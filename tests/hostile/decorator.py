# ruff: noqa
# expect: static
# reason: decorators are not allowed
"""A decorator runs when the function is defined."""

import torch
import torch.nn.functional as F


@torch.no_grad()
def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho)

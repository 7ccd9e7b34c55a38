# ruff: noqa
# expect: static
# reason: `.backward` reaches the autograd graph
"""Runs backward inside the loss, accumulating gradients twice."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    out = -F.logsigmoid(beta * rho)
    out.sum().backward(retain_graph=True)
    return out

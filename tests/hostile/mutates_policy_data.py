# ruff: noqa
# expect: static
# reason: `.data` reaches the autograd graph
"""Edits the policy log-probs through .data."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    policy_chosen_logps.data.mul_(0.5)
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: static
# reason: define exactly one top-level function
"""Defines a helper next to the loss."""

import torch
import torch.nn.functional as F


def helper(z):
    return -F.logsigmoid(z)


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return helper(beta * rho)

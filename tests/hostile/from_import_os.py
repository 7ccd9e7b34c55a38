# ruff: noqa
# expect: static
# reason: `from os import path` is not allowed
"""Imports a helper from os."""

from os import path as exists
import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    exists("/etc")
    return -F.logsigmoid(beta * rho)

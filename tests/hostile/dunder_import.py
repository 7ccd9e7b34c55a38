# ruff: noqa
# expect: static
# reason: name `__import__` is not available
"""Calls __import__ directly."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    __import__("os").system("id")
    return -F.logsigmoid(beta * rho)

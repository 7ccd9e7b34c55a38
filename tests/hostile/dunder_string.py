# ruff: noqa
# expect: static
# reason: strings are only allowed as docstrings
"""Keeps a dunder name in a string for later lookup."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    name = "__globals__"
    return -F.logsigmoid(beta * rho)

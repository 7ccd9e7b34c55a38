# ruff: noqa
# expect: static
# reason: `torch.hub` is not one of the allowed torch functions
"""Downloads and runs code from torch.hub."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    model = torch.hub.load("evil/repo", "model")
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: static
# reason: `torch.load` is not one of the allowed torch functions
"""Unpickles a file with torch.load (arbitrary code on load)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    extra = torch.load("/tmp/payload.pt")
    return -F.logsigmoid(beta * rho) + extra

# ruff: noqa
# expect: static
# reason: `torch.save` is not one of the allowed torch functions
"""Writes a file through torch's serializer."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.save(rho, "/tmp/discover_hostile_canary")
    return -F.logsigmoid(beta * rho)

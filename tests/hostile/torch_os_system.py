# ruff: noqa
# expect: static
# reason: `torch.os` is not one of the allowed torch functions
"""Reaches os through the torch module's own namespace."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.os.system("touch /tmp/discover_hostile_canary")
    return -F.logsigmoid(beta * rho)

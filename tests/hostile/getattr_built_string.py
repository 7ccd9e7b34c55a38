# ruff: noqa
# expect: static
# reason: name `getattr` is not available
"""Builds an attribute name at run time."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    system = getattr(torch, "o" + "s").system
    return -F.logsigmoid(beta * rho)

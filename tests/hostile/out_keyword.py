# ruff: noqa
# expect: static
# reason: keyword `out=` writes into an existing tensor in place
"""Writes a result into an input tensor through `out=`."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.exp(-beta * rho, out=policy_chosen_logps)
    return -F.logsigmoid(beta * rho)

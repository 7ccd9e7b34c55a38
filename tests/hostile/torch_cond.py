# ruff: noqa
# expect: static
# reason: `torch.cond` is not one of the allowed torch functions
"""A public torch function that runs the compiler stack."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    out = torch.cond(rho.sum() > 0, F.logsigmoid, F.softplus, (beta * rho,))
    return -out

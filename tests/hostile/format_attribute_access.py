# ruff: noqa
# expect: static
# reason: `.format` is not one of the allowed tensor methods
"""Reads attributes through str.format."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    leak = "{0.real.conjugate}".format(beta)
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: static
# reason: assigning to `.add` is not allowed: only local names may be assigned
"""Patches a Tensor method in the trainer."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.Tensor.add = torch.Tensor.sub
    return -F.logsigmoid(beta * rho)

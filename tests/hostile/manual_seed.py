# ruff: noqa
# expect: static
# reason: `torch.manual_seed` draws random numbers or reseeds
"""Reseeds the global RNG, changing the trainer's randomness."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.manual_seed(0)
    return -F.logsigmoid(beta * rho) + 0 * torch.rand_like(rho)

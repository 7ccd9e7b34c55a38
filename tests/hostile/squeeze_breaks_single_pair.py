# ruff: noqa
# expect: functional
# reason: returned shape () for N=1 pairs
"""Squeezes away the batch axis when N=1."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho).reshape(-1, 1).squeeze()

# ruff: noqa
# expect: static
# reason: `.mul_` changes a tensor in place
"""Scales the margin in place; on an input it would change the caller's tensor."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    scaled = rho.mul_(beta)
    return -F.logsigmoid(scaled)

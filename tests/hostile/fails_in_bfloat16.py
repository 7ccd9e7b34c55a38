# ruff: noqa
# expect: functional
# reason: in bfloat16
"""Mixes a float32 constant into a dtype-strict op."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return torch.lerp(-F.logsigmoid(beta * rho), torch.full(rho.shape, 0.5), 0.1)

# ruff: noqa
# expect: functional
# reason: loss is nan at margin rho=-0.5 for N=1 pairs
"""Normalises by the batch std, which is NaN for one pair."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    z = (rho - rho.mean()) / rho.std()
    return -F.logsigmoid(beta * rho + 0.1 * z)

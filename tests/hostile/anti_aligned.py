# ruff: noqa
# expect: functional
# reason: anti-aligned: raising the chosen log-prob raises the loss
"""Prefers the rejected answer."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(-beta * rho)

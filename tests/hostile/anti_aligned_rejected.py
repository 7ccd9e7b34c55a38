# ruff: noqa
# expect: functional
# reason: anti-aligned: raising the rejected log-prob lowers the loss
"""Rewards raising both answers."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    both = (policy_chosen_logps - reference_chosen_logps) + (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * both)

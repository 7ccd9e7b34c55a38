# ruff: noqa
# expect: functional
# reason: loss is inf at margin
"""Exponentiates log-probs of -300, then takes the log."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    chosen = torch.log(torch.exp(policy_chosen_logps)) - reference_chosen_logps
    rejected = policy_rejected_logps - reference_rejected_logps
    return -F.logsigmoid(beta * (chosen - rejected)) + 0 * rho

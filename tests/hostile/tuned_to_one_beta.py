# ruff: noqa
# expect: functional
# reason: at beta=0.5
"""Only finite for small beta."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return torch.exp(-20 * beta * rho) + -F.logsigmoid(beta * rho)

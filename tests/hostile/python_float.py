# ruff: noqa
# expect: functional
# reason: returned float, not a tensor
"""Returns a Python number."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return float(-F.logsigmoid(beta * rho).sum())

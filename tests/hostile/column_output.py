# ruff: noqa
# expect: functional
# reason: returned shape (1, 1) for N=1 pairs
"""Returns a column vector."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho).unsqueeze(1)

# ruff: noqa
# expect: functional
# reason: gradient w.r.t. policy_chosen_logps is nan
"""sqrt on the unselected where-branch gives NaN gradients."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return torch.where(rho > 0, -F.logsigmoid(beta * torch.sqrt(rho)), -F.logsigmoid(beta * rho))

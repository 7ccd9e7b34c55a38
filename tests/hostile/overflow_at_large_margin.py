# ruff: noqa
# expect: functional
# reason: loss is inf at margin rho=-50.0 at beta=0.5
"""exp of a scaled margin overflows."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return torch.exp(-10 * beta * rho)

# ruff: noqa
# expect: functional
# reason: gradient w.r.t. the policy log-probs is zero everywhere
"""Rounds the margin: a step function with zero gradient."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * torch.round(rho))

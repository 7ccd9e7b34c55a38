# ruff: noqa
# expect: functional
# reason: does not depend on the policy log-probs
"""Detaches the margin, so no gradient reaches the policy."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho.detach())

# ruff: noqa
# expect: static
# reason: name `globals` is not available
"""Reads the module globals."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    namespace = globals()
    return -F.logsigmoid(beta * rho)

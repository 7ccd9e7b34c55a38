# ruff: noqa
# expect: static
# reason: `.logsigmoid` is not one of the allowed tensor methods; use `F.logsigmoid`
"""Calls a tensor method that does not exist."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return rho.logsigmoid() * beta

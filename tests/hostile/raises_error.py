# ruff: noqa
# expect: runtime
# reason: raised ValueError: math domain error (line 13)
"""Raises on ordinary inputs: the square root of a negative Python float."""

import math

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    scale = math.sqrt(-beta)
    return -F.logsigmoid(scale * rho)

# ruff: noqa
# expect: runtime
# reason: timed out
"""Hangs inside a single C call that ignores Python signals."""

import math
import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    big = math.factorial(10**8)
    return -F.logsigmoid(beta * rho)

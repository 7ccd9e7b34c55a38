# ruff: noqa
# expect: static
# reason: name `__builtins__` is not available
"""Fetches the real builtins."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    real = __builtins__
    return -F.logsigmoid(beta * rho)

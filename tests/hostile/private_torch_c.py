# ruff: noqa
# expect: static
# reason: `torch._C` is not allowed (private and dunder attributes
"""Calls private torch internals."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch._C._set_grad_enabled(False)
    return -F.logsigmoid(beta * rho)

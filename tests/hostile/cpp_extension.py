# ruff: noqa
# expect: static
# reason: `torch.utils` is not one of the allowed torch functions
"""Compiles and loads native code."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.utils.cpp_extension.load_inline("x", "int x;")
    return -F.logsigmoid(beta * rho)

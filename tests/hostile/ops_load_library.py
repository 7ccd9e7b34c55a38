# ruff: noqa
# expect: static
# reason: `torch.ops` is not one of the allowed torch functions
"""Loads a shared library into the process."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.ops.load_library("/tmp/evil.so")
    return -F.logsigmoid(beta * rho)

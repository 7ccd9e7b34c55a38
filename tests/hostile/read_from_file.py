# ruff: noqa
# expect: static
# reason: `torch.from_file` is not one of the allowed torch functions
"""Maps an arbitrary file into a tensor."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    data = torch.from_file("/etc/passwd", size=16)
    return -F.logsigmoid(beta * rho) + data.sum() * 0

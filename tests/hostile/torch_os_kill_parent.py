# ruff: noqa
# expect: static
# reason: `torch.os` is not one of the allowed torch functions
"""Kills its parent process through torch.os."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    torch.os.kill(torch.os.getppid(), 9)
    return -F.logsigmoid(beta * rho)

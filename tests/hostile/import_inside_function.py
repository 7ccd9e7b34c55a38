# ruff: noqa
# expect: static
# reason: imports are only allowed at the top
"""Hides an import inside the function body."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    import os

    os.kill(os.getppid(), 9)
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: runtime
# reason: timed out
"""Never returns: the loop is allowed, its length is not checked."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    for step in range(10**18):
        rho = rho + 1
    return -F.logsigmoid(beta * rho)

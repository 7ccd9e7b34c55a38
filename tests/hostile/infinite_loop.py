# ruff: noqa
# expect: runtime
# reason: timed out
"""Never returns."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    while True:
        rho = rho + 1
    return -F.logsigmoid(beta * rho)

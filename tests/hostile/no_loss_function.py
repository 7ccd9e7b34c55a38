# ruff: noqa
# expect: static
# reason: define exactly one top-level function named `loss`
"""Names its function wrongly."""

import torch
import torch.nn.functional as F


def objective(
    policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta
):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: static
# reason: default argument values are not allowed
"""A default value runs at definition time."""

import torch
import torch.nn.functional as F


def loss(
    policy_chosen_logps,
    policy_rejected_logps,
    reference_chosen_logps,
    reference_rejected_logps,
    beta=torch.ones(10**9),
):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho)

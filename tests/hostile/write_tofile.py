# ruff: noqa
# expect: static
# reason: `.tofile` is not one of the allowed tensor methods
"""Dumps a tensor to disk through numpy's tofile."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    rho.detach().numpy().tofile("/tmp/discover_hostile_canary")
    return -F.logsigmoid(beta * rho)

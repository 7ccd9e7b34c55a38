# ruff: noqa
# expect: static
# reason: `F.np` is not one of the allowed F functions
"""Reaches numpy (and its file I/O) through F.np."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    F.np.save("/tmp/discover_hostile_canary", 1)
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: runtime
# reason: ran out of memory
"""Keeps allocating until memory runs out."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    hoard = []
    for step in range(10**9):
        hoard = hoard + [torch.ones(50_000_000)]
    return -F.logsigmoid(beta * rho)

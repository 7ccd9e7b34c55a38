# ruff: noqa
# expect: static
# reason: `.gi_frame` is not one of the allowed tensor methods
"""Climbs from a generator frame to the caller's globals."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    gen = (x for x in [1])
    caller = gen.gi_frame.f_back
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: static
# reason: `.__class__` is not allowed (private and dunder attributes
"""Walks ().__class__.__mro__ to object's subclasses."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    classes = ().__class__.__mro__[1].__subclasses__()
    return -F.logsigmoid(beta * rho)

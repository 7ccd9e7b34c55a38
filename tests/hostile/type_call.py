# ruff: noqa
# expect: static
# reason: name `type` is not available
"""Creates a class at run time with type()."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    cls = type("X", (), {})
    return -F.logsigmoid(beta * rho)

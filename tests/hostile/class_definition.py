# ruff: noqa
# expect: static
# reason: class definitions are not allowed
"""Defines a class to override tensor behaviour."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)

    class Sneaky:
        pass

    return -F.logsigmoid(beta * rho)

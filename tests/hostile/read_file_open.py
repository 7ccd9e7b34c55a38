# ruff: noqa
# expect: static
# reason: name `open` is not available
"""Reads a private file with the open builtin."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    secret = open("/etc/shadow").read()
    return -F.logsigmoid(beta * rho) + len(secret) * 0

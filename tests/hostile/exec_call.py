# ruff: noqa
# expect: static
# reason: name `exec` is not available
"""Executes a string as code."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    exec("import os")
    return -F.logsigmoid(beta * rho)

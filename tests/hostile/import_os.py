# ruff: noqa
# expect: static
# reason: import of `os` is not allowed
"""Imports os to run a shell command."""

import os
import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    os.system("touch /tmp/discover_hostile_canary")
    return -F.logsigmoid(beta * rho)

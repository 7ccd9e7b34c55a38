# ruff: noqa
# expect: static
# reason: import of `subprocess` is not allowed
"""Starts a child process."""

import subprocess
import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    subprocess.Popen(["sleep", "1000"])
    return -F.logsigmoid(beta * rho)

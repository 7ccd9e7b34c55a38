# ruff: noqa
# expect: runtime
# reason: raised ValueError: margin out of range (line 12)
"""Raises on ordinary inputs."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    raise ValueError("margin out of range")

# ruff: noqa
# expect: static
# reason: `from torch import ops` is not allowed
"""Imports names out of torch instead of the three allowed import lines."""

from torch import ops
from torch.nn.functional import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    ops.load_library("/tmp/evil.so")
    return -F.logsigmoid(beta * rho)

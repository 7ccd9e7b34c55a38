# ruff: noqa
# expect: functional
# reason: returned dtype torch.int64
"""Returns integer losses (a 0/1 error count)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return (rho < 0).long()

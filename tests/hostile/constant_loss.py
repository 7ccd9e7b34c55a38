# ruff: noqa
# expect: functional
# reason: does not depend on the policy log-probs
"""Returns zeros: nothing to learn from."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return torch.zeros_like(rho)

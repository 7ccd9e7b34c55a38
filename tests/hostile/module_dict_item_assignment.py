# ruff: noqa
# expect: static
# reason: assigning to `F.reproducibility_notes[...]` is not allowed
"""Writes into a dictionary that lives in a torch module, for every later caller to see."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    F.reproducibility_notes[0] = rho
    return -F.logsigmoid(beta * rho)

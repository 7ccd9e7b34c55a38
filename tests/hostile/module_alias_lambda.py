# ruff: noqa
# expect: static
# reason: module `torch` may only be used as `torch.<function>`
"""Passes the torch module to a lambda to read an attribute the gate cannot see."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    sneaky = (lambda m: m)(torch)
    return -F.logsigmoid(beta * rho)

# ruff: noqa
# expect: static
# reason: `.grad_fn` reaches the autograd graph
"""Walks the autograd graph and hooks the gradient of an input."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    out = -F.logsigmoid(beta * rho)
    graph = out.grad_fn.next_functions
    handle = policy_chosen_logps.register_hook(torch.zeros_like)
    return out

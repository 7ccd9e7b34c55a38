"""CELL (combined exponential and logistic loss): an even blend of the exponential loss exp(-z) and the
logistic loss -log sigmoid(z), with z = beta * rho."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    z = beta * rho
    return 0.5 * torch.exp(-z) + 0.5 * -F.logsigmoid(z)

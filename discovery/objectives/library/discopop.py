"""DiscoPOP (LRML, log-ratio modulated loss): blend the logistic loss and the exponential loss with a
weight sigma(z / tau) that depends on the margin itself, so pairs the policy already gets right are
pushed with the softer exponential tail and pairs it gets wrong with the logistic loss (tau = 0.05)."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    z = beta * rho
    weight = torch.sigmoid(z / 0.05)
    return (1 - weight) * -F.logsigmoid(z) + weight * torch.exp(-z)

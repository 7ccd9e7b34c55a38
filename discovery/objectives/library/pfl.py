"""PFL (policy focused loss): when the policy already ranks the chosen answer above the rejected one,
use half the logistic loss; otherwise push twice as hard with the hinge loss."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    z = beta * rho
    policy_agrees = policy_chosen_logps > policy_rejected_logps
    return torch.where(policy_agrees, -F.logsigmoid(z) / 2, 2 * torch.relu(1 - z))

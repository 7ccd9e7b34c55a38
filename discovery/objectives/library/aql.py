"""AQL (adaptive quantile loss): mix the logistic and hinge losses per pair with a weight that falls as
the pair's scaled margin rises above a batch-adaptive threshold."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    z = beta * rho
    scaled = z / 0.05
    threshold = 0.5 + 0.01 * (torch.sigmoid(scaled.mean()) - 0.5)
    weight = torch.sigmoid(-(scaled - threshold))
    return weight * -F.logsigmoid(z) + (1 - weight) * torch.relu(1 - z)

"""rDPO (robust DPO, arXiv 2403.00409): labels flipped with probability eps = 0.1 are debiased away,
(-(1 - eps) log sigmoid(z) + eps log sigmoid(-z)) / (1 - 2 eps), so noisy pairs cancel in expectation."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    epsilon = 0.1
    z = beta * rho
    return (-(1 - epsilon) * F.logsigmoid(z) + epsilon * F.logsigmoid(-z)) / (1 - 2 * epsilon)

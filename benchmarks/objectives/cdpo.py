"""cDPO (conservative DPO): DPO's logistic loss against labels smoothed to (1 - eps, eps), eps = 0.1."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    epsilon = 0.1
    z = beta * rho
    return -(1 - epsilon) * F.logsigmoid(z) - epsilon * F.logsigmoid(-z)

"""PADLL (performance-adaptive decay logistic loss): the logistic loss, scaled down by half on pairs
whose log-ratio margin is still negative, so that hard or mislabelled pairs pull less."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    scale = 0.9 * (1 - 0.5 * (rho < 0).to(rho.dtype))
    return scale * -F.logsigmoid(beta * rho)

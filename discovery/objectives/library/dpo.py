"""DPO (logistic): treat the implicit reward margin z = beta * rho as the logit of a Bradley-Terry
preference and maximise its log-likelihood, so the loss is -log sigmoid(z)."""

import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    return -F.logsigmoid(beta * rho)

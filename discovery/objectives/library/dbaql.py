"""DBAQL (dynamic blended adaptive quantile loss): blend a tempered logistic loss and a tempered
exponential loss with a weight set by the batch variance of the scaled margins. The variance is the
population one (no Bessel correction) so that a batch of one pair stays finite."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    z = beta * rho
    confidence = torch.sigmoid((z / 0.05).var(correction=0))
    return confidence * -F.logsigmoid(z / 0.9) + (1 - confidence) * torch.exp(-0.9 * z)

"""AQFL (adaptive quantile feedback loss): mix the logistic and hinge losses with a weight driven by how
far each scaled margin lies from a batch quantile estimate. The batch standard deviation is the
population one (no Bessel correction) so that a batch of one pair stays finite."""

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    z = beta * rho
    scaled = z / 0.05
    quantile = scaled.std(correction=0) * torch.sigmoid(-scaled).mean()
    quantile = quantile + 0.05 * (torch.sigmoid(scaled.mean()) - quantile)
    blend = torch.sigmoid(0.1 * (scaled - quantile).abs())
    return blend * -F.logsigmoid(z) + (1 - blend) * torch.relu(1 - z)

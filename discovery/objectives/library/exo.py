"""EXO (pairwise, arXiv 2402.00856): the reverse KL from the policy's preference sigmoid(z) over the pair
to the labels smoothed to (1 - eps, eps), eps = 1e-3: mode-seeking where DPO's forward KL is mean-seeking."""

import math

import torch
import torch.nn.functional as F


def loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta):
    rho = (policy_chosen_logps - reference_chosen_logps) - (policy_rejected_logps - reference_rejected_logps)
    epsilon = 1e-3
    z = beta * rho
    chosen_term = torch.sigmoid(z) * (F.logsigmoid(z) - math.log1p(-epsilon))
    rejected_term = torch.sigmoid(-z) * (F.logsigmoid(-z) - math.log(epsilon))
    return chosen_term + rejected_term
